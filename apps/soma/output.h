#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"
#include "soma/api/v1/daemon.pb.h"

namespace soma::cli {

// Exit codes, as documented in `soma --help`.
enum ExitCode : int {
  kExitOk = 0,
  kExitUsage = 1,  // usage error or INVALID_ARGUMENT
  kExitNotFound = 2,
  kExitDenied = 3,
  kExitUnreachable = 4,  // daemon not running or socket missing
  kExitFailure = 5,      // anything else: quota, data loss, problems found
};

int exit_code_for(core::ErrorCode code);
// The stable name of an error code in --json output, e.g. "NOT_FOUND".
std::string_view code_name(core::ErrorCode code);

// Everything a command prints goes through here, so --json output stays
// one JSON document on stdout and human output stays on its streams.
class Output {
 public:
  explicit Output(bool json) : json_(json) {}
  bool json() const { return json_; }

  // Prints `doc` on stdout, in --json mode only.
  void document(const nlohmann::json& doc) const;
  // Prints a line on stdout, in human mode only.
  void line(std::string_view text) const;
  // A note on stderr in human mode ("soma: …").
  void note(std::string_view text) const;
  // Reports `error` ({"error": …} on stdout with --json, "soma: …" on
  // stderr otherwise) and returns its exit code.
  int fail(const core::Error& error) const;

  // Columns padded to their widest cell; human mode only.
  void table(const std::vector<std::string>& headers,
             const std::vector<std::vector<std::string>>& rows) const;
  // "key: value" lines aligned on the colon; human mode only.
  void fields(const std::vector<std::pair<std::string, std::string>>& rows) const;

 private:
  bool json_;
};

// `text` safe to show on a terminal: newline, tab and carriage return as
// \n, \t, \r, every other control character (C0, DEL, C1) and every byte
// that is not well-formed UTF-8 as \xNN. Human output passes every
// daemon- or file-system-supplied string through this.
std::string escape_control(std::string_view text);

// The width of `text` on a terminal, counted in code points (close enough
// for the names Soma prints; wide CJK glyphs count as one).
std::size_t display_width(std::string_view text);

std::string format_bytes(std::uint64_t bytes);
std::string format_time(std::int64_t unix_ms);

nlohmann::json to_json(const soma::api::v1::StatusReply& m);
nlohmann::json to_json(const soma::api::v1::Space& m);
nlohmann::json to_json(const soma::api::v1::Page& m);
nlohmann::json to_json(const soma::api::v1::Document& m);
nlohmann::json to_json(const soma::api::v1::Attachment& m);
nlohmann::json to_json(const soma::api::v1::BlobInfo& m);
nlohmann::json to_json(const soma::api::v1::Event& m);

}  // namespace soma::cli
