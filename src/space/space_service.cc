#include "space/space_service.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <limits>
#include <nlohmann/json.hpp>
#include <unordered_map>
#include <unordered_set>
#include <utility>

#include "crypto/random.h"
#include "space/validation.h"
#include "store/attachment_repository.h"
#include "store/document_repository.h"
#include "store/page_repository.h"
#include "store/space_repository.h"

namespace soma::space {
namespace {

using core::Error;
using validation::printable;

constexpr std::string_view kOwnerRole = "owner";
constexpr std::string_view kDefaultFormat = "markdown";
constexpr std::string_view kDefaultMediaType = "application/octet-stream";
constexpr std::size_t kMaxCidBytes = 128;

std::int64_t now_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

Page to_page(const store::PageRecord& r) {
  Page p;
  p.id = r.id;
  p.space_id = r.space_id;
  p.parent_id = r.parent_id;
  p.title = r.title;
  // Rows are only written through this service, so the kind is always known.
  p.kind = r.kind == "folder" ? PageKind::kFolder : PageKind::kNote;
  p.position = r.position;
  p.created_ms = r.created_ms;
  p.updated_ms = r.updated_ms;
  return p;
}

Document to_document(store::DocumentRecord r) {
  Document d;
  d.page_id = std::move(r.page_id);
  d.format = std::move(r.format);
  d.text = std::move(r.text);
  d.structure = std::move(r.structure);
  d.revision = r.revision;
  d.updated_ms = r.updated_ms;
  d.blob_cids = std::move(r.blob_cids);
  return d;
}

Attachment to_attachment(const store::AttachmentRecord& r) {
  Attachment a;
  a.id = r.id;
  a.space_id = r.space_id;
  a.page_id = r.page_id;
  a.name = r.name;
  a.cid = r.cid;
  a.size = r.size;
  a.media_type = r.media_type;
  a.created_ms = r.created_ms;
  return a;
}

Error page_not_found(const std::string& page_id) {
  return Error::not_found(
      fmt::format("no page with id {}; list the space's pages to find its id", printable(page_id)));
}

// Walks the JSON events without building a tree: checks that the top level
// is an object and that nesting stays within kMaxStructureDepth, so a
// hostile structure costs neither deep recursion nor a large allocation.
class StructureChecker : public nlohmann::json_sax<nlohmann::json> {
 public:
  std::string problem;

  bool null() override { return top_level_is_object(); }
  bool boolean(bool) override { return top_level_is_object(); }
  bool number_integer(number_integer_t) override { return top_level_is_object(); }
  bool number_unsigned(number_unsigned_t) override { return top_level_is_object(); }
  bool number_float(number_float_t, const string_t&) override { return top_level_is_object(); }
  bool string(string_t&) override { return top_level_is_object(); }
  bool binary(binary_t&) override { return top_level_is_object(); }
  bool key(string_t&) override { return true; }
  bool start_object(std::size_t) override { return open(); }
  bool end_object() override { return close(); }
  bool start_array(std::size_t) override {
    if (!top_level_is_object()) return false;
    return open();
  }
  bool end_array() override { return close(); }
  bool parse_error(std::size_t position, const std::string&,
                   const nlohmann::detail::exception&) override {
    if (problem.empty()) {
      problem = fmt::format("is not valid JSON (syntax error near byte {})", position);
    }
    return false;
  }

 private:
  bool top_level_is_object() {
    if (depth_ > 0) return true;
    problem = "is not a JSON object; send an object such as {}";
    return false;
  }
  bool open() {
    if (++depth_ > SpaceService::kMaxStructureDepth) {
      problem =
          fmt::format("nests deeper than {} levels; flatten it", SpaceService::kMaxStructureDepth);
      return false;
    }
    return true;
  }
  bool close() {
    --depth_;
    return true;
  }

  std::size_t depth_ = 0;
};

Status check_structure(const std::string& structure) {
  SOMA_TRY(
      validation::check_text(structure, "document structure", SpaceService::kMaxDocumentBytes));
  StructureChecker checker;
  bool ok = nlohmann::json::sax_parse(structure, &checker);
  if (!ok || !checker.problem.empty()) {
    return Error::invalid("document structure " + (checker.problem.empty()
                                                       ? std::string("is not valid JSON")
                                                       : checker.problem));
  }
  return {};
}

Status check_cid_text(const std::string& cid) {
  bool ok = !cid.empty() && cid.size() <= kMaxCidBytes &&
            std::all_of(cid.begin(), cid.end(),
                        [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); });
  if (!ok) {
    return Error::invalid(fmt::format(
        "{} is not a blob CID; expected CIDv1 text in lower-case base32 such as bafkrei…",
        printable(cid)));
  }
  return {};
}

// A document's fields after validation, ready to store.
struct CheckedDocument {
  std::string format;
  std::string text;
  std::string structure;
  std::vector<std::string> blob_cids;
};

}  // namespace

