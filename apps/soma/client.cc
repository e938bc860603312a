#include "client.h"

#include <fmt/format.h>
#include <google/protobuf/stubs/logging.h>
#include <sys/stat.h>

#include <cstdint>
#include <cstdio>
#include <fstream>
#include <mutex>
#include <sstream>
#include <string_view>

#include "core/paths.h"

namespace soma::cli {
namespace {

namespace fs = std::filesystem;
using core::Error;
using core::ErrorCode;
using core::Result;

// Unary calls that take longer than this are treated as a hung daemon.
constexpr std::chrono::seconds kUnaryDeadline{120};
// A token file is a line of hex; anything much larger is not one.
constexpr std::uintmax_t kMaxTokenFileBytes = 4096;
// Documents and page lists can be large; far larger than gRPC's default.
constexpr int kMaxMessageBytes = 256 << 20;

// protobuf sends a string field that is not UTF-8 anyway and only logs it;
// the daemon then cannot parse the request and answers INTERNAL with no
// message. The log line names the field, so the CLI keeps it and reports
// a usage error the person can fix instead of an internal one.
std::mutex invalid_utf8_mu;
std::string invalid_utf8_field;  // guarded by invalid_utf8_mu

void protobuf_log(google::protobuf::LogLevel level, const char* file, int line,
                  const std::string& message) {
  constexpr std::string_view kMarker = "String field '";
  if (message.find("invalid UTF-8") != std::string::npos) {
    const std::size_t start = message.find(kMarker);
    if (start != std::string::npos) {
      const std::size_t from = start + kMarker.size();
      const std::size_t end = message.find('\'', from);
      std::lock_guard lock(invalid_utf8_mu);
      invalid_utf8_field = message.substr(from, end == std::string::npos ? end : end - from);
      return;
    }
  }
  if (level >= google::protobuf::LOGLEVEL_WARNING) {
    std::fprintf(stderr, "[libprotobuf %s:%d] %s\n", file, line, message.c_str());
  }
}

[[maybe_unused]] const bool protobuf_log_installed = [] {
  google::protobuf::SetLogHandler(&protobuf_log);
  return true;
}();

ErrorCode code_for(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::INVALID_ARGUMENT:
    case grpc::StatusCode::OUT_OF_RANGE:
      return ErrorCode::kInvalidArgument;
    case grpc::StatusCode::NOT_FOUND:
      return ErrorCode::kNotFound;
    case grpc::StatusCode::ALREADY_EXISTS:
      return ErrorCode::kAlreadyExists;
    case grpc::StatusCode::PERMISSION_DENIED:
    case grpc::StatusCode::UNAUTHENTICATED:
      return ErrorCode::kPermissionDenied;
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
      return ErrorCode::kResourceExhausted;
    case grpc::StatusCode::FAILED_PRECONDITION:
    case grpc::StatusCode::ABORTED:
      return ErrorCode::kFailedPrecondition;
    case grpc::StatusCode::DATA_LOSS:
      return ErrorCode::kDataLoss;
    case grpc::StatusCode::UNAVAILABLE:
      return ErrorCode::kUnavailable;
    case grpc::StatusCode::CANCELLED:
      return ErrorCode::kCancelled;
    default:
      return ErrorCode::kInternal;
  }
}

Result<std::string> read_token(const fs::path& file) {
  std::error_code ec;
  auto size = fs::file_size(file, ec);
  if (ec) return Error::invalid("cannot read token file " + file.string() + ": " + ec.message());
  if (size > kMaxTokenFileBytes) {
    return Error::invalid("token file " + file.string() + " is too large to hold a token");
  }
  std::ifstream in(file, std::ios::binary);
  if (!in) return Error::denied("cannot open token file " + file.string());
  std::ostringstream ss;
  ss << in.rdbuf();
  std::string token = ss.str();
  auto first = token.find_first_not_of(" \t\r\n");
  auto last = token.find_last_not_of(" \t\r\n");
  if (first == std::string::npos) {
    return Error::invalid("token file " + file.string() + " is empty");
  }
  token = token.substr(first, last - first + 1);
  for (char c : token) {
    auto u = static_cast<unsigned char>(c);
    if (u < 0x21 || u > 0x7E) {
      return Error::invalid("token file " + file.string() + " does not hold a token");
    }
  }
  return token;
}

}  // namespace

