#include <gtest/gtest.h>

#include <string>

#include "space_fixture.h"

namespace soma::space::testing {
namespace {

using core::ErrorCode;

TEST_F(SpaceServiceTest, adds_lists_and_removes_attachments) {
  Space s = make_space("Files");
  Page p = make_page(s.id, "holder");
  std::string content(3000, 'q');
  std::string cid = upload(s.id, content);
  ASSERT_FALSE(cid.empty());

  NewAttachment on_page;
  on_page.space = s.name;
  on_page.page_id = p.id;
  on_page.name = "scan.pdf";
  on_page.cid = cid;
  on_page.media_type = "application/pdf";
  auto a = service_->add_attachment(on_page);
  ASSERT_TRUE(a.ok()) << a.error().message;
  EXPECT_EQ(a->space_id, s.id);
  EXPECT_EQ(a->page_id, p.id);
  EXPECT_EQ(a->name, "scan.pdf");
  EXPECT_EQ(a->cid, cid);
  EXPECT_EQ(a->size, content.size());
  EXPECT_EQ(a->media_type, "application/pdf");
  EXPECT_EQ(a->id.size(), 26u);

  NewAttachment top = on_page;
  top.page_id = "";
  top.name = "readme.bin";
  top.media_type = "";
  auto b = service_->add_attachment(top);
  ASSERT_TRUE(b.ok()) << b.error().message;
  EXPECT_EQ(b->page_id, "");
  EXPECT_EQ(b->media_type, "application/octet-stream");

  auto page_list = service_->list_attachments(s.id, p.id, false);
  ASSERT_TRUE(page_list.ok());
  ASSERT_EQ(page_list->size(), 1u);
  EXPECT_EQ((*page_list)[0].id, a->id);
  auto top_list = service_->list_attachments(s.id, "", false);
  ASSERT_TRUE(top_list.ok());
  ASSERT_EQ(top_list->size(), 1u);
  EXPECT_EQ((*top_list)[0].id, b->id);
  auto all = service_->list_attachments(s.id, "", true);
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ((*all)[0].name, "readme.bin");
  EXPECT_EQ((*all)[1].name, "scan.pdf");

  std::uint64_t before = events_->last_id();
  ASSERT_TRUE(service_->remove_attachment(a->id).ok());
  EXPECT_EQ(service_->list_attachments(s.id, p.id, false)->size(), 0u);
  EXPECT_EQ(service_->remove_attachment(a->id).error().code, ErrorCode::kNotFound);
  auto events = events_after(before);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].kind, "attachment.removed");
  EXPECT_EQ(events[0].subject, a->id);
  EXPECT_EQ(events[0].space_id, s.id);
}

TEST_F(SpaceServiceTest, an_attachment_needs_a_blob_of_its_space_and_a_page_of_it) {
  Space s = make_space("Files");
  Space other = make_space("Elsewhere");
  Page foreign = make_page(other.id, "foreign");
  std::string theirs = upload(other.id, "not uploaded to Files");
  std::string ours = upload(s.id, "uploaded to Files");
  std::uint64_t before = events_->last_id();

  NewAttachment a;
  a.space = s.id;
  a.name = "x.bin";
  a.cid = theirs;
  auto refused = service_->add_attachment(a);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, ErrorCode::kNotFound);
  EXPECT_NE(refused.error().message.find(theirs), std::string::npos);
  EXPECT_NE(refused.error().message.find("upload it to the space first"), std::string::npos);

  a.cid = ours;
  a.page_id = foreign.id;
  EXPECT_EQ(service_->add_attachment(a).error().code, ErrorCode::kInvalidArgument);
  a.page_id = "missing-page";
  EXPECT_EQ(service_->add_attachment(a).error().code, ErrorCode::kNotFound);
  a.page_id = "";
  a.name = "dir/x.bin";
  EXPECT_EQ(service_->add_attachment(a).error().code, ErrorCode::kInvalidArgument);
  a.name = "x.bin";
  a.media_type = "text/\x01";
  EXPECT_EQ(service_->add_attachment(a).error().code, ErrorCode::kInvalidArgument);
  a.media_type = "";
  a.cid = "";
  EXPECT_EQ(service_->add_attachment(a).error().code, ErrorCode::kInvalidArgument);

  EXPECT_EQ(events_->last_id(), before);
  EXPECT_TRUE(service_->list_attachments(s.id, "", true)->empty());
  EXPECT_EQ(service_->list_attachments(s.id, foreign.id, false).error().code,
            ErrorCode::kInvalidArgument);
}

TEST_F(SpaceServiceTest, deleting_a_page_removes_its_attachments) {
  Space s = make_space("Files");
  Page p = make_page(s.id, "holder");
  std::string cid = upload(s.id, "some bytes");
  NewAttachment a;
  a.space = s.id;
  a.page_id = p.id;
  a.name = "a.txt";
  a.cid = cid;
  auto added = service_->add_attachment(a);
  ASSERT_TRUE(added.ok()) << added.error().message;
  auto events = events_after(0);
  EXPECT_EQ(events.back().kind, "attachment.added");
  EXPECT_EQ(events.back().subject, added->id);

  ASSERT_TRUE(service_->delete_page(p.id).ok());
  EXPECT_TRUE(service_->list_attachments(s.id, "", true)->empty());
  EXPECT_EQ(service_->remove_attachment(added->id).error().code, ErrorCode::kNotFound);
}

}  // namespace
}  // namespace soma::space::testing
