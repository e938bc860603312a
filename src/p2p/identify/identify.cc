#include "p2p/identify/identify.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <asio/co_spawn.hpp>
#include <asio/this_coro.hpp>
#include <exception>
#include <utility>

#include "crypto/keys.h"
#include "libp2p/identify.pb.h"
#include "p2p/host/interface_addrs.h"
#include "p2p/host/message.h"
#include "p2p/multistream/multistream.h"
#include "p2p/transport/deadline.h"

namespace soma::p2p::identify {
namespace {

using transport::Stream;

core::Status check_string(std::string_view what, const std::string& value) {
  if (value.size() > kMaxStringSize) {
    return core::Error::invalid(fmt::format("identify {} is {} bytes, over the {} byte limit", what,
                                            value.size(), kMaxStringSize));
  }
  return {};
}

}  // namespace

core::Bytes encode(const Info& info) {
  wire::identify::Identify msg;
  msg.set_protocolversion(info.protocol_version);
  msg.set_agentversion(info.agent_version);
  if (info.public_key) msg.set_publickey(info.public_key->data(), info.public_key->size());
  for (const auto& addr : info.listen_addrs) {
    msg.add_listenaddrs(addr.bytes().data(), addr.bytes().size());
  }
  if (info.observed_addr) {
    msg.set_observedaddr(info.observed_addr->bytes().data(), info.observed_addr->bytes().size());
  }
  for (const auto& protocol : info.protocols) msg.add_protocols(protocol);
  core::Bytes out(msg.ByteSizeLong());
  msg.SerializeToArray(out.data(), static_cast<int>(out.size()));
  return out;
}

core::Result<Info> decode(core::ByteView message, const crypto::PeerId& authenticated) {
  if (message.size() > kMaxMessageSize) {
    return core::Error::exhausted(
        fmt::format("identify message of {} bytes exceeds {}", message.size(), kMaxMessageSize));
  }
  wire::identify::Identify msg;
  if (!msg.ParseFromArray(message.data(), static_cast<int>(message.size()))) {
    return core::Error::invalid("identify message is not a valid protobuf Identify");
  }

  Info info;
  SOMA_TRY(check_string("protocolVersion", msg.protocolversion()));
  SOMA_TRY(check_string("agentVersion", msg.agentversion()));
  info.protocol_version = msg.protocolversion();
  info.agent_version = msg.agentversion();

  // The key must be the one the Noise handshake authenticated.
  if (msg.has_publickey()) {
    core::Bytes key(msg.publickey().begin(), msg.publickey().end());
    auto decoded = crypto::decode_public_key(key);
    if (!decoded.ok()) {
      return core::Error::invalid(
          fmt::format("identify public key is unusable: {}", decoded.error().message));
    }
    if (!authenticated.matches(*decoded)) {
      return core::Error::denied(
          fmt::format("identify public key does not belong to the authenticated peer {}",
                      authenticated.to_string()));
    }
    info.public_key = std::move(key);
  }

  info.has_listen_addrs = msg.listenaddrs_size() > 0;
  for (const auto& raw : msg.listenaddrs()) {
    if (info.listen_addrs.size() >= kMaxListenAddrs) break;
    auto addr = Multiaddr::from_bytes(core::as_bytes(raw));
    if (addr.ok()) info.listen_addrs.push_back(std::move(*addr));
  }
  if (msg.has_observedaddr()) {
    auto addr = Multiaddr::from_bytes(core::as_bytes(msg.observedaddr()));
    if (addr.ok()) info.observed_addr = std::move(*addr);
  }
  info.has_protocols = msg.protocols_size() > 0;
  for (const auto& protocol : msg.protocols()) {
    if (info.protocols.size() >= kMaxProtocols) break;
    if (multistream::validate_protocol_id(protocol).ok()) info.protocols.push_back(protocol);
  }
  return info;
}

// ---------------------------------------------------------------------------

core::Result<std::shared_ptr<Service>> Service::start(const std::shared_ptr<host::Host>& host) {
  auto service = std::shared_ptr<Service>(new Service(host));

  SOMA_TRY(host->set_handler(
      std::string(kProtocolId), [service](Stream stream) -> asio::awaitable<void> {
        transport::Deadline deadline(co_await asio::this_coro::executor);
        deadline.arm(kDefaultTimeout, [stream]() mutable { stream.reset(); });
        core::Bytes message = encode(service->local_info(*stream.connection()));
        auto st = co_await host::write_message(stream, message);
        if (st.ok()) st = stream.close_write();
        if (!st.ok()) {
          spdlog::debug("identify answer to peer={} failed: {}", stream.remote_peer().to_string(),
                        st.error().message);
          co_return;
        }
        // Wait for the peer to close its side so the stream ends cleanly.
        core::Bytes sink(64);
        for (;;) {
          auto n = co_await stream.read_some(sink);
          if (!n.ok() || *n == 0) break;
        }
      }));

  SOMA_TRY(host->set_handler(
      std::string(kPushProtocolId), [service](Stream stream) -> asio::awaitable<void> {
        transport::Deadline deadline(co_await asio::this_coro::executor);
        deadline.arm(kDefaultTimeout, [stream]() mutable { stream.reset(); });
        auto message = co_await host::read_message(stream, kMaxMessageSize);
        if (!message.ok()) {
          spdlog::debug("identify push from peer={} failed: {}", stream.remote_peer().to_string(),
                        message.error().message);
          stream.reset();
          co_return;
        }
        auto info = decode(*message, stream.remote_peer());
        if (!info.ok()) {
          spdlog::debug("identify push from peer={} refused: {}", stream.remote_peer().to_string(),
                        info.error().message);
          stream.reset();
          co_return;
        }
        (void)stream.close_write();
        service->record(stream.remote_peer(), *info);
      }));

  std::weak_ptr<Service> weak = service;
  host->add_connection_hook([weak](const std::shared_ptr<transport::Connection>& connection) {
    auto self = weak.lock();
    if (!self) return;
    auto run = [](std::shared_ptr<Service> svc,
                  std::shared_ptr<transport::Connection> conn) -> asio::awaitable<void> {
      auto info = co_await svc->identify(conn);
      if (!info.ok()) {
        spdlog::debug("identify of peer={} failed: {}", conn->remote_peer().to_string(),
                      info.error().message);
      }
    };
    auto owner = self->host_.lock();
    if (!owner) return;
    asio::co_spawn(owner->executor(), run(self, connection), [](std::exception_ptr e) {
      if (!e) return;
      try {
        std::rethrow_exception(e);
      } catch (const std::exception& ex) {
        spdlog::error("identify failed: {}", ex.what());
      }
    });
  });
  return service;
}

Info Service::local_info(const transport::Connection& connection) const {
  Info info;
  auto host = host_.lock();
  if (!host) return info;
  info.protocol_version = std::string(kProtocolVersion);
  info.agent_version = host->config().agent_version;
  info.public_key = crypto::encode_public_key(host->identity().public_key());
  info.listen_addrs = host::expand_unspecified(host->listen_addrs());
  info.observed_addr = connection.info().remote_addr;
  info.protocols = host->protocols();
  info.has_listen_addrs = true;
  info.has_protocols = true;
  return info;
}

asio::awaitable<core::Result<Info>> Service::identify(
    std::shared_ptr<transport::Connection> connection) {
  auto host = host_.lock();
  if (!host) co_return core::Error::unavailable("the host is gone");
  std::vector<std::string> wanted{std::string(kProtocolId)};
  auto stream = co_await host->new_stream(connection, std::move(wanted));
  if (!stream.ok()) co_return stream.take_error();

  transport::Deadline deadline(co_await asio::this_coro::executor);
  transport::Stream guarded = *stream;
  deadline.arm(kDefaultTimeout, [guarded]() mutable { guarded.reset(); });
  auto message = co_await host::read_message(*stream, kMaxMessageSize);
  deadline.cancel();
  if (!message.ok()) {
    stream->reset();
    co_return message.take_error();
  }
  (void)stream->close_write();
  auto info = decode(*message, connection->remote_peer());
  if (!info.ok()) {
    stream->reset();
    co_return info.take_error();
  }
  record(connection->remote_peer(), *info);
  co_return info;
}

void Service::record(const crypto::PeerId& peer, const Info& info) {
  auto host = host_.lock();
  if (!host) return;
  auto& store = host->peer_store();
  if (info.has_listen_addrs) store.add_addrs(peer, info.listen_addrs);
  if (info.has_protocols) store.set_protocols(peer, info.protocols);
  if (!info.agent_version.empty()) store.set_agent_version(peer, info.agent_version);
  host->emit(host::event::Identified{peer, info.protocol_version, info.agent_version,
                                     info.protocols, info.listen_addrs, info.observed_addr});
}

asio::awaitable<void> Service::push_all() {
  auto host = host_.lock();
  if (!host) co_return;
  for (auto& connection : host->connections()) {
    const host::PeerRecord* record = host->peer_store().find(connection->remote_peer());
    if (record == nullptr) continue;
    bool listed = false;
    for (const auto& p : record->protocols) listed = listed || p == kPushProtocolId;
    if (!listed) continue;
    std::vector<std::string> wanted{std::string(kPushProtocolId)};
    auto stream = co_await host->new_stream(connection, std::move(wanted));
    if (!stream.ok()) continue;
    auto st = co_await host::write_message(*stream, encode(local_info(*connection)));
    if (st.ok()) (void)stream->close_write();
  }
}

}  // namespace soma::p2p::identify
