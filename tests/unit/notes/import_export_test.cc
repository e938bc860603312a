#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "notes/exporter.h"
#include "notes/importer.h"

namespace soma::notes {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kSecret = "TOP-SECRET-7f3a9c-never-import-me";

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (fs::path(testing::TempDir()) / "soma-notes-XXXXXX").string();
    char* made = ::mkdtemp(tmpl.data());
    EXPECT_NE(made, nullptr);
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

void write(const fs::path& p, std::string_view bytes) {
  fs::create_directories(p.parent_path());
  std::ofstream out(p, std::ios::binary);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

std::string read(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

bool has_problem(const ImportPlan& plan, std::string_view path, std::string_view reason_part) {
  return std::any_of(plan.problems.begin(), plan.problems.end(), [&](const ImportProblem& p) {
    return p.path == path && p.reason.find(reason_part) != std::string::npos;
  });
}

const PlannedPage* find_page(const ImportPlan& plan, std::string_view rel) {
  for (const auto& page : plan.pages) {
    if (page.rel_path == rel) return &page;
  }
  return nullptr;
}

ImportPlan plan_of(const fs::path& root) {
  auto folder = SourceFolder::open(root);
  EXPECT_TRUE(folder.ok());
  auto plan = plan_import(*folder);
  EXPECT_TRUE(plan.ok());
  return std::move(plan).value();
}

// Every file and folder under `root` with the bytes of each file.
std::map<std::string, std::string> tree(const fs::path& root) {
  std::map<std::string, std::string> out;
  for (auto it = fs::recursive_directory_iterator(root); it != fs::recursive_directory_iterator();
       ++it) {
    std::string rel = fs::relative(it->path(), root).string();
    out[rel] = it->is_directory() ? "<dir>" : read(it->path());
  }
  return out;
}

TEST(Importer, rewrites_links_to_blobs_and_records_the_original_destinations) {
  TempDir dir;
  fs::path root = dir.path() / "notes";
  std::string note =
      "# A\n"
      "![fig](../figs/a.svg \"Figure\") and [again](<../figs/a.svg#part>).\n"
      "\n"
      "[ref]: ../figs/b%20c.png?v=2\n"
      "Uses [ref], [other note](b.md), [folder](../figs/) and [web](https://x.org/a.png).\n"
      "\n"
      "`[code](../figs/a.svg)`\n";
  write(root / "text" / "a.md", note);
  write(root / "text" / "b.md", "plain\n");
  write(root / "figs" / "a.svg", "<svg/>");
  write(root / "figs" / "b c.png", "PNG");
  write(root / "figs" / "unused.txt", "unused");
  write(root / "top.txt", "top");

  ImportPlan plan = plan_of(root);
  EXPECT_TRUE(plan.problems.empty());

  ASSERT_EQ(plan.pages.size(), 4u);
  EXPECT_EQ(plan.pages[0].rel_path, "figs");
  EXPECT_EQ(plan.pages[0].kind, PlannedPage::Kind::kFolder);
  EXPECT_EQ(plan.pages[1].rel_path, "text");
  const PlannedPage* a = find_page(plan, "text/a.md");
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->title, "a");
  EXPECT_EQ(a->source_name, "a.md");
  EXPECT_EQ(a->parent, std::optional<std::size_t>(1));

  ASSERT_EQ(a->links.size(), 3u);
  EXPECT_EQ(a->links[0].href, "../figs/a.svg");
  EXPECT_EQ(a->links[1].href, "<../figs/a.svg#part>");
  EXPECT_EQ(a->links[2].href, "../figs/b%20c.png?v=2");
  EXPECT_EQ(a->links[0].file, a->links[1].file);
  EXPECT_EQ(plan.files[a->links[2].file].rel_path, "figs/b c.png");

  std::vector<std::string> cids(plan.files.size());
  for (std::size_t i = 0; i < cids.size(); ++i) cids[i] = "bafkfake" + std::to_string(i);
  auto rendered = render_note(*a, cids);
  ASSERT_TRUE(rendered.ok());
  std::string cid_a = cids[a->links[0].file];
  std::string cid_b = cids[a->links[2].file];
  EXPECT_NE(rendered->text.find("![fig](soma:blob/" + cid_a + " \"Figure\")"), std::string::npos);
  EXPECT_NE(rendered->text.find("[again](soma:blob/" + cid_a + ")"), std::string::npos);
  EXPECT_NE(rendered->text.find("[ref]: soma:blob/" + cid_b + "\n"), std::string::npos);
  EXPECT_NE(rendered->text.find("`[code](../figs/a.svg)`"), std::string::npos);
  EXPECT_NE(rendered->text.find("[other note](b.md)"), std::string::npos);
  EXPECT_EQ(rendered->blob_cids, (std::vector<std::string>{cid_a, cid_b}));

  auto structure = nlohmann::json::parse(rendered->structure);
  EXPECT_EQ(structure["source_name"], "a.md");
  ASSERT_EQ(structure["links"].size(), 3u);
  EXPECT_EQ(structure["links"][1]["href"], "<../figs/a.svg#part>");
  EXPECT_EQ(structure["links"][1]["cid"], cid_a);
  EXPECT_EQ(structure["links"][2]["target"], "../figs/b c.png");

  // Files no note links to are attachments of their folder's page.
  ASSERT_EQ(plan.attachments.size(), 2u);
  EXPECT_EQ(plan.attachments[0].name, "unused.txt");
  EXPECT_EQ(plan.attachments[0].page, std::optional<std::size_t>(0));
  EXPECT_EQ(plan.attachments[0].media_type, "text/plain");
  EXPECT_EQ(plan.attachments[1].name, "top.txt");
  EXPECT_FALSE(plan.attachments[1].page.has_value());
}

TEST(Importer, refuses_links_out_of_the_folder_and_never_reads_them) {
  TempDir dir;
  fs::path root = dir.path() / "in";
  write(dir.path() / "outside" / "secret.txt", kSecret);
  write(dir.path() / "outside" / "secret.md", kSecret);
  write(root / "n.md",
        "[up](../outside/secret.txt) [deep](sub/../../outside/secret.txt)\n"
        "[abs](" +
            (dir.path() / "outside" / "secret.txt").string() +
            ")\n"
            "[via link](evil.txt) [missing](nope.png)\n");
  fs::create_symlink(dir.path() / "outside" / "secret.txt", root / "evil.txt");
  fs::create_symlink(dir.path() / "outside" / "secret.md", root / "evil.md");
  fs::create_directory_symlink(dir.path() / "outside", root / "outdir");

  ImportPlan plan = plan_of(root);

  EXPECT_TRUE(has_problem(plan, "n.md", "\"../outside/secret.txt\" leads outside"));
  EXPECT_TRUE(has_problem(plan, "n.md", "\"sub/../../outside/secret.txt\" leads outside"));
  // A path from '/' is taken from the import folder, where this one is missing.
  std::string abs = (dir.path() / "outside" / "secret.txt").string();
  EXPECT_TRUE(has_problem(plan, "n.md", "\"" + abs + "\" points to a file that does not exist"));
  EXPECT_TRUE(has_problem(plan, "n.md", "\"evil.txt\" points to a file that is not imported"));
  EXPECT_TRUE(has_problem(plan, "n.md", "\"nope.png\" points to a file that does not exist"));
  EXPECT_TRUE(has_problem(plan, "evil.txt", "pointing outside the import folder"));
  EXPECT_TRUE(has_problem(plan, "evil.md", "pointing outside the import folder"));
  EXPECT_TRUE(has_problem(plan, "outdir", "pointing outside the import folder"));

  // Nothing from outside is planned, and the secret's bytes appear nowhere.
  EXPECT_TRUE(plan.files.empty());
  EXPECT_TRUE(plan.attachments.empty());
  ASSERT_EQ(plan.pages.size(), 1u);
  EXPECT_TRUE(plan.pages[0].links.empty());
  for (const auto& page : plan.pages) {
    EXPECT_EQ(page.text.find(kSecret), std::string::npos);
    EXPECT_EQ(page.title.find("secret"), std::string::npos);
  }
  for (const auto& problem : plan.problems) {
    EXPECT_EQ(problem.reason.find(kSecret), std::string::npos);
  }
}

TEST(Importer, reports_names_and_notes_that_are_not_utf8) {
  TempDir dir;
  fs::path root = dir.path() / "in";
  write(root / std::string("bad\xff.png"), "x");
  write(root / std::string("caf\xc3\xa9.md"), "ok \xc3\xa9\n");
  write(root / "latin1.md", "caf\xe9\n");
  write(root / "link.md", "![x](bad%FF.png)\n");

  ImportPlan plan = plan_of(root);

  EXPECT_TRUE(has_problem(plan, "bad\\xFF.png", "not valid UTF-8"));
  EXPECT_TRUE(has_problem(plan, "latin1.md", "imported as an attachment"));
  EXPECT_TRUE(has_problem(plan, "link.md", "not imported"));
  ASSERT_NE(find_page(plan, "caf\xc3\xa9.md"), nullptr);
  EXPECT_EQ(find_page(plan, "latin1.md"), nullptr);
  ASSERT_EQ(plan.attachments.size(), 1u);
  EXPECT_EQ(plan.attachments[0].name, "latin1.md");
  EXPECT_EQ(plan.files[plan.attachments[0].file].rel_path, "latin1.md");
}

// Feeds the exporter blob bytes from memory, as the daemon would stream them.
class MapBlobs : public BlobSource {
 public:
  std::map<std::string, std::string> blobs;
  core::Status read(const std::string& cid, std::uint64_t,
                    const std::function<core::Status(core::ByteView)>& sink) override {
    auto it = blobs.find(cid);
    if (it == blobs.end()) return core::Error::not_found("no blob " + cid);
    return sink(core::as_bytes(it->second));
  }
};

// What the daemon would hold after importing `plan`.
SpaceSnapshot snapshot_of(const fs::path& root, const ImportPlan& plan, MapBlobs& blobs) {
  std::vector<std::string> cids;
  for (std::size_t i = 0; i < plan.files.size(); ++i) {
    cids.push_back("bafkfake" + std::to_string(i));
    blobs.blobs[cids.back()] = read(root / plan.files[i].rel_path);
  }
  SpaceSnapshot space;
  for (const auto& [cid, bytes] : blobs.blobs) space.blobs[cid] = bytes.size();
  for (std::size_t i = 0; i < plan.pages.size(); ++i) {
    const auto& page = plan.pages[i];
    SpacePage out;
    out.id = "page" + std::to_string(i);
    out.parent_id = page.parent ? "page" + std::to_string(*page.parent) : "";
    out.title = page.title;
    out.position = page.position;
    out.kind = page.kind == PlannedPage::Kind::kFolder ? "folder" : "note";
    if (page.kind == PlannedPage::Kind::kNote) {
      auto rendered = render_note(page, cids);
      EXPECT_TRUE(rendered.ok());
      out.text = rendered->text;
      out.structure = rendered->structure;
    }
    space.pages.push_back(std::move(out));
  }
  for (const auto& a : plan.attachments) {
    space.attachments.push_back(
        {a.page ? "page" + std::to_string(*a.page) : "", a.name, cids[a.file], 0});
  }
  return space;
}

TEST(Exporter, restores_the_imported_tree_byte_for_byte) {
  TempDir dir;
  fs::path root = dir.path() / "src";
  write(root / "README.md",
        "<p align=\"center\"><img src=\"figs/logo.svg\" width=\"50\"></p>\n\n"
        "[intro](docs/intro.md) ![logo](figs/logo.svg) ![logo again](./figs/logo.svg#x)\n\n"
        "[d]: <figs/my diagram.png> \"Diagram\"\n\n"
        "See [d] and ``![not](figs/nothing.png)``.\n");
  write(root / "docs" / "intro.md",
        "> quoted ![a](../figs/a\\(1\\).svg)\n> and [b](../figs/b%20c.txt?raw=1)\n"
        "\n[from the root](/figs/root.txt) [note from the root](/README.md)\n");
  write(root / "figs" / "root.txt", "linked from the root");
  write(root / "docs" / "notes.markdown", "Link back to [readme](../README.md).\r\n");
  write(root / "figs" / "logo.svg", "<svg>logo</svg>");
  write(root / "figs" / "my diagram.png", std::string("\x89PNG\r\n\x1a\n\0\0", 10));
  write(root / "figs" / "a(1).svg", "<svg>a</svg>");
  write(root / "figs" / "b c.txt", "b c");
  write(root / "figs" / "unlinked.txt", "attachment");
  write(root / "SOURCE.txt", "top-level attachment");
  fs::create_directories(root / "empty");

  ImportPlan plan = plan_of(root);
  EXPECT_TRUE(plan.problems.empty());
  const PlannedPage* intro = find_page(plan, "docs/intro.md");
  ASSERT_NE(intro, nullptr);
  ASSERT_EQ(intro->links.size(), 3u);
  EXPECT_EQ(intro->links[2].href, "/figs/root.txt");
  EXPECT_EQ(plan.files[intro->links[2].file].rel_path, "figs/root.txt");
  EXPECT_EQ(plan.attachments.size(), 2u);  // figs/unlinked.txt and SOURCE.txt
  MapBlobs blobs;
  SpaceSnapshot space = snapshot_of(root, plan, blobs);

  // The stored text refers to blobs, not paths.
  for (const auto& page : space.pages) {
    EXPECT_EQ(page.text.find("figs/logo.svg\""), std::string::npos) << page.title;
  }

  ExportPlan exported = plan_export(space);
  EXPECT_TRUE(exported.problems.empty());
  fs::path out = dir.path() / "out";
  auto written = write_export(exported, out, blobs);
  ASSERT_TRUE(written.ok()) << written.error().message;
  EXPECT_TRUE(written->problems.empty());
  EXPECT_EQ(tree(out), tree(root));
}

TEST(Exporter, refuses_a_target_that_is_not_empty) {
  TempDir dir;
  write(dir.path() / "full" / "x.txt", "x");
  auto status = check_export_target(dir.path() / "full");
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().code, core::ErrorCode::kInvalidArgument);
  EXPECT_TRUE(check_export_target(dir.path() / "new").ok());
  fs::create_directories(dir.path() / "empty");
  EXPECT_TRUE(check_export_target(dir.path() / "empty").ok());

  MapBlobs blobs;
  auto written = write_export(ExportPlan{}, dir.path() / "full", blobs);
  EXPECT_FALSE(written.ok());
}

TEST(Exporter, writes_no_blob_outside_the_target_and_renames_clashes) {
  SpaceSnapshot space;
  space.pages.push_back({"p1", "", "notes", "folder", 0, "", ""});
  space.pages.push_back(
      {"p2", "p1", "escape", "note", 0, "![x](soma:blob/bafkevil) soma:blob/bafkother",
       R"({"source_name":"escape.md","links":[{"cid":"bafkevil","href":"../../x.png",)"
       R"("target":"../../x.png"}]})"});
  space.pages.push_back({"p3", "p1", "a/b", "note", 1, "one", ""});
  space.pages.push_back({"p4", "p1", "a/b", "note", 2, "two", ""});
  space.attachments.push_back({"p1", "../up.txt", "bafkatt", 3});
  space.blobs = {{"bafkevil", 1}, {"bafkother", 2}, {"bafkatt", 3}};

  ExportPlan plan = plan_export(space);
  std::map<std::string, const ExportFile*> files;
  for (const auto& f : plan.files) files[f.path] = &f;

  ASSERT_TRUE(files.count("notes/escape.md"));
  EXPECT_EQ(files["notes/escape.md"]->text, "![x](../../x.png) _blobs/bafkother");
  EXPECT_TRUE(files.count("notes/_blobs/bafkother"));
  EXPECT_TRUE(files.count("notes/a_b.md"));
  EXPECT_TRUE(files.count("notes/a_b (2).md"));
  EXPECT_TRUE(files.count("notes/.._up.txt"));
  EXPECT_FALSE(files.count("x.png"));
  for (const auto& f : plan.files) {
    EXPECT_NE(f.path.substr(0, 3), "../") << f.path;
    EXPECT_EQ(f.path.find("/../"), std::string::npos) << f.path;
  }
  EXPECT_TRUE(std::any_of(plan.problems.begin(), plan.problems.end(), [](const auto& p) {
    return p.reason.find("outside the export folder") != std::string::npos;
  }));
}

}  // namespace
}  // namespace soma::notes

