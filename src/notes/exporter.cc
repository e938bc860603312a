#include "notes/exporter.h"

#include <algorithm>
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

std::string join(const std::string& dir, const std::string& name) {
  return dir.empty() ? name : dir + "/" + name;
}

// `path` applied to folder `base` with "." and ".." resolved; nullopt when
// it would leave the export folder or names no file.
std::optional<std::string> resolve_inside(const std::string& base, std::string_view path) {
  if (path.empty()) return std::nullopt;
  std::vector<std::string> parts;
  auto push = [&](std::string_view text) -> bool {
    std::size_t i = 0;
    while (i <= text.size()) {
      std::size_t slash = text.find('/', i);
      if (slash == std::string_view::npos) slash = text.size();
      std::string_view part = text.substr(i, slash - i);
      i = slash + 1;
      if (part.empty() || part == ".") continue;
      if (part == "..") {
        if (parts.empty()) return false;
        parts.pop_back();
        continue;
      }
      if (part.find('\0') != std::string_view::npos) return false;
      parts.emplace_back(part);
    }
    return true;
  };
  // A path starting with '/' is taken from the export folder's root.
  if (!push(path.front() == '/' ? std::string_view() : base) || !push(path) || parts.empty()) {
    return std::nullopt;
  }
  std::string out;
  for (const auto& part : parts) out = join(out, part);
  return out;
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
      add_file(join(dir, name), true, {}, attachment.cid, attachment.size);
      ++plan_.attachments;
    }
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
        plan_.problems.push_back({path, "a folder of the same name is exported; file not written"});
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

  std::string unique_name(const std::string& dir, const std::string& wanted) {
    auto& used = used_[dir];
    if (used.insert(wanted).second) return wanted;
    auto dot = wanted.rfind('.');
    std::string stem = (dot == std::string::npos || dot == 0) ? wanted : wanted.substr(0, dot);
    std::string ext = (dot == std::string::npos || dot == 0) ? "" : wanted.substr(dot);
    for (int n = 2;; ++n) {
      std::string candidate = stem + " (" + std::to_string(n) + ")" + ext;
      if (used.insert(candidate).second) {
        plan_.problems.push_back({join(dir, wanted),
                                  "another page or attachment has this name; "
                                  "exported as \"" +
                                      candidate + "\""});
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
      plan_.problems.push_back({path, "pages nested deeper than " +
                                          std::to_string(kMaxExportDepth) +
                                          " levels are not exported"});
      return;
    }
    place_children(page.id, path, depth + 1);
  }

  void place_note(const SpacePage& page, const std::string& dir) {
    std::string source_name;
    std::vector<RecordedLink> links = recorded_links(page.structure, &source_name);
    std::string wanted =
        is_plain_file_name(source_name) ? source_name : file_name_from(page.title) + ".md";
    std::string path = join(dir, unique_name(dir, wanted));

    // Each soma:blob/<CID> the structure records, in order, gets its href back.
    std::string text;
    std::size_t next = 0;
    std::size_t copied = 0;
    for (std::size_t at = page.text.find(kBlobScheme); at != std::string::npos;
         at = page.text.find(kBlobScheme, at + 1)) {
      std::size_t end = at + kBlobScheme.size();
      while (end < page.text.size() && is_cid_char(page.text[end])) ++end;
      std::string_view cid = std::string_view(page.text).substr(at + kBlobScheme.size(),
                                                                end - at - kBlobScheme.size());
      if (next >= links.size() || links[next].cid != cid) continue;
      text.append(page.text, copied, at - copied);
      text += links[next].href;
      copied = end;
      pending_links_.push_back({path, dir, links[next]});
      ++next;
      at = end - 1;
    }
    text.append(page.text, copied, std::string::npos);
    add_file(path, false, std::move(text), {}, 0);
    ++plan_.notes;
  }

  void place_blob(const PendingBlob& pending) {
    auto path = resolve_inside(pending.note_dir, pending.link.target);
    if (!path) {
      plan_.problems.push_back(
          {pending.note_path, "link \"" + printable(pending.link.href) +
                                  "\" names a place outside the export folder; not written"});
      return;
    }
    if (auto it = files_.find(*path); it != files_.end()) {
      if (!(it->second.from_blob && it->second.cid == pending.link.cid)) {
        plan_.problems.push_back({*path,
                                  "two different files would be written here; kept the "
                                  "first, linked from " +
                                      pending.note_path});
      }
      return;
    }
    add_file(*path, true, {}, pending.link.cid, 0);
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
};

}  // namespace

ExportPlan plan_export(const SpaceSnapshot& space) { return Planner(space).run(); }

Status check_export_target(const fs::path& target) {
  std::error_code ec;
  auto st = fs::symlink_status(target, ec);
  if (ec || !fs::exists(st)) return {};
  if (!fs::is_directory(st)) {
    return Error::invalid(target.string() +
                          " exists and is not a folder; export needs an "
                          "empty or new folder");
  }
  fs::directory_iterator it(target, ec);
  if (ec) return Error::invalid("cannot read " + target.string() + ": " + ec.message());
  if (it != fs::directory_iterator()) {
    return Error::invalid(target.string() + " is not empty; export needs an empty or new folder");
  }
  return {};
}

Result<ExportResult> write_export(const ExportPlan& plan, const fs::path& target,
                                  BlobSource& blobs) {
  SOMA_TRY(check_export_target(target));
  std::error_code ec;
  fs::create_directories(target, ec);
  if (ec) return Error::denied("cannot create " + target.string() + ": " + ec.message());

  for (const auto& dir : plan.dirs) {
    fs::create_directory(target / dir, ec);
    if (ec) return Error::denied("cannot create " + (target / dir).string() + ": " + ec.message());
  }

  ExportResult result;
  for (const auto& file : plan.files) {
    auto out = AtomicFile::create(target / file.path);
    if (!out) return out.take_error();
    if (file.from_blob) {
      SOMA_TRY(
          blobs.read(file.cid, file.size, [&](core::ByteView chunk) { return out->write(chunk); }));
    } else {
      SOMA_TRY(out->write(core::as_bytes(file.text)));
    }
    SOMA_TRY(out->commit());
    ++result.files;
    result.bytes += out->written();
  }
  return result;
}

}  // namespace soma::notes
