#include "notes/importer.h"

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <system_error>

#include "notes/link_scanner.h"
#include "notes/media_type.h"
#include "notes/utf8.h"

namespace soma::notes {
namespace {

namespace fs = std::filesystem;
using core::Error;
using core::Result;

std::string parent_of(std::string_view rel) {
  auto slash = rel.rfind('/');
  return slash == std::string_view::npos ? std::string() : std::string(rel.substr(0, slash));
}

std::string name_of(std::string_view rel) {
  auto slash = rel.rfind('/');
  return std::string(slash == std::string_view::npos ? rel : rel.substr(slash + 1));
}

std::string title_for_note(const std::string& name) {
  auto dot = name.rfind('.');
  if (dot == std::string::npos || dot == 0) return name;
  return name.substr(0, dot);
}

struct Entry {
  enum class Type { kFolder, kFile, kNote, kSkipped };
  Type type = Type::kSkipped;
  std::string reason;  // why it was skipped
};

struct PlainFile {
  std::string rel;
  std::optional<std::size_t> page;
  std::uint64_t size = 0;
};

class Planner {
 public:
  Planner(const SourceFolder& folder, const ImportLimits& limits)
      : folder_(folder), limits_(limits) {}

  ImportPlan run() {
    walk("", std::nullopt, 0);
    for (std::size_t i = 0; i < plan_.pages.size(); ++i) {
      if (plan_.pages[i].kind == PlannedPage::Kind::kNote) plan_links(plan_.pages[i]);
    }
    for (const auto& file : plain_) {
      if (linked_.count(file.rel) > 0) continue;
      PlannedAttachment attachment;
      attachment.file = file_index(file.rel, file.size);
      attachment.page = file.page;
      attachment.name = name_of(file.rel);
      attachment.media_type = media_type_for(attachment.name);
      plan_.attachments.push_back(std::move(attachment));
    }
    return std::move(plan_);
  }

 private:
  void problem(std::string_view rel, std::string reason,
               ImportProblem::Severity severity = ImportProblem::Severity::kLeftOut) {
    plan_.problems.push_back(
        {rel.empty() ? std::string(".") : printable(rel), std::move(reason), severity});
  }

  void notice(std::string_view rel, std::string reason) {
    problem(rel, std::move(reason), ImportProblem::Severity::kNotice);
  }

  void skip(const std::string& rel, std::string reason) {
    problem(rel, reason);
    entries_[rel] = {Entry::Type::kSkipped, std::move(reason)};
  }

  std::size_t file_index(const std::string& rel, std::uint64_t size) {
    auto [it, inserted] = file_indexes_.emplace(rel, plan_.files.size());
    if (inserted) plan_.files.push_back({rel, size});
    return it->second;
  }

  void walk(const std::string& rel, std::optional<std::size_t> parent, int depth) {
    fs::path dir = rel.empty() ? folder_.path() : folder_.path() / rel;
    std::error_code ec;
    std::vector<std::string> names;
    for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
      names.push_back(it->path().filename().native());
    }
    if (ec) {
      problem(rel, "cannot list this folder: " + ec.message() + "; its contents are skipped");
      return;
    }
    std::sort(names.begin(), names.end());

    std::int64_t position = 0;
    for (const auto& name : names) {
      std::string child = rel.empty() ? name : rel + "/" + name;
      if (++entry_count_ > limits_.max_entries) {
        if (!too_many_reported_) {
          problem(child, "the folder holds more than " + std::to_string(limits_.max_entries) +
                             " files and folders; this one and the rest are skipped");
          too_many_reported_ = true;
        }
        return;
      }
      if (name.front() == '.' && !limits_.include_hidden) {
        std::string reason = "hidden, skipped; pass --include-hidden to import it";
        notice(child, reason);
        entries_[child] = {Entry::Type::kSkipped, std::move(reason)};
        continue;
      }
      if (!is_valid_utf8(name)) {
        skip(child, "the name is not valid UTF-8; rename it to import it");
        continue;
      }

      fs::file_status st = fs::symlink_status(dir / name, ec);
      if (ec) {
        skip(child, "cannot read: " + ec.message());
        continue;
      }
      if (fs::is_symlink(st)) {
        auto real = folder_.resolve(child);
        if (!real) {
          skip(child, real.error().code == core::ErrorCode::kNotFound
                          ? "symbolic link to nothing; skipped"
                          : "symbolic link pointing outside the import folder; skipped");
          continue;
        }
        st = fs::status(folder_.path() / *real, ec);
        if (ec || fs::is_directory(st)) {
          skip(child, "symbolic link to a folder; not followed");
          continue;
        }
      }

      if (fs::is_directory(st)) {
        if (depth + 1 > limits_.max_depth) {
          skip(child,
               "nested deeper than " + std::to_string(limits_.max_depth) + " folders; skipped");
          continue;
        }
        PlannedPage page;
        page.kind = PlannedPage::Kind::kFolder;
        page.title = name;
        page.rel_path = child;
        page.parent = parent;
        page.position = position++;
        plan_.pages.push_back(std::move(page));
        entries_[child] = {Entry::Type::kFolder, {}};
        walk(child, plan_.pages.size() - 1, depth + 1);
        continue;
      }
      if (!fs::is_regular_file(st)) {
        skip(child, "not a regular file (device, socket or pipe); skipped");
        continue;
      }

      auto fd = folder_.open_file(child);
      if (!fd) {
        skip(child, "cannot be read: " + fd.error().message);
        continue;
      }
      std::uint64_t size = fs::file_size(folder_.path() / child, ec);
      if (ec) size = 0;

      if (is_note_name(name)) {
        auto text = folder_.read_file(child, limits_.max_note_bytes);
        if (!text) {
          if (text.error().code == core::ErrorCode::kResourceExhausted) {
            notice(child, "note is larger than " + std::to_string(limits_.max_note_bytes) +
                              " bytes; imported as an attachment instead");
          } else {
            skip(child, "cannot be read: " + text.error().message);
            continue;
          }
        } else if (!is_valid_utf8(*text)) {
          notice(child, "note is not valid UTF-8 text; imported as an attachment instead");
        } else {
          PlannedPage page;
          page.kind = PlannedPage::Kind::kNote;
          page.title = title_for_note(name);
          page.rel_path = child;
          page.parent = parent;
          page.position = position++;
          page.source_name = name;
          page.text = std::move(*text);
          plan_.pages.push_back(std::move(page));
          entries_[child] = {Entry::Type::kNote, {}};
          continue;
        }
      }
      entries_[child] = {Entry::Type::kFile, {}};
      plain_.push_back({child, parent, size});
      sizes_[child] = size;
    }
  }

