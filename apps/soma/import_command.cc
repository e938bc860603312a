// soma import DIR --space NAME
#include <sys/stat.h>

#include <algorithm>
#include <map>
#include <optional>
#include <set>
#include <tuple>

#include "commands.h"
#include "notes/importer.h"
#include "notes/utf8.h"
#include "problem_report.h"
#include "transfer.h"

namespace soma::cli {
namespace {

struct ImportArgs {
  std::string dir;
  std::string space;
  bool include_hidden = false;
};

// Errors after which nothing else can succeed either.
bool is_fatal(const core::Error& error) {
  return error.code == core::ErrorCode::kUnavailable ||
         error.code == core::ErrorCode::kPermissionDenied ||
         error.code == core::ErrorCode::kNotFound;
}

struct Tally {
  std::size_t folders = 0;
  std::size_t notes = 0;
  std::size_t blobs = 0;
  std::size_t attachments = 0;
  std::uint64_t bytes = 0;
  // Already in the space from an earlier (perhaps interrupted) import.
  std::size_t existing_folders = 0;
  std::size_t existing_notes = 0;
  std::size_t existing_attachments = 0;
};

// What the space already holds, so that importing the same folder again
// (to finish an interrupted import) adds only what is missing.
class Existing {
 public:
  core::Status load(Client& client, const std::string& space_id) {
    api::ListPagesRequest pages;
    pages.set_space(space_id);
    pages.set_recursive(true);
    auto listed = client.call(&api::Daemon::Stub::ListPages, pages);
    if (!listed) return listed.take_error();
    for (const auto& p : listed->pages()) {
      children_[{p.parent_id(), p.title()}].push_back({p.id(), p.kind()});
    }
    api::ListAttachmentsRequest attachments;
    attachments.set_space(space_id);
    attachments.set_all(true);
    auto attached = client.call(&api::Daemon::Stub::ListAttachments, attachments);
    if (!attached) return attached.take_error();
    for (const auto& a : attached->attachments()) {
      attachments_.insert({a.page_id(), a.name(), a.cid()});
    }
    return {};
  }

  // The folder page `title` under `parent`, not yet matched.
  std::optional<std::string> folder(const std::string& parent, const std::string& title) {
    auto it = children_.find({parent, title});
    if (it == children_.end()) return std::nullopt;
    for (const auto& [id, kind] : it->second) {
      if (kind == "folder" && claimed_.insert(id).second) return id;
    }
    return std::nullopt;
  }

  // The note page `title` under `parent` imported from a file `source_name`.
  core::Result<std::optional<std::string>> note(Client& client, const std::string& parent,
                                                const std::string& title,
                                                const std::string& source_name) {
    auto it = children_.find({parent, title});
    if (it == children_.end()) return std::optional<std::string>();
    for (const auto& [id, kind] : it->second) {
      if (kind != "note" || claimed_.count(id) > 0) continue;
      api::GetDocumentRequest get;
      get.set_page_id(id);
      auto doc = client.call(&api::Daemon::Stub::GetDocument, get);
      if (!doc) {
        if (doc.error().code == core::ErrorCode::kNotFound) continue;
        return doc.take_error();
      }
      auto structure = nlohmann::json::parse(doc->structure(), nullptr, false);
      if (!structure.is_object()) continue;
      auto name = structure.find("source_name");
      if (name == structure.end() || !name->is_string() || *name != source_name) continue;
      claimed_.insert(id);
      return std::optional<std::string>(id);
    }
    return std::optional<std::string>();
  }

  bool attachment(const std::string& page, const std::string& name, const std::string& cid) const {
    return attachments_.count({page, name, cid}) > 0;
  }

