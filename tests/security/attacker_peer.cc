#include "attacker_peer.h"

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/use_future.hpp>
#include <future>
#include <stdexcept>
#include <utility>
#include <vector>

#include "core/varint.h"
#include "p2p/host/host.h"
#include "p2p/host/message.h"
#include "p2p/multiaddr/multiaddr.h"
#include "p2p/transport/deadline.h"

namespace soma::security {
namespace {

using asio::awaitable;
using p2p::Multiaddr;
using p2p::host::Host;
using p2p::transport::Stream;
using namespace std::chrono_literals;

constexpr std::size_t kMaxReply = 64 * 1024;

// Runs `task` on the loop and waits for its result.
template <typename T>
T run_on(asio::io_context& io, awaitable<T> task) {
  auto out = std::make_shared<std::optional<T>>();
  auto done = asio::co_spawn(
      io,
      [](awaitable<T> t, std::shared_ptr<std::optional<T>> o) -> awaitable<void> {
        o->emplace(co_await std::move(t));
      }(std::move(task), out),
      asio::use_future);
  if (done.wait_for(120s) != std::future_status::ready) {
    throw std::runtime_error("a task on the attacker's loop did not finish in time");
  }
  done.get();
  return std::move(**out);
}

awaitable<core::Result<Stream>> open(std::shared_ptr<Host> host, std::string addr,
                                     std::string protocol) {
  auto parsed = Multiaddr::parse(addr);
  if (!parsed.ok()) co_return parsed.take_error();
  auto connecting = host->connect(std::move(*parsed));
  auto connection = co_await std::move(connecting);
  if (!connection.ok()) co_return connection.take_error();
  std::vector<std::string> wanted{std::move(protocol)};
  auto opening = host->new_stream(*connection, std::move(wanted));
  co_return co_await std::move(opening);
}

}  // namespace

core::Bytes framed(const core::Bytes& message) {
  core::Bytes out = core::varint::encode(message.size());
  out.insert(out.end(), message.begin(), message.end());
  return out;
}

struct AttackerPeer::Loop {
  Host::Runner runner;
  std::shared_ptr<Host> host;
};

struct AttackerPeer::Stall {
  std::chrono::steady_clock::time_point opened;
  std::promise<std::chrono::milliseconds> ended;
  std::future<std::chrono::milliseconds> ended_future = ended.get_future();
};

AttackerPeer::AttackerPeer(crypto::Ed25519PrivateKey identity)
    : key_(identity),
      peer_id_(crypto::PeerId::from_public_key(identity.public_key())),
      loop_(std::make_unique<Loop>()) {
  auto made =
      run_on(loop_->runner.io(),
             [](asio::io_context& io,
                crypto::Ed25519PrivateKey k) -> awaitable<core::Result<std::shared_ptr<Host>>> {
               auto h = Host::create(io, std::move(k));
               if (!h.ok()) co_return h;
               auto bound = (*h)->listen(Multiaddr::parse("/ip4/127.0.0.1/tcp/0").value());
               if (!bound.ok()) co_return bound.take_error();
               co_return h;
             }(loop_->runner.io(), identity));
  if (!made.ok()) throw std::runtime_error("attacker host: " + made.error().message);
  loop_->host = *made;
  address_ = loop_->host->listen_addrs().at(0).to_string() + "/p2p/" + peer_id_.to_string();
}

AttackerPeer::~AttackerPeer() {
  run_on(loop_->runner.io(), [](std::shared_ptr<Host> h) -> awaitable<bool> {
    h->close();
    co_return true;
  }(loop_->host));
  loop_->runner.stop();
  loop_->host.reset();
}

core::Result<core::Bytes> AttackerPeer::send_raw(const std::string& addr,
                                                 const std::string& protocol, core::Bytes raw,
                                                 std::chrono::seconds timeout) {
  return run_on(loop_->runner.io(),
                [](std::shared_ptr<Host> host, std::string a, std::string p, core::Bytes bytes,
                   std::chrono::seconds limit) -> awaitable<core::Result<core::Bytes>> {
                  p2p::transport::Deadline deadline(host->executor());
                  auto opening = open(host, std::move(a), std::move(p));
                  auto opened = co_await std::move(opening);
                  if (!opened.ok()) co_return opened.take_error();
                  Stream stream = *opened;
                  Stream guarded = stream;
                  deadline.arm(limit, [guarded]() mutable { guarded.reset(); });
                  auto writing = stream.write_all(bytes);
                  auto written = co_await std::move(writing);
                  if (!written.ok()) co_return written.take_error();
                  auto closed = stream.close_write();
                  if (!closed.ok()) co_return closed.take_error();
                  auto reading = stream.read_to_end(kMaxReply);
                  auto reply = co_await std::move(reading);
                  deadline.cancel();
                  co_return reply;
                }(loop_->host, addr, protocol, std::move(raw), timeout));
}

core::Result<core::Bytes> AttackerPeer::exchange(const std::string& addr,
                                                 const std::string& protocol,
                                                 const core::Bytes& message,
                                                 std::chrono::seconds timeout) {
  auto reply = send_raw(addr, protocol, framed(message), timeout);
  if (!reply.ok()) return reply.take_error();
  auto length = core::varint::decode(*reply);
  if (!length.ok()) return length.take_error();
  if (length->size + length->value != reply->size()) {
    return core::Error::invalid("the reply is not exactly one length-prefixed message");
  }
  return core::Bytes(reply->begin() + static_cast<std::ptrdiff_t>(length->size), reply->end());
}

core::Result<std::shared_ptr<AttackerPeer::Stall>> AttackerPeer::stall(const std::string& addr,
                                                                       const std::string& protocol,
                                                                       core::Bytes raw) {
  auto stall = std::make_shared<Stall>();
  stall->opened = std::chrono::steady_clock::now();
  auto opened = run_on(loop_->runner.io(),
                       [](std::shared_ptr<Host> host, std::string a, std::string p,
                          core::Bytes bytes) -> awaitable<core::Result<Stream>> {
                         auto opening = open(host, std::move(a), std::move(p));
                         auto stream = co_await std::move(opening);
                         if (!stream.ok()) co_return stream;
                         auto writing = stream->write_all(bytes);
                         auto written = co_await std::move(writing);
                         if (!written.ok()) co_return written.take_error();
                         co_return stream;
                       }(loop_->host, addr, protocol, std::move(raw)));
  if (!opened.ok()) return opened.take_error();
  // Waits on the loop, holding the stream open, until the daemon ends it.
  asio::co_spawn(
      loop_->runner.io(),
      [](Stream stream, std::shared_ptr<Stall> s) -> awaitable<void> {
        std::vector<std::uint8_t> buffer(1024);
        for (;;) {
          auto n = co_await stream.read_some(buffer);
          if (!n.ok() || *n == 0) break;
        }
        s->ended.set_value(std::chrono::duration_cast<std::chrono::milliseconds>(
            std::chrono::steady_clock::now() - s->opened));
      }(*opened, stall),
      asio::detached);
  return stall;
}

std::optional<std::chrono::milliseconds> AttackerPeer::wait_ended(
    const std::shared_ptr<Stall>& stall, std::chrono::seconds timeout) {
  if (stall->ended_future.wait_for(timeout) != std::future_status::ready) return std::nullopt;
  return stall->ended_future.get();
}

core::Status AttackerPeer::serve(const std::string& protocol, Handler handler) {
  auto shared = std::make_shared<Handler>(std::move(handler));
  return run_on(loop_->runner.io(),
                [](std::shared_ptr<Host> host, std::string p,
                   std::shared_ptr<Handler> h) -> awaitable<core::Status> {
                  co_return host->set_handler(std::move(p), [h](Stream stream) -> awaitable<void> {
                    auto reading = p2p::host::read_message(stream, kMaxReply);
                    auto message = co_await std::move(reading);
                    if (!message.ok()) {
                      stream.reset();
                      co_return;
                    }
                    const core::Bytes answer = (*h)(stream.remote_peer(), *message);
                    auto writing = p2p::host::write_message(stream, answer);
                    auto sent = co_await std::move(writing);
                    if (sent.ok()) (void)stream.close_write();
                  });
                }(loop_->host, protocol, shared));
}

}  // namespace soma::security
