#include <gtest/gtest.h>

#include <string>

#include "space_fixture.h"

namespace soma::space::testing {
namespace {

using core::ErrorCode;

TEST_F(SpaceServiceTest, creates_a_space_owned_by_the_local_peer) {
  auto s = service_->create_space("Research");
  ASSERT_TRUE(s.ok()) << s.error().message;
  EXPECT_EQ(s->name, "Research");
  EXPECT_EQ(s->owner, kLocalPeer);
  EXPECT_EQ(s->role, "owner");
  EXPECT_EQ(s->id.size(), 26u);
  EXPECT_GT(s->created_ms, 0);
  EXPECT_EQ(s->created_ms, s->updated_ms);
  EXPECT_EQ(s->page_count, 0u);
  EXPECT_EQ(s->blob_bytes, 0u);
  EXPECT_EQ(s->quota_bytes, kQuotaBytes);

  auto again = service_->get_space(s->id);
  ASSERT_TRUE(again.ok()) << again.error().message;
  EXPECT_EQ(again->name, "Research");
  EXPECT_EQ(again->owner, kLocalPeer);
}

TEST_F(SpaceServiceTest, lists_spaces_by_name_then_id) {
  Space b1 = make_space("beta");
  Space a = make_space("alpha");
  Space b2 = make_space("beta");
  auto list = service_->list_spaces();
  ASSERT_TRUE(list.ok()) << list.error().message;
  ASSERT_EQ(list->size(), 3u);
  EXPECT_EQ((*list)[0].id, a.id);
  std::string first_beta = std::min(b1.id, b2.id);
  std::string second_beta = std::max(b1.id, b2.id);
  EXPECT_EQ((*list)[1].id, first_beta);
  EXPECT_EQ((*list)[2].id, second_beta);
}

TEST_F(SpaceServiceTest, finds_a_space_by_id_or_by_its_unique_name) {
  Space s = make_space("Journal");
  make_space("Other");
  auto by_name = service_->get_space("Journal");
  ASSERT_TRUE(by_name.ok()) << by_name.error().message;
  EXPECT_EQ(by_name->id, s.id);
  auto by_id = service_->get_space(s.id);
  ASSERT_TRUE(by_id.ok());
  EXPECT_EQ(by_id->name, "Journal");
}

TEST_F(SpaceServiceTest, refuses_an_ambiguous_name_and_lists_the_matching_ids) {
  Space one = make_space("Shared");
  Space two = make_space("Shared");
  auto s = service_->get_space("Shared");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(s.error().message.find(one.id), std::string::npos) << s.error().message;
  EXPECT_NE(s.error().message.find(two.id), std::string::npos) << s.error().message;

  // Either id still works.
  EXPECT_TRUE(service_->get_space(one.id).ok());
}

TEST_F(SpaceServiceTest, reports_an_unknown_space_as_not_found_with_a_hint) {
  auto s = service_->get_space("nowhere");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, ErrorCode::kNotFound);
  EXPECT_NE(s.error().message.find("\"nowhere\""), std::string::npos);
  EXPECT_NE(s.error().message.find("soma space list"), std::string::npos);
  EXPECT_EQ(service_->get_space("").error().code, ErrorCode::kInvalidArgument);
}

TEST_F(SpaceServiceTest, renames_a_space_and_keeps_its_id) {
  Space s = make_space("Draft");
  auto renamed = service_->rename_space("Draft", "Final");
  ASSERT_TRUE(renamed.ok()) << renamed.error().message;
  EXPECT_EQ(renamed->id, s.id);
  EXPECT_EQ(renamed->name, "Final");
  EXPECT_GE(renamed->updated_ms, s.updated_ms);
  EXPECT_EQ(service_->get_space("Draft").error().code, ErrorCode::kNotFound);
  EXPECT_EQ(service_->get_space("Final")->id, s.id);
}

TEST_F(SpaceServiceTest, rejects_bad_space_names_and_creates_nothing) {
  for (const std::string& bad :
       {std::string(), std::string("two\nlines"), std::string("bell\x07"), std::string("\xc3"),
        std::string(SpaceService::kMaxNameBytes + 1, 'n')}) {
    auto s = service_->create_space(bad);
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.error().code, ErrorCode::kInvalidArgument);
  }
  Space ok = make_space("fine");
  EXPECT_EQ(service_->rename_space(ok.id, "").error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(service_->counts()->spaces, 1u);
  EXPECT_EQ(service_->get_space(ok.id)->name, "fine");

  // Space names may hold '/' and any script; only page titles become file names.
  EXPECT_TRUE(service_->create_space("Work / \xe6\x9d\xb1\xe4\xba\xac").ok());
  EXPECT_TRUE(service_->create_space(std::string(SpaceService::kMaxNameBytes, 'n')).ok());
}

TEST_F(SpaceServiceTest, deletes_a_space_with_everything_in_it) {
  Space s = make_space("Doomed");
  Space keep = make_space("Kept");
  Page top = make_page(s.id, "top");
  Page child = make_page(s.id, "child", top.id);
  Page kept_page = make_page(keep.id, "stays");
  std::string cid = upload(s.id, "attachment bytes for the doomed space");
  ASSERT_FALSE(cid.empty());
  DocumentPut put;
  put.page_id = child.id;
  put.text = "links a blob";
  put.blob_cids = {cid};
  ASSERT_TRUE(service_->put_document(put).ok());
  NewAttachment a;
  a.space = s.id;
  a.page_id = top.id;
  a.name = "file.bin";
  a.cid = cid;
  ASSERT_TRUE(service_->add_attachment(a).ok());

  ASSERT_TRUE(service_->delete_space("Doomed").ok());

  EXPECT_EQ(service_->get_space(s.id).error().code, ErrorCode::kNotFound);
  EXPECT_EQ(service_->get_page(top.id).error().code, ErrorCode::kNotFound);
  EXPECT_EQ(service_->get_document(child.id).error().code, ErrorCode::kNotFound);
  EXPECT_EQ(rows("pages", "space_id = ?", s.id), 0);
  EXPECT_EQ(rows("documents", "page_id = ?", child.id), 0);
  EXPECT_EQ(rows("document_blobs", "page_id = ?", child.id), 0);
  EXPECT_EQ(rows("attachments", "space_id = ?", s.id), 0);
  EXPECT_EQ(rows("space_blobs", "space_id = ?", s.id), 0);

  auto counts = service_->counts();
  ASSERT_TRUE(counts.ok());
  EXPECT_EQ(counts->spaces, 1u);
  EXPECT_EQ(counts->pages, 1u);
  EXPECT_TRUE(service_->get_page(kept_page.id).ok());
  EXPECT_EQ(service_->delete_space(s.id).error().code, ErrorCode::kNotFound);
}

TEST_F(SpaceServiceTest, counts_pages_and_blob_bytes_per_space) {
  Space s = make_space("Measured");
  make_page(s.id, "one");
  make_page(s.id, "two");
  std::string first = upload(s.id, std::string(1000, 'a'));
  std::string second = upload(s.id, std::string(234, 'b'));
  upload(s.id, std::string(1000, 'a'));  // the same bytes again count once
  ASSERT_FALSE(first.empty());
  ASSERT_FALSE(second.empty());

  auto got = service_->get_space(s.id);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->page_count, 2u);
  EXPECT_EQ(got->blob_bytes, 1234u);
  EXPECT_EQ(got->quota_bytes, kQuotaBytes);

