#include "p2p/multiaddr/multiaddr.h"

#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cstring>
#include <utility>

#include "core/varint.h"
#include "crypto/peer_id.h"

namespace soma::p2p {
namespace {

using core::Bytes;
using core::ByteView;
using core::Error;
using core::Result;
using core::Status;

// How a protocol's value looks on the wire and in text.
enum class ValueKind { kNone, kIp4, kIp6, kPort, kDnsName, kPeerId };

struct ProtocolInfo {
  Protocol protocol;
  std::string_view name;
  ValueKind kind;
};

constexpr std::array<ProtocolInfo, 13> kProtocols = {{
    {Protocol::kIp4, "ip4", ValueKind::kIp4},
    {Protocol::kTcp, "tcp", ValueKind::kPort},
    {Protocol::kIp6, "ip6", ValueKind::kIp6},
    {Protocol::kDns, "dns", ValueKind::kDnsName},
    {Protocol::kDns4, "dns4", ValueKind::kDnsName},
    {Protocol::kDns6, "dns6", ValueKind::kDnsName},
    {Protocol::kDnsaddr, "dnsaddr", ValueKind::kDnsName},
    {Protocol::kUdp, "udp", ValueKind::kPort},
    {Protocol::kP2pCircuit, "p2p-circuit", ValueKind::kNone},
    {Protocol::kP2p, "p2p", ValueKind::kPeerId},
    {Protocol::kQuicV1, "quic-v1", ValueKind::kNone},
    {Protocol::kWs, "ws", ValueKind::kNone},
    {Protocol::kWss, "wss", ValueKind::kNone},
}};

// Longest text of an address literal we are willing to hand to inet_pton.
constexpr std::size_t kMaxIpTextSize = 64;

const ProtocolInfo* find_by_code(std::uint64_t code) {
  for (const auto& p : kProtocols) {
    if (static_cast<std::uint64_t>(p.protocol) == code) return &p;
  }
  return nullptr;
}

const ProtocolInfo* find_by_name(std::string_view name) {
  // "ipfs" is the table's backwards-compatible alias of p2p.
  if (name == "ipfs") name = "p2p";
  for (const auto& p : kProtocols) {
    if (p.name == name) return &p;
  }
  return nullptr;
}

// Every Protocol enumerator is in the table; only a value cast from an
// arbitrary integer finds nothing, and validated components never hold one.
const ProtocolInfo* info_of(Protocol protocol) {
  return find_by_code(static_cast<std::uint64_t>(protocol));
}

ValueKind kind_of(Protocol protocol) {
  const ProtocolInfo* info = info_of(protocol);
  return info == nullptr ? ValueKind::kNone : info->kind;
}

bool is_variable(ValueKind kind) {
  return kind == ValueKind::kDnsName || kind == ValueKind::kPeerId;
}

std::size_t fixed_size(ValueKind kind) {
  switch (kind) {
    case ValueKind::kIp4:
      return 4;
    case ValueKind::kIp6:
      return 16;
    case ValueKind::kPort:
      return 2;
    default:
      return 0;
  }
}

std::string context(const ProtocolInfo& info) { return "multiaddr /" + std::string(info.name); }

Status validate_peer_id(ByteView mh, const ProtocolInfo& info) {
  auto id = crypto::PeerId::from_bytes(mh);
  if (!id) return Error::invalid(context(info) + ": " + id.error().message);
  return {};
}

Status validate_dns_name(ByteView name, const ProtocolInfo& info) {
  if (name.empty()) return Error::invalid(context(info) + ": empty name");
  if (name.size() > kMaxDnsNameSize) {
    return Error::invalid(context(info) + ": name longer than " + std::to_string(kMaxDnsNameSize) +
                          " bytes");
  }
  // Names travel as ASCII (IDNs in their punycode form); '/' would break
  // the text form, and controls or spaces have no place in a host name.
  for (std::uint8_t c : name) {
    if (c <= 0x20 || c >= 0x7f || c == '/') {
      return Error::invalid(context(info) +
                            ": name holds a character that is not printable "
                            "ASCII or is '/'");
    }
  }
  return {};
}

Status validate_value(const ProtocolInfo& info, ByteView value) {
  switch (info.kind) {
    case ValueKind::kNone:
    case ValueKind::kIp4:
    case ValueKind::kIp6:
    case ValueKind::kPort:
      if (value.size() != fixed_size(info.kind)) {
        return Error::invalid(context(info) + ": value must be " +
                              std::to_string(fixed_size(info.kind)) + " bytes, got " +
                              std::to_string(value.size()));
      }
      return {};
    case ValueKind::kDnsName:
      return validate_dns_name(value, info);
    case ValueKind::kPeerId:
      return validate_peer_id(value, info);
  }
  return Error::internal("multiaddr: unhandled value kind");
}

Result<Bytes> parse_ip(const ProtocolInfo& info, std::string_view text) {
  const bool v6 = info.kind == ValueKind::kIp6;
  if (text.size() > kMaxIpTextSize) return Error::invalid(context(info) + ": address too long");
  char buf[kMaxIpTextSize + 1];
  std::memcpy(buf, text.data(), text.size());
  buf[text.size()] = '\0';
  Bytes out(v6 ? 16 : 4);
  if (inet_pton(v6 ? AF_INET6 : AF_INET, buf, out.data()) != 1) {
    return Error::invalid(context(info) + ": '" + std::string(text) + "' is not a valid " +
                          (v6 ? "IPv6" : "IPv4") + " address");
  }
  return out;
}

Result<Bytes> parse_port(const ProtocolInfo& info, std::string_view text) {
  const auto bad = [&] {
    return Error::invalid(context(info) + ": '" + std::string(text) +
                          "' is not a port (a decimal number 0-65535 without leading zeros)");
  };
  if (text.empty() || text.size() > 5) return bad();
  if (text.size() > 1 && text[0] == '0') return bad();
  std::uint32_t port = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), port);
  if (ec != std::errc() || end != text.data() + text.size() || port > 65535) return bad();
  return Bytes{static_cast<std::uint8_t>(port >> 8), static_cast<std::uint8_t>(port & 0xff)};
}

