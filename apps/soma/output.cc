#include "output.h"

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <iostream>

#include "notes/utf8.h"

namespace soma::cli {

int exit_code_for(core::ErrorCode code) {
  switch (code) {
    case core::ErrorCode::kInvalidArgument:
      return kExitUsage;
    case core::ErrorCode::kNotFound:
      return kExitNotFound;
    case core::ErrorCode::kPermissionDenied:
      return kExitDenied;
    case core::ErrorCode::kUnavailable:
      return kExitUnreachable;
    default:
      return kExitFailure;
  }
}

std::string_view code_name(core::ErrorCode code) {
  switch (code) {
    case core::ErrorCode::kInvalidArgument:
      return "INVALID_ARGUMENT";
    case core::ErrorCode::kNotFound:
      return "NOT_FOUND";
    case core::ErrorCode::kAlreadyExists:
      return "ALREADY_EXISTS";
    case core::ErrorCode::kPermissionDenied:
      return "PERMISSION_DENIED";
    case core::ErrorCode::kResourceExhausted:
      return "RESOURCE_EXHAUSTED";
    case core::ErrorCode::kFailedPrecondition:
      return "FAILED_PRECONDITION";
    case core::ErrorCode::kDataLoss:
      return "DATA_LOSS";
    case core::ErrorCode::kUnavailable:
      return "UNAVAILABLE";
    case core::ErrorCode::kCancelled:
      return "CANCELLED";
    case core::ErrorCode::kInternal:
      return "INTERNAL";
  }
  return "INTERNAL";
}

std::string escape_control(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  auto hex = [&](unsigned char b) {
    static constexpr char kHex[] = "0123456789abcdef";
    out += "\\x";
    out += kHex[b >> 4];
    out += kHex[b & 0xF];
  };
  for (std::size_t i = 0; i < text.size();) {
    auto b = static_cast<unsigned char>(text[i]);
    if (b < 0x80) {
      if (b == '\n') {
        out += "\\n";
      } else if (b == '\t') {
        out += "\\t";
      } else if (b == '\r') {
        out += "\\r";
      } else if (b < 0x20 || b == 0x7F) {
        hex(b);
      } else {
        out += static_cast<char>(b);
      }
      ++i;
      continue;
    }
    std::size_t len = b >= 0xF0 ? 4 : b >= 0xE0 ? 3 : b >= 0xC0 ? 2 : 1;
    std::string_view seq = text.substr(i, len);
    if (len == 1 || seq.size() < len || !notes::is_valid_utf8(seq)) {
      hex(b);
      ++i;
      continue;
    }
    // U+0080..U+009F are C1 controls (CSI among them): as dangerous as ESC.
    if (len == 2 && b == 0xC2 && static_cast<unsigned char>(seq[1]) < 0xA0) {
      hex(b);
      hex(static_cast<unsigned char>(seq[1]));
    } else {
      out.append(seq);
    }
    i += len;
  }
  return out;
}

std::size_t display_width(std::string_view text) {
  std::size_t n = 0;
  for (char c : text) {
    if ((static_cast<unsigned char>(c) & 0xC0) != 0x80) ++n;
  }
  return n;
}

void Output::document(const nlohmann::json& doc) const {
  if (!json_) return;
  std::cout << doc.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << '\n';
  std::cout.flush();
}

void Output::line(std::string_view text) const {
  if (json_) return;
  std::cout << escape_control(text) << '\n';
}

void Output::note(std::string_view text) const {
  if (json_) return;
  std::cerr << "soma: " << escape_control(text) << '\n';
}

int Output::fail(const core::Error& error) const {
  if (json_) {
    nlohmann::json doc = {{"error", {{"code", code_name(error.code)}, {"message", error.message}}}};
    std::cout << doc.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << '\n';
    std::cout.flush();
  } else {
    std::cout.flush();
    std::cerr << "soma: " << escape_control(error.message) << '\n';
  }
  return exit_code_for(error.code);
}

void Output::table(const std::vector<std::string>& headers,
                   const std::vector<std::vector<std::string>>& rows) const {
  if (json_) return;
  auto safe = [](const std::vector<std::string>& row) {
    std::vector<std::string> out;
    for (const auto& cell : row) out.push_back(escape_control(cell));
    return out;
  };
  std::vector<std::vector<std::string>> cells;
  cells.push_back(safe(headers));
  for (const auto& row : rows) cells.push_back(safe(row));
  std::vector<std::size_t> widths(headers.size(), 0);
  for (const auto& row : cells) {
    for (std::size_t i = 0; i < row.size() && i < widths.size(); ++i) {
      widths[i] = std::max(widths[i], display_width(row[i]));
    }
  }
  for (const auto& row : cells) {
    std::string out;
    for (std::size_t i = 0; i < row.size() && i < widths.size(); ++i) {
      out += row[i];
      if (i + 1 < row.size()) out += std::string(widths[i] - display_width(row[i]) + 2, ' ');
    }
    std::cout << out << '\n';
  }
}

void Output::fields(const std::vector<std::pair<std::string, std::string>>& rows) const {
  if (json_) return;
  std::size_t width = 0;
  for (const auto& [k, v] : rows) width = std::max(width, display_width(k));
  for (const auto& [k, v] : rows) {
    std::cout << escape_control(k) << ':' << std::string(width - display_width(k) + 1, ' ')
              << escape_control(v) << '\n';
  }
}

std::string format_bytes(std::uint64_t bytes) {
  static constexpr const char* kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  if (bytes < 1024) return std::to_string(bytes) + " B";
  double v = static_cast<double>(bytes);
  int unit = 0;
  while (v >= 1024 && unit < 4) {
    v /= 1024;
    ++unit;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f %s", v, kUnits[unit]);
  return buf;
}

std::string format_time(std::int64_t unix_ms) {
  if (unix_ms <= 0) return "-";
  std::time_t t = static_cast<std::time_t>(unix_ms / 1000);
  std::tm tm{};
  ::localtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &tm);
  return buf;
}

nlohmann::json to_json(const soma::api::v1::StatusReply& m) {
  return {{"peer_id", m.peer_id()},
          {"version", m.version()},
          {"data_dir", m.data_dir()},
          {"socket_path", m.socket_path()},
          {"space_count", m.space_count()},
          {"page_count", m.page_count()},
          {"blob_count", m.blob_count()},
          {"blob_bytes", m.blob_bytes()},
          {"started_ms", m.started_ms()},
          {"listen_addrs", m.listen_addrs()},
          {"last_event_id", m.last_event_id()}};
}

nlohmann::json to_json(const soma::api::v1::Space& m) {
  return {{"id", m.id()},
          {"name", m.name()},
          {"owner", m.owner()},
          {"role", m.role()},
          {"created_ms", m.created_ms()},
          {"updated_ms", m.updated_ms()},
          {"page_count", m.page_count()},
          {"blob_bytes", m.blob_bytes()},
          {"quota_bytes", m.quota_bytes()},
          {"membership", m.membership()},
          {"membership_expires_ms", m.membership_expires_ms()}};
}

nlohmann::json to_json(const soma::api::v1::Page& m) {
  return {{"id", m.id()},
          {"space_id", m.space_id()},
          {"parent_id", m.parent_id()},
          {"title", m.title()},
          {"kind", m.kind()},
          {"position", m.position()},
          {"created_ms", m.created_ms()},
          {"updated_ms", m.updated_ms()}};
}

nlohmann::json to_json(const soma::api::v1::Document& m) {
  return {{"page_id", m.page_id()},     {"format", m.format()},     {"text", m.text()},
          {"structure", m.structure()}, {"revision", m.revision()}, {"updated_ms", m.updated_ms()},
          {"blob_cids", m.blob_cids()}};
}

nlohmann::json to_json(const soma::api::v1::Attachment& m) {
  return {{"id", m.id()},
          {"space_id", m.space_id()},
          {"page_id", m.page_id()},
          {"name", m.name()},
          {"cid", m.cid()},
          {"size", m.size()},
          {"media_type", m.media_type()},
          {"created_ms", m.created_ms()}};
}

nlohmann::json to_json(const soma::api::v1::BlobInfo& m) {
  return {{"cid", m.cid()},
          {"size", m.size()},
          {"block_count", m.block_count()},
          {"created_ms", m.created_ms()},
          {"space_ids", m.space_ids()}};
}

nlohmann::json to_json(const soma::api::v1::Event& m) {
  return {{"id", m.id()},           {"time_ms", m.time_ms()},
          {"kind", m.kind()},       {"space_id", m.space_id()},
          {"subject", m.subject()}, {"detail", m.detail()}};
}

}  // namespace soma::cli
