#include "api/converters.h"

#include <string>

namespace soma::api {

void to_proto(const space::Space& in, v1::Space* out) {
  out->set_id(in.id);
  out->set_name(in.name);
  out->set_owner(in.owner);
  out->set_role(in.role);
  out->set_created_ms(in.created_ms);
  out->set_updated_ms(in.updated_ms);
  out->set_page_count(in.page_count);
  out->set_blob_bytes(in.blob_bytes);
  out->set_quota_bytes(in.quota_bytes);
  out->set_membership(in.membership);
  out->set_membership_expires_ms(in.membership_expires_ms);
}

void to_proto(const space::Page& in, v1::Page* out) {
  out->set_id(in.id);
  out->set_space_id(in.space_id);
  out->set_parent_id(in.parent_id);
  out->set_title(in.title);
  out->set_kind(std::string(space::to_string(in.kind)));
  out->set_position(in.position);
  out->set_created_ms(in.created_ms);
  out->set_updated_ms(in.updated_ms);
}

void to_proto(const space::Document& in, v1::Document* out) {
  out->set_page_id(in.page_id);
  out->set_format(in.format);
  out->set_text(in.text);
  out->set_structure(in.structure);
  out->set_revision(in.revision);
  out->set_updated_ms(in.updated_ms);
  for (const auto& cid : in.blob_cids) out->add_blob_cids(cid);
}

void to_proto(const space::Attachment& in, v1::Attachment* out) {
  out->set_id(in.id);
  out->set_space_id(in.space_id);
  out->set_page_id(in.page_id);
  out->set_name(in.name);
  out->set_cid(in.cid);
  out->set_size(in.size);
  out->set_media_type(in.media_type);
  out->set_created_ms(in.created_ms);
}

void to_proto(const blob::BlobInfo& in, v1::BlobInfo* out) {
  out->set_cid(in.cid);
  out->set_size(in.size);
  out->set_block_count(in.block_count);
  out->set_created_ms(in.created_ms);
  for (const auto& id : in.space_ids) out->add_space_ids(id);
}

void to_proto(const blob::VerifyReport& in, v1::VerifyBlobsReply* out) {
  out->set_checked(in.checked);
  out->set_bytes_checked(in.bytes_checked);
  out->set_leftovers_removed(in.leftovers_removed);
  for (const auto& p : in.problems) {
    auto* problem = out->add_problems();
    problem->set_cid(p.cid);
    problem->set_problem(p.problem);
  }
}

void to_proto(const store::Event& in, v1::Event* out) {
  out->set_id(in.id);
  out->set_time_ms(in.time_ms);
  out->set_kind(in.kind);
  out->set_space_id(in.space_id);
  out->set_subject(in.subject);
  out->set_detail(in.detail);
}

core::Result<space::NewPage> from_proto(const v1::CreatePageRequest& in) {
  space::NewPage page;
  page.space = in.space();
  page.parent_id = in.parent_id();
  page.title = in.title();
  if (!in.kind().empty()) {
    auto kind = space::parse_page_kind(in.kind());
    if (!kind) return kind.take_error();
    page.kind = *kind;
  }
  if (in.has_position()) page.position = in.position();
  if (in.has_document()) {
    const v1::Document& d = in.document();
    space::Document doc;
    if (!d.format().empty()) doc.format = d.format();
    doc.text = d.text();
    if (!d.structure().empty()) doc.structure = d.structure();
    doc.blob_cids.assign(d.blob_cids().begin(), d.blob_cids().end());
    page.document = std::move(doc);
  }
  return page;
}

space::PageChange from_proto(const v1::UpdatePageRequest& in) {
  space::PageChange change;
  change.page_id = in.page_id();
  if (in.has_title()) change.title = in.title();
  if (in.has_parent_id()) change.parent_id = in.parent_id();
  if (in.has_position()) change.position = in.position();
  return change;
}

space::DocumentPut from_proto(const v1::PutDocumentRequest& in) {
  space::DocumentPut put;
  put.page_id = in.page_id();
  put.format = in.format();
  put.text = in.text();
  put.structure = in.structure();
  put.blob_cids.assign(in.blob_cids().begin(), in.blob_cids().end());
  put.if_revision = in.if_revision();
  return put;
}

space::NewAttachment from_proto(const v1::AddAttachmentRequest& in) {
  space::NewAttachment a;
  a.space = in.space();
  a.page_id = in.page_id();
  a.name = in.name();
  a.cid = in.cid();
  a.media_type = in.media_type();
  return a;
}

}  // namespace soma::api