Endpoint resolve_endpoint(const std::string& socket, const std::string& data_dir,
                          const std::string& token_file) {
  Endpoint e;
  std::optional<fs::path> dir;
  if (!data_dir.empty()) dir = fs::path(data_dir);
  core::Paths paths = core::resolve_paths(dir);
  e.data_dir = paths.data_dir;
  e.socket_given = !socket.empty();
  e.data_dir_given = !data_dir.empty();
  e.socket = socket.empty() ? paths.socket() : fs::absolute(fs::path(socket));
  if (!token_file.empty()) {
    e.token_file = fs::path(token_file);
    e.token_file_required = true;
  } else {
    std::error_code ec;
    if (fs::exists(paths.token_file(), ec)) e.token_file = paths.token_file();
  }
  return e;
}

Error unreachable(const Endpoint& endpoint) {
  std::string hint;
  if (endpoint.socket_given) {
    fs::path dir = endpoint.socket.parent_path();
    hint = endpoint.socket.filename() == "daemon.sock"
               ? "is it running? a daemon started with `soma-daemon --socket-dir " + dir.string() +
                     "` listens there"
               : "no soma-daemon listens there (a daemon's socket is DIR/daemon.sock, with DIR "
                 "its --socket-dir)";
  } else if (endpoint.data_dir_given) {
    hint =
        "is it running? start it with `soma-daemon --data-dir " + endpoint.data_dir.string() + "`";
  } else {
    hint =
        "is it running? start it with `soma-daemon` (or pass the --data-dir or --socket it "
        "uses)";
  }
  return Error::unavailable("cannot reach soma-daemon at " + endpoint.socket.string() + ": " +
                            hint);
}

Result<std::unique_ptr<Client>> Client::connect(const Endpoint& endpoint) {
  struct stat st {};
  if (::stat(endpoint.socket.c_str(), &st) != 0 || !S_ISSOCK(st.st_mode)) {
    return unreachable(endpoint);
  }

  std::string token;
  if (endpoint.token_file) {
    auto read = read_token(*endpoint.token_file);
    if (!read) {
      std::error_code ec;
      if (endpoint.token_file_required || fs::exists(*endpoint.token_file, ec)) {
        return read.take_error();
      }
    } else {
      token = std::move(*read);
    }
  }

  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(kMaxMessageBytes);
  args.SetMaxSendMessageSize(kMaxMessageBytes);
  auto channel = grpc::CreateCustomChannel("unix://" + endpoint.socket.string(),
                                           grpc::InsecureChannelCredentials(), args);
  return std::unique_ptr<Client>(
      new Client(endpoint, std::move(token), api::Daemon::NewStub(channel),
                 api::Network::NewStub(channel), api::Membership::NewStub(channel)));
}

std::unique_ptr<grpc::ClientContext> Client::context(bool streaming) const {
  auto ctx = std::make_unique<grpc::ClientContext>();
  if (!token_.empty()) ctx->AddMetadata("authorization", "Bearer " + token_);
  if (!streaming) ctx->set_deadline(std::chrono::system_clock::now() + kUnaryDeadline);
  return ctx;
}

Error Client::error(const grpc::Status& status) const {
  ErrorCode code = code_for(status.error_code());
  if (code == ErrorCode::kUnavailable) return unreachable(endpoint_);
  if (status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED) {
    return Error::unavailable("soma-daemon at " + endpoint_.socket.string() +
                              " did not answer in time");
  }
  {
    std::lock_guard lock(invalid_utf8_mu);
    if (!invalid_utf8_field.empty()) {
      // "soma.api.v1.CreateSpaceRequest.name": the last part names the field.
      const std::size_t dot = invalid_utf8_field.rfind('.');
      const std::string field =
          dot == std::string::npos ? invalid_utf8_field : invalid_utf8_field.substr(dot + 1);
      return Error::invalid(
          fmt::format("the value for {} is not valid UTF-8; soma-daemon takes names, titles, "
                      "reasons and roles as UTF-8 text, so give it as such",
                      field));
    }
  }
  std::string message = status.error_message();
  if (message.empty()) message = std::string(core::to_string(code));
  return Error{code, std::move(message)};
}

}  // namespace soma::cli
