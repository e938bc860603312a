#include <dirent.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>

#include "notes/exporter.h"
#include "notes/file_access.h"

namespace soma::notes {
namespace {

namespace fs = std::filesystem;

class ExportDir {
 public:
  ExportDir() {
    std::string tmpl = (fs::path(testing::TempDir()) / "soma-export-XXXXXX").string();
    char* made = ::mkdtemp(tmpl.data());
    EXPECT_NE(made, nullptr);
    path_ = tmpl;
  }
  ~ExportDir() {
    // Deep trees are past PATH_MAX: remove them from the bottom with *at().
    remove_at(AT_FDCWD, path_.string());
  }
  const fs::path& path() const { return path_; }

 private:
  static void remove_at(int parent, const std::string& name) {
    int fd = ::openat(parent, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
      ::unlinkat(parent, name.c_str(), 0);
      return;
    }
    std::vector<std::string> names;
    if (DIR* d = ::fdopendir(::dup(fd))) {
      while (auto* e = ::readdir(d)) {
        std::string n = e->d_name;
        if (n != "." && n != "..") names.push_back(n);
      }
      ::closedir(d);
    }
    for (const auto& n : names) remove_at(fd, n);
    ::close(fd);
    ::unlinkat(parent, name.c_str(), AT_REMOVEDIR);
  }
  fs::path path_;
};

class MemoryBlobs : public BlobSource {
 public:
  std::map<std::string, std::string> blobs;
  core::Status read(const std::string& cid, std::uint64_t,
                    const std::function<core::Status(core::ByteView)>& sink) override {
    auto it = blobs.find(cid);
    if (it == blobs.end()) return core::Error::not_found("no blob " + cid);
    return sink(core::as_bytes(it->second));
  }
};

std::string read(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

const ExportFile* file_at(const ExportPlan& plan, std::string_view path) {
  for (const auto& f : plan.files) {
    if (f.path == path) return &f;
  }
  return nullptr;
}

std::size_t count(const std::vector<ExportProblem>& problems, ImportProblem::Severity severity) {
  return static_cast<std::size_t>(std::count_if(
      problems.begin(), problems.end(), [&](const auto& p) { return p.severity == severity; }));
}

constexpr auto kNotice = ImportProblem::Severity::kNotice;
constexpr auto kLeftOut = ImportProblem::Severity::kLeftOut;

TEST(ExportLinks, restores_every_linked_file_after_a_note_is_edited) {
  SpaceSnapshot space;
  // Imported as "[a](a.txt)\n[b](b.txt)\n", then edited: the first link was
  // removed and the second repeated.
  space.pages.push_back(
      {"n", "", "n", "note", 0, "[b](soma:blob/bafkb)\n[b again](soma:blob/bafkb)\n",
       R"({"source_name":"n.md","links":[{"cid":"bafka","href":"a.txt","target":"a.txt"},)"
       R"({"cid":"bafkb","href":"b.txt","target":"b.txt"}]})"});
  space.blobs = {{"bafka", 1}, {"bafkb", 1}};
  MemoryBlobs blobs;
  blobs.blobs = {{"bafka", "A"}, {"bafkb", "B"}};

  ExportPlan plan = plan_export(space);
  EXPECT_TRUE(plan.problems.empty());
  ExportDir dir;
  auto written = write_export(plan, dir.path() / "out", blobs);
  ASSERT_TRUE(written.ok()) << written.error().message;
  EXPECT_TRUE(written->problems.empty());
  EXPECT_EQ(read(dir.path() / "out" / "n.md"), "[b](b.txt)\n[b again](b.txt)\n");
  EXPECT_EQ(read(dir.path() / "out" / "b.txt"), "B");
}

TEST(ExportLinks, links_without_a_recorded_href_get_a_file_and_are_reported) {
  SpaceSnapshot space;
  space.pages.push_back({"f", "", "docs", "folder", 0, "", ""});
  // Written through the API: links to blobs, no structure at all.
  space.pages.push_back({"n", "f", "api note", "note", 0,
                         "![pic](soma:blob/bafkpic) [doc](soma:blob/bafkatt) "
                         "[gone](soma:blob/bafkgone)\n",
                         ""});
  space.attachments.push_back({"", "my report.pdf", "bafkatt", 3});
  space.blobs = {{"bafkpic", 3}, {"bafkatt", 3}};
  MemoryBlobs blobs;
  blobs.blobs = {{"bafkpic", "PIC"}, {"bafkatt", "PDF"}};

  ExportPlan plan = plan_export(space);
  const ExportFile* note = file_at(plan, "docs/api note.md");
  ASSERT_NE(note, nullptr);
  EXPECT_EQ(note->text,
            "![pic](_blobs/bafkpic) [doc](../my%20report.pdf) [gone](soma:blob/bafkgone)\n");
  EXPECT_EQ(count(plan.problems, kNotice), 3u);
  EXPECT_EQ(count(plan.problems, kLeftOut), 0u);
  EXPECT_TRUE(std::any_of(plan.problems.begin(), plan.problems.end(), [](const auto& p) {
    return p.reason.find("bafkgone") != std::string::npos &&
           p.reason.find("does not hold") != std::string::npos;
  }));

  ExportDir dir;
  auto written = write_export(plan, dir.path() / "out", blobs);
  ASSERT_TRUE(written.ok()) << written.error().message;
  EXPECT_EQ(read(dir.path() / "out" / "docs" / "_blobs" / "bafkpic"), "PIC");
  EXPECT_EQ(read(dir.path() / "out" / "my report.pdf"), "PDF");
}

TEST(ExportNames, shortens_names_longer_than_a_file_system_takes_and_keeps_the_extension) {
  SpaceSnapshot space;
  std::string long_title(253, 'x');
  std::string accented;
  for (int i = 0; i < 130; ++i) accented += "\xC3\xA9";  // 260 bytes of é
  space.pages.push_back({"a", "", long_title, "note", 0, "first", ""});
  space.pages.push_back({"b", "", long_title, "note", 1, "second", ""});
  space.attachments.push_back({"", accented + ".png", "bafkimg", 3});
  space.blobs = {{"bafkimg", 3}};
  MemoryBlobs blobs;
  blobs.blobs = {{"bafkimg", "IMG"}};

  ExportPlan plan = plan_export(space);
  EXPECT_EQ(count(plan.problems, kLeftOut), 0u);
  EXPECT_GE(count(plan.problems, kNotice), 3u);
  for (const auto& f : plan.files) {
    EXPECT_LE(f.path.size(), kMaxNameBytes) << f.path;
    EXPECT_NE(f.path.find('.'), std::string::npos) << f.path;
  }
  ExportDir dir;
  auto written = write_export(plan, dir.path() / "out", blobs);
  ASSERT_TRUE(written.ok()) << written.error().message;
  EXPECT_TRUE(written->problems.empty()) << written->problems[0].reason;
  EXPECT_EQ(written->files, 3u);
  std::set<std::string> contents;
  for (const auto& e : fs::directory_iterator(dir.path() / "out")) {
    contents.insert(read(e.path()));
    std::string name = e.path().filename().string();
    EXPECT_TRUE(name.size() > 3 &&
                (name.substr(name.size() - 3) == ".md" || name.substr(name.size() - 4) == ".png"))
        << name;
  }
  EXPECT_EQ(contents, (std::set<std::string>{"first", "second", "IMG"}));
}

TEST(ExportNames, writes_trees_deeper_than_path_max) {
  SpaceSnapshot space;
  std::string parent;
  for (int i = 0; i < 20; ++i) {
    std::string id = "f" + std::to_string(i);
    space.pages.push_back(
        {id, parent, std::string(250, static_cast<char>('a' + i)), "folder", 0, "", ""});
    parent = id;
  }
  space.pages.push_back({"deep", parent, "bottom", "note", 0, "at the bottom", ""});
  ExportPlan plan = plan_export(space);
  EXPECT_TRUE(plan.problems.empty());

  ExportDir dir;
  MemoryBlobs blobs;
  auto written = write_export(plan, dir.path() / "out", blobs);
  ASSERT_TRUE(written.ok()) << written.error().message;
  EXPECT_TRUE(written->problems.empty()) << written->problems[0].reason;
  EXPECT_EQ(written->files, 1u);

  // Read it back one folder at a time, as no path reaches it.
  int fd = ::open((dir.path() / "out").c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  for (int i = 0; i < 20; ++i) {
    int next = ::openat(fd, std::string(250, static_cast<char>('a' + i)).c_str(),
                        O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    ::close(fd);
    ASSERT_GE(next, 0) << "folder " << i << " missing";
    fd = next;
  }
  int file = ::openat(fd, "bottom.md", O_RDONLY | O_CLOEXEC);
  ::close(fd);
  ASSERT_GE(file, 0);
  char buf[64] = {};
  auto n = ::read(file, buf, sizeof buf);
  ::close(file);
  EXPECT_EQ(std::string(buf, n > 0 ? static_cast<std::size_t>(n) : 0), "at the bottom");
}

TEST(ExportFailures, a_blob_that_cannot_be_read_is_reported_and_everything_else_is_written) {
  SpaceSnapshot space;
  space.pages.push_back({"n", "", "n", "note", 0, "text", ""});
  space.attachments.push_back({"", "a-missing.bin", "bafkmissing", 3});
  space.attachments.push_back({"", "b-present.bin", "bafkpresent", 3});
  space.attachments.push_back({"", "c-present.bin", "bafkpresent2", 3});
  space.blobs = {{"bafkmissing", 3}, {"bafkpresent", 3}, {"bafkpresent2", 3}};
  MemoryBlobs blobs;
  blobs.blobs = {{"bafkpresent", "one"}, {"bafkpresent2", "two"}};

  ExportPlan plan = plan_export(space);
  EXPECT_TRUE(plan.problems.empty());
  ExportDir dir;
  auto written = write_export(plan, dir.path() / "out", blobs);
  ASSERT_TRUE(written.ok()) << written.error().message;
  ASSERT_EQ(written->problems.size(), 1u);
  EXPECT_EQ(written->problems[0].path, "a-missing.bin");
  EXPECT_EQ(written->problems[0].severity, kLeftOut);
  EXPECT_EQ(written->files, 3u);
  EXPECT_FALSE(fs::exists(dir.path() / "out" / "a-missing.bin"));
  EXPECT_EQ(read(dir.path() / "out" / "b-present.bin"), "one");
  EXPECT_EQ(read(dir.path() / "out" / "c-present.bin"), "two");
  EXPECT_EQ(read(dir.path() / "out" / "n.md"), "text");
  // No temporary file is left behind.
  std::size_t entries = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir.path() / "out")) ++entries;
  EXPECT_EQ(entries, 3u);
}

TEST(ExportFailures, a_target_under_a_file_is_a_usage_error_not_a_permission_error) {
  ExportDir dir;
  { std::ofstream(dir.path() / "plain") << "x"; }
  auto status = check_export_target(dir.path() / "plain" / "x");
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().code, core::ErrorCode::kInvalidArgument);
  EXPECT_NE(status.error().message.find("not a folder"), std::string::npos);

  auto too_long = check_export_target(dir.path() / std::string(300, 'y'));
  ASSERT_FALSE(too_long.ok());
  EXPECT_EQ(too_long.error().code, core::ErrorCode::kInvalidArgument);

  MemoryBlobs blobs;
  auto written = write_export(ExportPlan{}, dir.path() / "plain" / "x", blobs);
  ASSERT_FALSE(written.ok());
  EXPECT_EQ(written.error().code, core::ErrorCode::kInvalidArgument);
}

}  // namespace
}  // namespace soma::notes
