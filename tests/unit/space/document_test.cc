#include <gtest/gtest.h>

#include <string>

#include "space_fixture.h"

namespace soma::space::testing {
namespace {

using core::ErrorCode;

TEST_F(SpaceServiceTest, a_new_page_has_an_empty_markdown_document_at_revision_one) {
  Space s = make_space("Docs");
  Page p = make_page(s.id, "empty");
  auto d = service_->get_document(p.id);
  ASSERT_TRUE(d.ok()) << d.error().message;
  EXPECT_EQ(d->page_id, p.id);
  EXPECT_EQ(d->format, "markdown");
  EXPECT_EQ(d->text, "");
  EXPECT_EQ(d->structure, "{}");
  EXPECT_EQ(d->revision, 1u);
  EXPECT_TRUE(d->blob_cids.empty());
}

TEST_F(SpaceServiceTest, creates_a_page_with_its_initial_document) {
  Space s = make_space("Docs");
  std::string cid = upload(s.id, "a picture, say");
  NewPage p;
  p.space = s.id;
  p.title = "seeded";
  Document doc;
  doc.format = "text";
  doc.text = "first words\n";
  doc.structure = R"({"tags": ["a", "b"], "n": 1})";
  doc.blob_cids = {cid};
  p.document = doc;
  auto page = service_->create_page(p);
  ASSERT_TRUE(page.ok()) << page.error().message;

  auto d = service_->get_document(page->id);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->format, "text");
  EXPECT_EQ(d->text, "first words\n");
  EXPECT_EQ(d->structure, R"({"tags": ["a", "b"], "n": 1})");
  EXPECT_EQ(d->revision, 1u);
  EXPECT_EQ(d->blob_cids, std::vector<std::string>{cid});

  // A bad initial document creates no page.
  p.document->structure = "[1, 2]";
  EXPECT_EQ(service_->create_page(p).error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(service_->counts()->pages, 1u);
}

TEST_F(SpaceServiceTest, put_replaces_the_document_and_counts_revisions) {
  Space s = make_space("Docs");
  Page p = make_page(s.id, "versions");
  DocumentPut put;
  put.page_id = p.id;
  put.text = "# one";
  put.structure = R"({"k": "v"})";
  auto first = service_->put_document(put);
  ASSERT_TRUE(first.ok()) << first.error().message;
  EXPECT_EQ(first->revision, 2u);
  EXPECT_EQ(first->format, "markdown");
  EXPECT_EQ(first->structure, R"({"k": "v"})");

  put.text = "# two";
  put.structure = "";
  put.if_revision = 2;
  auto second = service_->put_document(put);
  ASSERT_TRUE(second.ok()) << second.error().message;
  EXPECT_EQ(second->revision, 3u);

  auto read = service_->get_document(p.id);
  ASSERT_TRUE(read.ok());
  EXPECT_EQ(read->text, "# two");
  EXPECT_EQ(read->structure, "{}");
  EXPECT_EQ(read->revision, 3u);
  EXPECT_GE(read->updated_ms, first->updated_ms);
}

TEST_F(SpaceServiceTest, refuses_a_put_based_on_a_stale_revision) {
  Space s = make_space("Docs");
  Page p = make_page(s.id, "contended");
  DocumentPut mine;
  mine.page_id = p.id;
  mine.text = "mine";
  mine.if_revision = 1;
  ASSERT_TRUE(service_->put_document(mine).ok());

  DocumentPut theirs = mine;
  theirs.text = "theirs";
  auto refused = service_->put_document(theirs);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, ErrorCode::kFailedPrecondition);
  EXPECT_EQ(refused.error().message, "document is at revision 2, not 1; re-read it and retry");

