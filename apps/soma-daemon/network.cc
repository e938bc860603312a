#include "network.h"

#include <spdlog/spdlog.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

namespace soma::daemon {
namespace {

std::int64_t now_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

// The TCP port of an address the options already checked to be TCP.
std::uint16_t tcp_port(const p2p::Multiaddr& addr) {
  for (const auto& c : addr.components()) {
    if (c.protocol == p2p::Protocol::kTcp && c.value.size() == 2) {
      return static_cast<std::uint16_t>((c.value[0] << 8) | c.value[1]);
    }
  }
  return 0;
}

// `addr` with its TCP port replaced; a port keeps the address valid.
p2p::Multiaddr with_port(const p2p::Multiaddr& addr, std::uint16_t port) {
  std::vector<p2p::Component> parts = addr.components();
  for (auto& c : parts) {
    if (c.protocol == p2p::Protocol::kTcp) {
      c.value = {static_cast<std::uint8_t>(port >> 8), static_cast<std::uint8_t>(port & 0xff)};
    }
  }
  auto made = p2p::Multiaddr::from_components(std::move(parts));
  return made.ok() ? *made : addr;
}

bool is_ip6(const p2p::Multiaddr& addr) {
  return !addr.empty() && addr.components()[0].protocol == p2p::Protocol::kIp6;
}

// Keeps `port` for `key` for the next start; a failure only costs that.
void remember(store::ListenPortRepository& ports, const std::string& key, std::uint16_t port) {
  if (auto saved = ports.save(key, port, now_ms()); !saved.ok()) {
    spdlog::warn("cannot remember port {} for {}: {}; the next start picks another", port, key,
                 saved.error().message);
    return;
  }
  spdlog::info("chose port {} for {}; it is kept across restarts", port, key);
}

// Binds `addr` (port 0) on the port remembered for it when that is free,
// else on `preferred` when given and free, else on a random port, and
// remembers what it got.
core::Result<p2p::Multiaddr> listen_remembered(p2p::node::Node& node,
                                               store::ListenPortRepository& ports,
                                               const p2p::Multiaddr& addr,
                                               std::optional<std::uint16_t> preferred) {
  const std::string key = addr.to_string();
  auto remembered = ports.find(key);
  if (!remembered.ok()) {
    spdlog::warn("cannot read the port remembered for {}: {}; picking a new one", key,
                 remembered.error().message);
  } else if (remembered->has_value()) {
    auto bound = node.listen(with_port(addr, **remembered));
    if (bound.ok()) return bound;
    spdlog::warn("port {} remembered for {} is not free ({}); picking a new random port",
                 **remembered, key, bound.error().message);
  } else if (preferred) {
    auto bound = node.listen(with_port(addr, *preferred));
    if (bound.ok()) {
      remember(ports, key, *preferred);
      return bound;
    }
  }
  auto bound = node.listen(addr);
  if (bound.ok()) remember(ports, key, tcp_port(*bound));
  return bound;
}

}  // namespace

std::vector<p2p::Multiaddr> default_listen_addrs() {
  return {p2p::Multiaddr::parse("/ip4/0.0.0.0/tcp/0").value(),
          p2p::Multiaddr::parse("/ip6/::/tcp/0").value()};
}

core::Status open_listeners(p2p::node::Node& node, store::ListenPortRepository& ports,
                            const std::vector<p2p::Multiaddr>& addrs, bool defaults) {
  // The default IPv6 listener tries the IPv4 one's port first, so one port
  // (one firewall rule) serves both.
  std::optional<std::uint16_t> shared_port;
  for (const p2p::Multiaddr& addr : addrs) {
    auto bound = tcp_port(addr) == 0
                     ? listen_remembered(node, ports, addr, defaults ? shared_port : std::nullopt)
                     : node.listen(addr);
    if (bound.ok()) {
      if (defaults && !shared_port) shared_port = tcp_port(*bound);
      continue;
    }
    if (defaults && is_ip6(addr)) {
      spdlog::info("not listening on IPv6: {}", bound.error().message);
      continue;
    }
    return bound.take_error();
  }
  return {};
}

}  // namespace soma::daemon
