#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "core/error.h"
#include "membership/mailbox_store.h"
#include "membership/mailbox_wire.h"
#include "p2p/node/node.h"

// /soma/mailbox/1 on the daemon's libp2p node: the server side over a
// MailboxStore, and a client for a mailbox held by another peer. The
// handler reads one bounded request, runs the store on a worker thread
// (SQLite never runs on the loop) with the stream's Noise-authenticated
// peer as depositor or recipient, and writes one reply.
namespace soma::membership::mailbox {

// How long one inbound stream may take, from its first byte to the reply.
inline constexpr std::chrono::seconds kStreamTimeout{10};
// Store jobs waiting for or running on the worker; a stream beyond it is
// refused as busy and counted, and the loop never waits.
inline constexpr std::size_t kMaxQueuedJobs = 16;

// Threading: start() and stop() from the daemon's main thread. Lifetime:
// the store and node must outlive it; a stream arriving after stop() is
// refused.
class MailboxServer {
 public:
  MailboxServer(MailboxStore& store, p2p::node::Node& node);
  ~MailboxServer();
  MailboxServer(const MailboxServer&) = delete;
  MailboxServer& operator=(const MailboxServer&) = delete;

  core::Status start();
  // Stops taking work and waits for the running jobs. Idempotent.
  void stop();
  std::uint64_t busy_refusals() const;

  struct Shared;

 private:
  p2p::node::Node& node_;
  std::shared_ptr<Shared> shared_;
};

// Talks to the mailbox at `target`. Every call blocks until its deadline
// (call it from any thread but the node's loop). Errors: the node's
// (kUnavailable when the mailbox cannot be reached), kInvalidArgument for
// a malformed reply, and the mailbox's refusal prefixed with who refused.
class MailboxClient {
 public:
  using Clock = std::chrono::steady_clock;

  MailboxClient(p2p::node::Node& node, p2p::node::Target target);

  const p2p::node::Target& target() const { return target_; }

  core::Result<std::int64_t> deposit(const crypto::PeerId& recipient, Kind kind,
                                     core::Bytes payload, Clock::time_point deadline);
  core::Result<std::vector<Item>> fetch(Clock::time_point deadline);
  core::Result<std::uint32_t> acknowledge(const std::vector<std::int64_t>& ids,
                                          Clock::time_point deadline);

 private:
  core::Result<Reply> call(const Request& request, Clock::time_point deadline);

  p2p::node::Node& node_;
  const p2p::node::Target target_;
};

}  // namespace soma::membership::mailbox
