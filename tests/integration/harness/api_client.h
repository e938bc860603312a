#pragma once

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>

#include "harness/soma_harness.h"
#include "soma/api/v1/daemon.grpc.pb.h"

namespace soma::testing {

namespace api = soma::api::v1;

// A gRPC stub on a daemon's socket, for tests that need finer control than
// the CLI gives (half-finished uploads, exact listings).
// Each stub gets its own connection: gRPC otherwise shares one between
// channels to the same path, and a connection to a daemon killed by a test
// would then fail the first call made to its successor.
inline std::unique_ptr<api::Daemon::Stub> api_client(const Daemon& d) {
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  auto channel = grpc::CreateCustomChannel("unix:" + d.socket_path().string(),
                                           grpc::InsecureChannelCredentials(), args);
  return api::Daemon::NewStub(channel);
}

// Uploads `bytes` to `space` in 1 MiB messages; returns the final status.
inline grpc::Status upload(api::Daemon::Stub& stub, const std::string& space,
                           const std::string& bytes, api::BlobInfo* info,
                           const std::string& expected_cid = {}) {
  grpc::ClientContext ctx;
  auto writer = stub.UploadBlob(&ctx, info);
  api::UploadBlobRequest head;
  head.mutable_header()->set_space(space);
  head.mutable_header()->set_size(bytes.size());
  head.mutable_header()->set_expected_cid(expected_cid);
  writer->Write(head);
  for (std::size_t off = 0; off < bytes.size(); off += 1 << 20) {
    api::UploadBlobRequest part;
    part.set_data(bytes.substr(off, 1 << 20));
    if (!writer->Write(part)) break;
  }
  writer->WritesDone();
  return writer->Finish();
}

inline std::vector<api::BlobInfo> list_blobs(api::Daemon::Stub& stub) {
  grpc::ClientContext ctx;
  api::ListBlobsRequest req;
  api::ListBlobsReply reply;
  auto s = stub.ListBlobs(&ctx, req, &reply);
  EXPECT_TRUE(s.ok()) << s.error_message();
  return {reply.blobs().begin(), reply.blobs().end()};
}

inline std::string create_space(api::Daemon::Stub& stub, const std::string& name) {
  grpc::ClientContext ctx;
  api::CreateSpaceRequest req;
  req.set_name(name);
  api::Space space;
  auto s = stub.CreateSpace(&ctx, req, &space);
  EXPECT_TRUE(s.ok()) << s.error_message();
  return space.id();
}

}  // namespace soma::testing
