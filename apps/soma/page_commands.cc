// soma page …
#include <map>

#include "commands.h"
#include "notes/utf8.h"

namespace soma::cli {
namespace {

struct PageArgs {
  std::string space;
  std::string page;
  std::string title;
  std::string parent;
  std::string file;
  std::int64_t position = 0;
  bool folder = false;
  bool tree = false;
  bool top = false;
};

std::vector<std::string> page_row(const api::Page& p) {
  return {p.id(), p.kind(), std::to_string(p.position()), p.title()};
}

void print_page(const Output& out, const api::Page& p) {
  out.document(to_json(p));
  out.fields({{"id", p.id()},
              {"space", p.space_id()},
              {"parent", p.parent_id().empty() ? "(top level)" : p.parent_id()},
              {"title", p.title()},
              {"kind", p.kind()},
              {"position", std::to_string(p.position())},
              {"created", format_time(p.created_ms())},
              {"updated", format_time(p.updated_ms())}});
}

int run_create(Context& ctx, const PageArgs& args, const CLI::App& cmd) {
  Output out = ctx.out();
  api::CreatePageRequest request;
  request.set_space(args.space);
  request.set_parent_id(args.parent);
  request.set_title(args.title);
  request.set_kind(args.folder ? "folder" : "note");
  if (cmd.count("--position") > 0) {
    request.set_position(args.position);
    request.set_has_position(true);
  }
  if (!args.file.empty()) {
    auto text = read_input(args.file, kMaxDocumentBytes);
    if (!text) return out.fail(text.error());
    if (!notes::is_valid_utf8(*text)) {
      return out.fail(core::Error::invalid(args.file + " is not UTF-8 text; attach it instead"));
    }
    request.mutable_document()->set_format("markdown");
    request.mutable_document()->set_text(std::move(*text));
  }
  auto client = ctx.client();
  if (!client) return out.fail(client.error());
  auto page = (*client)->call(&api::Daemon::Stub::CreatePage, request);
  if (!page) return out.fail(page.error());
  out.document(to_json(*page));
  out.line("created " + page->kind() + " " + page->title() + " (" + page->id() + ")");
  return kExitOk;
}

int run_list(Context& ctx, const PageArgs& args) {
  Output out = ctx.out();
  auto client = ctx.client();
  if (!client) return out.fail(client.error());
  api::ListPagesRequest request;
  request.set_space(args.space);
  request.set_parent_id(args.parent);
  request.set_recursive(args.tree);
  auto reply = (*client)->call(&api::Daemon::Stub::ListPages, request);
  if (!reply) return out.fail(reply.error());

  std::vector<const api::Page*> pages;
  for (const auto& p : reply->pages()) pages.push_back(&p);

  if (!args.tree) {
    nlohmann::json list = nlohmann::json::array();
    std::vector<std::vector<std::string>> rows;
    for (const auto* p : pages) {
      list.push_back(to_json(*p));
      rows.push_back(page_row(*p));
    }
    out.document({{"pages", list}});
    if (rows.empty()) {
      out.line("no pages");
    } else {
      out.table({"ID", "KIND", "POS", "TITLE"}, rows);
    }
    return kExitOk;
  }

  // The tree: children in position order under each parent, indented.
  std::map<std::string, std::vector<const api::Page*>> children;
  std::map<std::string, bool> known;
  for (const auto* p : pages) known[p->id()] = true;
  for (const auto* p : pages) {
    bool orphan = !p->parent_id().empty() && !known.count(p->parent_id());
    children[orphan ? std::string() : p->parent_id()].push_back(p);
  }
  for (auto& [parent, list] : children) {
    std::stable_sort(list.begin(), list.end(), [](const api::Page* a, const api::Page* b) {
      return a->position() < b->position();
    });
  }
  nlohmann::json list = nlohmann::json::array();
  std::map<std::string, bool> printed;
  std::function<void(const std::string&, int)> walk = [&](const std::string& parent, int depth) {
    auto it = children.find(parent);
    if (it == children.end()) return;
    for (const auto* p : it->second) {
      if (printed[p->id()]) continue;
      printed[p->id()] = true;
      nlohmann::json j = to_json(*p);
      j["depth"] = depth;
      list.push_back(std::move(j));
      out.line(std::string(static_cast<std::size_t>(depth) * 2, ' ') + p->title() +
               (p->kind() == "folder" ? "/" : "") + "  (" + p->id() + ")");
      walk(p->id(), depth + 1);
    }
  };
  std::string root = known.count(args.parent) ? args.parent : std::string();
  walk(root, 0);
  out.document({{"pages", list}});
  if (list.empty()) out.line("no pages");
  return kExitOk;
}

int run_update(Context& ctx, const PageArgs& args, const CLI::App& cmd, bool rename) {
  Output out = ctx.out();
  api::UpdatePageRequest request;
  request.set_page_id(args.page);
  if (rename) {
    request.set_title(args.title);
  } else {
    if (cmd.count("--parent") > 0) request.set_parent_id(args.parent);
    if (args.top) request.set_parent_id("");
    if (cmd.count("--position") > 0) request.set_position(args.position);
    if (!request.has_parent_id() && !request.has_position()) {
      return out.fail(core::Error::invalid("say where to: --parent ID, --top or --position N"));
    }
  }
  auto client = ctx.client();
  if (!client) return out.fail(client.error());
  auto page = (*client)->call(&api::Daemon::Stub::UpdatePage, request);
  if (!page) return out.fail(page.error());
  out.document(to_json(*page));
  out.line((rename ? "renamed " : "moved ") + page->id() + ": " + page->title() +
           (page->parent_id().empty() ? " (top level" : " (under " + page->parent_id()) +
           ", position " + std::to_string(page->position()) + ")");
  return kExitOk;
}

}  // namespace

void add_page_commands(CLI::App& app, Registry& registry) {
  auto args = std::make_shared<PageArgs>();
  auto* page = app.add_subcommand("page", "Create, list, show, rename, move and delete pages");
  page->require_subcommand(1);

  auto* create = page->add_subcommand("create", "Create a note or folder page");
  create->add_option("SPACE", args->space, "Space id or name")->required();
  create->add_option("TITLE", args->title, "Title of the page")->required();
  create->add_option("--parent", args->parent, "Parent page id (default: top level)");
  create->add_flag("--folder", args->folder, "Create a folder instead of a note");
  create->add_option("--position", args->position, "Place among siblings (default: last)");
  create->add_option("--file", args->file, "Initial Markdown text from this file ('-': stdin)");
  registry.on(create, [args, create](Context& ctx) { return run_create(ctx, *args, *create); });

  auto* list = page->add_subcommand("list", "List the pages of a space");
  list->add_option("SPACE", args->space, "Space id or name")->required();
  list->add_option("--parent", args->parent, "Only the children of this page");
  list->add_flag("--tree", args->tree, "The whole tree as indented titles");
  registry.on(list, [args](Context& ctx) { return run_list(ctx, *args); });

  auto* show = page->add_subcommand("show", "Show one page");
  show->add_option("PAGE", args->page, "Page id")->required();
  registry.on(show, [args](Context& ctx) {
    Output out = ctx.out();
    auto client = ctx.client();
    if (!client) return out.fail(client.error());
    api::GetPageRequest request;
    request.set_page_id(args->page);
    auto p = (*client)->call(&api::Daemon::Stub::GetPage, request);
    if (!p) return out.fail(p.error());
    print_page(out, *p);
    return static_cast<int>(kExitOk);
  });

  auto* rename = page->add_subcommand("rename", "Change a page's title");
  rename->add_option("PAGE", args->page, "Page id")->required();
  rename->add_option("TITLE", args->title, "New title")->required();
  registry.on(rename,
              [args, rename](Context& ctx) { return run_update(ctx, *args, *rename, true); });

  auto* move = page->add_subcommand("move", "Move a page under another parent or among siblings");
  move->add_option("PAGE", args->page, "Page id")->required();
  auto* parent = move->add_option("--parent", args->parent, "New parent page id");
  auto* top = move->add_flag("--top", args->top, "Move to the top level");
  parent->excludes(top);
  move->add_option("--position", args->position, "New place among siblings");
  registry.on(move, [args, move](Context& ctx) { return run_update(ctx, *args, *move, false); });

  auto* del = page->add_subcommand("delete", "Delete a page and everything under it");
  del->add_option("PAGE", args->page, "Page id")->required();
  registry.on(del, [args](Context& ctx) {
    Output out = ctx.out();
    auto client = ctx.client();
    if (!client) return out.fail(client.error());
    api::DeletePageRequest request;
    request.set_page_id(args->page);
    auto r = (*client)->call(&api::Daemon::Stub::DeletePage, request);
    if (!r) return out.fail(r.error());
    out.document({{"deleted_pages", r->deleted_pages()}});
    out.line("deleted " + std::to_string(r->deleted_pages()) + " page(s)");
    return static_cast<int>(kExitOk);
  });
}

}  // namespace soma::cli
