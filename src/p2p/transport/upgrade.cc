#include "p2p/transport/upgrade.h"

#include <fmt/format.h>

#include <array>
#include <asio/experimental/as_tuple.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>
#include <string>
#include <utility>
#include <vector>

#include "p2p/multistream/multistream.h"
#include "p2p/transport/deadline.h"

namespace soma::p2p::transport {
namespace {

using asio::use_awaitable;
using asio::experimental::as_tuple;

// Handshake messages are small; one read of this size holds several.
constexpr std::size_t kReadChunk = 4096;

// Drives one connection through the phases; one function per phase.
class Upgrader {
 public:
  Upgrader(asio::ip::tcp::socket& socket, Role role, const noise::LocalKeys& keys,
           std::optional<crypto::PeerId> expected, const Timeouts& timeouts)
      : socket_(socket),
        role_(role),
        keys_(keys),
        expected_(std::move(expected)),
        timeouts_(timeouts),
        deadline_(socket.get_executor()) {}

  asio::awaitable<UpgradeResult> run() {
    UpgradeResult result;
    core::Bytes pending;
    if (co_await negotiate_security(pending) && co_await handshake(pending) &&
        co_await negotiate_muxer(pending) && co_await flush()) {
      deadline_.cancel();
      result.session = std::move(session_);
      result.leftover = std::move(pending);
      co_return result;
    }
    deadline_.cancel();
    result.failure = std::move(failure_);
    co_return result;
  }

 private:
  void begin(Phase phase, std::chrono::milliseconds limit) {
    phase_ = phase;
    deadline_.arm(limit, [this] {
      std::error_code ignored;
      socket_.close(ignored);
    });
  }

  bool fail(Fault fault, core::Error error) {
    failure_ = DisconnectReason{phase_, fault, std::move(error), false};
    return false;
  }

  bool fail_io(const std::error_code& ec) {
    if (deadline_.expired()) {
      failure_ = DisconnectReason{phase_, Fault::kPeer,
                                  core::Error::unavailable(fmt::format(
                                      "the peer did not finish the {} in time", to_string(phase_))),
                                  true};
      return false;
    }
    if (ec == asio::error::eof) {
      return fail(Fault::kPeer,
                  core::Error::unavailable(fmt::format(
                      "the peer closed the connection during the {}", to_string(phase_))));
    }
    return fail(Fault::kNetwork,
                core::Error::unavailable(fmt::format("connection failed during the {}: {}",
                                                     to_string(phase_), ec.message())));
  }

  // Queues bytes to send, encrypted once the Noise session exists. They go
  // out with the next receive() or flush(): whatever one side says before
  // it waits for the other travels in one write.
  asio::awaitable<bool> send(core::ByteView plaintext) {
    if (plaintext.empty()) co_return true;
    if (session_) {
      auto st = session_->encrypt(plaintext, outgoing_);
      if (!st.ok()) co_return fail(Fault::kLocal, st.take_error());
    } else {
      core::append(outgoing_, plaintext);
    }
    co_return true;
  }

  asio::awaitable<bool> flush() {
    if (outgoing_.empty()) co_return true;
    auto [ec, n] =
        co_await asio::async_write(socket_, asio::buffer(outgoing_), as_tuple(use_awaitable));
    (void)n;
    outgoing_.clear();
    if (ec) co_return fail_io(ec);
    co_return true;
  }

  // Reads what arrived next, decrypted once the Noise session exists; may
  // be empty when only part of an encrypted frame came.
  asio::awaitable<bool> receive(core::Bytes& out) {
    if (!co_await flush()) co_return false;
    out.clear();
    auto [ec, n] = co_await socket_.async_read_some(asio::buffer(buffer_), as_tuple(use_awaitable));
    if (ec) co_return fail_io(ec);
    core::ByteView got(buffer_.data(), n);
    if (!session_) {
      core::append(out, got);
      co_return true;
    }
    auto st = session_->decrypt(got, out);
    if (!st.ok()) co_return fail(Fault::kPeer, st.take_error());
    co_return true;
  }

