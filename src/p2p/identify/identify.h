#pragma once

#include <asio/awaitable.hpp>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/bytes.h"
#include "core/error.h"
#include "crypto/peer_id.h"
#include "p2p/host/events.h"
#include "p2p/host/host.h"
#include "p2p/multiaddr/multiaddr.h"

// libp2p identify (/ipfs/id/1.0.0) and identify push (/ipfs/id/push/1.0.0):
// peers tell each other their agent, protocols and listen addresses and the
// address they see the connection coming from. Loop thread only.
namespace soma::p2p::identify {

inline constexpr std::string_view kProtocolId = "/ipfs/id/1.0.0";
inline constexpr std::string_view kPushProtocolId = "/ipfs/id/push/1.0.0";
inline constexpr std::string_view kProtocolVersion = "ipfs/0.1.0";
// Largest identify message accepted (js-libp2p's limit too).
inline constexpr std::size_t kMaxMessageSize = 8192;
// Bounds on what one message may list; the rest is dropped.
inline constexpr std::size_t kMaxListenAddrs = 64;
inline constexpr std::size_t kMaxProtocols = 128;
inline constexpr std::size_t kMaxStringSize = 256;
inline constexpr std::chrono::milliseconds kDefaultTimeout{10'000};

// The decoded, validated content of one message. For push, absent fields
// mean "unchanged".
struct Info {
  std::string protocol_version;
  std::string agent_version;
  std::optional<core::Bytes> public_key;  // the libp2p PublicKey encoding
  std::vector<Multiaddr> listen_addrs;
  std::optional<Multiaddr> observed_addr;
  std::vector<std::string> protocols;
  bool has_protocols = false;
  bool has_listen_addrs = false;
};

// Encodes a message. Never fails for values that came from this process.
core::Bytes encode(const Info& info);

// Decodes a message and checks it against the PeerId authenticated by the
// connection: a public key, if present, must be that peer's. Unparseable
// multiaddrs are skipped; overlong lists are cut to the bounds above.
// Errors: kInvalidArgument for a message protobuf cannot parse or fields
// that are not valid UTF-8 or too long, kPermissionDenied for a public key
// that is not the authenticated peer's.
core::Result<Info> decode(core::ByteView message, const crypto::PeerId& authenticated);

// Serves identify and push on `host` and identifies every new connection
// (Host::add_connection_hook), updating the peer store and emitting
// host::event::Identified. The host keeps the service alive.
class Service : public std::enable_shared_from_this<Service> {
 public:
  static core::Result<std::shared_ptr<Service>> start(const std::shared_ptr<host::Host>& host);

  // What this host announces on `connection`.
  Info local_info(const transport::Connection& connection) const;

  // Asks the peer of `connection` to identify itself.
  asio::awaitable<core::Result<Info>> identify(std::shared_ptr<transport::Connection> connection);

  // Pushes our current info to every connected peer that listed push.
  asio::awaitable<void> push_all();

 private:
  explicit Service(std::weak_ptr<host::Host> host) : host_(std::move(host)) {}
  void record(const crypto::PeerId& peer, const Info& info);

  std::weak_ptr<host::Host> host_;
};

}  // namespace soma::p2p::identify
