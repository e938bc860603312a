#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "core/bytes.h"
#include "core/error.h"

namespace soma::notes {

// A space as read from the daemon: its pages (any order) with their
// documents, and its attachments.
struct SpacePage {
  std::string id;
  std::string parent_id;  // empty: top level
  std::string title;
  std::string kind;  // "folder" or "note"
  std::int64_t position = 0;
  std::string text;       // the document's text; empty when it has none
  std::string structure;  // the document's structure JSON; may be empty
};
struct SpaceAttachment {
  std::string page_id;  // empty: the space's top level
  std::string name;
  std::string cid;
  std::uint64_t size = 0;
};
struct SpaceSnapshot {
  std::vector<SpacePage> pages;
  std::vector<SpaceAttachment> attachments;
};

// One file of an export: note text, or a blob's bytes.
struct ExportFile {
  std::string path;  // '/'-separated, relative to the export folder
  bool from_blob = false;
  std::string text;  // when !from_blob
  std::string cid;   // when from_blob
  std::uint64_t size = 0;
};

struct ExportProblem {
  std::string path;
  std::string reason;
};

struct ExportPlan {
  std::vector<std::string> dirs;  // parents before children
  std::vector<ExportFile> files;
  std::vector<ExportProblem> problems;
  std::size_t notes = 0;
  std::size_t folders = 0;
  std::size_t blobs = 0;  // files written from links in notes
  std::size_t attachments = 0;
};

// Lays a space out as a folder tree: folder pages become folders, notes
// `<source_name>` (else `<title>.md`) with every soma:blob/<CID> link the
// structure records turned back into its original href, each linked blob
// at the path its href names (only inside the export folder), and
// attachments beside their page. Names that clash or cannot be file names
// are changed and reported. Pure function.
ExportPlan plan_export(const SpaceSnapshot& space);

// Succeeds when `target` does not exist or is an empty folder; otherwise
// kInvalidArgument saying so.
core::Status check_export_target(const std::filesystem::path& target);

// Fetches a blob's bytes, in order, into `sink`.
class BlobSource {
 public:
  virtual ~BlobSource() = default;
  virtual core::Status read(const std::string& cid, std::uint64_t size,
                            const std::function<core::Status(core::ByteView)>& sink) = 0;
};

struct ExportResult {
  std::size_t files = 0;
  std::uint64_t bytes = 0;
};

// Writes `plan` under `target` (created when missing; must be empty), each
// file through a temporary name and a rename. Stops at the first error.
core::Result<ExportResult> write_export(const ExportPlan& plan, const std::filesystem::path& target,
                                        BlobSource& blobs);

}  // namespace soma::notes