  void plan_links(PlannedPage& note) {
    std::string note_dir = parent_of(note.rel_path);
    for (const auto& link : scan_links(note.text)) {
      LinkTarget target = classify_destination(link.destination);
      if (target.kind != TargetKind::kLocal || target.path.empty()) continue;
      std::string href = note.text.substr(link.begin, link.end - link.begin);
      auto refuse = [&](const std::string& why) {
        notice(note.rel_path, "link \"" + printable(href) + "\" " + why);
      };

      // A path starting with '/' is taken from the import folder's root, the
      // way Markdown in a repository means it.
      bool from_root = target.path.front() == '/';
      auto rel = join_lexically(from_root ? std::string() : note_dir, target.path);
      if (!rel) {
        refuse("leads outside the import folder; not imported");
        continue;
      }
      // Links to folders and to other notes keep working as written, since
      // export restores the same tree.
      if (rel->empty() || target.path.back() == '/' || is_note_name(name_of(*rel))) continue;

      std::string file_rel = *rel;
      auto entry = entries_.find(file_rel);
      if (entry == entries_.end()) {
        auto real = folder_.resolve(file_rel);
        if (!real) {
          refuse(real.error().code == core::ErrorCode::kNotFound
                     ? "points to a file that does not exist"
                     : "leads outside the import folder through a symbolic link; not imported");
          continue;
        }
        entry = entries_.find(*real);
        if (entry == entries_.end()) {
          refuse("points to a file that is not imported");
          continue;
        }
        file_rel = *real;
      }
      switch (entry->second.type) {
        case Entry::Type::kFolder:
        case Entry::Type::kNote:
          continue;
        case Entry::Type::kSkipped:
          refuse("points to a file that is not imported: " + entry->second.reason);
          continue;
        case Entry::Type::kFile:
          break;
      }
      linked_.insert(file_rel);
      PlannedLink planned;
      planned.begin = link.begin;
      planned.end = link.end;
      planned.href = std::move(href);
      planned.target = target.path;
      planned.file = file_index(file_rel, sizes_[file_rel]);
      note.links.push_back(std::move(planned));
    }
  }

  const SourceFolder& folder_;
  const ImportLimits& limits_;
  ImportPlan plan_;
  std::map<std::string, Entry> entries_;
  std::map<std::string, std::uint64_t> sizes_;
  std::vector<PlainFile> plain_;
  std::set<std::string> linked_;
  std::map<std::string, std::size_t> file_indexes_;
  std::size_t entry_count_ = 0;
  bool too_many_reported_ = false;
};

}  // namespace

bool is_note_name(std::string_view name) {
  auto ends_with_ci = [&](std::string_view suffix) {
    if (name.size() <= suffix.size()) return false;
    std::string_view tail = name.substr(name.size() - suffix.size());
    for (std::size_t i = 0; i < suffix.size(); ++i) {
      char c = tail[i];
      if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
      if (c != suffix[i]) return false;
    }
    return true;
  };
  return ends_with_ci(".md") || ends_with_ci(".markdown");
}

Result<ImportPlan> plan_import(const SourceFolder& folder, const ImportLimits& limits) {
  std::error_code ec;
  if (!fs::is_directory(folder.path(), ec)) {
    return Error::invalid(folder.path().string() + " is not a folder");
  }
  return Planner(folder, limits).run();
}

Result<RenderedNote> render_note(const PlannedPage& note,
                                 const std::vector<std::string>& file_cids) {
  RenderedNote out;
  nlohmann::json links = nlohmann::json::array();
  std::set<std::string> seen;
  std::size_t copied = 0;
  for (const auto& link : note.links) {
    // A file that could not be uploaded keeps its link as written.
    if (link.file >= file_cids.size() || file_cids[link.file].empty()) continue;
    if (link.begin < copied || link.end > note.text.size() || link.begin > link.end) {
      return Error::internal("planned links overlap in " + printable(note.rel_path));
    }
    const std::string& cid = file_cids[link.file];
    out.text.append(note.text, copied, link.begin - copied);
    out.text += "soma:blob/" + cid;
    copied = link.end;
    links.push_back({{"cid", cid}, {"href", link.href}, {"target", link.target}});
    if (seen.insert(cid).second) out.blob_cids.push_back(cid);
  }
  out.text.append(note.text, copied, std::string::npos);
  nlohmann::json structure = {{"source_name", note.source_name}, {"links", std::move(links)}};
  out.structure = structure.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return out;
}

}  // namespace soma::notes
