// soma export SPACE DIR
#include <algorithm>

#include "commands.h"
#include "notes/exporter.h"
#include "problem_report.h"
#include "transfer.h"

namespace soma::cli {
namespace {

struct ExportArgs {
  std::string space;
  std::string dir;
};

// Blob bytes for the exporter: written into each file by the daemon itself
// when it can reach it, else streamed from it.
class DaemonBlobs : public notes::BlobSource {
 public:
  DaemonBlobs(Client& client, bool json) : client_(client), json_(json) {}
  core::Status read(const std::string& cid, std::uint64_t,
                    const std::function<core::Status(core::ByteView)>& sink) override {
    return read_blob(client_, cid, json_, sink);
  }
  core::Status write_to(const std::string& cid, std::uint64_t, notes::AtomicFile& out) override {
    return write_blob_file(client_, cid, out, json_);
  }

 private:
  Client& client_;
  bool json_;
};

int run_export(Context& ctx, const ExportArgs& args) {
  Output out = ctx.out();
  if (auto s = notes::check_export_target(args.dir); !s) return out.fail(s.error());
  auto client_or = ctx.client();
  if (!client_or) return out.fail(client_or.error());
  Client& client = **client_or;

  auto space = find_space(client, args.space);
  if (!space) return out.fail(space.error());

  // Read the whole space: pages with documents, then attachments.
  api::ListPagesRequest list;
  list.set_space(space->id());
  list.set_recursive(true);
  auto pages = client.call(&api::Daemon::Stub::ListPages, list);
  if (!pages) return out.fail(pages.error());
  notes::SpaceSnapshot snapshot;
  for (const auto& p : pages->pages()) {
    notes::SpacePage page{p.id(), p.parent_id(), p.title(), p.kind(), p.position(), {}, {}};
    if (p.kind() != "folder") {
      api::GetDocumentRequest get;
      get.set_page_id(p.id());
      auto doc = client.call(&api::Daemon::Stub::GetDocument, get);
      if (doc) {
        page.text = doc->text();
        page.structure = doc->structure();
      } else if (doc.error().code != core::ErrorCode::kNotFound) {
        return out.fail(doc.error());
      }
    }
    snapshot.pages.push_back(std::move(page));
  }
  api::ListAttachmentsRequest attachments;
  attachments.set_space(space->id());
  attachments.set_all(true);
  auto listed = client.call(&api::Daemon::Stub::ListAttachments, attachments);
  if (!listed) return out.fail(listed.error());
  for (const auto& a : listed->attachments()) {
    snapshot.attachments.push_back({a.page_id(), a.name(), a.cid(), a.size()});
  }
  api::ListBlobsRequest blob_list;
  blob_list.set_space(space->id());
  auto held = client.call(&api::Daemon::Stub::ListBlobs, blob_list);
  if (!held) return out.fail(held.error());
  for (const auto& b : held->blobs()) snapshot.blobs.emplace(b.cid(), b.size());

  notes::ExportPlan plan = notes::plan_export(snapshot);
  DaemonBlobs blobs(client, out.json());
  auto written = notes::write_export(plan, args.dir, blobs);
  if (!written) return out.fail(written.error());

  std::vector<notes::ExportProblem> problems = plan.problems;
  problems.insert(problems.end(), written->problems.begin(), written->problems.end());
  out.document({{"space", to_json(*space)},
                {"folders", plan.folders},
                {"notes", plan.notes},
                {"blobs", plan.blobs},
                {"attachments", plan.attachments},
                {"files", written->files},
                {"bytes", written->bytes},
                {"problems", problems_json(problems)}});
  out.line("exported space " + space->name() + " to " + args.dir);
  out.line("  folders:     " + std::to_string(plan.folders));
  out.line("  notes:       " + std::to_string(plan.notes));
  out.line("  blobs:       " + std::to_string(plan.blobs) + " linked from notes");
  out.line("  attachments: " + std::to_string(plan.attachments));
  out.line("  bytes:       " + format_bytes(written->bytes) + " in " +
           std::to_string(written->files) + " files");
  // Notices (renamed files, links given a file name) lose nothing.
  return finish_with_problems(out, problems, "exported", "item(s)");
}

}  // namespace

void add_export_command(CLI::App& app, Registry& registry) {
  auto args = std::make_shared<ExportArgs>();
  auto* cmd = app.add_subcommand(
      "export",
      "Write a space out as a folder of Markdown notes, linked files and attachments; DIR must "
      "be empty or new");
  cmd->add_option("SPACE", args->space, "Space id or name")->required();
  cmd->add_option("DIR", args->dir, "Folder to write (empty or not yet existing)")->required();
  registry.on(cmd, [args](Context& ctx) { return run_export(ctx, *args); });
}

}  // namespace soma::cli
