#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "core/bytes.h"
#include "core/error.h"
#include "notes/file_access.h"
#include "notes/importer.h"

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
  // Every blob the space holds, CID -> size. A soma:blob/<CID> in a note
  // whose CID is missing here is reported and no file is written for it.
  std::map<std::string, std::uint64_t> blobs;
};

// One file of an export: note text, or a blob's bytes.
struct ExportFile {
  std::string path;  // '/'-separated, relative to the export folder
  bool from_blob = false;
  std::string text;  // when !from_blob
  std::string cid;   // when from_blob
  std::uint64_t size = 0;
};

// Something an export changed (a notice: a name shortened or made unique,
// a link given a file name of its own) or could not write (left out), with
// the same split as an import's problems.
struct ExportProblem {
  std::string path;
  std::string reason;
  ImportProblem::Severity severity = ImportProblem::Severity::kLeftOut;
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
// `<source_name>` (else `<title>.md`), attachments files beside their page.
// Every soma:blob/<CID> in a note's text becomes a relative path to a file
// holding that blob: the href the structure records for that CID (matched
// by CID, in order among the links to the same CID) with the blob written
// where it points (only inside the export folder); else the exported
// attachment with that CID; else `_blobs/<CID>` beside the note. A CID the
// space does not hold is reported and left as written (or its recorded
// href restored). Names that clash, cannot be file names or are longer than
// kMaxNameBytes are changed (keeping the extension) and reported as
// notices. Pure function.
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
  // Fills `out`, an empty temporary file that is renamed into place once
  // this succeeds, with the blob. The bytes come through read() unless a
  // source can have the file written more directly.
  virtual core::Status write_to(const std::string& cid, std::uint64_t size, AtomicFile& out) {
    return read(cid, size, [&out](core::ByteView chunk) { return out.write(chunk); });
  }
};

struct ExportResult {
  std::size_t files = 0;
  std::uint64_t bytes = 0;
  std::vector<ExportProblem> problems;  // files and folders that could not be written
};

// Writes `plan` under `target` (created when missing; must be empty), each
// file through a temporary name and a rename, every path reached from a
// folder descriptor so deep trees never meet PATH_MAX. A file or folder
// that cannot be written is reported in the result and the rest is
// written. Errors only when `target` itself cannot be used (kInvalidArgument
// when it or a parent is not a folder or its name is too long,
// kPermissionDenied for EACCES/EPERM) or when `blobs` reports the daemon
// unreachable (kUnavailable).
core::Result<ExportResult> write_export(const ExportPlan& plan, const std::filesystem::path& target,
                                        BlobSource& blobs);

}  // namespace soma::notes
