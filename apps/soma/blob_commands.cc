// soma blob add|get|info|list|verify
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <iostream>

#include "commands.h"
#include "notes/file_access.h"
#include "transfer.h"

namespace soma::cli {
namespace {

struct BlobArgs {
  std::string file;
  std::string space;
  std::string expect;
  std::string cid;
  std::string output;
  std::vector<std::string> cids;
  bool all = false;
};

int run_add(Context& ctx, const BlobArgs& args) {
  Output out = ctx.out();
  notes::UniqueFd fd(::open(args.file.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) {
    return out.fail(errno == ENOENT ? core::Error::not_found(args.file + " does not exist")
                                    : core::Error::invalid("cannot open " + args.file));
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode)) {
    return out.fail(core::Error::invalid(args.file + " is not a regular file"));
  }
  auto client = ctx.client();
  if (!client) return out.fail(client.error());
  std::string name = std::filesystem::path(args.file).filename().string();
  auto info = add_file_blob(**client, fd.get(), static_cast<std::uint64_t>(st.st_size), args.space,
                            name, args.expect, out.json());
  if (!info) return out.fail(info.error());
  out.document(to_json(*info));
  out.line(info->cid());
  return kExitOk;
}

int run_get(Context& ctx, const BlobArgs& args) {
  Output out = ctx.out();
  if (args.output.empty() && out.json()) {
    return out.fail(core::Error::invalid("with --json, say where the bytes go: -o FILE"));
  }
  auto client = ctx.client();
  if (!client) return out.fail(client.error());

  if (args.output.empty()) {
    auto s = read_blob(**client, args.cid, out.json(), [](core::ByteView data) -> core::Status {
      std::cout.write(reinterpret_cast<const char*>(data.data()),
                      static_cast<std::streamsize>(data.size()));
      if (!std::cout) return core::Error::exhausted("cannot write to standard output");
      return {};
    });
    std::cout.flush();
    return s ? static_cast<int>(kExitOk) : out.fail(s.error());
  }

  auto file = notes::AtomicFile::create(args.output, /*replace=*/true);
  if (!file) return out.fail(file.error());
  auto s = write_blob_file(**client, args.cid, *file, out.json());
  if (!s) return out.fail(s.error());
  if (auto c = file->commit(); !c) return out.fail(c.error());
  out.document({{"cid", args.cid}, {"output", args.output}, {"size", file->written()}});
  out.line("wrote " + args.output + " (" + format_bytes(file->written()) + ")");
  return kExitOk;
}

int run_verify(Context& ctx, const BlobArgs& args) {
  Output out = ctx.out();
  if (args.all == !args.cids.empty()) {
    return out.fail(core::Error::invalid("name the blobs to verify, or --all (not both)"));
  }
  auto client = ctx.client();
  if (!client) return out.fail(client.error());
  api::VerifyBlobsRequest request;
  request.set_all(args.all);
  for (const auto& cid : args.cids) request.add_cids(cid);
  // Verifying every blob reads every byte; give it the time it needs.
  auto call = (*client)->context(/*streaming=*/true);
  api::VerifyBlobsReply reply;
  grpc::Status status = (*client)->stub().VerifyBlobs(call.get(), request, &reply);
  if (!status.ok()) return out.fail((*client)->error(status));

  nlohmann::json problems = nlohmann::json::array();
  for (const auto& p : reply.problems()) {
    problems.push_back({{"cid", p.cid()}, {"problem", p.problem()}});
  }
  out.document({{"checked", reply.checked()},
                {"bytes_checked", reply.bytes_checked()},
                {"leftovers_removed", reply.leftovers_removed()},
                {"problems", problems}});
  out.line("checked " + std::to_string(reply.checked()) + " blob(s), " +
           format_bytes(reply.bytes_checked()));
  if (reply.leftovers_removed() > 0) {
    out.line("removed " + std::to_string(reply.leftovers_removed()) +
             " leftover temporary file(s)");
  }
  for (const auto& p : reply.problems()) out.line("PROBLEM " + p.cid() + ": " + p.problem());
  if (reply.problems_size() > 0) {
    out.note(std::to_string(reply.problems_size()) + " problem(s) found");
    return kExitFailure;
  }
  out.line("no problems");
  return kExitOk;
}

}  // namespace

void add_blob_commands(CLI::App& app, Registry& registry) {
  auto args = std::make_shared<BlobArgs>();
  auto* blob = app.add_subcommand("blob", "Upload, download, inspect and verify blobs");
  blob->require_subcommand(1);

  auto* add = blob->add_subcommand("add", "Upload a file as a blob and print its CID");
  add->add_option("FILE", args->file, "File to upload")->required();
  add->add_option("--space", args->space, "Space the blob is charged to (id or name)")->required();
  add->add_option("--expect", args->expect, "Fail unless the bytes hash to this CID");
  registry.on(add, [args](Context& ctx) { return run_add(ctx, *args); });

  auto* get = blob->add_subcommand("get", "Download a blob (to stdout unless -o)");
  get->add_option("CID", args->cid, "Blob CID")->required();
  get->add_option("-o,--output", args->output, "Write to this file (via a temporary file)");
  registry.on(get, [args](Context& ctx) { return run_get(ctx, *args); });

  auto* info = blob->add_subcommand("info", "Show a blob's size, blocks and spaces");
  info->add_option("CID", args->cid, "Blob CID")->required();
  registry.on(info, [args](Context& ctx) {
    Output out = ctx.out();
    auto client = ctx.client();
    if (!client) return out.fail(client.error());
    api::GetBlobRequest request;
    request.set_cid(args->cid);
    auto b = (*client)->call(&api::Daemon::Stub::GetBlob, request);
    if (!b) return out.fail(b.error());
    out.document(to_json(*b));
    std::string spaces;
    for (const auto& s : b->space_ids()) spaces += (spaces.empty() ? "" : " ") + s;
    out.fields({{"cid", b->cid()},
                {"size", std::to_string(b->size()) + " (" + format_bytes(b->size()) + ")"},
                {"blocks", std::to_string(b->block_count())},
                {"created", format_time(b->created_ms())},
                {"spaces", spaces.empty() ? "-" : spaces}});
    return static_cast<int>(kExitOk);
  });

  auto* list = blob->add_subcommand("list", "List blobs");
  list->add_option("--space", args->space, "Only blobs of this space");
  registry.on(list, [args](Context& ctx) {
    Output out = ctx.out();
    auto client = ctx.client();
    if (!client) return out.fail(client.error());
    api::ListBlobsRequest request;
    request.set_space(args->space);
    auto reply = (*client)->call(&api::Daemon::Stub::ListBlobs, request);
    if (!reply) return out.fail(reply.error());
    nlohmann::json blobs = nlohmann::json::array();
    std::vector<std::vector<std::string>> rows;
    for (const auto& b : reply->blobs()) {
      blobs.push_back(to_json(b));
      rows.push_back({b.cid(), format_bytes(b.size()), std::to_string(b.block_count()),
                      format_time(b.created_ms())});
    }
    out.document({{"blobs", blobs}});
    if (rows.empty()) {
      out.line("no blobs");
    } else {
      out.table({"CID", "SIZE", "BLOCKS", "CREATED"}, rows);
    }
    return static_cast<int>(kExitOk);
  });

  auto* verify = blob->add_subcommand(
      "verify", "Re-hash blobs against their CIDs (exit 5 when problems are found)");
  verify->add_option("CID", args->cids, "Blobs to verify");
  verify->add_flag("--all", args->all, "Verify every blob");
  registry.on(verify, [args](Context& ctx) { return run_verify(ctx, *args); });
}

}  // namespace soma::cli