Result<Bytes> parse_peer_id(const ProtocolInfo& info, std::string_view text) {
  // PeerId::parse reads both the base58btc multihash and the CIDv1 forms.
  auto id = crypto::PeerId::parse(text);
  if (!id) return Error::invalid(context(info) + ": " + id.error().message);
  return id->bytes();
}

Result<Bytes> parse_value(const ProtocolInfo& info, std::string_view text) {
  switch (info.kind) {
    case ValueKind::kIp4:
    case ValueKind::kIp6:
      return parse_ip(info, text);
    case ValueKind::kPort:
      return parse_port(info, text);
    case ValueKind::kDnsName: {
      Bytes name(text.begin(), text.end());
      SOMA_TRY(validate_dns_name(name, info));
      return name;
    }
    case ValueKind::kPeerId:
      return parse_peer_id(info, text);
    case ValueKind::kNone:
      return Bytes{};
  }
  return Error::internal("multiaddr: unhandled value kind");
}

// Both helpers take components that passed validate_value().
void append_component(Bytes& out, const Component& c) {
  core::varint::append(out, static_cast<std::uint64_t>(c.protocol));
  if (is_variable(kind_of(c.protocol))) core::varint::append(out, c.value.size());
  core::append(out, c.value);
}

std::size_t encoded_size(const Component& c) {
  std::size_t n = core::varint::encoded_size(static_cast<std::uint64_t>(c.protocol));
  if (is_variable(kind_of(c.protocol))) n += core::varint::encoded_size(c.value.size());
  return n + c.value.size();
}

Error too_many_components() {
  return Error::exhausted("multiaddr has more than " + std::to_string(kMaxMultiaddrComponents) +
                          " components");
}

Error too_large() {
  return Error::exhausted("multiaddr is larger than " + std::to_string(kMaxMultiaddrBytes) +
                          " bytes");
}

}  // namespace

