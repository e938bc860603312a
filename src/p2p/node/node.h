#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "core/error.h"
#include "crypto/ed25519.h"
#include "crypto/peer_id.h"
#include "p2p/host/host.h"
#include "p2p/identify/identify.h"
#include "p2p/multiaddr/multiaddr.h"

// A process's libp2p presence: a Host serving identify and ping on an
// io_context thread of its own, and the calls the rest of the process makes
// into it. Connection, stream and peer state stay on that thread (DESIGN §2
// Threads); every other thread posts a call to it and waits with a
// deadline, and the number of calls waiting at once is bounded.
namespace soma::p2p::node {

// Calls from other threads that may be waiting on the loop at once; more
// are refused with kResourceExhausted rather than queued without bound. A
// call whose caller gave up still counts until the loop finishes it. Kept
// well below the API server's threads, which waiting callers hold.
inline constexpr std::size_t kDefaultMaxPendingCalls = 8;
// Most pings one call may send.
inline constexpr int kMaxPingCount = 100;
// How long start() and listen() wait for the loop.
inline constexpr std::chrono::milliseconds kSetupTimeout{10'000};
// How long stop() lets connections say goodbye before the loop stops.
inline constexpr std::chrono::milliseconds kCloseGrace{1'000};

struct Config {
  host::Config host;
  std::size_t max_pending_calls = kDefaultMaxPendingCalls;
};

// Whom a call is about: a peer by id (reached over a live connection or at
// an address the peer store knows), or an address to dial.
using Target = std::variant<crypto::PeerId, Multiaddr>;

// Reads a PeerId ("12D3KooW…") or a multiaddr ("/ip4/…"). Errors:
// kInvalidArgument saying what was expected.
core::Result<Target> parse_target(std::string_view text);
std::string to_string(const Target& target);

struct ConnectionSummary {
  Multiaddr remote_addr;
  Multiaddr local_addr;
  transport::Role role = transport::Role::kDialer;  // kDialer: we dialed it
  std::chrono::system_clock::time_point since;
};

// A connected peer, or (when asked for) one the peer store remembers.
struct PeerSummary {
  crypto::PeerId peer;
  std::vector<ConnectionSummary> connections;  // empty: not connected
  std::vector<Multiaddr> addrs;                // known addresses, newest first
  std::string agent_version;                   // empty until identified
  std::vector<std::string> protocols;
};

struct DialResult {
  crypto::PeerId peer;
  Multiaddr addr;  // the connection's remote address
  bool already_connected = false;
};

struct PingResult {
  crypto::PeerId peer;
  Multiaddr addr;
  std::vector<std::chrono::nanoseconds> rtts;
};

struct IdentifyResult {
  crypto::PeerId peer;
  Multiaddr addr;
  identify::Info info;
};

// The answer to one request sent with Node::exchange.
struct Exchange {
  crypto::PeerId peer;  // who answered, as the connection authenticated it
  core::Bytes reply;
};

// What a call from another thread got: the loop's result, or nullopt when
// the deadline passed before the loop answered (the operation may still
// finish on the loop, bounded by the host's own timeouts).
template <typename T>
using Answer = std::optional<core::Result<T>>;
using Clock = std::chrono::steady_clock;

// Threading: every public member may be called from any thread except the
// node's own loop; the calls block until the loop answers or their deadline
// passes. Lifetime: the destructor stops the node; callers must have
// returned by then. Errors of the calls below, besides those named:
// kUnavailable once stopped, kResourceExhausted beyond max_pending_calls.
class Node {
 public:
  // Starts the loop thread and on it the host with identify and ping.
  // Errors: those of Host::create and the handlers' registration.
  static core::Result<std::unique_ptr<Node>> start(crypto::Ed25519PrivateKey identity,
                                                   Config config = {});
  ~Node();
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;

  const crypto::PeerId& peer_id() const { return peer_id_; }

  // Opens a listener and returns its bound address (port 0 replaced).
  // Errors: Host::listen's (kInvalidArgument for an address that is not
  // TCP, kUnavailable when it cannot be bound), kInvalidArgument for a
  // /p2p/ part naming another peer.
  core::Result<Multiaddr> listen(const Multiaddr& addr);
  // The listeners' bound addresses.
  std::vector<Multiaddr> listen_addrs() const;
  // The addresses a peer can dial, each ending in /p2p/<our id>: the bound
  // addresses with the unspecified ones expanded (host::expand_unspecified).
  std::vector<Multiaddr> dialable_addrs() const;

  // Connects to `target`, reusing a live connection to a peer given by id
  // (or by an address ending in /p2p/). Errors: kInvalidArgument for this
  // node itself or an address that is not TCP, kNotFound for a peer id
  // with no connection and no known address, kUnavailable when dialing or
  // the upgrade fails or the remote is not the peer its address names,
  // kResourceExhausted at a connection limit.
  Answer<DialResult> dial(Target target, Clock::time_point deadline);
  // Connects as dial() does and pings `count` times (1..kMaxPingCount),
  // one after another. Errors: dial()'s, kInvalidArgument for a count out
  // of range, kFailedPrecondition when the peer does not speak ping,
  // kUnavailable when a ping times out or the connection fails.
  Answer<PingResult> ping(Target target, int count, Clock::time_point deadline);
  // Connects as dial() does and asks the peer to identify itself. Errors:
  // dial()'s, kFailedPrecondition when the peer does not speak identify,
  // kInvalidArgument or kPermissionDenied for an answer that does not
  // decode or carries another peer's key.
  Answer<IdentifyResult> identify(Target target, Clock::time_point deadline);
  // Connected peers ordered by id; with `include_disconnected` also the
  // peers the peer store remembers without a connection.
  Answer<std::vector<PeerSummary>> peers(bool include_disconnected, Clock::time_point deadline);

  // For the process's own protocols (join, sync, …):
  //
  // Serves `protocol` on inbound streams; `handler` runs on the loop and
  // owns the stream. Errors: Host::set_handler's, kUnavailable when the
  // loop does not answer within kSetupTimeout.
  core::Status set_handler(std::string protocol, host::StreamHandler handler);
  // Connects as dial() does, opens a stream for `protocol`, writes
  // `request` as one length-prefixed message, half-closes, and reads one
  // length-prefixed reply of at most `max_reply` bytes; the stream is reset
  // when `deadline` passes first. Errors: dial()'s, kFailedPrecondition
  // when the peer does not speak `protocol`, kResourceExhausted for a
  // longer reply, kUnavailable when the stream fails or times out.
  Answer<Exchange> exchange(Target target, std::string protocol, core::Bytes request,
                            std::size_t max_reply, Clock::time_point deadline);

  // Closes the listeners and every connection (waiting up to kCloseGrace
  // for them to close), then stops the loop thread. Idempotent.
  void stop();

 private:
  struct LoopState;

  Node(const crypto::PeerId& peer_id, std::size_t max_pending_calls);

  template <typename T, typename Op>
  Answer<T> call(std::string_view what, Clock::time_point deadline, Op op);
  // Drains the host's events so its queue never fills, logging them.
  static asio::awaitable<void> watch_events(std::shared_ptr<host::Host> host,
                                            std::shared_ptr<LoopState> state);
  bool stopped() const;

  const crypto::PeerId peer_id_;
  const std::size_t max_pending_calls_;
  // Declared before the host so that it is destroyed after it: the
  // host's sockets and timers belong to its io_context.
  std::unique_ptr<host::Host::Runner> runner_;
  std::shared_ptr<host::Host> host_;
  std::shared_ptr<identify::Service> identify_;
  std::shared_ptr<LoopState> loop_state_;
  std::shared_ptr<std::atomic<std::size_t>> pending_;

  mutable std::mutex mu_;
  std::vector<Multiaddr> listen_addrs_;  // guarded by mu_
  bool stopped_ = false;                 // guarded by mu_
};

}  // namespace soma::p2p::node
