#pragma once

#include "blob/blob_store.h"
#include "core/error.h"
#include "soma/api/v1/daemon.pb.h"
#include "space/space_service.h"
#include "store/event_log.h"

namespace soma::api {

// Translations between the wire messages of soma.api.v1 and the service
// structs. They only move fields and fill the defaults the proto documents
// for empty fields; every rule about what is valid lives in the services.

void to_proto(const space::Space& in, v1::Space* out);
void to_proto(const space::Page& in, v1::Page* out);
void to_proto(const space::Document& in, v1::Document* out);
void to_proto(const space::Attachment& in, v1::Attachment* out);
void to_proto(const blob::BlobInfo& in, v1::BlobInfo* out);
void to_proto(const blob::VerifyReport& in, v1::VerifyBlobsReply* out);
void to_proto(const store::Event& in, v1::Event* out);

// Fails with kInvalidArgument when `kind` names no page kind.
core::Result<space::NewPage> from_proto(const v1::CreatePageRequest& in);
space::PageChange from_proto(const v1::UpdatePageRequest& in);
space::DocumentPut from_proto(const v1::PutDocumentRequest& in);
space::NewAttachment from_proto(const v1::AddAttachmentRequest& in);

}  // namespace soma::api
