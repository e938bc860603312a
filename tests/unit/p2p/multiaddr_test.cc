#include "p2p/multiaddr/multiaddr.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/base_encoding.h"

namespace soma::p2p {
namespace {

using core::Bytes;

// The Ed25519 public key of the peer-ids spec's test vector, and the
// PeerId it yields (identity multihash, base58btc).
constexpr std::string_view kSpecPeerId = "12D3KooWBtg3aaRMjxwedh83aGiUkwSxDwUZkzuJcfaqUmo7R3pq";
constexpr std::string_view kSpecPublicKeyHex =
    "080112201ed1e8fae2c4a144b8be8fd4b47bf3d3b34b871c3cacf6010f0e42d474fce27e";
constexpr std::string_view kShaPeerId = "QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5N";
constexpr std::string_view kShaPeerIdCid =
    "bafzbeie5745rpv2m6tjyuugywy4d5ewrqgqqhfnf445he3omzpjbx5xqxe";

Bytes hex(std::string_view h) { return core::hex_decode(h).value(); }

Multiaddr must_parse(std::string_view text) {
  auto m = Multiaddr::parse(text);
  EXPECT_TRUE(m.ok()) << text << ": " << (m.ok() ? "" : m.error().message);
  return m.ok() ? *m : Multiaddr();
}

TEST(Multiaddr, encodes_the_spec_example_ip4_tcp) {
  auto m = must_parse("/ip4/127.0.0.1/tcp/4001");
  EXPECT_EQ(m.bytes(), hex("047f000001060fa1"));
  auto back = Multiaddr::from_bytes(hex("047f000001060fa1"));
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(back->to_string(), "/ip4/127.0.0.1/tcp/4001");
  ASSERT_EQ(back->components().size(), 2u);
  EXPECT_EQ(back->components()[0].protocol, Protocol::kIp4);
  EXPECT_EQ(back->components()[0].value_text(), "127.0.0.1");
  EXPECT_EQ(back->components()[1].protocol, Protocol::kTcp);
  EXPECT_EQ(back->components()[1].value_text(), "4001");
}

TEST(Multiaddr, encodes_the_spec_example_ip4_udp) {
  auto m = must_parse("/ip4/127.0.0.1/udp/1234");
  EXPECT_EQ(m.bytes(), hex("047f0000019102"
                           "04d2"));
}

TEST(Multiaddr, uses_the_table_codes_for_every_protocol) {
  EXPECT_EQ(must_parse("/ip6/::1").bytes()[0], 0x29);
  EXPECT_EQ(must_parse("/dns/a").bytes(), hex("350161"));
  EXPECT_EQ(must_parse("/dns4/a").bytes(), hex("360161"));
  EXPECT_EQ(must_parse("/dns6/a").bytes(), hex("370161"));
  EXPECT_EQ(must_parse("/dnsaddr/a").bytes(), hex("380161"));
  EXPECT_EQ(must_parse("/p2p-circuit").bytes(), hex("a202"));  // 0x0122
  EXPECT_EQ(must_parse("/quic-v1").bytes(), hex("cd03"));      // 0x01cd
  EXPECT_EQ(must_parse("/ws").bytes(), hex("dd03"));           // 0x01dd
  EXPECT_EQ(must_parse("/wss").bytes(), hex("de03"));          // 0x01de
  EXPECT_EQ(must_parse("/ip4/0.0.0.0/udp/0").bytes(), hex("0400000000"
                                                          "9102"
                                                          "0000"));
  auto p2p = must_parse(std::string("/p2p/") + std::string(kSpecPeerId)).bytes();
  ASSERT_GE(p2p.size(), 3u);
  EXPECT_EQ(p2p[0], 0xa5);  // 0x01a5
  EXPECT_EQ(p2p[1], 0x03);
  EXPECT_EQ(p2p[2], 38);  // identity multihash: 0x00, 0x24, 36 key bytes
}

TEST(Multiaddr, prints_ip6_as_inet_ntop_does) {
  auto m = must_parse("/ip6/2001:0db8:0000:0000:0000:0000:0000:0001/tcp/443");
  EXPECT_EQ(m.to_string(), "/ip6/2001:db8::1/tcp/443");
  EXPECT_EQ(m.bytes(), hex("2920010db8000000000000000000000001"
                           "0601bb"));
  EXPECT_EQ(must_parse("/ip6/::ffff:1.2.3.4/udp/9/quic-v1").to_string(),
            "/ip6/::ffff:1.2.3.4/udp/9/quic-v1");
}

TEST(Multiaddr, round_trips_dns_and_websocket_addresses) {
  for (std::string_view text : {
           "/dns4/relay.example.com/tcp/443/wss",
           "/dns6/example.org/tcp/80/ws",
           "/dns/localhost/udp/4001/quic-v1",
           "/dnsaddr/bootstrap.libp2p.io",
       }) {
    auto m = must_parse(text);
    EXPECT_EQ(m.to_string(), text);
    auto back = Multiaddr::from_bytes(m.bytes());
    ASSERT_TRUE(back.ok()) << back.error().message;
    EXPECT_EQ(*back, m);
    EXPECT_EQ(back->to_string(), text);
  }
}

TEST(Multiaddr, parses_a_peer_id_and_derives_it_from_the_public_key) {
  auto m = must_parse(std::string("/ip4/1.2.3.4/tcp/4001/p2p/") + std::string(kSpecPeerId));
  auto id = m.peer_id();
  ASSERT_TRUE(id.has_value());
  Bytes expected{0x00, 0x24};
  core::append(expected, hex(kSpecPublicKeyHex));
  EXPECT_EQ(id->bytes(), expected);
  EXPECT_EQ(id->to_string(), kSpecPeerId);
  EXPECT_EQ(m.to_string(), std::string("/ip4/1.2.3.4/tcp/4001/p2p/") + std::string(kSpecPeerId));
}

TEST(Multiaddr, accepts_a_cid_peer_id_and_prints_base58) {
  auto m = must_parse(std::string("/p2p/") + std::string(kShaPeerIdCid));
  EXPECT_EQ(m.to_string(), std::string("/p2p/") + std::string(kShaPeerId));
  EXPECT_EQ(m, must_parse(std::string("/p2p/") + std::string(kShaPeerId)));
}

TEST(Multiaddr, reads_ipfs_as_p2p) {
  auto m = must_parse(std::string("/ipfs/") + std::string(kShaPeerId));
  EXPECT_EQ(m.to_string(), std::string("/p2p/") + std::string(kShaPeerId));
}

TEST(Multiaddr, finds_the_target_peer_of_a_relayed_address) {
  const std::string relay(kShaPeerId);
  const std::string target(kSpecPeerId);
  auto m = must_parse("/ip4/10.0.0.1/tcp/4001/p2p/" + relay + "/p2p-circuit/p2p/" + target);
  EXPECT_EQ(m.components().size(), 5u);
  ASSERT_TRUE(m.peer_id().has_value());
  EXPECT_EQ(m.peer_id()->to_string(), target);
  EXPECT_EQ(m.components()[3].protocol, Protocol::kP2pCircuit);
  EXPECT_EQ(m.components()[3].value_text(), "");

  auto relay_addr = m.decapsulate(Protocol::kP2pCircuit);
  EXPECT_EQ(relay_addr.to_string(), "/ip4/10.0.0.1/tcp/4001/p2p/" + relay);
  EXPECT_EQ(relay_addr.peer_id()->to_string(), relay);
  EXPECT_FALSE(must_parse("/ip4/1.2.3.4/tcp/1").peer_id().has_value());
}

TEST(Multiaddr, encapsulates_and_decapsulates) {
  auto base = must_parse("/ip4/1.2.3.4/tcp/80");
  auto ws = must_parse("/ws");
  auto full = base.encapsulate(ws);
  ASSERT_TRUE(full.ok());
  EXPECT_EQ(full->to_string(), "/ip4/1.2.3.4/tcp/80/ws");
  EXPECT_EQ(full->decapsulate(ws), base);
  EXPECT_EQ(full->decapsulate(must_parse("/tcp/80")).to_string(), "/ip4/1.2.3.4");
  EXPECT_EQ(full->decapsulate(must_parse("/tcp/81")), *full);
  EXPECT_EQ(full->decapsulate(Protocol::kUdp), *full);
  EXPECT_TRUE(full->decapsulate(Protocol::kIp4).empty());
  // The last occurrence is removed, not the first.
  auto twice = must_parse("/dns4/a/tcp/1/dns4/b/tcp/2");
  EXPECT_EQ(twice.decapsulate(Protocol::kDns4).to_string(), "/dns4/a/tcp/1");
}

TEST(Multiaddr, refuses_encapsulation_beyond_the_component_limit) {
  auto one = must_parse("/ws");
  Multiaddr acc = one;
  for (std::size_t i = 1; i < kMaxMultiaddrComponents; ++i) acc = *acc.encapsulate(one);
  EXPECT_EQ(acc.components().size(), kMaxMultiaddrComponents);
  auto over = acc.encapsulate(one);
  ASSERT_FALSE(over.ok());
  EXPECT_EQ(over.error().code, core::ErrorCode::kResourceExhausted);
}

TEST(Multiaddr, builds_from_validated_components) {
  auto m = Multiaddr::from_components({{Protocol::kIp4, {10, 0, 0, 1}}, {Protocol::kTcp, {0, 80}}});
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->to_string(), "/ip4/10.0.0.1/tcp/80");
  EXPECT_FALSE(Multiaddr::from_components({{Protocol::kIp4, {10, 0, 0}}}).ok());
  EXPECT_FALSE(Multiaddr::from_components({{Protocol::kWs, {1}}}).ok());
  EXPECT_FALSE(Multiaddr::from_components({{static_cast<Protocol>(0x99), {}}}).ok());
}

TEST(Multiaddr, tolerates_one_trailing_slash) {
  EXPECT_EQ(must_parse("/ip4/1.2.3.4/tcp/5/").to_string(), "/ip4/1.2.3.4/tcp/5");
}

TEST(Multiaddr, rejects_malformed_text) {
  const std::vector<std::string> bad = {
      "",
      "/",
      "//",
      "ip4/1.2.3.4",
      "/ip4",
      "/ip4/",
      "/ip4//tcp/1",
      "/ip4/1.2.3.4//tcp/1",
      "/ip4/1.2.3.4/tcp/1//",
      "/ip4/256.0.0.1",
      "/ip4/1.2.3",
      "/ip4/01.2.3.4",
      "/ip4/1.2.3.4.5",
      "/ip4/::1",
      "/ip6/1.2.3.4",
      "/ip6/::1%eth0",
      "/ip6/:::1",
      "/tcp/65536",
      "/tcp/-1",
      "/tcp/+1",
      "/tcp/080",
      "/tcp/1x",
      "/tcp/999999",
      "/udp",
      "/tcp/1/2",
      "/foo/1",
      "/ip4/1.2.3.4/bar",
      "/ws/1",
      "/p2p/notapeerid",
      "/p2p/QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5",  // truncated digest
      "/p2p/12D3KooW",
      "/p2p/bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi",  // dag-pb CID
      "/p2p/b!!!",
      "/dns4/has space",
      "/dns4/" + std::string(kMaxDnsNameSize + 1, 'a'),
      std::string("/ip4/1.2.3.4/tcp/1") + std::string(kMaxMultiaddrTextSize, '/'),
  };
  for (const auto& text : bad) {
    auto m = Multiaddr::parse(text);
    EXPECT_FALSE(m.ok()) << "accepted: " << text << " as " << (m.ok() ? m->to_string() : "");
    if (!m.ok()) {
      EXPECT_FALSE(m.error().message.empty());
    }
  }
}

TEST(Multiaddr, names_the_problem_in_its_errors) {
  auto unknown = Multiaddr::parse("/ip4/1.2.3.4/sctp/5");
  ASSERT_FALSE(unknown.ok());
  EXPECT_NE(unknown.error().message.find("unknown protocol 'sctp'"), std::string::npos);
  auto port = Multiaddr::parse("/tcp/70000");
  ASSERT_FALSE(port.ok());
  EXPECT_NE(port.error().message.find("/tcp"), std::string::npos);
  EXPECT_NE(port.error().message.find("70000"), std::string::npos);
  auto missing = Multiaddr::parse("/ip4/1.2.3.4/tcp");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message.find("missing value"), std::string::npos);
}