  // multistream-select for one protocol; `pending` holds bytes already
  // received for this phase and, afterwards, those of the next.
  template <typename Negotiator>
  asio::awaitable<bool> select(Negotiator& negotiator, core::Bytes& pending) {
    if (!co_await send(negotiator.start())) co_return false;
    core::Bytes input = std::move(pending);
    for (;;) {
      multistream::Step step = negotiator.feed(input);
      if (!co_await send(step.output)) co_return false;
      if (step.state == multistream::State::kSelected) break;
      if (step.state == multistream::State::kFailed) {
        // The remote hears the last answer ("na") before the connection ends.
        core::Error error = negotiator.error();
        if (!co_await flush()) co_return false;
        co_return fail(Fault::kPeer, std::move(error));
      }
      if (!co_await receive(input)) co_return false;
    }
    pending = negotiator.take_leftover();
    co_return true;
  }

  asio::awaitable<bool> negotiate(std::string_view protocol, core::Bytes& pending) {
    std::vector<std::string> protocols{std::string(protocol)};
    if (role_ == Role::kDialer) {
      auto dialer = multistream::Dialer::create(std::move(protocols));
      if (!dialer.ok()) co_return fail(Fault::kLocal, dialer.take_error());
      co_return co_await select(*dialer, pending);
    }
    auto listener = multistream::Listener::create(std::move(protocols));
    if (!listener.ok()) co_return fail(Fault::kLocal, listener.take_error());
    co_return co_await select(*listener, pending);
  }

  asio::awaitable<bool> negotiate_security(core::Bytes& pending) {
    begin(Phase::kSecurityNegotiation, timeouts_.security_negotiation);
    co_return co_await negotiate(noise::kProtocolId, pending);
  }

  asio::awaitable<bool> handshake(core::Bytes& pending) {
    begin(Phase::kHandshake, timeouts_.handshake);
    noise::Handshake hs = role_ == Role::kDialer ? noise::Handshake::initiator(keys_, expected_)
                                                 : noise::Handshake::responder(keys_);
    noise::HandshakeStep step = hs.start();
    if (!co_await send(step.output)) co_return false;
    core::Bytes input = std::move(pending);
    while (hs.status() == noise::HandshakeStatus::kInProgress) {
      if (!input.empty()) {
        step = hs.feed(input);
        if (!co_await send(step.output)) co_return false;
        if (hs.status() != noise::HandshakeStatus::kInProgress) break;
      }
      if (!co_await receive(input)) co_return false;
    }
    if (hs.status() == noise::HandshakeStatus::kFailed) {
      Fault fault = hs.error().code == core::ErrorCode::kInternal ? Fault::kLocal : Fault::kPeer;
      co_return fail(fault, hs.error());
    }
    auto session = hs.take_session();
    if (!session.ok()) co_return fail(Fault::kLocal, session.take_error());
    session_.emplace(std::move(*session));

    // Frames that followed the last handshake message are already encrypted.
    core::Bytes rest = hs.take_leftover();
    pending.clear();
    auto st = session_->decrypt(rest, pending);
    if (!st.ok()) co_return fail(Fault::kPeer, st.take_error());
    co_return true;
  }

  asio::awaitable<bool> negotiate_muxer(core::Bytes& pending) {
    begin(Phase::kMuxerNegotiation, timeouts_.muxer_negotiation);
    co_return co_await negotiate(kYamuxProtocolId, pending);
  }

  asio::ip::tcp::socket& socket_;
  Role role_;
  const noise::LocalKeys& keys_;
  std::optional<crypto::PeerId> expected_;
  const Timeouts& timeouts_;
  Deadline deadline_;
  Phase phase_ = Phase::kSecurityNegotiation;
  DisconnectReason failure_;
  std::optional<noise::Session> session_;
  core::Bytes outgoing_;  // queued by send(), written by flush()
  std::array<std::uint8_t, kReadChunk> buffer_{};
};

}  // namespace

asio::awaitable<UpgradeResult> upgrade(asio::ip::tcp::socket& socket, Role role,
                                       const noise::LocalKeys& keys,
                                       std::optional<crypto::PeerId> expected_remote,
                                       const Timeouts& timeouts) {
  // Negotiation and handshake messages are small and each waits for an
  // answer, as do pings and requests later: Nagle's algorithm would hold a
  // second small write back until the peer's delayed ACK, tens of
  // milliseconds. Writes are batched by the connection's writer instead.
  std::error_code ignored;
  socket.set_option(asio::ip::tcp::no_delay(true), ignored);
  Upgrader upgrader(socket, role, keys, std::move(expected_remote), timeouts);
  co_return co_await upgrader.run();
}

}  // namespace soma::p2p::transport
