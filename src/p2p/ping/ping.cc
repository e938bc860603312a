#include "p2p/ping/ping.h"

#include <fmt/format.h>

#include <array>
#include <asio/this_coro.hpp>
#include <string>

#include "crypto/random.h"
#include "p2p/transport/deadline.h"

namespace soma::p2p::ping {
namespace {

asio::awaitable<void> serve(std::chrono::milliseconds timeout, transport::Stream stream) {
  transport::Deadline deadline(co_await asio::this_coro::executor);
  std::array<std::uint8_t, kPayloadSize> payload{};
  for (;;) {
    deadline.arm(timeout, [stream]() mutable { stream.reset(); });
    auto n = co_await stream.read_some(payload);
    if (!n.ok() || *n == 0) break;
    // Read the rest of this ping, then echo it.
    std::size_t got = *n;
    if (got < kPayloadSize) {
      auto st = co_await stream.read_exact(std::span(payload).subspan(got));
      if (!st.ok()) break;
    }
    auto st = co_await stream.write_all(payload);
    if (!st.ok()) break;
  }
  deadline.cancel();
  (void)stream.close_write();
}

}  // namespace

core::Status register_handler(host::Host& host) {
  return host.set_handler(std::string(kProtocolId), [](transport::Stream stream) {
    return serve(kDefaultTimeout, std::move(stream));
  });
}

asio::awaitable<core::Result<std::chrono::nanoseconds>> ping(
    host::Host& host, std::shared_ptr<transport::Connection> connection,
    std::chrono::milliseconds timeout) {
  std::vector<std::string> wanted{std::string(kProtocolId)};
  auto stream = co_await host.new_stream(std::move(connection), std::move(wanted));
  if (!stream.ok()) co_return stream.take_error();

  transport::Deadline deadline(co_await asio::this_coro::executor);
  transport::Stream guarded = *stream;
  deadline.arm(timeout, [guarded]() mutable { guarded.reset(); });

  std::array<std::uint8_t, kPayloadSize> sent{};
  crypto::fill_random(sent);
  auto start = std::chrono::steady_clock::now();
  auto st = co_await stream->write_all(sent);
  std::array<std::uint8_t, kPayloadSize> echoed{};
  if (st.ok()) st = co_await stream->read_exact(echoed);
  auto rtt = std::chrono::steady_clock::now() - start;
  bool timed_out = deadline.expired();
  deadline.cancel();

  if (!st.ok()) {
    if (timed_out) {
      co_return core::Error::unavailable(fmt::format(
          "ping to {} timed out after {} ms", stream->remote_peer().to_string(), timeout.count()));
    }
    co_return st.take_error();
  }
  (void)stream->close_write();
  if (echoed != sent) {
    stream->reset();
    co_return core::Error::data_loss(
        fmt::format("ping to {} echoed different bytes", stream->remote_peer().to_string()));
  }
  co_return std::chrono::duration_cast<std::chrono::nanoseconds>(rtt);
}

}  // namespace soma::p2p::ping
