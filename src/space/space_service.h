#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "blob/blob_store.h"
#include "core/error.h"
#include "store/database.h"
#include "store/event_log.h"

namespace soma::space {

using core::Result;
using core::Status;

struct Space {
  std::string id;
  std::string name;
  std::string owner;  // PeerId of the creator
  std::string role;   // this device's role in the space
  // How this device holds the space: "owned" (created here), "joined"
  // (through a membership capability the owner issued) or "expired" (that
  // capability has ended).
  std::string membership;
  std::int64_t membership_expires_ms = 0;  // joined, expired: when the capability ends
  std::int64_t created_ms = 0;
  std::int64_t updated_ms = 0;
  std::uint64_t page_count = 0;
  std::uint64_t blob_bytes = 0;
  std::uint64_t quota_bytes = 0;
};

enum class PageKind { kNote, kFolder };
std::string_view to_string(PageKind kind);
// "note" or "folder"; "" is "note" (the API's default). Anything else is
// kInvalidArgument.
Result<PageKind> parse_page_kind(std::string_view text);

struct Page {
  std::string id;
  std::string space_id;
  std::string parent_id;  // empty: top level
  std::string title;
  PageKind kind = PageKind::kNote;
  std::int64_t position = 0;
  std::int64_t created_ms = 0;
  std::int64_t updated_ms = 0;
};

// A page's document. A new document starts at revision 1 and every put adds
// one, so if_revision 0 can mean "no check". `structure` is kept byte for
// byte as it was given (after checking it is a JSON object).
struct Document {
  std::string page_id;
  std::string format = "markdown";
  std::string text;
  std::string structure = "{}";  // a JSON object
  std::uint64_t revision = 0;
  std::int64_t updated_ms = 0;
  std::vector<std::string> blob_cids;
};

struct Attachment {
  std::string id;
  std::string space_id;
  std::string page_id;  // empty: the space's top level
  std::string name;
  std::string cid;
  std::uint64_t size = 0;
  std::string media_type;
  std::int64_t created_ms = 0;
};

struct NewPage {
  std::string space;  // id or unique name
  std::string parent_id;
  std::string title;
  PageKind kind = PageKind::kNote;
  std::optional<std::int64_t> position;  // nullopt: after the last sibling
  std::optional<Document> document;      // initial document, same transaction
};

struct PageChange {
  std::string page_id;
  std::optional<std::string> title;
  std::optional<std::string> parent_id;  // "" moves to the top level
  std::optional<std::int64_t> position;
};

struct DocumentPut {
  std::string page_id;
  std::string format;
  std::string text;
  std::string structure;               // must parse as a JSON object; "" means "{}"
  std::vector<std::string> blob_cids;  // each must be a blob of the page's space
  std::uint64_t if_revision = 0;       // non-zero: optimistic concurrency check
};

struct NewAttachment {
  std::string space;
  std::string page_id;
  std::string name;
  std::string cid;  // must be a blob of this space
  std::string media_type;
};

struct Counts {
  std::uint64_t spaces = 0;
  std::uint64_t pages = 0;
};

// Spaces, the page tree, documents and attachments of one device. The
// interface speaks of pages and documents, not rows, so the storage behind
// documents can become the collaborative CRDT without changing callers.
// Every change commits together with its event. Thread-safe.
//
// Validation: names and titles are non-empty UTF-8 without control
// characters, at most kMaxNameBytes; text at most kMaxDocumentBytes; a
// move that would put a page under itself or its descendants fails with
// kInvalidArgument.
class SpaceService {
 public:
  static constexpr std::size_t kMaxNameBytes = 255;
  static constexpr std::size_t kMaxDocumentBytes = 16u << 20;  // text, and structure alike
  // Deepest page tree (1: top-level pages only); deeper creates and moves
  // fail with kInvalidArgument.
  static constexpr std::size_t kMaxPageDepth = 100;
  // Most distinct blob CIDs one document may list (duplicates are dropped,
  // first occurrence kept).
  static constexpr std::size_t kMaxDocumentBlobs = 4096;
  // Deepest nesting of arrays and objects in a document's structure.
  static constexpr std::size_t kMaxStructureDepth = 64;

  SpaceService(store::Database& db, store::EventLog& events, blob::BlobStore& blobs,
               std::string local_peer_id);
  ~SpaceService();

  Result<Space> create_space(const std::string& name);
  Result<std::vector<Space>> list_spaces();
  // `space` is an id, or a name that matches exactly one space (an
  // ambiguous name is kInvalidArgument, listing the matching ids).
  Result<Space> get_space(const std::string& space);
  Result<Space> rename_space(const std::string& space, const std::string& name);
  Status delete_space(const std::string& space);

  Result<Page> create_page(const NewPage& page);
  // Children of parent_id in order; recursive: the whole subtree (the whole
  // space when parent_id is empty), each parent before its children.
  Result<std::vector<Page>> list_pages(const std::string& space, const std::string& parent_id,
                                       bool recursive);
  Result<Page> get_page(const std::string& page_id);
  Result<Page> update_page(const PageChange& change);
  // Deletes the page and its subtree; returns how many pages went.
  Result<std::uint64_t> delete_page(const std::string& page_id);

  Result<Document> get_document(const std::string& page_id);
  Result<Document> put_document(const DocumentPut& put);

  Result<Attachment> add_attachment(const NewAttachment& attachment);
  Result<std::vector<Attachment>> list_attachments(const std::string& space,
                                                   const std::string& page_id, bool all);
  Status remove_attachment(const std::string& attachment_id);

  Result<Counts> counts();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace soma::space
