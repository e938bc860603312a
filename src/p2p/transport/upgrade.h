#pragma once

#include <asio/awaitable.hpp>
#include <asio/ip/tcp.hpp>
#include <chrono>
#include <optional>
#include <string_view>

#include "core/bytes.h"
#include "crypto/peer_id.h"
#include "p2p/noise/handshake.h"
#include "p2p/noise/session.h"
#include "p2p/transport/disconnect.h"

// The connection upgrade (libp2p connections spec): on a fresh TCP
// connection, multistream-select agrees on /noise, the Noise XX handshake
// authenticates the remote PeerId, and multistream-select agrees on
// /yamux/1.0.0 inside the encrypted channel.
namespace soma::p2p::transport {

inline constexpr std::string_view kYamuxProtocolId = "/yamux/1.0.0";

// Deadlines for every phase of a connection. A peer that has not finished a
// phase in time is cut off, whatever it has sent so far.
struct Timeouts {
  std::chrono::milliseconds dial{10'000};
  std::chrono::milliseconds security_negotiation{10'000};
  std::chrono::milliseconds handshake{10'000};
  std::chrono::milliseconds muxer_negotiation{10'000};
  // Once running: a Noise frame that has begun must be complete within this.
  std::chrono::milliseconds frame{30'000};
  // Once running: one socket write must complete within this, or the peer
  // is not reading.
  std::chrono::milliseconds write{30'000};
};

enum class Role { kDialer, kListener };

struct UpgradeResult {
  // Set on success: the encrypted channel, the remote PeerId inside it.
  std::optional<noise::Session> session;
  // Plaintext that followed the muxer negotiation: the first yamux bytes.
  core::Bytes leftover;
  // Set on failure.
  DisconnectReason failure;

  bool ok() const { return session.has_value(); }
};

// Runs the three phases on `socket`, which the caller owns and must keep
// alive until the awaitable completes. The dialer may require the remote to
// be `expected_remote` (from a /p2p/ address): any other identity fails the
// handshake before ours is revealed. On a deadline the socket is closed.
// Turns Nagle's algorithm off on the socket (TCP_NODELAY) for good.
// Runs on the socket's executor; not thread-safe.
asio::awaitable<UpgradeResult> upgrade(asio::ip::tcp::socket& socket, Role role,
                                       const noise::LocalKeys& keys,
                                       std::optional<crypto::PeerId> expected_remote,
                                       const Timeouts& timeouts);

}  // namespace soma::p2p::transport
