# Warnings apply to Soma's own targets through soma_warnings; generated
# protobuf code is compiled without them.
add_library(soma_warnings INTERFACE)
target_compile_options(soma_warnings INTERFACE
  -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Wold-style-cast
  -Wcast-align -Woverloaded-virtual -Wnull-dereference -Wimplicit-fallthrough
  -Wno-missing-field-initializers)
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
  # GCC 12 false positives at -O2 and above: Asio's coroutine frames use a
  # class-specific operator new/delete pair that the inliner mismatches,
  # and libstdc++'s std::string trips -Wrestrict (GCC bug 105329).
  target_compile_options(soma_warnings INTERFACE -Wno-mismatched-new-delete -Wno-restrict)
endif()
if(SOMA_WERROR)
  target_compile_options(soma_warnings INTERFACE -Werror)
endif()

if(SOMA_SANITIZE)
  add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer
                      -fno-sanitize-recover=undefined)
  # See the fuzz build below: clang 14 cannot apply this check to coroutines.
  add_compile_options($<$<CXX_COMPILER_ID:Clang>:-fno-sanitize=function>)
  add_link_options(-fsanitize=address,undefined)
endif()

if(SOMA_BUILD_FUZZ)
  # Every library is instrumented for coverage so libFuzzer can steer
  # through the decoders, and checked by ASan/UBSan while it does.
  add_compile_options(-fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer)
  add_link_options(-fsanitize=address,undefined)
  # clang 14's -fsanitize=function cannot compile C++20 coroutines ("cannot
  # represent a difference across sections"); the network code uses them.
  add_compile_options(-fno-sanitize=function)
endif()