  auto read = service_->get_document(p.id);
  ASSERT_TRUE(read.ok());
  EXPECT_EQ(read->text, "mine");
  EXPECT_EQ(read->revision, 2u);
}

TEST_F(SpaceServiceTest, rejects_bad_document_text_structure_and_format) {
  Space s = make_space("Docs");
  Page p = make_page(s.id, "strict");
  auto expect_invalid = [&](DocumentPut put, const std::string& says) {
    put.page_id = p.id;
    auto r = service_->put_document(put);
    ASSERT_FALSE(r.ok()) << says;
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
    EXPECT_NE(r.error().message.find(says), std::string::npos) << r.error().message;
  };
  DocumentPut put;
  put.structure = "{not json";
  expect_invalid(put, "not valid JSON");
  put.structure = R"(["an", "array"])";
  expect_invalid(put, "not a JSON object");
  put.structure = "42";
  expect_invalid(put, "not a JSON object");
  put.structure = "{} {}";
  expect_invalid(put, "not valid JSON");
  put.structure = std::string(R"({"a":)") + std::string(200, '[') + std::string(200, ']') + "}";
  expect_invalid(put, "deeper than");
  put.structure = "";
  put.text = "bad \xc3\x28 utf-8";
  expect_invalid(put, "UTF-8");
  put.text = std::string(SpaceService::kMaxDocumentBytes + 1, 'x');
  expect_invalid(put, "limit");
  put.text = "fine";
  put.format = "mark down\n";
  expect_invalid(put, "document format");

  auto read = service_->get_document(p.id);
  ASSERT_TRUE(read.ok());
  EXPECT_EQ(read->revision, 1u);
  EXPECT_EQ(read->text, "");

  // Exactly at the limit is fine.
  DocumentPut big;
  big.page_id = p.id;
  big.text = std::string(SpaceService::kMaxDocumentBytes, 'x');
  auto stored = service_->put_document(big);
  ASSERT_TRUE(stored.ok()) << stored.error().message;
  EXPECT_EQ(service_->get_document(p.id)->text.size(), SpaceService::kMaxDocumentBytes);
}

TEST_F(SpaceServiceTest, a_document_may_only_name_blobs_of_its_own_space) {
  Space mine = make_space("mine");
  Space other = make_space("other");
  Page p = make_page(mine.id, "with pictures");
  std::string here = upload(mine.id, "bytes uploaded to mine");
  std::string there = upload(other.id, "bytes uploaded to other");
  ASSERT_FALSE(here.empty());
  ASSERT_FALSE(there.empty());

  DocumentPut put;
  put.page_id = p.id;
  put.text = "see attached";
  put.blob_cids = {here, there};
  auto refused = service_->put_document(put);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, ErrorCode::kNotFound);
  EXPECT_NE(refused.error().message.find(there), std::string::npos);
  EXPECT_NE(refused.error().message.find("upload it to the space first"), std::string::npos);
  EXPECT_EQ(service_->get_document(p.id)->revision, 1u);

  put.blob_cids = {"Not A CID!"};
  EXPECT_EQ(service_->put_document(put).error().code, ErrorCode::kInvalidArgument);
  put.blob_cids = {"bafkreiaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"};
  EXPECT_EQ(service_->put_document(put).error().code, ErrorCode::kNotFound);

  // Duplicates collapse to the first occurrence.
  put.blob_cids = {here, here};
  auto stored = service_->put_document(put);
  ASSERT_TRUE(stored.ok()) << stored.error().message;
  EXPECT_EQ(stored->blob_cids, std::vector<std::string>{here});
  EXPECT_EQ(service_->get_document(p.id)->blob_cids, std::vector<std::string>{here});

  // A later put replaces the list.
  put.blob_cids.clear();
  ASSERT_TRUE(service_->put_document(put).ok());
  EXPECT_TRUE(service_->get_document(p.id)->blob_cids.empty());
  EXPECT_EQ(rows("document_blobs", "page_id = ?", p.id), 0);
}

TEST_F(SpaceServiceTest, reports_documents_of_unknown_pages_as_not_found) {
  EXPECT_EQ(service_->get_document("no-such-page").error().code, ErrorCode::kNotFound);
  DocumentPut put;
  put.page_id = "no-such-page";
  EXPECT_EQ(service_->put_document(put).error().code, ErrorCode::kNotFound);
  EXPECT_EQ(service_->get_document("").error().code, ErrorCode::kInvalidArgument);
}

}  // namespace
}  // namespace soma::space::testing