std::string_view to_string(PageKind kind) { return kind == PageKind::kFolder ? "folder" : "note"; }

Result<PageKind> parse_page_kind(std::string_view text) {
  if (text.empty() || text == "note") return PageKind::kNote;
  if (text == "folder") return PageKind::kFolder;
  return Error::invalid(fmt::format("page kind {} is not one of: note, folder", printable(text)));
}

struct SpaceService::Impl {
  Impl(store::Database& database, store::EventLog& event_log, blob::BlobStore& blob_store,
       std::string peer)
      : db(database),
        events(event_log),
        blobs(blob_store),
        local_peer_id(std::move(peer)),
        spaces(database),
        pages(database),
        documents(database),
        attachments(database) {}

  store::Database& db;
  store::EventLog& events;
  blob::BlobStore& blobs;
  std::string local_peer_id;
  store::SpaceRepository spaces;
  store::PageRepository pages;
  store::DocumentRepository documents;
  store::AttachmentRepository attachments;

  // Runs fn in one transaction and wakes event watchers once it committed.
  template <typename Fn>
  Status commit(Fn&& fn) {
    Status s = db.transaction(std::forward<Fn>(fn));
    if (s.ok()) events.published();
    return s;
  }

  // Appends an event inside the caller's open transaction.
  Status emit(const std::string& kind, const std::string& space_id, const std::string& subject,
              const std::string& detail) {
    auto id = events.append(kind, space_id, subject, detail);
    if (!id) return id.take_error();
    return {};
  }

  Result<store::SpaceRecord> resolve_space(const std::string& space) {
    if (space.empty()) {
      return Error::invalid("no space given; name a space by its id or name");
    }
    auto by_id = spaces.find(space);
    if (!by_id) return by_id.take_error();
    if (*by_id) return std::move(**by_id);

    auto by_name = spaces.find_by_name(space);
    if (!by_name) return by_name.take_error();
    if (by_name->empty()) {
      return Error::not_found(fmt::format(
          "no space named or with id {}; `soma space list` shows them", printable(space)));
    }
    if (by_name->size() > 1) {
      std::string ids;
      for (const auto& s : *by_name) ids += (ids.empty() ? "" : ", ") + s.id;
      return Error::invalid(fmt::format("{} names {} spaces ({}); use one of their ids instead",
                                        printable(space), by_name->size(), ids));
    }
    return std::move(by_name->front());
  }

  Result<Space> to_space(const store::SpaceRecord& r) {
    Space s;
    s.id = r.id;
    s.name = r.name;
    s.owner = r.owner;
    s.role = r.role;
    s.created_ms = r.created_ms;
    s.updated_ms = r.updated_ms;
    s.page_count = r.page_count;
    s.membership_expires_ms = r.membership_expires_ms;
    if (r.membership_state.empty()) {
      s.membership = "owned";
    } else if (r.membership_expires_ms <= now_ms()) {
      s.membership = "expired";
    } else {
      s.membership = r.membership_state;
    }
    auto usage = blobs.space_usage(r.id);
    if (!usage) return usage.take_error();
    s.blob_bytes = *usage;
    s.quota_bytes = blobs.limits().space_quota_bytes;
    return s;
  }

  Result<Space> load_space(const std::string& id) {
    auto found = spaces.find(id);
    if (!found) return found.take_error();
    if (!*found) {
      return Error::not_found(
          fmt::format("no space named or with id {}; `soma space list` shows them", printable(id)));
    }
    return to_space(**found);
  }

  Result<store::PageRecord> require_page(const std::string& page_id) {
    if (page_id.empty()) return Error::invalid("no page id given");
    auto found = pages.find(page_id);
    if (!found) return found.take_error();
    if (!*found) return page_not_found(page_id);
    return std::move(**found);
  }

