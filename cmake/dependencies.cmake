# Every dependency is a Debian 12 package; scripts/install-deps.sh installs them.
find_package(PkgConfig REQUIRED)
find_package(Threads REQUIRED)
find_package(OpenSSL 3 REQUIRED)
find_package(SQLite3 REQUIRED)
find_package(Protobuf REQUIRED)
find_package(gRPC CONFIG REQUIRED)
find_package(fmt CONFIG REQUIRED)
find_package(spdlog CONFIG REQUIRED)
find_package(CLI11 CONFIG REQUIRED)
find_package(nlohmann_json CONFIG REQUIRED)
find_package(tomlplusplus CONFIG REQUIRED)
# Debian's cmark CMake file insists on the cmark binary; pkg-config does not.
pkg_check_modules(CMARK REQUIRED IMPORTED_TARGET libcmark)

# Standalone Asio is header-only and ships no CMake package.
find_path(ASIO_INCLUDE_DIR asio.hpp REQUIRED)
add_library(soma_asio INTERFACE)
target_include_directories(soma_asio SYSTEM INTERFACE ${ASIO_INCLUDE_DIR})
# Asio picks std::aligned_alloc or operator new per translation unit,
# depending on whether a libstdc++ header came first; once inlined at -O2 the
# two disagree and memory is freed by the wrong family. One choice for all.
target_compile_definitions(soma_asio INTERFACE ASIO_STANDALONE ASIO_NO_DEPRECATED
                                               ASIO_DISABLE_STD_ALIGNED_ALLOC)
# Asio 1.22 enables co_await under clang only with <experimental/coroutine>,
# which libstdc++ lacks; clang 14 supports C++20 coroutines through
# <coroutine>, which Asio then uses (the fuzz build compiles with clang).
target_compile_definitions(soma_asio INTERFACE $<$<CXX_COMPILER_ID:Clang>:ASIO_HAS_CO_AWAIT=1>)
target_link_libraries(soma_asio INTERFACE Threads::Threads)

find_program(GRPC_CPP_PLUGIN grpc_cpp_plugin REQUIRED)

if(SOMA_BUILD_TESTS)
  find_package(GTest CONFIG REQUIRED)
endif()
if(SOMA_BUILD_BENCH)
  find_package(benchmark CONFIG REQUIRED)
endif()

# soma_library(NAME SOURCES... DEPS ...) declares one src/ folder as a static
# library whose public headers are included as "<folder>/<header>.h".
function(soma_library name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS" ${ARGN})
  if(NOT ARG_SOURCES)
    # A folder whose sources are not written yet is a header-only library.
    add_library(soma_${name} INTERFACE)
    target_include_directories(soma_${name} INTERFACE ${PROJECT_SOURCE_DIR}/src)
    target_link_libraries(soma_${name} INTERFACE ${ARG_DEPS})
    return()
  endif()
  add_library(soma_${name} STATIC ${ARG_SOURCES})
  target_include_directories(soma_${name} PUBLIC ${PROJECT_SOURCE_DIR}/src)
  target_link_libraries(soma_${name} PUBLIC ${ARG_DEPS} PRIVATE soma_warnings)
endfunction()