std::string_view protocol_name(Protocol protocol) {
  const ProtocolInfo* info = info_of(protocol);
  return info == nullptr ? std::string_view("unknown") : info->name;
}

std::string Component::value_text() const {
  const ProtocolInfo* found = info_of(protocol);
  if (found == nullptr) return {};
  const ProtocolInfo& info = *found;
  switch (info.kind) {
    case ValueKind::kNone:
      return {};
    case ValueKind::kIp4:
    case ValueKind::kIp6: {
      char buf[INET6_ADDRSTRLEN] = {};
      const int family = info.kind == ValueKind::kIp6 ? AF_INET6 : AF_INET;
      if (value.size() != fixed_size(info.kind) ||
          inet_ntop(family, value.data(), buf, sizeof(buf)) == nullptr) {
        return {};
      }
      return buf;
    }
    case ValueKind::kPort:
      if (value.size() != 2) return {};
      return std::to_string((static_cast<unsigned>(value[0]) << 8) | value[1]);
    case ValueKind::kDnsName:
      return std::string(core::as_chars(value));
    case ValueKind::kPeerId: {
      auto id = crypto::PeerId::from_bytes(value);
      return id ? id->to_string() : std::string();
    }
  }
  return {};
}

Multiaddr::Multiaddr(std::vector<Component> components) : components_(std::move(components)) {
  std::size_t size = 0;
  for (const auto& c : components_) size += encoded_size(c);
  bytes_.reserve(size);
  for (const auto& c : components_) append_component(bytes_, c);
}

Result<Multiaddr> Multiaddr::parse(std::string_view text) {
  if (text.size() > kMaxMultiaddrTextSize) {
    return Error::exhausted("multiaddr text is longer than " +
                            std::to_string(kMaxMultiaddrTextSize) + " characters");
  }
  if (text.empty() || text[0] != '/') {
    return Error::invalid("multiaddr text must start with '/' (e.g. /ip4/127.0.0.1/tcp/4001)");
  }
  text.remove_prefix(1);
  // One trailing '/' is tolerated, as other libp2p implementations do.
  if (!text.empty() && text.back() == '/') text.remove_suffix(1);
  if (text.empty()) return Error::invalid("multiaddr text names no protocol");

  std::vector<Component> components;
  std::size_t total = 0;
  auto next_token = [&text]() {
    auto slash = text.find('/');
    std::string_view token = text.substr(0, slash);
    text = slash == std::string_view::npos ? std::string_view() : text.substr(slash + 1);
    return token;
  };
  bool more = true;
  while (more) {
    more = text.find('/') != std::string_view::npos;
    std::string_view name = next_token();
    if (name.empty()) return Error::invalid("multiaddr text has an empty component ('//')");
    const ProtocolInfo* info = find_by_name(name);
    if (info == nullptr) {
      return Error::invalid("multiaddr: unknown protocol '" + std::string(name) + "'");
    }
    Component c{info->protocol, {}};
    if (info->kind != ValueKind::kNone) {
      if (!more) return Error::invalid(context(*info) + ": missing value");
      more = text.find('/') != std::string_view::npos;
      std::string_view value = next_token();
      if (value.empty()) return Error::invalid(context(*info) + ": empty value");
      auto parsed = parse_value(*info, value);
      if (!parsed) return parsed.take_error();
      c.value = std::move(*parsed);
    }
    if (components.size() == kMaxMultiaddrComponents) return too_many_components();
    total += encoded_size(c);
    if (total > kMaxMultiaddrBytes) return too_large();
    components.push_back(std::move(c));
  }
  return Multiaddr(std::move(components));
}

