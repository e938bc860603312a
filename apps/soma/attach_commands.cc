// soma attach add|list|remove
#include "commands.h"
#include "notes/media_type.h"

namespace soma::cli {
namespace {

struct AttachArgs {
  std::string space;
  std::string name;
  std::string cid;
  std::string page;
  std::string media_type;
  std::string id;
  bool all = false;
};

}  // namespace

void add_attach_commands(CLI::App& app, Registry& registry) {
  auto args = std::make_shared<AttachArgs>();
  auto* attach = app.add_subcommand("attach", "Attach uploaded blobs to pages or spaces");
  attach->require_subcommand(1);

  auto* add = attach->add_subcommand("add", "Attach a blob (upload it first: soma blob add)");
  add->add_option("SPACE", args->space, "Space id or name")->required();
  add->add_option("NAME", args->name, "File name of the attachment")->required();
  add->add_option("CID", args->cid, "CID of a blob uploaded to this space")->required();
  add->add_option("--page", args->page, "Attach to this page (default: the space's top level)");
  add->add_option("--type", args->media_type, "Media type (default: guessed from NAME)");
  registry.on(add, [args](Context& ctx) {
    Output out = ctx.out();
    auto client = ctx.client();
    if (!client) return out.fail(client.error());
    api::AddAttachmentRequest request;
    request.set_space(args->space);
    request.set_page_id(args->page);
    request.set_name(args->name);
    request.set_cid(args->cid);
    request.set_media_type(args->media_type.empty() ? notes::media_type_for(args->name)
                                                    : args->media_type);
    auto a = (*client)->call(&api::Daemon::Stub::AddAttachment, request);
    if (!a) return out.fail(a.error());
    out.document(to_json(*a));
    out.line("attached " + a->name() + " (" + a->id() + ")");
    return static_cast<int>(kExitOk);
  });

  auto* list = attach->add_subcommand("list", "List attachments");
  list->add_option("SPACE", args->space, "Space id or name")->required();
  auto* page = list->add_option("--page", args->page, "Only those of this page");
  auto* all = list->add_flag("--all", args->all, "Every attachment of the space");
  page->excludes(all);
  registry.on(list, [args](Context& ctx) {
    Output out = ctx.out();
    auto client = ctx.client();
    if (!client) return out.fail(client.error());
    api::ListAttachmentsRequest request;
    request.set_space(args->space);
    request.set_page_id(args->page);
    request.set_all(args->all);
    auto reply = (*client)->call(&api::Daemon::Stub::ListAttachments, request);
    if (!reply) return out.fail(reply.error());
    nlohmann::json list_json = nlohmann::json::array();
    std::vector<std::vector<std::string>> rows;
    for (const auto& a : reply->attachments()) {
      list_json.push_back(to_json(a));
      rows.push_back({a.id(), a.page_id().empty() ? "-" : a.page_id(), a.name(),
                      format_bytes(a.size()), a.cid()});
    }
    out.document({{"attachments", list_json}});
    if (rows.empty()) {
      out.line("no attachments");
    } else {
      out.table({"ID", "PAGE", "NAME", "SIZE", "CID"}, rows);
    }
    return static_cast<int>(kExitOk);
  });

  auto* remove = attach->add_subcommand("remove", "Remove an attachment (the blob stays)");
  remove->add_option("ID", args->id, "Attachment id")->required();
  registry.on(remove, [args](Context& ctx) {
    Output out = ctx.out();
    auto client = ctx.client();
    if (!client) return out.fail(client.error());
    api::RemoveAttachmentRequest request;
    request.set_attachment_id(args->id);
    auto r = (*client)->call(&api::Daemon::Stub::RemoveAttachment, request);
    if (!r) return out.fail(r.error());
    out.document({{"removed", args->id}});
    out.line("removed attachment " + args->id);
    return static_cast<int>(kExitOk);
  });
}

}  // namespace soma::cli
