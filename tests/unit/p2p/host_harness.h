// The shared harness of the p2p tests: hosts on one io_context over real
// loopback sockets, and helpers to drive coroutines to completion.
#pragma once

#include <gtest/gtest.h>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/io_context.hpp>
#include <asio/use_awaitable.hpp>
#include <chrono>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "crypto/ed25519.h"
#include "p2p/host/host.h"

namespace soma::p2p::test {

using asio::awaitable;
using asio::use_awaitable;
using asio::experimental::as_tuple;
using core::Bytes;
using host::Host;
using transport::Stream;
using namespace std::chrono_literals;

constexpr std::string_view kEcho = "/soma-test/echo/1.0.0";

// Runs `task` on `io` until it finishes; fails the test after `limit`.
template <typename T>
T run(asio::io_context& io, awaitable<T> task, std::chrono::seconds limit = 30s) {
  std::optional<T> result;
  std::exception_ptr error;
  bool done = false;
  asio::co_spawn(
      io,
      [](awaitable<T> t, std::optional<T>& out) -> awaitable<void> {
        out.emplace(co_await std::move(t));
      }(std::move(task), result),
      [&](std::exception_ptr e) {
        error = e;
        done = true;
      });
  auto end = std::chrono::steady_clock::now() + limit;
  io.restart();
  while (!done && std::chrono::steady_clock::now() < end) io.run_one_for(100ms);
  if (error) std::rethrow_exception(error);
  if (!result) throw std::runtime_error("test coroutine did not finish in time");
  return std::move(*result);
}

// Lets the loop run for a while (background coroutines make progress).
inline void spin(asio::io_context& io, std::chrono::milliseconds d) {
  io.restart();
  io.run_for(d);
}

inline Bytes pattern(std::size_t n, std::uint8_t seed) {
  Bytes out(n);
  std::uint32_t x = 0x9e3779b9u * (seed + 1u);
  for (auto& b : out) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    b = static_cast<std::uint8_t>(x);
  }
  return out;
}

// Echoes everything until the peer closes its side, then closes ours.
inline awaitable<void> echo(Stream stream) {
  std::vector<std::uint8_t> buffer(64 * 1024);
  for (;;) {
    auto n = co_await stream.read_some(buffer);
    if (!n.ok() || *n == 0) break;
    auto st = co_await stream.write_all(core::ByteView(buffer.data(), *n));
    if (!st.ok()) co_return;
  }
  (void)stream.close_write();
}

inline Multiaddr with_peer(const Multiaddr& addr, const crypto::PeerId& peer) {
  return addr.encapsulate(Multiaddr::from_components({{Protocol::kP2p, peer.bytes()}}).value())
      .value();
}

class HostHarness : public ::testing::Test {
 public:
  std::shared_ptr<Host> make_host(host::Config config = {}) {
    auto h = Host::create(io_, crypto::Ed25519PrivateKey::generate(), std::move(config));
    EXPECT_TRUE(h.ok());
    hosts_.push_back(*h);
    return *h;
  }

  Multiaddr listen(Host& h) {
    return with_peer(h.listen(Multiaddr::parse("/ip4/127.0.0.1/tcp/0").value()).value(),
                     h.peer_id());
  }

  void TearDown() override {
    for (auto& h : hosts_) h->close();
    spin(io_, 50ms);
  }

  // Writes `data` on a new echo stream, closes our side and reads it all back.
  awaitable<Bytes> echo_through(std::shared_ptr<Host> h, std::shared_ptr<transport::Connection> c,
                                Bytes data) {
    std::vector<std::string> wanted{std::string(kEcho)};
    auto stream = co_await h->new_stream(c, std::move(wanted));
    if (!stream.ok()) co_return Bytes{};
    Stream s = *stream;
    Bytes received;
    bool writer_done = false;
    asio::co_spawn(
        io_,
        [](Stream w, Bytes d, bool& done) -> awaitable<void> {
          auto st = co_await w.write_all(d);
          EXPECT_TRUE(st.ok()) << st.error().message;
          EXPECT_TRUE(w.close_write().ok());
          done = true;
        }(s, std::move(data), writer_done),
        asio::detached);
    auto all = co_await s.read_to_end(64 * 1024 * 1024);
    EXPECT_TRUE(all.ok()) << all.error().message;
    EXPECT_TRUE(writer_done);
    co_return all.ok() ? std::move(*all) : Bytes{};
  }

  asio::io_context io_;
  std::vector<std::shared_ptr<Host>> hosts_;
};

// Waits for the next Identified event about `peer` on `h`.
inline awaitable<std::optional<host::event::Identified>> next_identified(std::shared_ptr<Host> h,
                                                                         crypto::PeerId peer) {
  for (int i = 0; i < 20; ++i) {
    auto e = co_await h->next_event(500ms);
    if (!e) continue;
    auto* id = std::get_if<host::event::Identified>(&*e);
    if (id != nullptr && id->peer == peer) co_return *id;
  }
  co_return std::nullopt;
}

// Waits for the next Disconnected event on `h`.
inline awaitable<std::optional<host::event::Disconnected>> next_disconnected(
    std::shared_ptr<Host> h) {
  for (int i = 0; i < 20; ++i) {
    auto e = co_await h->next_event(1000ms);
    if (!e) continue;
    if (auto* d = std::get_if<host::event::Disconnected>(&*e)) co_return *d;
  }
  co_return std::nullopt;
}

}  // namespace soma::p2p::test
