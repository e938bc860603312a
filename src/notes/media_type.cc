#include "notes/media_type.h"

#include <array>
#include <utility>

namespace soma::notes {

std::string media_type_for(std::string_view file_name) {
  static constexpr std::array<std::pair<std::string_view, std::string_view>, 26> kTypes = {{
      {"png", "image/png"},          {"jpg", "image/jpeg"},        {"jpeg", "image/jpeg"},
      {"gif", "image/gif"},          {"svg", "image/svg+xml"},     {"webp", "image/webp"},
      {"pdf", "application/pdf"},    {"txt", "text/plain"},        {"md", "text/markdown"},
      {"markdown", "text/markdown"}, {"json", "application/json"}, {"html", "text/html"},
      {"htm", "text/html"},          {"css", "text/css"},          {"js", "text/javascript"},
      {"csv", "text/csv"},           {"xml", "application/xml"},   {"zip", "application/zip"},
      {"gz", "application/gzip"},    {"tar", "application/x-tar"}, {"mp3", "audio/mpeg"},
      {"wav", "audio/wav"},          {"mp4", "video/mp4"},         {"webm", "video/webm"},
      {"proto", "text/plain"},       {"toml", "application/toml"},
  }};
  auto dot = file_name.rfind('.');
  if (dot == std::string_view::npos || dot == 0) return "application/octet-stream";
  std::string ext;
  for (char c : file_name.substr(dot + 1)) {
    ext.push_back((c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c);
  }
  for (const auto& [e, type] : kTypes) {
    if (e == ext) return std::string(type);
  }
  return "application/octet-stream";
}

}  // namespace soma::notes