  // A page that must exist and belong to space_id; `what` names its role
  // in errors ("parent page").
  Result<store::PageRecord> require_page_in(const std::string& space_id, const std::string& page_id,
                                            std::string_view what) {
    auto found = pages.find(page_id);
    if (!found) return found.take_error();
    if (!*found) return Error::not_found(fmt::format("no {} with id {}", what, printable(page_id)));
    if ((*found)->space_id != space_id) {
      return Error::invalid(fmt::format(
          "{} {} belongs to another space; pages, their parents and their attachments must all "
          "be in the same space",
          what, printable(page_id)));
    }
    return std::move(**found);
  }

  // The position after the last child of parent_id.
  Result<std::int64_t> next_position(const std::string& space_id, const std::string& parent_id) {
    auto max = pages.max_position(space_id, parent_id);
    if (!max) return max.take_error();
    if (!*max) return std::int64_t{0};
    // At the very top of the range the new page shares the last position;
    // (title, id) still orders it.
    if (**max == std::numeric_limits<std::int64_t>::max()) return **max;
    return **max + 1;
  }

  // Checks a document's fields and the blobs it names. The blob checks go
  // through the BlobStore before any transaction opens.
  Result<CheckedDocument> check_document(const std::string& space_id, const std::string& format,
                                         const std::string& text, const std::string& structure,
                                         const std::vector<std::string>& blob_cids) {
    CheckedDocument d;
    d.format = format.empty() ? std::string(kDefaultFormat) : format;
    SOMA_TRY(validation::check_token(d.format, "document format"));
    SOMA_TRY(validation::check_text(text, "document text", kMaxDocumentBytes));
    d.text = text;
    d.structure = structure.empty() ? std::string("{}") : structure;
    SOMA_TRY(check_structure(d.structure));

    std::unordered_set<std::string> seen;
    for (const std::string& cid : blob_cids) {
      if (!seen.insert(cid).second) continue;
      if (seen.size() > kMaxDocumentBlobs) {
        return Error::invalid(fmt::format(
            "the document lists more than {} distinct blobs; attach fewer", kMaxDocumentBlobs));
      }
      SOMA_TRY(check_cid_text(cid));
      d.blob_cids.push_back(cid);
    }
    for (const std::string& cid : d.blob_cids) {
      if (!blobs.space_has(space_id, cid)) {
        return Error::not_found(
            fmt::format("blob {} is not in this space; upload it to the space first", cid));
      }
    }
    return d;
  }
};

SpaceService::SpaceService(store::Database& db, store::EventLog& events, blob::BlobStore& blobs,
                           std::string local_peer_id)
    : impl_(std::make_unique<Impl>(db, events, blobs, std::move(local_peer_id))) {}

SpaceService::~SpaceService() = default;

Result<Space> SpaceService::create_space(const std::string& name) {
  SOMA_TRY(validation::check_name(name, "space name", kMaxNameBytes));

  store::SpaceRecord r;
  r.id = crypto::random_id();
  r.name = name;
  r.owner = impl_->local_peer_id;
  r.role = kOwnerRole;
  r.created_ms = r.updated_ms = now_ms();
  Status done = impl_->commit([&]() -> Status {
    SOMA_TRY(impl_->spaces.insert(r));
    return impl_->emit("space.created", r.id, r.id, fmt::format("space {}", printable(name)));
  });
  if (!done) return done.take_error();
  return impl_->to_space(r);
}

Result<std::vector<Space>> SpaceService::list_spaces() {
  auto records = impl_->spaces.list();
  if (!records) return records.take_error();
  std::vector<Space> out;
  out.reserve(records->size());
  for (const auto& r : *records) {
    auto s = impl_->to_space(r);
    if (!s) return s.take_error();
    out.push_back(std::move(*s));
  }
  return out;
}

Result<Space> SpaceService::get_space(const std::string& space) {
  auto r = impl_->resolve_space(space);
  if (!r) return r.take_error();
  return impl_->to_space(*r);
}

Result<Space> SpaceService::rename_space(const std::string& space, const std::string& name) {
  SOMA_TRY(validation::check_name(name, "space name", kMaxNameBytes));
  auto r = impl_->resolve_space(space);
  if (!r) return r.take_error();

  Status done = impl_->commit([&]() -> Status {
    auto renamed = impl_->spaces.rename(r->id, name, now_ms());
    if (!renamed) return renamed.take_error();
    if (!*renamed) {
      return Error::not_found(fmt::format("space {} was deleted meanwhile", r->id));
    }
    return impl_->emit("space.renamed", r->id, r->id,
                       fmt::format("renamed {} to {}", printable(r->name), printable(name)));
  });
  if (!done) return done.take_error();
  return impl_->load_space(r->id);
}