 private:
  std::map<std::pair<std::string, std::string>, std::vector<std::pair<std::string, std::string>>>
      children_;  // (parent id, title) -> (id, kind)
  std::set<std::string> claimed_;
  std::set<std::tuple<std::string, std::string, std::string>> attachments_;
};

core::Error stopped(const core::Error& error, const Tally& t) {
  return core::Error{error.code, error.message + " (import stopped after " +
                                     std::to_string(t.folders + t.notes) + " pages and " +
                                     std::to_string(t.blobs + t.attachments) +
                                     " files; what was imported stays in the space)"};
}

int run_import(Context& ctx, const ImportArgs& args) {
  Output out = ctx.out();
  auto folder = notes::SourceFolder::open(args.dir);
  if (!folder) return out.fail(folder.error());
  notes::ImportLimits limits;
  limits.include_hidden = args.include_hidden;
  auto planned = notes::plan_import(*folder, limits);
  if (!planned) return out.fail(planned.error());
  notes::ImportPlan& plan = *planned;
  std::vector<notes::ImportProblem> problems = plan.problems;

  auto client_or = ctx.client();
  if (!client_or) return out.fail(client_or.error());
  Client& client = **client_or;

  // The space: the one of that name, else a new one.
  auto space = find_space(client, args.space);
  if (!space && space.error().code == core::ErrorCode::kNotFound) {
    api::CreateSpaceRequest request;
    request.set_name(args.space);
    space = client.call(&api::Daemon::Stub::CreateSpace, request);
  }
  if (!space) return out.fail(space.error());
  Existing existing;
  if (auto s = existing.load(client, space->id()); !s) return out.fail(s.error());

  // Every file once, streamed from inside the folder.
  std::set<std::size_t> linked;
  for (const auto& page : plan.pages) {
    for (const auto& link : page.links) linked.insert(link.file);
  }
  Tally tally;
  std::vector<std::string> cids(plan.files.size());
  for (std::size_t i = 0; i < plan.files.size(); ++i) {
    const auto& file = plan.files[i];
    auto fd = folder->open_file(file.rel_path);
    if (!fd) {
      problems.push_back(
          {notes::printable(file.rel_path), "cannot be read: " + fd.error().message});
      continue;
    }
    struct stat st {};
    if (::fstat(fd->get(), &st) != 0) {
      problems.push_back({notes::printable(file.rel_path), "cannot be read"});
      continue;
    }
    auto info = add_file_blob(client, fd->get(), static_cast<std::uint64_t>(st.st_size),
                              space->id(), file.rel_path, "", out.json());
    if (!info) {
      if (is_fatal(info.error())) return out.fail(stopped(info.error(), tally));
      problems.push_back(
          {notes::printable(file.rel_path), "upload failed: " + info.error().message});
      continue;
    }
    cids[i] = info->cid();
    tally.bytes += static_cast<std::uint64_t>(st.st_size);
    if (linked.count(i) > 0) ++tally.blobs;
  }

  // Pages, parents first, notes with their documents.
  std::vector<std::string> page_ids(plan.pages.size());
  for (std::size_t i = 0; i < plan.pages.size(); ++i) {
    const auto& page = plan.pages[i];
    if (page.parent && page_ids[*page.parent].empty()) {
      problems.push_back({page.rel_path, "not imported: its folder's page could not be created"});
      continue;
    }
    std::string parent_id = page.parent ? page_ids[*page.parent] : std::string();
    bool note = page.kind == notes::PlannedPage::Kind::kNote;
    if (!note) {
      if (auto id = existing.folder(parent_id, page.title)) {
        page_ids[i] = *id;
        ++tally.existing_folders;
        continue;
      }
    } else {
      auto id = existing.note(client, parent_id, page.title, page.source_name);
      if (!id) {
        if (is_fatal(id.error())) return out.fail(stopped(id.error(), tally));
        problems.push_back({page.rel_path, "cannot check the space: " + id.error().message});
        continue;
      }
      if (*id) {
        page_ids[i] = **id;
        ++tally.existing_notes;
        problems.push_back({notes::printable(page.rel_path), "already imported; skipped",
                            notes::ImportProblem::Severity::kNotice});
        continue;
      }
    }
    api::CreatePageRequest request;
    request.set_space(space->id());
    if (page.parent) request.set_parent_id(parent_id);
    request.set_title(page.title);
    request.set_position(page.position);
    request.set_has_position(true);
    request.set_kind(note ? "note" : "folder");
    if (note) {
      auto rendered = notes::render_note(page, cids);
      if (!rendered) return out.fail(rendered.error());
      auto* doc = request.mutable_document();
      doc->set_format("markdown");
      doc->set_text(std::move(rendered->text));
      doc->set_structure(std::move(rendered->structure));
      for (auto& cid : rendered->blob_cids) doc->add_blob_cids(std::move(cid));
    }
    auto created = client.call(&api::Daemon::Stub::CreatePage, request);
    if (!created) {
      if (is_fatal(created.error())) return out.fail(stopped(created.error(), tally));
      problems.push_back({page.rel_path, "page not created: " + created.error().message});
      continue;
    }
    page_ids[i] = created->id();
    if (note) {
      ++tally.notes;
      tally.bytes += page.text.size();
    } else {
      ++tally.folders;
    }
  }

  // Files no note links to, beside their folder's page.
  for (const auto& attachment : plan.attachments) {
    const auto& file = plan.files[attachment.file];
    if (cids[attachment.file].empty()) continue;  // its upload problem is reported
    if (attachment.page && page_ids[*attachment.page].empty()) {
      problems.push_back({file.rel_path, "not attached: its folder's page could not be created"});
      continue;
    }
    std::string page_id = attachment.page ? page_ids[*attachment.page] : std::string();
    if (existing.attachment(page_id, attachment.name, cids[attachment.file])) {
      ++tally.existing_attachments;
      continue;
    }
    api::AddAttachmentRequest request;
    request.set_space(space->id());
    if (attachment.page) request.set_page_id(page_id);
    request.set_name(attachment.name);
    request.set_cid(cids[attachment.file]);
    request.set_media_type(attachment.media_type);
    auto added = client.call(&api::Daemon::Stub::AddAttachment, request);
    if (!added) {
      if (is_fatal(added.error())) return out.fail(stopped(added.error(), tally));
      problems.push_back({file.rel_path, "not attached: " + added.error().message});
      continue;
    }
    ++tally.attachments;
  }

  out.document({{"space", to_json(*space)},
                {"pages", tally.folders + tally.notes},
                {"folders", tally.folders},
                {"notes", tally.notes},
                {"blobs", tally.blobs},
                {"attachments", tally.attachments},
                {"bytes", tally.bytes},
                {"already_imported",
                 {{"folders", tally.existing_folders},
                  {"notes", tally.existing_notes},
                  {"attachments", tally.existing_attachments}}},
                {"problems", problems_json(problems)}});
  out.line("imported " + folder->path().string() + " into space " + space->name() + " (" +
           space->id() + ")");
  out.line("  pages:       " + std::to_string(tally.folders + tally.notes) + " (" +
           std::to_string(tally.folders) + " folders, " + std::to_string(tally.notes) + " notes)");
  out.line("  blobs:       " + std::to_string(tally.blobs) + " linked from notes");
  out.line("  attachments: " + std::to_string(tally.attachments));
  out.line("  bytes:       " + format_bytes(tally.bytes));
  std::size_t already = tally.existing_folders + tally.existing_notes + tally.existing_attachments;
  if (already > 0) {
    out.line("  already in the space, skipped: " + std::to_string(tally.existing_folders) +
             " folders, " + std::to_string(tally.existing_notes) + " notes, " +
             std::to_string(tally.existing_attachments) + " attachments");
  }
  // Notices leave every byte imported; only files left out fail the import.
  return finish_with_problems(out, problems, "imported", "file(s)");
}

}  // namespace

void add_import_command(CLI::App& app, Registry& registry) {
  auto args = std::make_shared<ImportArgs>();
  auto* cmd = app.add_subcommand(
      "import",
      "Import a folder of Markdown notes: folders become folder pages, *.md notes, files the "
      "notes link to blobs, other files attachments (exit 5 when something was left out)");
  cmd->add_option("DIR", args->dir, "Folder to import")->required();
  cmd->add_option("--space", args->space,
                  "Space to import into (created when missing); importing the same folder "
                  "again adds only what is not there yet")
      ->required();
  cmd->add_flag("--include-hidden", args->include_hidden,
                "Also import files and folders whose name starts with '.' (skipped by default)");
  registry.on(cmd, [args](Context& ctx) { return run_import(ctx, *args); });
}

}  // namespace soma::cli
