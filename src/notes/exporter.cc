#include "notes/exporter.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <deque>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <system_error>

#include "notes/file_access.h"
#include "notes/link_scanner.h"
#include "notes/utf8.h"

namespace soma::notes {
namespace {

namespace fs = std::filesystem;
using core::Error;
using core::Result;
using core::Status;

// Page trees deeper than this are flattened into their deepest folder.
constexpr int kMaxExportDepth = 128;
constexpr std::string_view kBlobScheme = "soma:blob/";
// Where a blob a note links to without a recorded file name is written,
// beside the note.
constexpr std::string_view kDerivedBlobFolder = "_blobs";

std::string join(const std::string& dir, const std::string& name) {
  return dir.empty() ? name : dir + "/" + name;
}

// `path` applied to folder `base` with "." and ".." resolved; nullopt when
// it would leave the export folder or names no file.
std::optional<std::string> resolve_inside(const std::string& base, std::string_view path) {
  if (path.empty()) return std::nullopt;
  // A path starting with '/' is taken from the export folder's root.
  auto joined = join_lexically(path.front() == '/' ? std::string_view() : base, path);
  if (!joined || joined->empty()) return std::nullopt;
  return joined;
}

// A page title or attachment name made into one safe file name.
std::string file_name_from(std::string_view name) {
  std::string out;
  for (char c : name) {
    if (c == '\0') continue;
    out.push_back(c == '/' ? '_' : c);
  }
  if (!is_valid_utf8(out)) out = printable(out);
  if (out.empty() || out == "." || out == "..") out = "untitled";
  return out;
}

bool is_plain_file_name(std::string_view name) {
  return !name.empty() && name != "." && name != ".." && name.find('/') == std::string_view::npos &&
         name.find('\0') == std::string_view::npos && is_valid_utf8(name);
}

struct RecordedLink {
  std::string cid;
  std::string href;
  std::string target;  // decoded path relative to the note
};

std::vector<RecordedLink> recorded_links(const std::string& structure, std::string* source_name) {
  std::vector<RecordedLink> out;
  if (structure.empty()) return out;
  nlohmann::json doc = nlohmann::json::parse(structure, nullptr, false);
  if (!doc.is_object()) return out;
  if (auto it = doc.find("source_name"); it != doc.end() && it->is_string()) {
    *source_name = it->get<std::string>();
  }
  auto links = doc.find("links");
  if (links == doc.end() || !links->is_array()) return out;
  for (const auto& item : *links) {
    if (!item.is_object()) continue;
    auto cid = item.find("cid");
    auto href = item.find("href");
    if (cid == item.end() || href == item.end() || !cid->is_string() || !href->is_string()) {
      continue;
    }
    RecordedLink link{cid->get<std::string>(), href->get<std::string>(), {}};
    auto target = item.find("target");
    if (target != item.end() && target->is_string()) {
      link.target = target->get<std::string>();
    } else {
      // Written by another client: read the href as a Markdown destination.
      std::string_view h = link.href;
      if (h.size() >= 2 && h.front() == '<' && h.back() == '>') h = h.substr(1, h.size() - 2);
      LinkTarget t = classify_destination(h);
      if (t.kind == TargetKind::kLocal) link.target = t.path;
    }
    out.push_back(std::move(link));
  }
  return out;
}

bool is_cid_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

std::vector<std::string> split_path(std::string_view path) {
  std::vector<std::string> parts;
  std::size_t i = 0;
  while (i <= path.size()) {
    std::size_t slash = path.find('/', i);
    if (slash == std::string_view::npos) slash = path.size();
    if (slash > i) parts.emplace_back(path.substr(i, slash - i));
    i = slash + 1;
  }
  return parts;
}

std::string parent_of(std::string_view path) {
  auto slash = path.rfind('/');
  return slash == std::string_view::npos ? std::string() : std::string(path.substr(0, slash));
}

std::string name_of(std::string_view path) {
  auto slash = path.rfind('/');
  return std::string(slash == std::string_view::npos ? path : path.substr(slash + 1));
}

// `path` as seen from folder `from`, both relative to the export folder.
std::string relative_to(const std::string& from, const std::string& path) {
  auto a = split_path(from);
  auto b = split_path(path);
  std::size_t common = 0;
  while (common < a.size() && common + 1 < b.size() && a[common] == b[common]) ++common;
  std::string out;
  for (std::size_t i = common; i < a.size(); ++i) out += "../";
  for (std::size_t i = common; i < b.size(); ++i) out += (i > common ? "/" : "") + b[i];
  return out;
}

// A relative path made safe as a Markdown link destination: bytes that
// would end or change the destination are percent-encoded.
std::string link_destination(std::string_view path) {
  static constexpr std::string_view kEncode = " ()<>[]\\\"'%`*#?&";
  std::string out;
  for (char c : path) {
    auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7F || kEncode.find(c) != std::string_view::npos) {
      static constexpr char kHex[] = "0123456789ABCDEF";
      out += '%';
      out += kHex[u >> 4];
      out += kHex[u & 0xF];
    } else {
      out += c;
    }
  }
  return out;
}

// The longest prefix of `text` of at most `max` bytes that ends between
// UTF-8 sequences.
std::string utf8_prefix(std::string_view text, std::size_t max) {
  if (text.size() <= max) return std::string(text);
  std::size_t end = max;
  while (end > 0 && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) --end;
  return std::string(text.substr(0, end));
}

// Splits "name.ext" into its stem and extension (with the dot); a leading
// dot or an implausibly long "extension" is part of the stem.
std::pair<std::string, std::string> split_extension(const std::string& name) {
  auto dot = name.rfind('.');
  if (dot == std::string::npos || dot == 0 || name.size() - dot > 32) return {name, ""};
  return {name.substr(0, dot), name.substr(dot)};
}

// `stem` + `ext` cut to at most kMaxNameBytes, the stem shortened first.
std::string fit_name(const std::string& stem, const std::string& ext) {
  if (stem.size() + ext.size() <= kMaxNameBytes) return stem + ext;
  std::string cut = utf8_prefix(stem, kMaxNameBytes - ext.size());
  if (cut.empty()) cut = "untitled";
  return cut + ext;
}

class Planner {
 public:
  explicit Planner(const SpaceSnapshot& space) : space_(space) {}

