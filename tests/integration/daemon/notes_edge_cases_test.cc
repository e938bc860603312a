#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "harness/api_client.h"
#include "harness/soma_harness.h"

namespace soma::testing {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

json json_of(const RunResult& r) {
  auto doc = json::parse(r.out, nullptr, false);
  EXPECT_FALSE(doc.is_discarded()) << r.out << r.err;
  return doc;
}

// Every page of `space` (id, parent, title, kind).
json pages_of(const Daemon& daemon, const std::string& space) {
  auto listed = daemon.soma({"--json", "page", "list", space, "--tree"});
  EXPECT_EQ(listed.exit_code, 0) << listed.out << listed.err;
  return json_of(listed)["pages"];
}

std::string page_id(const Daemon& daemon, const std::string& space, const std::string& title) {
  for (const auto& p : pages_of(daemon, space)) {
    if (p["title"] == title) return p["id"];
  }
  ADD_FAILURE() << "no page " << title;
  return {};
}

// Two pages with the same title under the same parent, as "parent/title".
std::vector<std::string> duplicates(const json& pages) {
  std::map<std::pair<std::string, std::string>, int> seen;
  std::vector<std::string> out;
  for (const auto& p : pages) {
    std::pair<std::string, std::string> key{p["parent_id"], p["title"]};
    if (++seen[key] == 2) out.push_back(key.first + "/" + key.second);
  }
  return out;
}

TEST(NotesEdgeCases, an_edited_note_and_an_api_note_export_every_linked_file) {
  TempDir tmp;
  write_file(tmp / "r" / "a.txt", "A bytes");
  write_file(tmp / "r" / "b.txt", "B bytes");
  write_file(tmp / "r" / "n.md", "[a](a.txt)\n[b](b.txt)\n");
  Daemon daemon(tmp / "data");
  ASSERT_TRUE(daemon.start()) << daemon.stderr_text();
  auto imported = daemon.soma({"import", (tmp / "r").string(), "--space", "r"});
  ASSERT_EQ(imported.exit_code, 0) << imported.out << imported.err;

  // Edit the note: drop its first line, keeping the structure.
  std::string n = page_id(daemon, "r", "n");
  auto got = daemon.soma({"doc", "get", n});
  ASSERT_EQ(got.exit_code, 0) << got.err;
  std::string edited = got.out.substr(got.out.find('\n') + 1);
  ASSERT_NE(edited.find("soma:blob/"), std::string::npos) << edited;
  auto put = daemon.soma({"doc", "put", n}, edited);
  ASSERT_EQ(put.exit_code, 0) << put.out << put.err;

  // A note written through the API, linking a blob by CID alone.
  auto added =
      daemon.soma({"--json", "blob", "add", (tmp / "r" / "a.txt").string(), "--space", "r"});
  ASSERT_EQ(added.exit_code, 0) << added.err;
  std::string cid_a = json_of(added)["cid"];
  auto created = daemon.soma({"page", "create", "r", "api", "--file", "-"},
                             "see [it](soma:blob/" + cid_a + ")\n");
  ASSERT_EQ(created.exit_code, 0) << created.out << created.err;

  auto exported = daemon.soma({"export", "r", (tmp / "out").string()});
  EXPECT_EQ(exported.exit_code, 0) << exported.out << exported.err;
  EXPECT_EQ(read_file(tmp / "out" / "n.md"), "[b](b.txt)\n");
  EXPECT_EQ(read_file(tmp / "out" / "b.txt"), "B bytes");
  EXPECT_EQ(read_file(tmp / "out" / "api.md"), "see [it](_blobs/" + cid_a + ")\n");
  EXPECT_EQ(read_file(tmp / "out" / "_blobs" / cid_a), "A bytes");
  EXPECT_NE(exported.out.find("notice: api.md"), std::string::npos) << exported.out;
  EXPECT_NE(exported.out.find("0 left out"), std::string::npos) << exported.out;
}

TEST(NotesEdgeCases, putting_back_unchanged_text_always_succeeds) {
  TempDir tmp;
  const std::string text =
      "mentions soma:blob/bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku\n";
  write_file(tmp / "r" / "n.md", text);
  Daemon daemon(tmp / "data");
  ASSERT_TRUE(daemon.start()) << daemon.stderr_text();
  auto imported = daemon.soma({"import", (tmp / "r").string(), "--space", "r"});
  ASSERT_EQ(imported.exit_code, 0) << imported.out << imported.err;
  std::string n = page_id(daemon, "r", "n");
  auto got = daemon.soma({"doc", "get", n});
  ASSERT_EQ(got.out, text);
  auto put = daemon.soma({"doc", "put", n}, got.out);
  EXPECT_EQ(put.exit_code, 0) << put.out << put.err;
}

TEST(NotesEdgeCases, a_second_import_adds_nothing_and_says_so) {
  TempDir tmp;
  write_file(tmp / "r" / "top.md", "![f](figs/f.png)\n");
  write_file(tmp / "r" / "figs" / "f.png", "PNG");
  write_file(tmp / "r" / "sub" / "inner.md", "inner\n");
  write_file(tmp / "r" / "sub" / "data.csv", "1,2\n");
  Daemon daemon(tmp / "data");
  ASSERT_TRUE(daemon.start()) << daemon.stderr_text();
  auto first = daemon.soma({"import", (tmp / "r").string(), "--space", "r"});
  ASSERT_EQ(first.exit_code, 0) << first.out << first.err;
  auto before = pages_of(daemon, "r");
  ASSERT_EQ(before.size(), 4u);  // figs/, sub/, top, inner

  auto second = daemon.soma({"--json", "import", (tmp / "r").string(), "--space", "r"});
  ASSERT_EQ(second.exit_code, 0) << second.out << second.err;
  json report = json_of(second);
  EXPECT_EQ(report["pages"], 0);
  EXPECT_EQ(report["attachments"], 0);
  EXPECT_EQ(report["already_imported"]["notes"], 2);
  EXPECT_EQ(report["already_imported"]["folders"], 2);
  EXPECT_EQ(report["already_imported"]["attachments"], 1);
  auto after = pages_of(daemon, "r");
  EXPECT_EQ(after.size(), before.size());
  EXPECT_TRUE(duplicates(after).empty());
  auto attachments = daemon.soma({"--json", "attach", "list", "r", "--all"});
  EXPECT_EQ(json_of(attachments)["attachments"].size(), 1u);
}

TEST(NotesEdgeCases, an_import_interrupted_by_a_crash_finishes_when_run_again) {
  TempDir tmp;
  Daemon daemon(tmp / "data");
  ASSERT_TRUE(daemon.start()) << daemon.stderr_text();
  constexpr int kNotes = 240;
  constexpr int kFolders = 6;
  for (int i = 0; i < kNotes; ++i) {
    auto n = std::to_string(i);
    auto dir = tmp / "notes" / ("d" + std::to_string(i % kFolders));
    write_file(dir / ("note" + n + ".md"), "# Note " + n + "\n\n![figure](fig" + n + ".bin)\n");
    write_file(dir / ("fig" + n + ".bin"),
               random_bytes(2000 + static_cast<std::size_t>(i), static_cast<unsigned>(i)));
  }
  ChildProcess importer;
  ASSERT_TRUE(importer.start({cli_binary().string(), "--data-dir", (tmp / "data").string(),
                              "import", (tmp / "notes").string(), "--space", "specs"}));
  auto stub = api_client(daemon);
  auto deadline = std::chrono::steady_clock::now() + 60s;
  std::size_t pages_created = 0;
  while (pages_created < 20 && std::chrono::steady_clock::now() < deadline) {
    pages_created = 0;
    grpc::ClientContext ctx;
    api::WatchEventsRequest req;
    auto reader = stub->WatchEvents(&ctx, req);
    api::Event e;
    while (reader->Read(&e)) pages_created += e.kind() == "page.created" ? 1 : 0;
    (void)reader->Finish();
  }
  bool import_was_running = importer.running();
  daemon.kill_hard();
  importer.stop(SIGKILL);
  ASSERT_GE(pages_created, 20u) << "the import made too little progress to test";
  EXPECT_TRUE(import_was_running) << "the import finished before the kill; nothing was tested";

  ASSERT_TRUE(daemon.start()) << daemon.stderr_text();
  auto resumed = daemon.soma({"import", (tmp / "notes").string(), "--space", "specs"});
  ASSERT_EQ(resumed.exit_code, 0) << resumed.out << resumed.err;
  EXPECT_NE(resumed.out.find("already in the space"), std::string::npos) << resumed.out;
  auto pages = pages_of(daemon, "specs");
  EXPECT_EQ(pages.size(), static_cast<std::size_t>(kNotes + kFolders));
  EXPECT_TRUE(duplicates(pages).empty()) << duplicates(pages).front();

  // And the space exports back to the folder.
  auto exported = daemon.soma({"export", "specs", (tmp / "out").string()});
  EXPECT_EQ(exported.exit_code, 0) << exported.out << exported.err;
  EXPECT_EQ(read_tree(tmp / "out"), read_tree(tmp / "notes"));
}

TEST(NotesEdgeCases, export_shortens_long_names_and_refuses_a_target_under_a_file) {
  TempDir tmp;
  Daemon daemon(tmp / "data");
  ASSERT_TRUE(daemon.start()) << daemon.stderr_text();
  ASSERT_EQ(daemon.soma({"space", "create", "s"}).exit_code, 0);
  std::string long_title(254, 'x');
  ASSERT_EQ(daemon.soma({"page", "create", "s", long_title, "--file", "-"}, "long\n").exit_code, 0);
  ASSERT_EQ(daemon.soma({"page", "create", "s", "after", "--file", "-"}, "after\n").exit_code, 0);

  auto exported = daemon.soma({"export", "s", (tmp / "out").string()});
  EXPECT_EQ(exported.exit_code, 0) << exported.out << exported.err;
  EXPECT_NE(exported.out.find("longer than 255 bytes"), std::string::npos) << exported.out;
  EXPECT_EQ(read_file(tmp / "out" / (std::string(252, 'x') + ".md")), "long\n");
  EXPECT_EQ(read_file(tmp / "out" / "after.md"), "after\n");

  write_file(tmp / "plain", "x");
  auto under_file = daemon.soma({"export", "s", (tmp / "plain" / "x").string()});
  EXPECT_EQ(under_file.exit_code, 1) << under_file.err;
  EXPECT_NE(under_file.err.find("not a folder"), std::string::npos) << under_file.err;
}

TEST(NotesEdgeCases, blob_add_of_a_file_that_changes_size_blames_the_file) {
  // sysfs files claim 4096 bytes and hold fewer: to the uploader they are
  // files that shrank between stat and read.
  std::string shrinking;
  for (const char* candidate :
       {"/sys/devices/system/cpu/online", "/sys/devices/system/cpu/possible",
        "/sys/kernel/mm/transparent_hugepage/enabled"}) {
    struct stat st {};
    if (::stat(candidate, &st) == 0 && st.st_size == 4096 && read_file(candidate).size() < 4096) {
      shrinking = candidate;
      break;
    }
  }
  ASSERT_FALSE(shrinking.empty()) << "no sysfs file to stand in for a shrinking file";
  TempDir tmp;
  Daemon daemon(tmp / "data");
  ASSERT_TRUE(daemon.start()) << daemon.stderr_text();
  ASSERT_EQ(daemon.soma({"space", "create", "s"}).exit_code, 0);
  auto added = daemon.soma({"blob", "add", shrinking, "--space", "s"});
  EXPECT_EQ(added.exit_code, 5) << added.err;
  // The daemon reads the file itself and notices it came up short.
  EXPECT_NE(added.err.find("shrank while being imported; nothing was stored; try again"),
            std::string::npos)
      << added.err;
}

TEST(NotesEdgeCases, human_output_shows_control_characters_escaped_and_aligns_wide_names) {
  TempDir tmp;
  write_file(tmp / "r" / "bell\x07.txt", "x");
  write_file(tmp / "r" / "esc\x1b[31m.md", "# red\n");
  Daemon daemon(tmp / "data");
  ASSERT_TRUE(daemon.start()) << daemon.stderr_text();
  // However the daemon takes such names, what the CLI prints about them is
  // escaped.
  auto imported = daemon.soma({"import", (tmp / "r").string(), "--space", "r"});
  std::string report = imported.out + imported.err;
  EXPECT_EQ(report.find('\x07'), std::string::npos) << report;
  EXPECT_EQ(report.find('\x1b'), std::string::npos) << report;
  EXPECT_NE(report.find("bell\\x07.txt"), std::string::npos) << report;
  auto created = daemon.soma({"page", "create", "r", "evil\x1b[31mred\ntitle"});
  EXPECT_EQ((created.out + created.err).find('\x1b'), std::string::npos) << created.err;

  for (const auto& args : std::vector<std::vector<std::string>>{{"page", "list", "r"},
                                                                {"page", "list", "r", "--tree"},
                                                                {"attach", "list", "r", "--all"},
                                                                {"events"}}) {
    auto r = daemon.soma(args);
    EXPECT_EQ(r.exit_code, 0) << args[0] << r.err;
    EXPECT_EQ(r.out.find('\x1b'), std::string::npos) << args[0] << " printed a raw ESC";
    EXPECT_EQ(r.out.find('\x07'), std::string::npos) << args[0] << " printed a raw BEL";
    EXPECT_EQ(r.out.find("red\ntitle"), std::string::npos) << args[0];
  }

  ASSERT_EQ(daemon.soma({"space", "create", "\xC3\xA9t\xC3\xA9-notes"}).exit_code, 0);
  auto spaces = daemon.soma({"space", "list"});
  ASSERT_EQ(spaces.exit_code, 0);
  // The ROLE column starts at the same code point on every line.
  auto column_of = [](const std::string& line, std::size_t byte) {
    std::size_t n = 0;
    for (std::size_t i = 0; i < byte; ++i)
      n += (static_cast<unsigned char>(line[i]) & 0xC0) != 0x80;
    return n;
  };
  std::set<std::size_t> columns;
  std::size_t start = 0;
  while (start < spaces.out.size()) {
    std::size_t end = spaces.out.find('\n', start);
    std::string line = spaces.out.substr(start, end - start);
    start = end == std::string::npos ? spaces.out.size() : end + 1;
    auto at = line.find("ROLE");
    if (at == std::string::npos) at = line.find("owner");
    ASSERT_NE(at, std::string::npos) << line;
    columns.insert(column_of(line, at));
  }
  EXPECT_EQ(columns.size(), 1u) << spaces.out;
}

TEST(NotesEdgeCases, hidden_files_are_skipped_unless_asked_for) {
  TempDir tmp;
  write_file(tmp / "r" / "n.md", "note\n");
  write_file(tmp / "r" / ".git" / "HEAD", "ref: refs/heads/main\n");
  Daemon daemon(tmp / "data");
  ASSERT_TRUE(daemon.start()) << daemon.stderr_text();
  auto imported = daemon.soma({"import", (tmp / "r").string(), "--space", "r"});
  ASSERT_EQ(imported.exit_code, 0) << imported.out << imported.err;
  EXPECT_NE(imported.out.find("notice: .git: hidden, skipped; pass --include-hidden"),
            std::string::npos)
      << imported.out;
  EXPECT_EQ(pages_of(daemon, "r").size(), 1u);

  auto all = daemon.soma({"import", (tmp / "r").string(), "--space", "all", "--include-hidden"});
  ASSERT_EQ(all.exit_code, 0) << all.out << all.err;
  EXPECT_EQ(pages_of(daemon, "all").size(), 2u);
  auto exported = daemon.soma({"export", "all", (tmp / "out").string()});
  EXPECT_EQ(exported.exit_code, 0) << exported.out << exported.err;
  EXPECT_EQ(read_tree(tmp / "out"), read_tree(tmp / "r"));
}

}  // namespace
}  // namespace soma::testing
