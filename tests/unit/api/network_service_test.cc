// The Network service over a real gRPC channel, with a real node behind it:
// how node answers, bad input and a network that does not answer in time
// reach the client.
#include "api/network_service.h"

#include <grpcpp/client_context.h>
#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>
#include <grpcpp/security/server_credentials.h>
#include <grpcpp/server.h>
#include <grpcpp/server_builder.h>
#include <gtest/gtest.h>

#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include "crypto/ed25519.h"

namespace soma::api {
namespace {

using namespace std::chrono_literals;

class NetworkApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/soma-net-api-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }

  void TearDown() override {
    stub_.reset();
    if (server_) {
      server_->Shutdown(std::chrono::system_clock::now() + 1s);
      server_->Wait();
    }
    server_.reset();
    service_.reset();
    node_.reset();
    std::filesystem::remove_all(dir_);
  }

  void start(std::optional<std::string> token = std::nullopt) {
    p2p::node::Config config;
    config.host.agent_version = "soma/test";
    auto node = p2p::node::Node::start(crypto::Ed25519PrivateKey::generate(), config);
    ASSERT_TRUE(node.ok()) << node.error().message;
    node_ = std::move(*node);
    service_ = std::make_unique<NetworkService>(*node_, std::move(token));
    grpc::ServerBuilder builder;
    std::string address = "unix:" + (dir_ / "api.sock").string();
    builder.AddListeningPort(address, grpc::InsecureServerCredentials());
    builder.RegisterService(service_.get());
    server_ = builder.BuildAndStart();
    ASSERT_TRUE(server_);
    stub_ = v1::Network::NewStub(grpc::CreateChannel(address, grpc::InsecureChannelCredentials()));
  }

  std::unique_ptr<grpc::ClientContext> context(std::chrono::milliseconds deadline = 10s) {
    auto ctx = std::make_unique<grpc::ClientContext>();
    ctx->set_deadline(std::chrono::system_clock::now() + deadline);
    return ctx;
  }

  static bool from_network(const grpc::ClientContext& ctx) {
    const auto& trailers = ctx.GetServerTrailingMetadata();
    auto it = trailers.find(std::string(NetworkService::kErrorOriginKey));
    return it != trailers.end() &&
           std::string(it->second.data(), it->second.size()) == NetworkService::kErrorOriginNetwork;
  }

  std::filesystem::path dir_;
  std::unique_ptr<p2p::node::Node> node_;
  std::unique_ptr<NetworkService> service_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<v1::Network::Stub> stub_;
};

TEST_F(NetworkApiTest, a_target_that_is_neither_peer_nor_address_is_an_invalid_argument) {
  start();
  v1::DialRequest req;
  req.set_target("not a peer");
  v1::DialReply reply;
  auto ctx = context();
  grpc::Status s = stub_->Dial(ctx.get(), req, &reply);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(s.error_message().find("'not a peer'"), std::string::npos) << s.error_message();
  EXPECT_TRUE(from_network(*ctx));
}

TEST_F(NetworkApiTest, a_ping_count_above_the_limit_is_refused_naming_it) {
  start();
  v1::PingRequest req;
  req.set_target("/ip4/127.0.0.1/tcp/1");
  req.set_count(5000);
  v1::PingReply reply;
  auto ctx = context();
  grpc::Status s = stub_->Ping(ctx.get(), req, &reply);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(s.error_message().find("not 5000"), std::string::npos) << s.error_message();
}

TEST_F(NetworkApiTest, a_network_that_does_not_answer_in_the_calls_time_is_deadline_exceeded) {
  start();
  // Accepts TCP (in the kernel's backlog) but never speaks: the dial hangs
  // in negotiation far longer than the call may take.
  asio::io_context io;
  asio::ip::tcp::acceptor silent(io, {asio::ip::make_address("127.0.0.1"), 0});
  v1::DialRequest req;
  req.set_target("/ip4/127.0.0.1/tcp/" + std::to_string(silent.local_endpoint().port()));
  v1::DialReply reply;
  auto ctx = context(1500ms);
  auto started = std::chrono::steady_clock::now();
  grpc::Status s = stub_->Dial(ctx.get(), req, &reply);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED) << s.error_message();
  // The daemon answered itself, before the client's own deadline.
  EXPECT_NE(s.error_message().find("the network did not answer"), std::string::npos)
      << s.error_message();
  EXPECT_TRUE(from_network(*ctx));
  EXPECT_LT(std::chrono::steady_clock::now() - started, 1500ms);
}

TEST_F(NetworkApiTest, an_unknown_peer_is_not_found_and_an_empty_listing_is_ok) {
  start();
  v1::IdentifyRequest req;
  req.set_target(crypto::PeerId::from_public_key(crypto::Ed25519PrivateKey::generate().public_key())
                     .to_string());
  v1::IdentifyReply reply;
  auto ctx = context();
  EXPECT_EQ(stub_->Identify(ctx.get(), req, &reply).error_code(), grpc::StatusCode::NOT_FOUND);

  v1::ListPeersRequest list;
  list.set_include_known(true);
  v1::ListPeersReply peers;
  auto list_ctx = context();
  ASSERT_TRUE(stub_->ListPeers(list_ctx.get(), list, &peers).ok());
  EXPECT_EQ(peers.peers_size(), 0);
}

TEST_F(NetworkApiTest, every_call_needs_the_token_when_one_is_set) {
  start(std::string(64, 'a'));
  v1::ListPeersReply peers;
  auto ctx = context();
  grpc::Status s = stub_->ListPeers(ctx.get(), v1::ListPeersRequest{}, &peers);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_FALSE(from_network(*ctx));

  auto with_token = context();
  with_token->AddMetadata("authorization", "Bearer " + std::string(64, 'a'));
  EXPECT_TRUE(stub_->ListPeers(with_token.get(), v1::ListPeersRequest{}, &peers).ok());
}

}  // namespace
}  // namespace soma::api
