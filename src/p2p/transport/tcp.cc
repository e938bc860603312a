#include "p2p/transport/tcp.h"

#include <fmt/format.h>

#include <array>
#include <cstring>

namespace soma::p2p::transport {

core::Result<asio::ip::tcp::endpoint> endpoint_from_multiaddr(const Multiaddr& addr) {
  const auto& parts = addr.components();
  auto refuse = [&addr](std::string_view why) -> core::Error {
    return core::Error::invalid(
        fmt::format("{} is not a TCP address: {}; use /ip4/<a>/tcp/<port> or /ip6/<a>/tcp/<port>",
                    addr.to_string(), why));
  };
  if (parts.size() < 2) return refuse("too few components");
  if (parts.size() > 3 || (parts.size() == 3 && parts[2].protocol != Protocol::kP2p)) {
    return refuse("only /p2p/<id> may follow the port");
  }

  asio::ip::address ip;
  if (parts[0].protocol == Protocol::kIp4 && parts[0].value.size() == 4) {
    asio::ip::address_v4::bytes_type b;
    std::memcpy(b.data(), parts[0].value.data(), b.size());
    ip = asio::ip::address_v4(b);
  } else if (parts[0].protocol == Protocol::kIp6 && parts[0].value.size() == 16) {
    asio::ip::address_v6::bytes_type b;
    std::memcpy(b.data(), parts[0].value.data(), b.size());
    ip = asio::ip::address_v6(b);
  } else {
    return refuse(fmt::format("/{} is not an IP address", protocol_name(parts[0].protocol)));
  }

  if (parts[1].protocol != Protocol::kTcp || parts[1].value.size() != 2) {
    return refuse(fmt::format("/{} is not /tcp", protocol_name(parts[1].protocol)));
  }
  auto port = static_cast<unsigned short>((parts[1].value[0] << 8) | parts[1].value[1]);
  return asio::ip::tcp::endpoint(ip, port);
}

core::Result<DialTarget> dial_target(const Multiaddr& addr) {
  const auto& parts = addr.components();
  bool is_dns = !parts.empty() &&
                (parts[0].protocol == Protocol::kDns || parts[0].protocol == Protocol::kDns4 ||
                 parts[0].protocol == Protocol::kDns6);
  if (!is_dns) {
    auto endpoint = endpoint_from_multiaddr(addr);
    if (!endpoint.ok()) return endpoint.take_error();
    DialTarget target;
    target.endpoint = *endpoint;
    target.port = endpoint->port();
    return target;
  }
  if (parts.size() < 2 || parts.size() > 3 || parts[1].protocol != Protocol::kTcp ||
      parts[1].value.size() != 2 || (parts.size() == 3 && parts[2].protocol != Protocol::kP2p)) {
    return core::Error::invalid(fmt::format(
        "{} is not a TCP address; use /dns4/<name>/tcp/<port> and the like", addr.to_string()));
  }
  DialTarget target;
  target.dns = parts[0].protocol;
  target.host = std::string(core::as_chars(parts[0].value));
  target.port = static_cast<std::uint16_t>((parts[1].value[0] << 8) | parts[1].value[1]);
  return target;
}

bool matches_family(Protocol dns, const asio::ip::address& address) {
  if (dns == Protocol::kDns4) return address.is_v4();
  if (dns == Protocol::kDns6) return address.is_v6();
  return true;
}

Multiaddr multiaddr_from_endpoint(const asio::ip::tcp::endpoint& endpoint) {
  std::vector<Component> parts;
  asio::ip::address ip = endpoint.address();
  if (ip.is_v6() && ip.to_v6().is_v4_mapped()) {
    ip = asio::ip::make_address_v4(asio::ip::v4_mapped, ip.to_v6());
  }
  if (ip.is_v4()) {
    auto b = ip.to_v4().to_bytes();
    parts.push_back({Protocol::kIp4, core::Bytes(b.begin(), b.end())});
  } else {
    auto b = ip.to_v6().to_bytes();
    parts.push_back({Protocol::kIp6, core::Bytes(b.begin(), b.end())});
  }
  unsigned short port = endpoint.port();
  parts.push_back({Protocol::kTcp, core::Bytes{static_cast<std::uint8_t>(port >> 8),
                                               static_cast<std::uint8_t>(port & 0xff)}});
  // Both components were built from valid values, so this cannot fail.
  return Multiaddr::from_components(std::move(parts)).value();
}

}  // namespace soma::p2p::transport