  auto counts = service_->counts();
  ASSERT_TRUE(counts.ok());
  EXPECT_EQ(counts->spaces, 1u);
  EXPECT_EQ(counts->pages, 2u);
}

TEST_F(SpaceServiceTest, records_each_change_as_an_event_with_increasing_ids) {
  std::uint64_t start = events_->last_id();
  Space s = make_space("Evented");
  Page p = make_page(s.id, "Plan");
  DocumentPut put;
  put.page_id = p.id;
  put.text = "private words that must not reach the event log";
  ASSERT_TRUE(service_->put_document(put).ok());
  PageChange change;
  change.page_id = p.id;
  change.title = "Plan B";
  ASSERT_TRUE(service_->update_page(change).ok());
  ASSERT_TRUE(service_->rename_space(s.id, "Evented 2").ok());
  ASSERT_TRUE(service_->delete_page(p.id).ok());
  ASSERT_TRUE(service_->delete_space(s.id).ok());

  auto events = events_after(start);
  std::vector<std::string> kinds;
  for (const auto& e : events) kinds.push_back(e.kind);
  EXPECT_EQ(kinds, (std::vector<std::string>{"space.created", "page.created", "document.updated",
                                             "page.updated", "space.renamed", "page.deleted",
                                             "space.deleted"}));
  for (std::size_t i = 0; i < events.size(); ++i) {
    EXPECT_EQ(events[i].space_id, s.id);
    EXPECT_EQ(events[i].detail.find("private words"), std::string::npos) << events[i].detail;
    if (i > 0) {
      EXPECT_GT(events[i].id, events[i - 1].id);
    }
  }
  EXPECT_EQ(events[0].subject, s.id);
  EXPECT_EQ(events[1].subject, p.id);
  EXPECT_EQ(events[2].subject, p.id);
  EXPECT_NE(events[3].detail.find("Plan B"), std::string::npos) << events[3].detail;
  EXPECT_NE(events[4].detail.find("Evented 2"), std::string::npos) << events[4].detail;
  EXPECT_EQ(events_->last_id(), events.back().id);
}

TEST_F(SpaceServiceTest, a_failed_change_leaves_no_event_and_no_row) {
  Space s = make_space("Quiet");
  Page a = make_page(s.id, "a");
  Page b = make_page(s.id, "b", a.id);
  std::uint64_t before = events_->last_id();

  EXPECT_FALSE(service_->create_space("").ok());
  EXPECT_FALSE(service_->rename_space(s.id, "bad\x01").ok());
  EXPECT_FALSE(service_->create_page({s.id, "no-such-parent", "x", PageKind::kNote, {}, {}}).ok());
  PageChange cycle;
  cycle.page_id = a.id;
  cycle.parent_id = b.id;
  EXPECT_FALSE(service_->update_page(cycle).ok());
  DocumentPut stale;
  stale.page_id = b.id;
  stale.text = "stale";
  stale.if_revision = 7;
  EXPECT_FALSE(service_->put_document(stale).ok());
  EXPECT_FALSE(service_->delete_page("missing").ok());
  EXPECT_FALSE(service_->remove_attachment("missing").ok());

  EXPECT_EQ(events_->last_id(), before);
  EXPECT_TRUE(events_after(before).empty());
  EXPECT_EQ(service_->counts()->pages, 2u);
  EXPECT_EQ(service_->get_page(a.id)->parent_id, "");
}

}  // namespace
}  // namespace soma::space::testing