Status SpaceService::delete_space(const std::string& space) {
  auto r = impl_->resolve_space(space);
  if (!r) return r.take_error();

  return impl_->commit([&]() -> Status {
    auto removed = impl_->spaces.remove(r->id);
    if (!removed) return removed.take_error();
    if (!*removed) {
      return Error::not_found(fmt::format("space {} was deleted meanwhile", r->id));
    }
    return impl_->emit("space.deleted", r->id, r->id, fmt::format("space {}", printable(r->name)));
  });
}

Result<Page> SpaceService::create_page(const NewPage& page) {
  SOMA_TRY(validation::check_file_name(page.title, "page title", kMaxNameBytes));
  if (page.position) {
    SOMA_TRY(validation::check_position(*page.position, "page position"));
  }
  auto space = impl_->resolve_space(page.space);
  if (!space) return space.take_error();

  CheckedDocument doc;
  if (page.document) {
    auto checked = impl_->check_document(space->id, page.document->format, page.document->text,
                                         page.document->structure, page.document->blob_cids);
    if (!checked) return checked.take_error();
    doc = std::move(*checked);
  } else {
    doc.format = kDefaultFormat;
    doc.structure = "{}";
  }

  store::PageRecord r;
  r.id = crypto::random_id();
  r.space_id = space->id;
  r.parent_id = page.parent_id;
  r.title = page.title;
  r.kind = to_string(page.kind);
  r.created_ms = r.updated_ms = now_ms();
  Status done = impl_->commit([&]() -> Status {
    // The parent is checked inside the transaction so it cannot vanish
    // before the page lands under it.
    if (!r.parent_id.empty()) {
      auto parent = impl_->require_page_in(r.space_id, r.parent_id, "parent page");
      if (!parent) return parent.take_error();
      auto depth = impl_->pages.depth(r.parent_id);
      if (!depth) return depth.take_error();
      if (*depth + 1 > kMaxPageDepth) {
        return Error::invalid(fmt::format("the page would sit {} levels deep; the limit is {}",
                                          *depth + 1, kMaxPageDepth));
      }
    }
    if (page.position) {
      r.position = *page.position;
    } else {
      auto next = impl_->next_position(r.space_id, r.parent_id);
      if (!next) return next.take_error();
      r.position = *next;
    }
    SOMA_TRY(impl_->pages.insert(r));

    store::DocumentRecord d;
    d.page_id = r.id;
    d.format = doc.format;
    d.text = std::move(doc.text);
    d.structure = std::move(doc.structure);
    d.revision = 1;
    d.updated_ms = r.created_ms;
    d.blob_cids = std::move(doc.blob_cids);
    SOMA_TRY(impl_->documents.insert(d));

    return impl_->emit("page.created", r.space_id, r.id,
                       fmt::format("{} {}", r.kind, printable(r.title)));
  });
  if (!done) return done.take_error();
  return to_page(r);
}

Result<std::vector<Page>> SpaceService::list_pages(const std::string& space,
                                                   const std::string& parent_id, bool recursive) {
  auto s = impl_->resolve_space(space);
  if (!s) return s.take_error();
  if (!parent_id.empty()) {
    auto parent = impl_->require_page_in(s->id, parent_id, "parent page");
    if (!parent) return parent.take_error();
  }

  std::vector<Page> out;
  if (!recursive) {
    auto children = impl_->pages.children(s->id, parent_id);
    if (!children) return children.take_error();
    out.reserve(children->size());
    for (const auto& r : *children) out.push_back(to_page(r));
    return out;
  }

  // One query for the whole space, then a depth-first walk in sibling
  // order; an explicit stack keeps deep trees off the call stack.
  auto all = impl_->pages.all_in_space(s->id);
  if (!all) return all.take_error();
  std::unordered_map<std::string, std::vector<std::size_t>> children_of;
  for (std::size_t i = 0; i < all->size(); ++i) children_of[(*all)[i].parent_id].push_back(i);

  std::vector<std::size_t> stack;
  auto push_children = [&](const std::string& id) {
    auto it = children_of.find(id);
    if (it == children_of.end()) return;
    stack.insert(stack.end(), it->second.rbegin(), it->second.rend());
  };
  push_children(parent_id);
  while (!stack.empty()) {
    std::size_t i = stack.back();
    stack.pop_back();
    out.push_back(to_page((*all)[i]));
    push_children((*all)[i].id);
  }
  return out;
}