  ExportPlan run() {
    std::map<std::string, std::size_t> by_id;
    for (std::size_t i = 0; i < space_.pages.size(); ++i) by_id[space_.pages[i].id] = i;
    for (std::size_t i = 0; i < space_.pages.size(); ++i) {
      const auto& page = space_.pages[i];
      bool orphan = !page.parent_id.empty() && by_id.count(page.parent_id) == 0;
      children_[orphan ? std::string() : page.parent_id].push_back(i);
    }
    for (auto& [parent, list] : children_) {
      std::sort(list.begin(), list.end(), [&](std::size_t a, std::size_t b) {
        const auto& pa = space_.pages[a];
        const auto& pb = space_.pages[b];
        if (pa.position != pb.position) return pa.position < pb.position;
        if (pa.title != pb.title) return pa.title < pb.title;
        return pa.id < pb.id;
      });
    }
    place_children("", "", 0);

    for (const auto& attachment : space_.attachments) {
      std::string dir;
      if (auto it = page_dirs_.find(attachment.page_id); it != page_dirs_.end()) dir = it->second;
      std::string name = unique_name(dir, file_name_from(attachment.name));
      std::string path = join(dir, name);
      add_file(path, true, {}, attachment.cid, attachment.size);
      attachment_paths_.emplace(attachment.cid, path);
      ++plan_.attachments;
    }
    // Notes last: a link with no recorded href may point at an attachment.
    for (const auto& note : pending_notes_) write_note(note);
    for (const auto& link : pending_links_) place_blob(link);

    // Every file's folders exist, and no path is both a folder and a file.
    std::set<std::string> dirs = dirs_;
    for (const auto& [path, file] : files_) {
      for (auto slash = path.find('/'); slash != std::string::npos;
           slash = path.find('/', slash + 1)) {
        dirs.insert(path.substr(0, slash));
      }
    }
    plan_.dirs.assign(dirs.begin(), dirs.end());
    for (auto& [path, file] : files_) {
      if (dirs.count(path) > 0) {
        left_out(path, "a folder of the same name is exported; file not written");
        continue;
      }
      plan_.files.push_back(std::move(file));
    }
    return std::move(plan_);
  }