Result<Multiaddr> Multiaddr::from_bytes(ByteView bytes) {
  if (bytes.empty()) return Error::invalid("multiaddr bytes are empty");
  if (bytes.size() > kMaxMultiaddrBytes) return too_large();
  std::vector<Component> components;
  while (!bytes.empty()) {
    auto code = core::varint::decode(bytes);
    if (!code) return Error::invalid("multiaddr protocol code: " + code.error().message);
    const ProtocolInfo* info = find_by_code(code->value);
    if (info == nullptr) {
      return Error::invalid("multiaddr: unknown protocol code " + std::to_string(code->value));
    }
    bytes = bytes.subspan(code->size);
    std::size_t size = fixed_size(info->kind);
    if (is_variable(info->kind)) {
      auto len = core::varint::decode(bytes);
      if (!len) return Error::invalid(context(*info) + ": value length: " + len.error().message);
      bytes = bytes.subspan(len->size);
      if (len->value > bytes.size()) {
        return Error::invalid(context(*info) + ": value of " + std::to_string(len->value) +
                              " bytes is truncated to " + std::to_string(bytes.size()));
      }
      size = static_cast<std::size_t>(len->value);
    } else if (size > bytes.size()) {
      return Error::invalid(context(*info) + ": value is truncated");
    }
    ByteView value = bytes.first(size);
    SOMA_TRY(validate_value(*info, value));
    if (components.size() == kMaxMultiaddrComponents) return too_many_components();
    components.push_back(Component{info->protocol, Bytes(value.begin(), value.end())});
    bytes = bytes.subspan(size);
  }
  return Multiaddr(std::move(components));
}

Result<Multiaddr> Multiaddr::from_components(std::vector<Component> components) {
  if (components.size() > kMaxMultiaddrComponents) return too_many_components();
  std::size_t total = 0;
  for (const auto& c : components) {
    const ProtocolInfo* info = find_by_code(static_cast<std::uint64_t>(c.protocol));
    if (info == nullptr) {
      return Error::invalid("multiaddr: unknown protocol code " +
                            std::to_string(static_cast<std::uint64_t>(c.protocol)));
    }
    SOMA_TRY(validate_value(*info, c.value));
    total += encoded_size(c);
  }
  if (total > kMaxMultiaddrBytes) return too_large();
  return Multiaddr(std::move(components));
}

std::string Multiaddr::to_string() const {
  std::string out;
  for (const auto& c : components_) {
    out += '/';
    out += protocol_name(c.protocol);
    if (kind_of(c.protocol) != ValueKind::kNone) {
      out += '/';
      out += c.value_text();
    }
  }
  return out;
}

Result<Multiaddr> Multiaddr::encapsulate(const Multiaddr& inner) const {
  if (components_.size() + inner.components_.size() > kMaxMultiaddrComponents) {
    return too_many_components();
  }
  if (bytes_.size() + inner.bytes_.size() > kMaxMultiaddrBytes) return too_large();
  std::vector<Component> all = components_;
  all.insert(all.end(), inner.components_.begin(), inner.components_.end());
  return Multiaddr(std::move(all));
}

Multiaddr Multiaddr::decapsulate(Protocol protocol) const {
  for (std::size_t i = components_.size(); i > 0; --i) {
    if (components_[i - 1].protocol == protocol) {
      return Multiaddr(std::vector<Component>(
          components_.begin(), components_.begin() + static_cast<std::ptrdiff_t>(i - 1)));
    }
  }
  return *this;
}

Multiaddr Multiaddr::decapsulate(const Multiaddr& suffix) const {
  const auto& s = suffix.components_;
  if (s.empty() || s.size() > components_.size()) return *this;
  for (std::size_t start = components_.size() - s.size() + 1; start > 0; --start) {
    const std::size_t at = start - 1;
    if (std::equal(s.begin(), s.end(), components_.begin() + static_cast<std::ptrdiff_t>(at))) {
      return Multiaddr(std::vector<Component>(
          components_.begin(), components_.begin() + static_cast<std::ptrdiff_t>(at)));
    }
  }
  return *this;
}

std::optional<crypto::PeerId> Multiaddr::peer_id() const {
  for (auto it = components_.rbegin(); it != components_.rend(); ++it) {
    // Validated on the way in, so from_bytes cannot fail here.
    if (it->protocol == Protocol::kP2p) {
      auto id = crypto::PeerId::from_bytes(it->value);
      if (id) return std::move(*id);
    }
  }
  return std::nullopt;
}

}  // namespace soma::p2p