namespace soma::notes {
namespace {

TEST(Importer, tells_notices_apart_from_files_left_out) {
  TempDir dir;
  fs::path root = dir.path() / "in";
  write(root / "n.md", "[gone](nope.png)\n");
  write(root / "latin1.md", "caf\xe9\n");
  write(root / std::string("bad\xff.txt"), "x");
  auto plan = plan_of(root);

  auto severity_of = [&](std::string_view path) {
    for (const auto& p : plan.problems) {
      if (p.path == path) return p.severity;
    }
    ADD_FAILURE() << "no problem reported for " << path;
    return ImportProblem::Severity::kNotice;
  };
  // A dead link and a note kept as an attachment lose no bytes; a file whose
  // name cannot be imported does.
  EXPECT_EQ(severity_of("n.md"), ImportProblem::Severity::kNotice);
  EXPECT_EQ(severity_of("latin1.md"), ImportProblem::Severity::kNotice);
  EXPECT_EQ(plan.problems.size(), 3u);
  EXPECT_EQ(
      std::count_if(plan.problems.begin(), plan.problems.end(),
                    [](const auto& p) { return p.severity == ImportProblem::Severity::kLeftOut; }),
      1);
}

}  // namespace
}  // namespace soma::notes

namespace soma::notes {
namespace {

TEST(Importer, skips_hidden_files_and_folders_unless_asked_and_says_so) {
  TempDir dir;
  fs::path root = dir.path() / "in";
  write(root / "n.md", "[cfg](.config.txt)\n");
  write(root / ".config.txt", "hidden file");
  write(root / ".git" / "HEAD", "ref: refs/heads/main\n");
  write(root / ".git" / "notes.md", "# in git\n");

  auto plan = plan_of(root);
  ASSERT_EQ(plan.pages.size(), 1u);
  EXPECT_EQ(plan.pages[0].rel_path, "n.md");
  EXPECT_TRUE(plan.pages[0].links.empty());
  EXPECT_TRUE(plan.attachments.empty());
  EXPECT_TRUE(plan.files.empty());
  EXPECT_TRUE(has_problem(plan, ".git", "--include-hidden"));
  EXPECT_TRUE(has_problem(plan, ".config.txt", "--include-hidden"));
  for (const auto& p : plan.problems) {
    EXPECT_EQ(p.severity, ImportProblem::Severity::kNotice) << p.path << ": " << p.reason;
  }

  auto folder = SourceFolder::open(root);
  ASSERT_TRUE(folder.ok());
  ImportLimits limits;
  limits.include_hidden = true;
  auto all = plan_import(*folder, limits);
  ASSERT_TRUE(all.ok());
  EXPECT_TRUE(all->problems.empty());
  EXPECT_NE(find_page(*all, ".git"), nullptr);
  EXPECT_NE(find_page(*all, ".git/notes.md"), nullptr);
  ASSERT_EQ(find_page(*all, "n.md")->links.size(), 1u);
  ASSERT_EQ(all->attachments.size(), 1u);
  EXPECT_EQ(all->attachments[0].name, "HEAD");
}

}  // namespace
}  // namespace soma::notes