Result<Page> SpaceService::get_page(const std::string& page_id) {
  auto r = impl_->require_page(page_id);
  if (!r) return r.take_error();
  return to_page(*r);
}

Result<Page> SpaceService::update_page(const PageChange& change) {
  if (change.title) {
    SOMA_TRY(validation::check_file_name(*change.title, "page title", kMaxNameBytes));
  }
  if (change.position) {
    SOMA_TRY(validation::check_position(*change.position, "page position"));
  }

  store::PageRecord r;
  std::vector<std::string> what;
  Status done = impl_->commit([&]() -> Status {
    auto current = impl_->require_page(change.page_id);
    if (!current) return current.take_error();
    r = std::move(*current);

    if (change.title && *change.title != r.title) {
      what.push_back(fmt::format("renamed to {}", printable(*change.title)));
      r.title = *change.title;
    }

    bool moved = change.parent_id && *change.parent_id != r.parent_id;
    if (moved) {
      const std::string& target = *change.parent_id;
      if (!target.empty()) {
        auto parent = impl_->require_page_in(r.space_id, target, "parent page");
        if (!parent) return parent.take_error();
        auto cycle = impl_->pages.is_ancestor_or_self(r.id, target);
        if (!cycle) return cycle.take_error();
        if (*cycle) {
          return Error::invalid("cannot move a page under itself or its own descendants");
        }
        auto depth = impl_->pages.depth(target);
        if (!depth) return depth.take_error();
        auto height = impl_->pages.subtree_height(r.id);
        if (!height) return height.take_error();
        if (*depth + *height > kMaxPageDepth) {
          return Error::invalid(
              fmt::format("the move would put pages {} levels deep; the limit is {}",
                          *depth + *height, kMaxPageDepth));
        }
      }
      r.parent_id = target;
      what.push_back(target.empty() ? std::string("moved to the top level")
                                    : fmt::format("moved under {}", target));
    }

    if (change.position) {
      if (*change.position != r.position) what.push_back("repositioned");
      r.position = *change.position;
    } else if (moved) {
      auto next = impl_->next_position(r.space_id, r.parent_id);
      if (!next) return next.take_error();
      r.position = *next;
    }

    // A change that changes nothing writes nothing and tells no one.
    if (what.empty()) return {};
    r.updated_ms = now_ms();
    SOMA_TRY(impl_->pages.update(r));
    std::string detail = printable(r.title);
    for (const auto& w : what) detail += ", " + w;
    return impl_->emit("page.updated", r.space_id, r.id, detail);
  });
  if (!done) return done.take_error();
  return to_page(r);
}

Result<std::uint64_t> SpaceService::delete_page(const std::string& page_id) {
  std::uint64_t count = 0;
  Status done = impl_->commit([&]() -> Status {
    auto r = impl_->require_page(page_id);
    if (!r) return r.take_error();
    auto size = impl_->pages.subtree_size(r->id);
    if (!size) return size.take_error();
    count = *size;
    SOMA_TRY(impl_->pages.remove(r->id));
    std::string detail = printable(r->title);
    if (count > 1) detail += fmt::format(" and {} pages below it", count - 1);
    return impl_->emit("page.deleted", r->space_id, r->id, detail);
  });
  if (!done) return done.take_error();
  return count;
}

Result<Document> SpaceService::get_document(const std::string& page_id) {
  if (page_id.empty()) return Error::invalid("no page id given");
  auto d = impl_->documents.find(page_id);
  if (!d) return d.take_error();
  if (!*d) return page_not_found(page_id);
  return to_document(std::move(**d));
}