 private:
  struct PendingBlob {
    std::string note_path;
    std::string note_dir;
    RecordedLink link;
  };
  struct PendingNote {
    const SpacePage* page = nullptr;
    std::string path;
    std::string dir;
    std::vector<RecordedLink> links;
  };

  void notice(const std::string& path, std::string reason) {
    plan_.problems.push_back(
        {printable(path), std::move(reason), ImportProblem::Severity::kNotice});
  }
  void left_out(const std::string& path, std::string reason) {
    plan_.problems.push_back(
        {printable(path), std::move(reason), ImportProblem::Severity::kLeftOut});
  }

  // A name for `wanted` in `dir` that no other file there has and that a
  // file system takes (at most kMaxNameBytes, extension kept).
  std::string unique_name(const std::string& dir, const std::string& wanted) {
    auto& used = used_[dir];
    auto [stem, ext] = split_extension(wanted);
    std::string fitted = fit_name(stem, ext);
    if (fitted != wanted) {
      notice(join(dir, wanted), "the name is longer than " + std::to_string(kMaxNameBytes) +
                                    " bytes; exported as \"" + printable(fitted) + "\"");
    }
    if (used.insert(fitted).second) return fitted;
    for (int n = 2;; ++n) {
      std::string marker = " (" + std::to_string(n) + ")";
      std::string candidate = fit_name(
          utf8_prefix(stem, kMaxNameBytes - std::min(kMaxNameBytes, marker.size() + ext.size())) +
              marker,
          ext);
      if (used.insert(candidate).second) {
        notice(join(dir, fitted), "another page or attachment has this name; exported as \"" +
                                      printable(candidate) + "\"");
        return candidate;
      }
    }
  }

  void add_file(const std::string& path, bool from_blob, std::string text, std::string cid,
                std::uint64_t size) {
    ExportFile file;
    file.path = path;
    file.from_blob = from_blob;
    file.size = from_blob ? size : text.size();
    file.text = std::move(text);
    file.cid = std::move(cid);
    files_.emplace(path, std::move(file));
  }

  void place_children(const std::string& parent_id, const std::string& dir, int depth) {
    auto it = children_.find(parent_id);
    if (it == children_.end()) return;
    std::vector<std::size_t> list = it->second;
    for (std::size_t index : list) {
      const SpacePage& page = space_.pages[index];
      if (!placed_.insert(page.id).second) continue;  // a cycle; place each page once
      bool has_children = children_.count(page.id) > 0 && !page.id.empty();

      if (page.kind == "folder") {
        std::string name = unique_name(dir, file_name_from(page.title));
        std::string path = join(dir, name);
        dirs_.insert(path);
        page_dirs_[page.id] = path;
        ++plan_.folders;
        if (has_children) descend(page, path, depth);
        continue;
      }

      place_note(page, dir);
      page_dirs_[page.id] = dir;
      if (has_children) {
        std::string path = join(dir, unique_name(dir, file_name_from(page.title)));
        dirs_.insert(path);
        descend(page, path, depth);
      }
    }
  }

  void descend(const SpacePage& page, const std::string& path, int depth) {
    if (depth + 1 >= kMaxExportDepth) {
      left_out(path, "pages nested deeper than " + std::to_string(kMaxExportDepth) +
                         " levels are not exported");
      return;
    }
    place_children(page.id, path, depth + 1);
  }

  void place_note(const SpacePage& page, const std::string& dir) {
    PendingNote note;
    note.page = &page;
    note.dir = dir;
    std::string source_name;
    note.links = recorded_links(page.structure, &source_name);
    std::string wanted =
        is_plain_file_name(source_name) ? source_name : file_name_from(page.title) + ".md";
    note.path = join(dir, unique_name(dir, wanted));
    // Reserve the path now; the text is written once attachments are placed.
    add_file(note.path, false, {}, {}, 0);
    pending_notes_.push_back(std::move(note));
    ++plan_.notes;
  }

