// soma status, soma space …, soma spaces
#include "commands.h"

namespace soma::cli {
namespace {

int run_status(Context& ctx) {
  Output out = ctx.out();
  auto client = ctx.client();
  if (!client) return out.fail(client.error());
  auto reply = (*client)->call(&api::Daemon::Stub::Status, api::StatusRequest{});
  if (!reply) return out.fail(reply.error());

  out.document(to_json(*reply));
  std::string addrs;
  for (const auto& a : reply->listen_addrs()) addrs += (addrs.empty() ? "" : " ") + a;
  out.fields({{"peer id", reply->peer_id()},
              {"version", reply->version()},
              {"data dir", reply->data_dir()},
              {"socket", reply->socket_path()},
              {"started", format_time(reply->started_ms())},
              {"spaces", std::to_string(reply->space_count())},
              {"pages", std::to_string(reply->page_count())},
              {"blobs", std::to_string(reply->blob_count()) + " (" +
                            format_bytes(reply->blob_bytes()) + ")"},
              {"listening", addrs.empty() ? "-" : addrs},
              {"last event", std::to_string(reply->last_event_id())}});
  return kExitOk;
}

void print_space(const Output& out, const api::Space& s) {
  out.document(to_json(s));
  out.fields({{"id", s.id()},
              {"name", s.name()},
              {"owner", s.owner()},
              {"role", s.role()},
              {"membership", s.membership().empty() ? "-" : s.membership()},
              {"until", format_time(s.membership_expires_ms())},
              {"created", format_time(s.created_ms())},
              {"updated", format_time(s.updated_ms())},
              {"pages", std::to_string(s.page_count())},
              {"blobs", format_bytes(s.blob_bytes())},
              {"quota", s.quota_bytes() == 0 ? "none" : format_bytes(s.quota_bytes())}});
}

int run_list(Context& ctx) {
  Output out = ctx.out();
  auto client = ctx.client();
  if (!client) return out.fail(client.error());
  auto reply = (*client)->call(&api::Daemon::Stub::ListSpaces, api::ListSpacesRequest{});
  if (!reply) return out.fail(reply.error());

  nlohmann::json spaces = nlohmann::json::array();
  std::vector<std::vector<std::string>> rows;
  for (const auto& s : reply->spaces()) {
    spaces.push_back(to_json(s));
    rows.push_back({s.id(), s.name(), s.role(), s.membership().empty() ? "-" : s.membership(),
                    std::to_string(s.page_count()), format_bytes(s.blob_bytes())});
  }
  out.document({{"spaces", spaces}});
  if (rows.empty()) {
    out.line("no spaces yet; create one with `soma space create NAME`");
  } else {
    out.table({"ID", "NAME", "ROLE", "STATE", "PAGES", "BLOBS"}, rows);
  }
  return kExitOk;
}

struct SpaceArgs {
  std::string space;
  std::string name;
};

}  // namespace

void add_status_command(CLI::App& app, Registry& registry) {
  auto* status = app.add_subcommand("status", "Show the daemon's identity, paths and counts");
  registry.on(status, run_status);
}

void add_space_commands(CLI::App& app, Registry& registry) {
  auto args = std::make_shared<SpaceArgs>();
  auto* space = app.add_subcommand("space", "Create, list, show, rename and delete spaces");
  space->require_subcommand(1);

  auto* create = space->add_subcommand("create", "Create a space owned by this device");
  create->add_option("NAME", args->name, "Name of the new space")->required();
  registry.on(create, [args](Context& ctx) {
    Output out = ctx.out();
    auto client = ctx.client();
    if (!client) return out.fail(client.error());
    api::CreateSpaceRequest request;
    request.set_name(args->name);
    auto s = (*client)->call(&api::Daemon::Stub::CreateSpace, request);
    if (!s) return out.fail(s.error());
    out.document(to_json(*s));
    out.line("created space " + s->name() + " (" + s->id() + ")");
    return static_cast<int>(kExitOk);
  });

  auto* list = space->add_subcommand("list", "List spaces (also: soma spaces)");
  registry.on(list, run_list);
  auto* spaces = app.add_subcommand("spaces", "List spaces (same as soma space list)");
  registry.on(spaces, run_list);

  auto* show = space->add_subcommand("show", "Show one space");
  show->add_option("SPACE", args->space, "Space id or name")->required();
  registry.on(show, [args](Context& ctx) {
    Output out = ctx.out();
    auto client = ctx.client();
    if (!client) return out.fail(client.error());
    auto s = find_space(**client, args->space);
    if (!s) return out.fail(s.error());
    print_space(out, *s);
    return static_cast<int>(kExitOk);
  });

  auto* rename = space->add_subcommand("rename", "Rename a space");
  rename->add_option("SPACE", args->space, "Space id or name")->required();
  rename->add_option("NAME", args->name, "New name")->required();
  registry.on(rename, [args](Context& ctx) {
    Output out = ctx.out();
    auto client = ctx.client();
    if (!client) return out.fail(client.error());
    api::RenameSpaceRequest request;
    request.set_space(args->space);
    request.set_name(args->name);
    auto s = (*client)->call(&api::Daemon::Stub::RenameSpace, request);
    if (!s) return out.fail(s.error());
    out.document(to_json(*s));
    out.line("renamed space " + s->id() + " to " + s->name());
    return static_cast<int>(kExitOk);
  });

  auto* del = space->add_subcommand("delete", "Delete a space with all its pages");
  del->add_option("SPACE", args->space, "Space id or name")->required();
  registry.on(del, [args](Context& ctx) {
    Output out = ctx.out();
    auto client = ctx.client();
    if (!client) return out.fail(client.error());
    api::DeleteSpaceRequest request;
    request.set_space(args->space);
    auto r = (*client)->call(&api::Daemon::Stub::DeleteSpace, request);
    if (!r) return out.fail(r.error());
    out.document({{"deleted", args->space}});
    out.line("deleted space " + args->space);
    return static_cast<int>(kExitOk);
  });
}

}  // namespace soma::cli