TEST(Multiaddr, refuses_too_many_components) {
  std::string text;
  for (std::size_t i = 0; i <= kMaxMultiaddrComponents; ++i) text += "/ws";
  auto m = Multiaddr::parse(text);
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.error().code, core::ErrorCode::kResourceExhausted);

  Bytes bytes;
  for (std::size_t i = 0; i <= kMaxMultiaddrComponents; ++i) core::append(bytes, hex("dd03"));
  auto b = Multiaddr::from_bytes(bytes);
  ASSERT_FALSE(b.ok());
  EXPECT_EQ(b.error().code, core::ErrorCode::kResourceExhausted);
}

TEST(Multiaddr, rejects_malformed_bytes) {
  const std::vector<std::string> bad = {
      "",                        // empty
      "04",                      // ip4 without its value
      "047f0000",                // ip4 truncated
      "047f000001",              // fine so far ...
      "047f00000106",            // ... then tcp truncated
      "047f000001060fa1ff",      // trailing byte (an unterminated varint)
      "047f000001060fa100",      // trailing code 0 (unknown protocol)
      "8080808080808080808001",  // code varint too long
      "8100",                    // non-minimal varint
      "99",                      // truncated varint
      "0f",                      // unknown code
      "35",                      // dns without length
      "3505616263",              // dns length past the end
      "3500",                    // empty dns name
      "350361202f",              // dns name with space and '/'
      "a50300",                  // empty PeerId
      "a503020024",              // identity multihash with wrong length
      "a503031220aa",            // sha2-256 multihash with 1 digest byte
      "a50303130100",            // unknown multihash code
      "a503808001",              // PeerId length far beyond the input
  };
  for (const auto& h : bad) {
    auto bytes = hex(h);
    auto m = Multiaddr::from_bytes(bytes);
    if (h == "047f000001") {
      EXPECT_TRUE(m.ok());
      continue;
    }
    EXPECT_FALSE(m.ok()) << "accepted: " << h;
  }
}

TEST(Multiaddr, rejects_oversized_bytes_before_parsing) {
  Bytes big(kMaxMultiaddrBytes + 1, 0xdd);
  auto m = Multiaddr::from_bytes(big);
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.error().code, core::ErrorCode::kResourceExhausted);
}

TEST(Multiaddr, survives_every_truncation_of_a_valid_address) {
  auto full = must_parse("/dns4/relay.example.com/tcp/443/wss/p2p/" + std::string(kShaPeerId) +
                         "/p2p-circuit/p2p/" + std::string(kSpecPeerId));
  const Bytes& b = full.bytes();
  std::size_t accepted = 0;
  for (std::size_t n = 0; n < b.size(); ++n) {
    auto m = Multiaddr::from_bytes(core::ByteView(b).first(n));
    if (m.ok()) {
      ++accepted;
      // A prefix that parses ends exactly on a component boundary.
      EXPECT_EQ(Multiaddr::from_bytes(m->bytes())->to_string(), m->to_string());
    }
  }
  // Component boundaries: after dns4, tcp, wss, p2p, p2p-circuit.
  EXPECT_EQ(accepted, 5u);
  EXPECT_TRUE(Multiaddr::from_bytes(b).ok());
}

}  // namespace
}  // namespace soma::p2p