  // The note's text with every soma:blob/<CID> turned into a relative path
  // of a file holding that blob.
  void write_note(const PendingNote& note) {
    const std::string& in = note.page->text;
    // Recorded links by CID, in order: an edit may have moved, removed or
    // repeated links, so their global order means nothing.
    std::map<std::string, std::deque<std::size_t>> recorded;
    std::map<std::string, std::size_t> last_recorded;
    for (std::size_t i = 0; i < note.links.size(); ++i) {
      recorded[note.links[i].cid].push_back(i);
      last_recorded[note.links[i].cid] = i;
    }
    std::set<std::string> reported;
    std::string text;
    std::size_t copied = 0;
    for (std::size_t at = in.find(kBlobScheme); at != std::string::npos;
         at = in.find(kBlobScheme, at + 1)) {
      std::size_t end = at + kBlobScheme.size();
      while (end < in.size() && is_cid_char(in[end])) ++end;
      std::string cid = in.substr(at + kBlobScheme.size(), end - at - kBlobScheme.size());
      if (cid.empty()) continue;
      const RecordedLink* link = nullptr;
      if (auto it = recorded.find(cid); it != recorded.end() && !it->second.empty()) {
        link = &note.links[it->second.front()];
        it->second.pop_front();
      } else if (auto last = last_recorded.find(cid); last != last_recorded.end()) {
        link = &note.links[last->second];  // the same file linked once more
      }
      bool held = space_.blobs.count(cid) > 0;
      std::string replacement;
      if (link != nullptr) {
        replacement = link->href;
        if (held) {
          pending_links_.push_back({note.path, note.dir, *link});
        } else if (reported.insert(cid).second) {
          left_out(note.path, "links to blob " + printable(cid) +
                                  ", which this space does not hold; the link reads \"" +
                                  printable(link->href) + "\" again but no file is written");
        }
      } else if (!held) {
        if (reported.insert(cid).second) {
          notice(note.path, "mentions blob " + printable(cid) +
                                ", which this space does not hold; left as written");
        }
        continue;
      } else if (auto a = attachment_paths_.find(cid); a != attachment_paths_.end()) {
        replacement = link_destination(relative_to(note.dir, a->second));
        if (reported.insert(cid).second) {
          notice(note.path, "link to blob " + cid +
                                " has no recorded file name; it now points to the attachment " +
                                printable(a->second));
        }
      } else {
        std::string rel = std::string(kDerivedBlobFolder) + "/" + cid;
        std::string path = join(note.dir, rel);
        if (files_.count(path) == 0) {
          add_file(path, true, {}, cid, space_.blobs.at(cid));
          ++plan_.blobs;
        }
        replacement = rel;
        if (reported.insert(cid).second) {
          notice(note.path, "link to blob " + cid + " has no recorded file name; written as " +
                                printable(path));
        }
      }
      text.append(in, copied, at - copied);
      text += replacement;
      copied = end;
      at = end - 1;
    }
    text.append(in, copied, std::string::npos);
    ExportFile& file = files_.at(note.path);
    file.size = text.size();
    file.text = std::move(text);
  }

  void place_blob(const PendingBlob& pending) {
    auto path = resolve_inside(pending.note_dir, pending.link.target);
    if (!path) {
      left_out(pending.note_path, "link \"" + printable(pending.link.href) +
                                      "\" names a place outside the export folder; not written");
      return;
    }
    if (auto it = files_.find(*path); it != files_.end()) {
      if (!(it->second.from_blob && it->second.cid == pending.link.cid)) {
        left_out(*path, "two different files would be written here; kept the first, linked from " +
                            printable(pending.note_path));
      }
      return;
    }
    std::string name = name_of(*path);
    if (name.size() > kMaxNameBytes) {
      left_out(*path, "the file name is longer than " + std::to_string(kMaxNameBytes) +
                          " bytes; not written");
      return;
    }
    add_file(*path, true, {}, pending.link.cid, space_.blobs.at(pending.link.cid));
    ++plan_.blobs;
  }

  const SpaceSnapshot& space_;
  ExportPlan plan_;
  std::map<std::string, std::vector<std::size_t>> children_;
  std::map<std::string, std::set<std::string>> used_;
  std::map<std::string, std::string> page_dirs_;
  std::set<std::string> placed_;
  std::set<std::string> dirs_;
  std::map<std::string, ExportFile> files_;
  std::vector<PendingBlob> pending_links_;
  std::vector<PendingNote> pending_notes_;
  std::map<std::string, std::string> attachment_paths_;  // CID -> first attachment's path
};

}  // namespace

ExportPlan plan_export(const SpaceSnapshot& space) { return Planner(space).run(); }

