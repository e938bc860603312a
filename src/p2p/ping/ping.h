#pragma once

#include <asio/awaitable.hpp>
#include <chrono>
#include <cstddef>
#include <memory>
#include <string_view>

#include "core/error.h"
#include "p2p/host/host.h"

// libp2p ping (/ipfs/ping/1.0.0): the dialer sends 32 random bytes, the
// listener echoes them, the dialer measures the round trip. Loop thread only.
namespace soma::p2p::ping {

inline constexpr std::string_view kProtocolId = "/ipfs/ping/1.0.0";
inline constexpr std::size_t kPayloadSize = 32;
// A ping not echoed within this fails; the serving side waits as long for
// each next ping before it closes the stream.
inline constexpr std::chrono::milliseconds kDefaultTimeout{10'000};

// Serves pings on `host`: echoes each 32-byte payload until the peer closes.
core::Status register_handler(host::Host& host);

// Pings once over a fresh stream on `connection` and returns the round
// trip. Errors: kNotFound when the peer does not speak ping, kDataLoss when
// the echo differs, kUnavailable on timeout or a failing stream.
asio::awaitable<core::Result<std::chrono::nanoseconds>> ping(
    host::Host& host, std::shared_ptr<transport::Connection> connection,
    std::chrono::milliseconds timeout = kDefaultTimeout);

}  // namespace soma::p2p::ping
