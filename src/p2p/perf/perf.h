#pragma once

#include <asio/awaitable.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <set>
#include <string_view>

#include "core/error.h"
#include "crypto/peer_id.h"
#include "p2p/host/host.h"

// libp2p perf (/perf/1.0.0, specs/libp2p/perf/perf.md): the client sends the
// number of bytes it wants back as a big-endian uint64, uploads any amount
// and closes its side; the server then sends the requested bytes and closes.
// It lets a client make the server do real work, so it is off unless
// register_handler() is called, and the server bounds what it sends.
// Loop thread only.
namespace soma::p2p::perf {

inline constexpr std::string_view kProtocolId = "/perf/1.0.0";
inline constexpr std::size_t kRequestSize = 8;
// Default bound on one response; a larger request resets the stream.
inline constexpr std::uint64_t kDefaultMaxResponseBytes = 1ull << 30;
// The server gives up on a client that sends nothing for this long.
inline constexpr std::chrono::milliseconds kDefaultIdleTimeout{30'000};

struct ServerConfig {
  std::uint64_t max_response_bytes = kDefaultMaxResponseBytes;
  std::chrono::milliseconds idle_timeout = kDefaultIdleTimeout;
  // When not empty, only these peers may run perf.
  std::set<crypto::PeerId> allowed_peers;
};

struct Stats {
  std::uint64_t uploaded = 0;
  std::uint64_t downloaded = 0;
  std::chrono::nanoseconds upload_time{0};    // stream open to our FIN queued
  std::chrono::nanoseconds download_time{0};  // our FIN to the server's FIN
};

core::Status register_handler(host::Host& host, ServerConfig config = {});

// Runs one perf exchange on a new stream. Errors: kNotFound when the peer
// does not serve perf, kDataLoss when it sends a different number of bytes
// than asked for, kUnavailable when the stream fails or stalls for
// `idle_timeout`.
asio::awaitable<core::Result<Stats>> run(
    host::Host& host, std::shared_ptr<transport::Connection> connection, std::uint64_t upload_bytes,
    std::uint64_t download_bytes, std::chrono::milliseconds idle_timeout = kDefaultIdleTimeout);

}  // namespace soma::p2p::perf