Status check_export_target(const fs::path& target) {
  std::error_code ec;
  auto st = fs::symlink_status(target, ec);
  if (ec) {
    if (ec == std::errc::no_such_file_or_directory) return {};
    if (ec == std::errc::not_a_directory) {
      return Error::invalid("cannot export to " + target.string() +
                            ": a part of that path is a file, not a folder");
    }
    if (ec == std::errc::filename_too_long) {
      return Error::invalid("cannot export to " + target.string() +
                            ": the path or one of its names is too long");
    }
    return error_from_errno(ec.value(), "cannot export to " + target.string());
  }
  if (!fs::exists(st)) return {};
  if (!fs::is_directory(st)) {
    return Error::invalid(target.string() +
                          " exists and is not a folder; export needs an "
                          "empty or new folder");
  }
  fs::directory_iterator it(target, ec);
  if (ec) return error_from_errno(ec.value(), "cannot read " + target.string());
  if (it != fs::directory_iterator()) {
    return Error::invalid(target.string() + " is not empty; export needs an empty or new folder");
  }
  return {};
}

namespace {

// The folder `rel` under `root`, opened one name at a time (no symbolic
// link followed), so its path length does not matter.
Result<UniqueFd> open_folder(int root, const std::string& rel) {
  UniqueFd dir(::fcntl(root, F_DUPFD_CLOEXEC, 0));
  if (!dir.valid()) return error_from_errno(errno, "cannot duplicate a descriptor");
  for (const auto& part : split_path(rel)) {
    UniqueFd next(
        ::openat(dir.get(), part.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!next.valid()) return error_from_errno(errno, "cannot open folder " + printable(part));
    dir = std::move(next);
  }
  return dir;
}

}  // namespace

Result<ExportResult> write_export(const ExportPlan& plan, const fs::path& target,
                                  BlobSource& blobs) {
  SOMA_TRY(check_export_target(target));
  std::error_code ec;
  fs::create_directories(target, ec);
  if (ec) return error_from_errno(ec.value(), "cannot create " + target.string());
  UniqueFd root(::open(target.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!root.valid()) return error_from_errno(errno, "cannot open " + target.string());

  ExportResult result;
  auto report = [&](const std::string& path, std::string reason) {
    result.problems.push_back(
        {printable(path), std::move(reason), ImportProblem::Severity::kLeftOut});
  };
  // Folders that could not be made; nothing under them is tried again.
  std::set<std::string> failed;
  auto under_failed = [&](const std::string& path) -> std::optional<std::string> {
    for (std::string p = parent_of(path); !p.empty(); p = parent_of(p)) {
      if (failed.count(p) > 0) return p;
    }
    return std::nullopt;
  };

  for (const auto& dir : plan.dirs) {
    if (under_failed(dir)) {
      failed.insert(dir);
      continue;
    }
    auto parent = open_folder(root.get(), parent_of(dir));
    Status made = parent ? Status() : Status(parent.error());
    if (made.ok() && ::mkdirat(parent->get(), name_of(dir).c_str(), 0755) != 0) {
      made = error_from_errno(errno, "cannot create this folder");
    }
    if (!made.ok()) {
      failed.insert(dir);
      report(dir, made.error().message + "; nothing in it is written");
    }
  }

  for (const auto& file : plan.files) {
    if (under_failed(file.path)) continue;  // reported with its folder
    auto parent = open_folder(root.get(), parent_of(file.path));
    if (!parent) {
      report(file.path, parent.error().message + "; not written");
      continue;
    }
    auto out = AtomicFile::create_at(parent->get(), name_of(file.path), printable(file.path));
    if (!out) {
      report(file.path, out.error().message + "; not written");
      continue;
    }
    Status written;
    if (file.from_blob) {
      written = blobs.write_to(file.cid, file.size, *out);
      // Without the daemon no other blob can be read either.
      if (!written.ok() && written.error().code == core::ErrorCode::kUnavailable) {
        return written.take_error();
      }
      if (!written.ok()) {
        report(file.path, "blob " + file.cid + " could not be read: " + written.error().message +
                              "; not written");
        continue;
      }
    } else {
      written = out->write(core::as_bytes(file.text));
    }
    if (written.ok()) written = out->commit();
    if (!written.ok()) {
      report(file.path, written.error().message + "; not written");
      continue;
    }
    ++result.files;
    result.bytes += out->written();
  }
  return result;
}

}  // namespace soma::notes
