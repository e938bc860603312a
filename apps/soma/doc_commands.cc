// soma doc get|put
#include <iostream>
#include <set>

#include "commands.h"
#include "notes/file_access.h"
#include "notes/utf8.h"

namespace soma::cli {
namespace {

struct DocArgs {
  std::string page;
  std::string output;
  std::string file = "-";
  std::string format = "markdown";
  std::string structure;
  std::uint64_t if_revision = 0;
};

// Every distinct soma:blob/<CID> the text refers to, in order.
std::vector<std::string> blob_refs(const std::string& text) {
  static constexpr std::string_view kScheme = "soma:blob/";
  std::vector<std::string> out;
  std::set<std::string> seen;
  for (auto at = text.find(kScheme); at != std::string::npos; at = text.find(kScheme, at + 1)) {
    std::size_t b = at + kScheme.size();
    std::size_t e = b;
    while (e < text.size() && std::isalnum(static_cast<unsigned char>(text[e]))) ++e;
    if (e > b && seen.insert(text.substr(b, e - b)).second) out.push_back(text.substr(b, e - b));
  }
  return out;
}

int run_get(Context& ctx, const DocArgs& args) {
  Output out = ctx.out();
  auto client = ctx.client();
  if (!client) return out.fail(client.error());
  api::GetDocumentRequest request;
  request.set_page_id(args.page);
  auto doc = (*client)->call(&api::Daemon::Stub::GetDocument, request);
  if (!doc) return out.fail(doc.error());

  if (!args.output.empty()) {
    auto file = notes::AtomicFile::create(args.output, /*replace=*/true);
    if (!file) return out.fail(file.error());
    if (auto s = file->write(core::as_bytes(doc->text())); !s) return out.fail(s.error());
    if (auto s = file->commit(); !s) return out.fail(s.error());
    out.line("wrote " + args.output + " (" + format_bytes(doc->text().size()) + ", revision " +
             std::to_string(doc->revision()) + ")");
  } else if (!out.json()) {
    std::cout << doc->text();
    std::cout.flush();
  }
  out.document(to_json(*doc));
  return kExitOk;
}

int run_put(Context& ctx, const DocArgs& args, const CLI::App& cmd) {
  Output out = ctx.out();
  auto text = read_input(args.file, kMaxDocumentBytes);
  if (!text) return out.fail(text.error());
  if (!notes::is_valid_utf8(*text)) {
    return out.fail(
        core::Error::invalid((args.file == "-" ? std::string("standard input") : args.file) +
                             " is not UTF-8 text; attach binary files with `soma attach add`"));
  }
  if (cmd.count("--structure") > 0) {
    auto parsed = nlohmann::json::parse(args.structure, nullptr, false);
    if (!parsed.is_object()) {
      return out.fail(core::Error::invalid("--structure must be a JSON object"));
    }
  }

  auto client = ctx.client();
  if (!client) return out.fail(client.error());
  api::PutDocumentRequest request;
  request.set_page_id(args.page);
  request.set_format(args.format);
  request.set_if_revision(args.if_revision);
  api::GetDocumentRequest get;
  get.set_page_id(args.page);
  auto current = (*client)->call(&api::Daemon::Stub::GetDocument, get);
  if (!current && current.error().code != core::ErrorCode::kNotFound) {
    return out.fail(current.error());
  }
  if (cmd.count("--structure") > 0) {
    request.set_structure(args.structure);
  } else if (current) {
    // Keep the structure the document has, so editing its text loses no links.
    request.set_structure(current->structure());
  }
  // The text's soma:blob/<CID> links become references only for blobs the
  // space holds (or the document already referred to); any other mention
  // is just text, so putting back unchanged text always succeeds.
  std::vector<std::string> refs = blob_refs(*text);
  if (!refs.empty()) {
    std::set<std::string> usable;
    if (current) usable.insert(current->blob_cids().begin(), current->blob_cids().end());
    api::GetPageRequest page_request;
    page_request.set_page_id(args.page);
    auto page = (*client)->call(&api::Daemon::Stub::GetPage, page_request);
    if (!page) return out.fail(page.error());
    api::ListBlobsRequest blobs_request;
    blobs_request.set_space(page->space_id());
    auto held = (*client)->call(&api::Daemon::Stub::ListBlobs, blobs_request);
    if (!held) return out.fail(held.error());
    for (const auto& b : held->blobs()) usable.insert(b.cid());
    for (auto& cid : refs) {
      if (usable.count(cid) > 0) request.add_blob_cids(std::move(cid));
    }
  }
  request.set_text(std::move(*text));

  auto doc = (*client)->call(&api::Daemon::Stub::PutDocument, request);
  if (!doc) return out.fail(doc.error());
  nlohmann::json j = to_json(*doc);
  j.erase("text");
  out.document(j);
  out.line("saved document of " + doc->page_id() + " at revision " +
           std::to_string(doc->revision()));
  return kExitOk;
}

}  // namespace

void add_doc_commands(CLI::App& app, Registry& registry) {
  auto args = std::make_shared<DocArgs>();
  auto* doc = app.add_subcommand("doc", "Read and write a page's document");
  doc->require_subcommand(1);

  auto* get = doc->add_subcommand("get", "Print a page's document text (raw) on stdout");
  get->add_option("PAGE", args->page, "Page id")->required();
  get->add_option("-o,--output", args->output, "Write the text to this file instead");
  registry.on(get, [args](Context& ctx) { return run_get(ctx, *args); });

  auto* put = doc->add_subcommand("put", "Replace a page's document text");
  put->add_option("PAGE", args->page, "Page id")->required();
  put->add_option("--file", args->file, "Read the text from this file (default: stdin)");
  put->add_option("--format", args->format, "Text format")->capture_default_str();
  put->add_option("--structure", args->structure,
                  "Structure as a JSON object (default: keep the current one)");
  put->add_option("--if-revision", args->if_revision,
                  "Fail unless the document is still at this revision");
  registry.on(put, [args, put](Context& ctx) { return run_put(ctx, *args, *put); });
}

}  // namespace soma::cli
