#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "core/error.h"
#include "notes/file_access.h"

namespace soma::notes {

// Limits on what one import reads; a folder past them is imported in part
// and the rest reported.
struct ImportLimits {
  std::uint64_t max_note_bytes = 16ull << 20;  // larger notes become attachments
  int max_depth = 64;                          // folders deeper are skipped
  std::size_t max_entries = 200000;            // files and folders in total
  // Names starting with '.' (.git, .DS_Store, editor state) are skipped and
  // reported as notices unless this is set.
  bool include_hidden = false;
};

// Something left out of an import (or imported differently), and why. A
// note is only a notice: the file is imported whole, but something about it
// needs a person's eye (a link that points nowhere, a note kept as an
// attachment). Anything else means bytes of the folder were not imported.
struct ImportProblem {
  enum class Severity { kNotice, kLeftOut };
  std::string path;    // relative to the import folder, printable
  std::string reason;  // a sentence a person can act on
  Severity severity = Severity::kLeftOut;
};

// One link destination that becomes `soma:blob/<CID>` in the note's text.
struct PlannedLink {
  std::size_t begin = 0;  // byte range of the destination in the original text
  std::size_t end = 0;
  std::string href;      // the original destination bytes, restored on export
  std::string target;    // the decoded path the href names, relative to the note
  std::size_t file = 0;  // index into ImportPlan::files
};

struct PlannedPage {
  enum class Kind { kFolder, kNote };
  Kind kind = Kind::kNote;
  std::string title;
  std::string rel_path;               // '/'-separated, relative to the import folder
  std::optional<std::size_t> parent;  // index into ImportPlan::pages; none: top level
  std::int64_t position = 0;          // among its siblings
  // Notes only:
  std::string source_name;         // the file name, extension included
  std::string text;                // the original bytes (valid UTF-8)
  std::vector<PlannedLink> links;  // in order of appearance
};

// A file whose bytes are uploaded once as a blob.
struct PlannedFile {
  std::string rel_path;
  std::uint64_t size = 0;
};

struct PlannedAttachment {
  std::size_t file = 0;             // index into ImportPlan::files
  std::optional<std::size_t> page;  // its folder's page; none: the space's top level
  std::string name;
  std::string media_type;
};

// What importing a folder will create: pages (parents before children),
// the distinct files to upload, attachments, and the problems found.
struct ImportPlan {
  std::vector<PlannedPage> pages;
  std::vector<PlannedFile> files;
  std::vector<PlannedAttachment> attachments;
  std::vector<ImportProblem> problems;
};

// Walks `folder` (entries sorted by name) and plans its import: folders
// become folder pages, *.md / *.markdown files note pages, files a note
// links to blobs the note refers to, every other file an attachment of its
// folder's page. Link paths are taken relative to the note, or to the
// folder's root when they start with '/'. Reads nothing outside the folder. Problems (links leaving
// the folder, missing or unreadable files, symbolic links pointing out,
// names or notes that are not UTF-8) are collected in the plan and the rest
// is planned. Errors only when the folder itself cannot be read.
core::Result<ImportPlan> plan_import(const SourceFolder& folder, const ImportLimits& limits = {});

// A note's document as the daemon receives it.
struct RenderedNote {
  std::string text;       // each planned link replaced by soma:blob/<CID>
  std::string structure;  // {"source_name": …, "links": [{"cid", "href", "target"}…]}
  std::vector<std::string> blob_cids;  // distinct, in order of first use
};

// Renders a planned note given the CID of every planned file (indexed like
// ImportPlan::files). A link whose file has no CID (its upload failed) is
// left as written and not recorded. kInternal for an inconsistent plan.
core::Result<RenderedNote> render_note(const PlannedPage& note,
                                       const std::vector<std::string>& file_cids);

// True for names Soma imports as notes: *.md and *.markdown, any case.
bool is_note_name(std::string_view name);

}  // namespace soma::notes
