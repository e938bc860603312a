#include "membership/mailbox_protocol.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <asio/co_spawn.hpp>
#include <asio/this_coro.hpp>
#include <asio/thread_pool.hpp>
#include <asio/use_awaitable.hpp>
#include <atomic>
#include <optional>
#include <utility>

#include "p2p/host/message.h"
#include "p2p/transport/deadline.h"

namespace soma::membership::mailbox {

struct MailboxServer::Shared {
  MailboxStore* store = nullptr;
  asio::thread_pool pool{1};
  std::atomic<std::size_t> in_flight{0};
  std::atomic<std::uint64_t> busy{0};
  std::atomic<bool> stopped{false};
};

namespace {

using core::Error;
using p2p::transport::Stream;
using SharedPtr = std::shared_ptr<MailboxServer::Shared>;

Reply refused(const Error& error) {
  Reply reply;
  reply.refusal = error;
  return reply;
}

// Runs the request against the store, as `from`.
Reply answer(MailboxStore& store, const crypto::PeerId& from, Request request) {
  Reply reply;
  if (auto* d = std::get_if<Deposit>(&request)) {
    auto id = store.deposit(from, d->recipient, d->kind, d->payload, d->ttl_ms);
    if (!id) return refused(id.error());
    reply.deposited_id = *id;
  } else if (auto* f = std::get_if<Fetch>(&request)) {
    auto items = store.fetch(from, f->max_items);
    if (!items) return refused(items.error());
    reply.items = std::move(*items);
  } else {
    auto removed = store.acknowledge(from, std::get<Ack>(request).ids);
    if (!removed) return refused(removed.error());
    reply.removed = *removed;
  }
  reply.ok = true;
  return reply;
}

// The reply to one request: decoded on the loop, run on the worker. Here,
// as in join_protocol.cc, no co_await expression builds a temporary that
// owns memory (GCC 12 can destroy such temporaries twice).
asio::awaitable<core::Bytes> respond(SharedPtr shared, crypto::PeerId from, core::Bytes bytes) {
  auto request = decode_request(bytes);
  if (!request.ok()) {
    spdlog::debug("mailbox request from peer={} refused: {}", from.to_string(),
                  request.error().message);
    co_return encode(refused(request.error()));
  }
  if (shared->stopped.load())
    co_return encode(refused(Error::unavailable("the peer is shutting down")));
  if (shared->in_flight.fetch_add(1) >= kMaxQueuedJobs) {
    shared->in_flight.fetch_sub(1);
    shared->busy.fetch_add(1);
    spdlog::warn("mailbox stream refused: {} jobs are queued, the most allowed", kMaxQueuedJobs);
    co_return encode(refused(Error::unavailable("the mailbox is busy; try again shortly")));
  }
  auto job = [store = shared->store, from,
              r = std::move(*request)]() mutable -> asio::awaitable<std::optional<Reply>> {
    co_return std::optional<Reply>(answer(*store, from, std::move(r)));
  };
  auto spawned = asio::co_spawn(shared->pool.get_executor(), std::move(job), asio::use_awaitable);
  auto reply = co_await std::move(spawned);
  shared->in_flight.fetch_sub(1);
  if (!reply) co_return encode(refused(Error::internal("a mailbox job ended without a reply")));
  if (!reply->ok) {
    spdlog::debug("mailbox request from peer={} refused: {}", from.to_string(),
                  reply->refusal.message);
  }
  co_return encode(*reply);
}

asio::awaitable<void> serve(SharedPtr shared, Stream stream) {
  p2p::transport::Deadline deadline(co_await asio::this_coro::executor);
  Stream guarded = stream;
  deadline.arm(kStreamTimeout, [guarded]() mutable { guarded.reset(); });
  const crypto::PeerId from = stream.remote_peer();

  auto message = co_await p2p::host::read_message(stream, kMaxRequestSize);
  if (!message.ok()) {
    spdlog::debug("mailbox stream from peer={} ended without a request: {}", from.to_string(),
                  message.error().message);
    deadline.cancel();
    stream.reset();
    co_return;
  }
  auto responding = respond(shared, from, std::move(*message));
  core::Bytes reply = co_await std::move(responding);
  auto sent = co_await p2p::host::write_message(stream, reply);
  if (sent.ok()) sent = stream.close_write();
  if (!sent.ok()) {
    spdlog::debug("mailbox reply to peer={} was not sent: {}", from.to_string(),
                  sent.error().message);
  }
  deadline.cancel();
}

}  // namespace

MailboxServer::MailboxServer(MailboxStore& store, p2p::node::Node& node)
    : node_(node), shared_(std::make_shared<Shared>()) {
  shared_->store = &store;
}

MailboxServer::~MailboxServer() { stop(); }

core::Status MailboxServer::start() {
  SharedPtr shared = shared_;
  return node_.set_handler(std::string(kProtocol),
                           [shared](Stream stream) { return serve(shared, std::move(stream)); });
}

void MailboxServer::stop() {
  if (shared_->stopped.exchange(true)) return;
  shared_->pool.join();
}

std::uint64_t MailboxServer::busy_refusals() const { return shared_->busy.load(); }

MailboxClient::MailboxClient(p2p::node::Node& node, p2p::node::Target target)
    : node_(node), target_(std::move(target)) {}

core::Result<Reply> MailboxClient::call(const Request& request, Clock::time_point deadline) {
  const std::string where = p2p::node::to_string(target_);
  auto exchanged =
      node_.exchange(target_, std::string(kProtocol), encode(request), kMaxReplySize, deadline);
  if (!exchanged) {
    return Error::unavailable(fmt::format("mailbox {} did not answer in time", where));
  }
  if (!exchanged->ok()) return exchanged->error();
  auto reply = decode_reply((*exchanged)->reply);
  if (!reply) {
    return Error::unavailable(fmt::format("mailbox {} answered with a malformed message: {}", where,
                                          reply.error().message));
  }
  if (!reply->ok) {
    return Error{reply->refusal.code,
                 fmt::format("mailbox {} refused: {}", where, reply->refusal.message)};
  }
  return reply;
}

core::Result<std::int64_t> MailboxClient::deposit(const crypto::PeerId& recipient, Kind kind,
                                                  core::Bytes payload, Clock::time_point deadline) {
  auto reply = call(Request(Deposit{recipient, kind, std::move(payload), 0}), deadline);
  if (!reply) return reply.take_error();
  return reply->deposited_id;
}

core::Result<std::vector<Item>> MailboxClient::fetch(Clock::time_point deadline) {
  auto reply = call(Request(Fetch{static_cast<std::uint32_t>(kMaxFetchBatch)}), deadline);
  if (!reply) return reply.take_error();
  return std::move(reply->items);
}

core::Result<std::uint32_t> MailboxClient::acknowledge(const std::vector<std::int64_t>& ids,
                                                       Clock::time_point deadline) {
  auto reply = call(Request(Ack{ids}), deadline);
  if (!reply) return reply.take_error();
  return reply->removed;
}

}  // namespace soma::membership::mailbox
