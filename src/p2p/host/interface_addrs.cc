#include "p2p/host/interface_addrs.h"

#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <optional>
#include <system_error>

namespace soma::p2p::host {
namespace {

struct InterfaceAddrs {
  std::vector<core::Bytes> v4;  // 4 bytes each
  std::vector<core::Bytes> v6;  // 16 bytes each
};

bool is_link_local_v6(const core::Bytes& b) { return b[0] == 0xfe && (b[1] & 0xc0) == 0x80; }

bool all_zero(const core::Bytes& b) {
  return std::all_of(b.begin(), b.end(), [](std::uint8_t x) { return x == 0; });
}

InterfaceAddrs read_interfaces() {
  InterfaceAddrs out;
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) != 0) {
    spdlog::warn("cannot list network interfaces ({}); announcing loopback only",
                 std::error_code(errno, std::generic_category()).message());
    out.v4.push_back({127, 0, 0, 1});
    core::Bytes loopback6(16, 0);
    loopback6[15] = 1;
    out.v6.push_back(std::move(loopback6));
    return out;
  }
  for (ifaddrs* it = list; it != nullptr; it = it->ifa_next) {
    if (it->ifa_addr == nullptr || (it->ifa_flags & IFF_UP) == 0) continue;
    if (it->ifa_addr->sa_family == AF_INET) {
      sockaddr_in sin{};
      std::memcpy(&sin, it->ifa_addr, sizeof sin);
      core::Bytes b(4);
      std::memcpy(b.data(), &sin.sin_addr, 4);
      out.v4.push_back(std::move(b));
    } else if (it->ifa_addr->sa_family == AF_INET6) {
      sockaddr_in6 sin6{};
      std::memcpy(&sin6, it->ifa_addr, sizeof sin6);
      core::Bytes b(16);
      std::memcpy(b.data(), &sin6.sin6_addr, 16);
      if (!is_link_local_v6(b)) out.v6.push_back(std::move(b));
    }
  }
  freeifaddrs(list);
  return out;
}

}  // namespace

std::vector<Multiaddr> expand_unspecified(const std::vector<Multiaddr>& listen_addrs) {
  std::vector<Multiaddr> out;
  auto add = [&out](Multiaddr addr) {
    if (std::find(out.begin(), out.end(), addr) == out.end()) out.push_back(std::move(addr));
  };
  std::optional<InterfaceAddrs> interfaces;
  for (const Multiaddr& addr : listen_addrs) {
    const auto& parts = addr.components();
    bool unspecified =
        !parts.empty() &&
        (parts[0].protocol == Protocol::kIp4 || parts[0].protocol == Protocol::kIp6) &&
        all_zero(parts[0].value);
    if (!unspecified) {
      add(addr);
      continue;
    }
    if (!interfaces) interfaces = read_interfaces();
    const auto& ips = parts[0].protocol == Protocol::kIp4 ? interfaces->v4 : interfaces->v6;
    for (const core::Bytes& ip : ips) {
      std::vector<Component> replaced = parts;
      replaced[0].value = ip;
      auto made = Multiaddr::from_components(std::move(replaced));
      if (made.ok()) add(std::move(*made));
    }
  }
  return out;
}

}  // namespace soma::p2p::host
