#include <gtest/gtest.h>

#include <atomic>
#include <limits>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "space/validation.h"
#include "space_fixture.h"

namespace soma::space::testing {
namespace {

using core::ErrorCode;

std::vector<std::string> titles(const std::vector<Page>& pages) {
  std::vector<std::string> out;
  for (const auto& p : pages) out.push_back(p.title);
  return out;
}

TEST_F(SpaceServiceTest, creates_pages_with_kind_parent_and_positions_after_the_last_sibling) {
  Space s = make_space("Tree");
  Page folder = make_page(s.name, "Folder", "", std::nullopt, PageKind::kFolder);
  EXPECT_EQ(folder.kind, PageKind::kFolder);
  EXPECT_EQ(folder.space_id, s.id);
  EXPECT_EQ(folder.parent_id, "");
  EXPECT_EQ(folder.position, 0);

  Page first = make_page(s.id, "first", folder.id);
  Page second = make_page(s.id, "second", folder.id);
  Page placed = make_page(s.id, "placed", folder.id, 10);
  Page after = make_page(s.id, "after", folder.id);
  EXPECT_EQ(first.parent_id, folder.id);
  EXPECT_EQ(first.position, 0);
  EXPECT_EQ(second.position, 1);
  EXPECT_EQ(placed.position, 10);
  EXPECT_EQ(after.position, 11);
  EXPECT_EQ(first.kind, PageKind::kNote);

  auto got = service_->get_page(second.id);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->title, "second");
  EXPECT_EQ(got->parent_id, folder.id);
  EXPECT_EQ(service_->get_space(s.id)->page_count, 5u);
}

TEST_F(SpaceServiceTest, lists_children_by_position_then_title_then_id) {
  Space s = make_space("Order");
  make_page(s.id, "c", "", 2);
  make_page(s.id, "b", "", 1);
  make_page(s.id, "a", "", 2);
  make_page(s.id, "z", "", -5);
  Page dup1 = make_page(s.id, "same", "", 7);
  Page dup2 = make_page(s.id, "same", "", 7);

  auto list = service_->list_pages(s.id, "", false);
  ASSERT_TRUE(list.ok()) << list.error().message;
  EXPECT_EQ(titles(*list), (std::vector<std::string>{"z", "b", "a", "c", "same", "same"}));
  EXPECT_EQ((*list)[4].id, std::min(dup1.id, dup2.id));
  EXPECT_EQ((*list)[5].id, std::max(dup1.id, dup2.id));
}

TEST_F(SpaceServiceTest, lists_the_tree_depth_first_with_parents_before_children) {
  Space s = make_space("Deep");
  Page a = make_page(s.id, "a");
  Page b = make_page(s.id, "b");
  Page a1 = make_page(s.id, "a1", a.id);
  Page a2 = make_page(s.id, "a2", a.id);
  make_page(s.id, "a1x", a1.id);
  make_page(s.id, "b1", b.id);
  make_page(s.id, "a0", a.id, -1);
  make_page(s.id, "a2x", a2.id);

  auto all = service_->list_pages(s.id, "", true);
  ASSERT_TRUE(all.ok()) << all.error().message;
  EXPECT_EQ(titles(*all),
            (std::vector<std::string>{"a", "a0", "a1", "a1x", "a2", "a2x", "b", "b1"}));

  auto under_a = service_->list_pages(s.id, a.id, true);
  ASSERT_TRUE(under_a.ok());
  EXPECT_EQ(titles(*under_a), (std::vector<std::string>{"a0", "a1", "a1x", "a2", "a2x"}));

  auto children = service_->list_pages(s.id, a.id, false);
  ASSERT_TRUE(children.ok());
  EXPECT_EQ(titles(*children), (std::vector<std::string>{"a0", "a1", "a2"}));
}

TEST_F(SpaceServiceTest, refuses_a_parent_from_another_space) {
  Space one = make_space("one");
  Space two = make_space("two");
  Page foreign = make_page(two.id, "foreign");
  Page local = make_page(one.id, "local");

  NewPage p;
  p.space = one.id;
  p.parent_id = foreign.id;
  p.title = "stray";
  auto created = service_->create_page(p);
  ASSERT_FALSE(created.ok());
  EXPECT_EQ(created.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(created.error().message.find("another space"), std::string::npos);

  PageChange move;
  move.page_id = local.id;
  move.parent_id = foreign.id;
  EXPECT_EQ(service_->update_page(move).error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(service_->list_pages(one.id, foreign.id, false).error().code,
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(service_->counts()->pages, 2u);
}

TEST_F(SpaceServiceTest, refuses_to_move_a_page_under_itself_or_its_descendants) {
  Space s = make_space("Cycles");
  Page a = make_page(s.id, "a");
  Page b = make_page(s.id, "b", a.id);
  Page c = make_page(s.id, "c", b.id);

  for (const std::string& target : {a.id, b.id, c.id}) {
    PageChange move;
    move.page_id = a.id;
    move.parent_id = target;
    auto moved = service_->update_page(move);
    ASSERT_FALSE(moved.ok());
    EXPECT_EQ(moved.error().code, ErrorCode::kInvalidArgument);
    EXPECT_EQ(moved.error().message, "cannot move a page under itself or its own descendants");
  }
  EXPECT_EQ(service_->get_page(a.id)->parent_id, "");
  EXPECT_EQ(service_->get_page(c.id)->parent_id, b.id);
}

TEST_F(SpaceServiceTest, moves_renames_and_repositions_pages) {
  Space s = make_space("Moves");
  Page a = make_page(s.id, "a");
  Page b = make_page(s.id, "b");
  make_page(s.id, "b-first", b.id);
  make_page(s.id, "b-second", b.id);
  Page c = make_page(s.id, "c", a.id);

  // Moving without a position appends after the new siblings.
  PageChange move;
  move.page_id = c.id;
  move.parent_id = b.id;
  auto moved = service_->update_page(move);
  ASSERT_TRUE(moved.ok()) << moved.error().message;
  EXPECT_EQ(moved->parent_id, b.id);
  EXPECT_EQ(moved->position, 2);

  // Renaming and repositioning at once.
  PageChange edit;
  edit.page_id = c.id;
  edit.title = "c renamed";
  edit.position = -1;
  auto edited = service_->update_page(edit);
  ASSERT_TRUE(edited.ok()) << edited.error().message;
  EXPECT_EQ(edited->title, "c renamed");
  EXPECT_EQ(edited->position, -1);
  EXPECT_EQ(titles(*service_->list_pages(s.id, b.id, false)),
            (std::vector<std::string>{"c renamed", "b-first", "b-second"}));

  // "" moves to the top level, after a and b.
  PageChange top;
  top.page_id = c.id;
  top.parent_id = "";
  auto topped = service_->update_page(top);
  ASSERT_TRUE(topped.ok());
  EXPECT_EQ(topped->parent_id, "");
  EXPECT_EQ(topped->position, 2);
  EXPECT_EQ(titles(*service_->list_pages(s.id, "", false)),
            (std::vector<std::string>{"a", "b", "c renamed"}));

  // A bad title changes nothing.
  PageChange bad;
  bad.page_id = c.id;
  bad.title = "a/b";
  bad.position = 99;
  EXPECT_EQ(service_->update_page(bad).error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(service_->get_page(c.id)->position, 2);
  EXPECT_EQ(service_->update_page({"nope", "t", {}, {}}).error().code, ErrorCode::kNotFound);
}

TEST_F(SpaceServiceTest, an_update_that_changes_nothing_records_nothing) {
  Space s = make_space("Still");
  Page p = make_page(s.id, "same");
  std::uint64_t before = events_->last_id();
  PageChange change;
  change.page_id = p.id;
  change.title = "same";
  change.parent_id = "";
  auto r = service_->update_page(change);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->updated_ms, p.updated_ms);
  EXPECT_EQ(events_->last_id(), before);
}

TEST_F(SpaceServiceTest, deletes_a_page_with_its_subtree_and_reports_the_count) {
  Space s = make_space("Prune");
  Page a = make_page(s.id, "a");
  Page keep = make_page(s.id, "keep");
  Page a1 = make_page(s.id, "a1", a.id);
  Page a2 = make_page(s.id, "a2", a.id);
  Page a11 = make_page(s.id, "a11", a1.id);

  auto gone = service_->delete_page(a.id);
  ASSERT_TRUE(gone.ok()) << gone.error().message;
  EXPECT_EQ(*gone, 4u);
  for (const auto& id : {a.id, a1.id, a2.id, a11.id}) {
    EXPECT_EQ(service_->get_page(id).error().code, ErrorCode::kNotFound);
    EXPECT_EQ(service_->get_document(id).error().code, ErrorCode::kNotFound);
  }
  EXPECT_TRUE(service_->get_page(keep.id).ok());
  EXPECT_EQ(service_->counts()->pages, 1u);

  auto leaf = service_->delete_page(keep.id);
  ASSERT_TRUE(leaf.ok());
  EXPECT_EQ(*leaf, 1u);
  EXPECT_EQ(service_->delete_page(keep.id).error().code, ErrorCode::kNotFound);

  auto last = events_after(0).back();
  EXPECT_EQ(last.kind, "page.deleted");
  EXPECT_EQ(last.subject, keep.id);
}

TEST_F(SpaceServiceTest, rejects_bad_page_titles) {
  Space s = make_space("Titles");
  for (const std::string& bad :
       {std::string(), std::string("a/b"), std::string("."), std::string(".."), std::string("cr\r"),
        std::string("\xe2\x82"), std::string(256, 't')}) {
    NewPage p;
    p.space = s.id;
    p.title = bad;
    auto r = service_->create_page(p);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
  }
  EXPECT_EQ(service_->counts()->pages, 0u);
  make_page(s.id, "Caf\xc3\xa9 notes: 2024-01-01 (draft) \\ ok");
}

TEST_F(SpaceServiceTest, limits_how_deep_the_tree_may_grow) {
  constexpr std::size_t kMax = SpaceService::kMaxPageDepth;
  Space s = make_space("Chain");
  std::vector<std::string> chain;  // chain[i] sits i + 1 levels deep
  for (std::size_t depth = 1; depth <= kMax; ++depth) {
    Page p = make_page(s.id, "level", chain.empty() ? "" : chain.back());
    ASSERT_FALSE(p.id.empty()) << "depth " << depth;
    chain.push_back(p.id);
  }
  NewPage too_deep;
  too_deep.space = s.id;
  too_deep.parent_id = chain.back();
  too_deep.title = "too deep";
  auto refused = service_->create_page(too_deep);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(refused.error().message.find("limit"), std::string::npos);

  // A two-level subtree fits under the page kMax - 2 deep, not one deeper.
  Page root = make_page(s.id, "root");
  make_page(s.id, "below root", root.id);
  PageChange move;
  move.page_id = root.id;
  move.parent_id = chain[kMax - 2];
  EXPECT_EQ(service_->update_page(move).error().code, ErrorCode::kInvalidArgument);
  move.parent_id = chain[kMax - 3];
  EXPECT_TRUE(service_->update_page(move).ok());

  // The whole chain, with the moved subtree, goes in one delete.
  auto gone = service_->delete_page(chain.front());
  ASSERT_TRUE(gone.ok()) << gone.error().message;
  EXPECT_EQ(*gone, kMax + 2);
  EXPECT_EQ(service_->counts()->pages, 0u);
}

TEST_F(SpaceServiceTest, concurrent_creates_get_distinct_positions) {
  Space s = make_space("Busy");
  constexpr int kThreads = 4;
  constexpr int kEach = 10;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        NewPage p;
        p.space = s.id;
        p.title = "t" + std::to_string(t) + "-" + std::to_string(i);
        if (!service_->create_page(p).ok()) ++failures;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);

  auto list = service_->list_pages(s.id, "", false);
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), static_cast<std::size_t>(kThreads * kEach));
  std::set<std::int64_t> positions;
  for (const auto& p : *list) positions.insert(p.position);
  EXPECT_EQ(positions.size(), list->size());
  EXPECT_EQ(*positions.rbegin(), kThreads * kEach - 1);
}

TEST_F(SpaceServiceTest, bounds_positions_so_after_the_last_sibling_always_exists) {
  Space s = make_space("Bounds");
  Page top = make_page(s.id, "top", "", validation::kMaxPosition);
  Page after = make_page(s.id, "after");
  EXPECT_EQ(top.position, validation::kMaxPosition);
  EXPECT_EQ(after.position, validation::kMaxPosition + 1);

  NewPage too_high;
  too_high.space = s.id;
  too_high.title = "too high";
  too_high.position = std::numeric_limits<std::int64_t>::max();
  auto refused = service_->create_page(too_high);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(refused.error().message.find("positions lie between"), std::string::npos)
      << refused.error().message;

  PageChange low;
  low.page_id = top.id;
  low.position = -validation::kMaxPosition - 1;
  auto moved = service_->update_page(low);
  ASSERT_FALSE(moved.ok());
  EXPECT_EQ(moved.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(service_->get_page(top.id)->position, validation::kMaxPosition);
}

TEST_F(SpaceServiceTest, refuses_blank_and_bidi_spoofing_names_for_spaces_pages_and_attachments) {
  auto blank = service_->create_space("   ");
  ASSERT_FALSE(blank.ok());
  EXPECT_EQ(blank.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(blank.error().message,
            "space name is only white space; give one with visible characters");

  Space s = make_space("Names");
  NewPage spoof;
  spoof.space = s.id;
  spoof.title = "report\xe2\x80\xaetxt.exe";
  auto page = service_->create_page(spoof);
  ASSERT_FALSE(page.ok());
  EXPECT_NE(page.error().message.find("page title contains a bidirectional"), std::string::npos)
      << page.error().message;

  auto renamed = service_->rename_space(s.id, "\xe2\x81\xa6x");
  ASSERT_FALSE(renamed.ok());
  EXPECT_EQ(renamed.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(service_->get_space(s.id)->name, "Names");
}

}  // namespace
}  // namespace soma::space::testing