Result<Document> SpaceService::put_document(const DocumentPut& put) {
  auto page = impl_->require_page(put.page_id);
  if (!page) return page.take_error();
  auto checked =
      impl_->check_document(page->space_id, put.format, put.text, put.structure, put.blob_cids);
  if (!checked) return checked.take_error();

  store::DocumentRecord d;
  Status done = impl_->commit([&]() -> Status {
    auto current = impl_->documents.find(put.page_id);
    if (!current) return current.take_error();
    if (!*current) return page_not_found(put.page_id);
    if (put.if_revision != 0 && put.if_revision != (*current)->revision) {
      return Error::precondition(
          fmt::format("document is at revision {}, not {}; re-read it and retry",
                      (*current)->revision, put.if_revision));
    }

    d.page_id = put.page_id;
    d.format = std::move(checked->format);
    d.text = std::move(checked->text);
    d.structure = std::move(checked->structure);
    d.blob_cids = std::move(checked->blob_cids);
    d.revision = (*current)->revision + 1;
    d.updated_ms = now_ms();
    SOMA_TRY(impl_->documents.update(d));
    return impl_->emit(
        "document.updated", page->space_id, put.page_id,
        fmt::format("{} revision {}, {} bytes", printable(page->title), d.revision, d.text.size()));
  });
  if (!done) return done.take_error();
  return to_document(std::move(d));
}

Result<Attachment> SpaceService::add_attachment(const NewAttachment& attachment) {
  SOMA_TRY(validation::check_file_name(attachment.name, "attachment name", kMaxNameBytes));
  std::string media_type =
      attachment.media_type.empty() ? std::string(kDefaultMediaType) : attachment.media_type;
  SOMA_TRY(validation::check_token(media_type, "media type"));
  SOMA_TRY(check_cid_text(attachment.cid));
  auto space = impl_->resolve_space(attachment.space);
  if (!space) return space.take_error();

  if (!impl_->blobs.space_has(space->id, attachment.cid)) {
    return Error::not_found(fmt::format("blob {} is not in space {}; upload it to the space first",
                                        attachment.cid, printable(space->name)));
  }
  auto info = impl_->blobs.get(attachment.cid);
  if (!info) return info.take_error();

  store::AttachmentRecord r;
  r.id = crypto::random_id();
  r.space_id = space->id;
  r.page_id = attachment.page_id;
  r.name = attachment.name;
  r.cid = attachment.cid;
  r.size = info->size;
  r.media_type = media_type;
  r.created_ms = now_ms();
  Status done = impl_->commit([&]() -> Status {
    if (!r.page_id.empty()) {
      auto page = impl_->require_page_in(r.space_id, r.page_id, "page");
      if (!page) return page.take_error();
    }
    SOMA_TRY(impl_->attachments.insert(r));
    return impl_->emit("attachment.added", r.space_id, r.id,
                       fmt::format("{} ({} bytes)", printable(r.name), r.size));
  });
  if (!done) return done.take_error();
  return to_attachment(r);
}

Result<std::vector<Attachment>> SpaceService::list_attachments(const std::string& space,
                                                               const std::string& page_id,
                                                               bool all) {
  auto s = impl_->resolve_space(space);
  if (!s) return s.take_error();

  Result<std::vector<store::AttachmentRecord>> records = std::vector<store::AttachmentRecord>();
  if (all) {
    records = impl_->attachments.list_space(s->id);
  } else {
    if (!page_id.empty()) {
      auto page = impl_->require_page_in(s->id, page_id, "page");
      if (!page) return page.take_error();
    }
    records = impl_->attachments.list_page(s->id, page_id);
  }
  if (!records) return records.take_error();

  std::vector<Attachment> out;
  out.reserve(records->size());
  for (const auto& r : *records) out.push_back(to_attachment(r));
  return out;
}

Status SpaceService::remove_attachment(const std::string& attachment_id) {
  if (attachment_id.empty()) return Error::invalid("no attachment id given");
  return impl_->commit([&]() -> Status {
    auto found = impl_->attachments.find(attachment_id);
    if (!found) return found.take_error();
    if (!*found) {
      return Error::not_found(fmt::format("no attachment with id {}", printable(attachment_id)));
    }
    auto removed = impl_->attachments.remove(attachment_id);
    if (!removed) return removed.take_error();
    return impl_->emit("attachment.removed", (*found)->space_id, attachment_id,
                       printable((*found)->name));
  });
}

Result<Counts> SpaceService::counts() {
  Counts c;
  auto spaces = impl_->spaces.count();
  if (!spaces) return spaces.take_error();
  auto pages = impl_->pages.count();
  if (!pages) return pages.take_error();
  c.spaces = *spaces;
  c.pages = *pages;
  return c;
}

}  // namespace soma::space
