#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/base_encoding.h"
#include "crypto/keys.h"
#include "crypto/random.h"
#include "p2p/noise/handshake.h"
#include "p2p/noise/handshake_state.h"
#include "p2p/noise/payload.h"
#include "p2p/noise/session.h"
#include "p2p/noise/verified_static_keys.h"

namespace soma::p2p::noise {
namespace {

using core::Bytes;
using core::ByteView;
using core::ErrorCode;

Bytes hex(std::string_view h) { return core::hex_decode(h).value(); }

crypto::X25519KeyPair x25519(std::string_view private_hex) {
  return crypto::X25519KeyPair::from_private(hex(private_hex)).value();
}

// --- The Noise core against published vectors ---

struct Vector {
  const char* prologue;
  const char* init_static;
  const char* init_ephemeral;
  const char* resp_static;
  const char* resp_ephemeral;
  const char* handshake_hash;                                 // empty when the vector has none
  std::vector<std::pair<const char*, const char*>> messages;  // payload, ciphertext
};

// Noise_XX_25519_ChaChaPoly_SHA256 entries of the published Noise test
// vectors (the cacophony and snow suites).
const std::vector<Vector>& vectors() {
  static const std::vector<Vector> v = {
      {"4a6f686e2047616c74",
       "e61ef9919cde45dd5f82166404bd08e38bceb5dfdfded0a34c8df7ed542214d1",
       "893e28b9dc6ca8d611ab664754b8ceb7bac5117349a4439a6b0569da977c464a",
       "4a3acbfdb163dec651dfa3194dece676d437029c62a408b4c5ea9114246e4893",
       "bbdb4cdbd309f1a1f2e1456967fe288cadd6f712d65dc7b7793d5e63da6b375b",
       "c8e5f64e846193be2a834104c2a009868d6c9f3bd3c186299888b488b2f1f58e",
       {
           {"4c756477696720766f6e204d69736573",
            "ca35def5ae56cec33dc2036731ab14896bc4c75dbb07a61f879f8e3afa4c79444c756477696720766f6e"
            "204d69736573"},
           {"4d757272617920526f746862617264",
            "95ebc60d2b1fa672c1f46a8aa265ef51bfe38e7ccb39ec5be34069f14480884381cbad1f276e038c4837"
            "8ffce2b65285e08d6b68aaa3629a5a8639392490e5b9bd5269c2f1e4f488ed8831161f19b7815528f898"
            "2ffe09be9b5c412f8a0db50f8814c7194e83f23dbd8d162c9326ad"},
           {"462e20412e20486179656b",
            "c7195ffacac1307ff99046f219750fc47693e23c3cb08b89c2af808b444850a80ae475b9df0f169ae80a"
            "89be0865b57f58c9fea0d4ec82a286427402f113e4b6ae769a1d95941d49b25030"},
           {"4361726c204d656e676572", "96763ed773f8e47bb3712f0e29b3060ffc956ffc146cee53d5e1df"},
           {"4a65616e2d426170746973746520536179",
            "3e40f15f6f3a46ae446b253bf8b1d9ffb6ed9b174d272328ff91a7e2e5c79c07f5"},
           {"457567656e2042f6686d20766f6e2042617765726b",
            "eb3f3515110702e047a6c9da4478b6ead94873c11c0f2d710ddb3f09fce024b3a58502ae3f"},
       }},
      {"5468657265206973206e6f20726967687420616e642077726f6e672e2054686572652773206f6e6c792066"
       "756e20616e6420626f72696e672e",
       "7dec208517a3b81a2861d7a71266d5d6dc944c5a8816634a86fe63198a0148ee",
       "a32daf21e93c0131495ce1d903181fde81cc46937daaeb990bae7c992709421e",
       "4d0aed5098e3b4ef20357e9f686ce66204c792b358da2e475017d6c485304881",
       "4eece0f195d026db035ff987597c429d3ad3bcc2944df37d649528951b2a27c5",
       "",
       {
           {"d03c489139e645d0711a3c9e810d776b46a84912463fafa87b884eebf242dc34",
            "f9fa868ba97ab8a2686deccfaad5a484ee10a5bb85e3d1dce015a84797f92818d03c489139e645d0711a"
            "3c9e810d776b46a84912463fafa87b884eebf242dc34"},
           {"d8190a92f7dc0c93dbea9118ba8055751fb7c6590c416ffbd419964132b99a85",
            "8c4e6fdb7d09d501a86f7eca5c234522751706ed409182c05cdf5f827d4dae47b81c6c5f43b025692c24"
            "391eefee725c17d8cb0fbe3e4abb8aedf42c4fd2592d4ea48ac08989d6ae8b4adae08b2c34087c808c7a"
            "a55a63c02b0fab9e930612336bd43eaea04d3c670a0a146691aa9cc9d357872320dc735dbc48580cffb5"
            "53db"},
           {"77891b19dcb92ef7c055b672c4a5aa7fdf1c84146b8b303459022729473ce254",
            "933ca6b5ed60df3df66121f0ab49a09e49efa45c613a86a3cecbf4c535cef2f83f72b42837b18e3572f2"
            "fdc2b74c331e2368a545cef54bdca081678ab0e9dd5348122459e0c034c851984d88ce610963d43cde6c"
            "fe73a67fbd5a63e8bfca96d0"},
           {"d7efdf988072881941db045a42882433817555128fbf5663e56081712ec7d212",
            "54ef0ff0629e1aaa7685a2806ab111cba76b52331f2642276736f415868eacb69ab2577f3bda0cbf72f8"
            "79685f6ed25f"},
           {"dd7bf01a588bafb52c6cfba952e5d8fe35cc2b3f92b4730ae2474615157345ce",
            "356be70f110306d5c699bb834bb9d58d909e325924dfbec972e406e6f294dc63e1daebefe8a62a334fac"
            "c8048ab4ad66"},
       }},
  };
  return v;
}

TEST(NoiseCore, reproduces_the_published_xx_vectors_byte_for_byte) {
  for (const auto& v : vectors()) {
    HandshakeState init(Role::kInitiator, x25519(v.init_static), x25519(v.init_ephemeral),
                        hex(v.prologue));
    HandshakeState resp(Role::kResponder, x25519(v.resp_static), x25519(v.resp_ephemeral),
                        hex(v.prologue));
    for (std::size_t i = 0; i < 3; ++i) {
      auto& sender = i % 2 == 0 ? init : resp;
      auto& receiver = i % 2 == 0 ? resp : init;
      ASSERT_TRUE(sender.is_my_turn());
      auto written = sender.write_message(hex(v.messages[i].first));
      ASSERT_TRUE(written.ok()) << written.error().message;
      EXPECT_EQ(core::hex_encode(*written), v.messages[i].second) << "message " << i;
      auto payload = receiver.read_message(*written);
      ASSERT_TRUE(payload.ok()) << payload.error().message;
      EXPECT_EQ(core::hex_encode(*payload), v.messages[i].first);
    }
    ASSERT_TRUE(init.is_complete() && resp.is_complete());
    EXPECT_EQ(init.handshake_hash(), resp.handshake_hash());
    if (std::string_view(v.handshake_hash).size() > 0) {
      EXPECT_EQ(core::hex_encode(init.handshake_hash()), v.handshake_hash);
    }
    EXPECT_EQ(*init.remote_static(), x25519(v.resp_static).public_key());
    EXPECT_EQ(*resp.remote_static(), x25519(v.init_static).public_key());

    auto ic = init.split();
    auto rc = resp.split();
    ASSERT_TRUE(ic.ok() && rc.ok());
    for (std::size_t i = 3; i < v.messages.size(); ++i) {
      auto& send = i % 2 == 0 ? ic->send : rc->send;
      auto& recv = i % 2 == 0 ? rc->recv : ic->recv;
      auto sealed = send.encrypt_with_ad({}, hex(v.messages[i].first));
      ASSERT_TRUE(sealed.ok());
      EXPECT_EQ(core::hex_encode(*sealed), v.messages[i].second) << "transport " << i;
      auto opened = recv.decrypt_with_ad({}, *sealed);
      ASSERT_TRUE(opened.ok());
      EXPECT_EQ(core::hex_encode(*opened), v.messages[i].first);
    }
  }
}

TEST(NoiseCore, refuses_out_of_turn_calls_and_stays_failed_after_an_error) {
  HandshakeState init(Role::kInitiator, crypto::X25519KeyPair::generate(),
                      crypto::X25519KeyPair::generate(), {});
  HandshakeState resp(Role::kResponder, crypto::X25519KeyPair::generate(),
                      crypto::X25519KeyPair::generate(), {});
  EXPECT_EQ(resp.write_message({}).error().code, ErrorCode::kFailedPrecondition);
  EXPECT_EQ(init.read_message(Bytes(32)).error().code, ErrorCode::kFailedPrecondition);
  EXPECT_FALSE(init.split().ok());

  auto m1 = init.write_message({});
  ASSERT_TRUE(m1.ok());
  ASSERT_TRUE(resp.read_message(*m1).ok());
  auto m2 = resp.write_message({});
  ASSERT_TRUE(m2.ok());
  Bytes bad = *m2;
  bad[40] ^= 1;  // inside the encrypted static key
  auto r = init.read_message(bad);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kDataLoss);
  EXPECT_FALSE(init.remote_static().has_value());
  // The genuine message cannot revive a failed handshake.
  EXPECT_EQ(init.read_message(*m2).error().code, ErrorCode::kFailedPrecondition);
}

TEST(NoiseCore, refuses_a_small_order_ephemeral_key) {
  HandshakeState resp(Role::kResponder, crypto::X25519KeyPair::generate(),
                      crypto::X25519KeyPair::generate(), {});
  ASSERT_TRUE(resp.read_message(Bytes(32, 0)).ok());  // e is only hashed here
  auto m2 = resp.write_message({});                   // ee uses it: all-zero secret
  ASSERT_FALSE(m2.ok());
  EXPECT_EQ(m2.error().code, ErrorCode::kInvalidArgument);
}

// --- The handshake payload ---

TEST(NoisePayload, round_trips_and_tolerates_unknown_fields) {
  HandshakePayload p{Bytes{1, 2, 3}, Bytes(64, 7), Bytes{0x12, 0x01, 'x'}};
  Bytes wire = encode_payload(p);
  EXPECT_EQ(core::hex_encode(ByteView(wire).first(5)), "0a03010203");
  // Unknown fields of every wire type, before and after the known ones.
  Bytes with_unknown =
      hex("18ffffffffffffffffff01"
          "1d01020304"
          "19"
          "0102030405060708");
  core::append(with_unknown, wire);
  core::append(with_unknown, hex("2a0161"));  // field 5, bytes
  auto d = decode_payload(with_unknown);
  ASSERT_TRUE(d.ok()) << d.error().message;
  EXPECT_EQ(d->identity_key, p.identity_key);
  EXPECT_EQ(d->identity_sig, p.identity_sig);
  ASSERT_TRUE(d->extensions.has_value());
  EXPECT_EQ(*d->extensions, *p.extensions);
}

TEST(NoisePayload, rejects_malformed_payloads) {
  const std::vector<std::string> bad = {
      "",                                    // both fields missing
      "0a0101",                              // no signature
      "120101",                              // no key
      "0a01010a0101120101",                  // key twice
      "0a0101120101120101",                  // signature twice
      "080112010a",                          // field 1 as a varint
      "0a05010203",                          // key truncated
      "0a01011201010b",                      // a group
      "0a01011201010e",                      // wire type 6
      "0a010112010100",                      // field number 0
      "0a010112010118",                      // unknown varint field truncated
      "0a010112010118ffffffffffffffffff7f",  // varint beyond 64 bits
      "0a01011201012aff",                    // length varint truncated
      "0a01011201012a05",                    // unknown field's bytes past the end
  };
  for (const auto& h : bad) {
    auto d = decode_payload(hex(h));
    EXPECT_FALSE(d.ok()) << "accepted " << h;
    if (!d.ok()) {
      EXPECT_EQ(d.error().code, ErrorCode::kInvalidArgument);
    }
  }
}

// --- The libp2p handshake ---

// The peer-ids spec's Ed25519 private key and the PeerId it yields.
constexpr std::string_view kSpecPrivateKey =
    "080112407e0830617c4a7de83925dfb2694556b12936c477a0e1feb2e148ec9da60fee7d1ed1e8fae2c4a144b8b"
    "e8fd4b47bf3d3b34b871c3cacf6010f0e42d474fce27e";
constexpr std::string_view kSpecPeerId = "12D3KooWBtg3aaRMjxwedh83aGiUkwSxDwUZkzuJcfaqUmo7R3pq";

crypto::PeerId peer_of(const crypto::Ed25519PrivateKey& key) {
  return crypto::PeerId::from_public_key(key.public_key());
}

// Delivers each side's output to the other in chunks of `chunk` bytes until
// neither has anything left to say.
void run(Handshake& initiator, Handshake& responder, std::size_t chunk) {
  Bytes to_responder = initiator.start().output;
  Bytes to_initiator = responder.start().output;
  for (int rounds = 0; rounds < 10 && (!to_responder.empty() || !to_initiator.empty()); ++rounds) {
    Bytes next_to_initiator, next_to_responder;
    for (std::size_t off = 0; off < to_responder.size(); off += chunk) {
      auto n = std::min(chunk, to_responder.size() - off);
      core::append(next_to_initiator,
                   responder.feed(ByteView(to_responder).subspan(off, n)).output);
    }
    for (std::size_t off = 0; off < to_initiator.size(); off += chunk) {
      auto n = std::min(chunk, to_initiator.size() - off);
      core::append(next_to_responder,
                   initiator.feed(ByteView(to_initiator).subspan(off, n)).output);
    }
    to_initiator = std::move(next_to_initiator);
    to_responder = std::move(next_to_responder);
  }
}

struct Sessions {
  Session initiator;
  Session responder;
};

Sessions connect(std::size_t chunk = 1 << 16) {
  auto a = crypto::Ed25519PrivateKey::generate();
  auto b = crypto::Ed25519PrivateKey::generate();
  auto initiator = Handshake::initiator(LocalKeys::generate(a), peer_of(b));
  auto responder = Handshake::responder(LocalKeys::generate(b));
  run(initiator, responder, chunk);
  EXPECT_EQ(initiator.status(), HandshakeStatus::kDone) << initiator.error().message;
  EXPECT_EQ(responder.status(), HandshakeStatus::kDone) << responder.error().message;
  return Sessions{std::move(initiator.take_session()).value(),
                  std::move(responder.take_session()).value()};
}

TEST(NoiseHandshake, completes_and_each_side_learns_the_others_peer_id) {
  auto a = crypto::decode_private_key(hex(kSpecPrivateKey)).value();
  auto b = crypto::Ed25519PrivateKey::generate();
  auto initiator = Handshake::initiator(LocalKeys::generate(a));
  auto responder = Handshake::responder(LocalKeys::generate(b));
  run(initiator, responder, 1 << 16);
  ASSERT_EQ(initiator.status(), HandshakeStatus::kDone) << initiator.error().message;
  ASSERT_EQ(responder.status(), HandshakeStatus::kDone) << responder.error().message;
  EXPECT_EQ(responder.remote_peer_id()->to_string(), kSpecPeerId);
  EXPECT_EQ(*initiator.remote_peer_id(), peer_of(b));

  auto si = initiator.take_session();
  auto sr = responder.take_session();
  ASSERT_TRUE(si.ok() && sr.ok());
  EXPECT_EQ(si->remote_peer_id(), peer_of(b));
  EXPECT_EQ(sr->remote_peer_id().to_string(), kSpecPeerId);
  EXPECT_EQ(sr->remote_identity(), a.public_key());
  EXPECT_FALSE(initiator.take_session().ok());  // only once
}

TEST(NoiseHandshake, sends_messages_of_the_expected_shape) {
  auto initiator = Handshake::initiator(LocalKeys::generate(crypto::Ed25519PrivateKey::generate()));
  auto responder = Handshake::responder(LocalKeys::generate(crypto::Ed25519PrivateKey::generate()));
  auto m1 = initiator.start();
  ASSERT_EQ(m1.output.size(), 2u + 32u);  // prefix 0x0020, then e
  EXPECT_EQ(m1.output[0], 0x00);
  EXPECT_EQ(m1.output[1], 0x20);
  EXPECT_TRUE(responder.start().output.empty());
  auto m2 = responder.feed(m1.output);
  ASSERT_EQ(m2.status, HandshakeStatus::kInProgress);
  // e, encrypted s, encrypted payload (36-byte key + 64-byte signature in
  // protobuf framing: 104 bytes) with its tag.
  EXPECT_EQ(m2.output.size(), 2u + 32 + 48 + 104 + 16);
  auto m3 = initiator.feed(m2.output);
  EXPECT_EQ(m3.status, HandshakeStatus::kDone);
  EXPECT_EQ(m3.output.size(), 2u + 48 + 104 + 16);
  EXPECT_EQ(responder.feed(m3.output).status, HandshakeStatus::kDone);
}

TEST(NoiseHandshake, completes_when_fed_byte_by_byte) {
  auto s = connect(1);
  Bytes wire = s.initiator.encrypt(core::as_bytes("hello")).value();
  Bytes plain;
  ASSERT_TRUE(s.responder.decrypt(wire, plain).ok());
  EXPECT_EQ(core::as_chars(plain), "hello");
}

TEST(NoiseHandshake, hands_over_transport_bytes_that_arrive_with_the_last_message) {
  auto a = crypto::Ed25519PrivateKey::generate();
  auto b = crypto::Ed25519PrivateKey::generate();
  auto initiator = Handshake::initiator(LocalKeys::generate(a));
  auto responder = Handshake::responder(LocalKeys::generate(b));
  (void)responder.start();
  auto m2 = responder.feed(initiator.start().output);
  auto m3 = initiator.feed(m2.output);
  ASSERT_EQ(m3.status, HandshakeStatus::kDone);
  auto si = initiator.take_session().value();
  Bytes chunk = m3.output;
  ASSERT_TRUE(si.encrypt(core::as_bytes("early data"), chunk).ok());

  EXPECT_EQ(responder.feed(chunk).status, HandshakeStatus::kDone);
  auto sr = responder.take_session().value();
  Bytes plain;
  ASSERT_TRUE(sr.decrypt(responder.take_leftover(), plain).ok());
  EXPECT_EQ(core::as_chars(plain), "early data");
}

TEST(NoiseHandshake, refuses_a_responder_whose_signature_covers_another_static_key) {
  auto a = crypto::Ed25519PrivateKey::generate();
  auto b = crypto::Ed25519PrivateKey::generate();
  auto used = crypto::X25519KeyPair::generate();
  auto other = crypto::X25519KeyPair::generate();
  LocalKeys lying{b, used, b.sign(static_key_signature_message(other.public_key()))};
  auto initiator = Handshake::initiator(LocalKeys::generate(a));
  auto responder = Handshake::responder(lying);
  (void)responder.start();
  auto m2 = responder.feed(initiator.start().output);
  auto m3 = initiator.feed(m2.output);
  EXPECT_EQ(m3.status, HandshakeStatus::kFailed);
  EXPECT_TRUE(m3.output.empty());  // our identity is never revealed to it
  EXPECT_EQ(initiator.error().code, ErrorCode::kPermissionDenied);
  EXPECT_EQ(initiator.error().message,
            "noise: remote identity signature does not verify over its static key");
  EXPECT_FALSE(initiator.remote_peer_id().has_value());
  EXPECT_FALSE(initiator.take_session().ok());
}

TEST(NoiseHandshake, refuses_an_initiator_whose_signature_covers_another_static_key) {
  auto a = crypto::Ed25519PrivateKey::generate();
  auto other = crypto::X25519KeyPair::generate();
  auto used = crypto::X25519KeyPair::generate();
  LocalKeys lying{a, used, a.sign(static_key_signature_message(other.public_key()))};
  auto initiator = Handshake::initiator(lying);
  auto responder = Handshake::responder(LocalKeys::generate(crypto::Ed25519PrivateKey::generate()));
  (void)responder.start();
  auto m2 = responder.feed(initiator.start().output);
  auto m3 = initiator.feed(m2.output);
  ASSERT_EQ(m3.status, HandshakeStatus::kDone);
  EXPECT_EQ(responder.feed(m3.output).status, HandshakeStatus::kFailed);
  EXPECT_EQ(responder.error().code, ErrorCode::kPermissionDenied);
}

// Runs a handshake against a responder using `keys`; the initiator's error
// when it refuses the responder, or an empty message when both finish.
std::string initiator_verdict(const LocalKeys& keys) {
  auto initiator = Handshake::initiator(LocalKeys::generate(crypto::Ed25519PrivateKey::generate()));
  auto responder = Handshake::responder(keys);
  (void)responder.start();
  auto m2 = responder.feed(initiator.start().output);
  auto m3 = initiator.feed(m2.output);
  if (m3.status == HandshakeStatus::kFailed) return initiator.error().message;
  EXPECT_EQ(responder.feed(m3.output).status, HandshakeStatus::kDone);
  return "";
}

TEST(NoiseHandshake, a_static_key_seen_before_does_not_excuse_a_bad_signature) {
  auto b = crypto::Ed25519PrivateKey::generate();
  auto c = crypto::Ed25519PrivateKey::generate();
  auto used = crypto::X25519KeyPair::generate();
  auto other = crypto::X25519KeyPair::generate();
  const std::size_t before = VerifiedStaticKeys::shared().size();

  LocalKeys good{b, used, b.sign(static_key_signature_message(used.public_key()))};
  EXPECT_EQ(initiator_verdict(good), "");
  EXPECT_EQ(initiator_verdict(good), "");  // again, from the memo
  // b's signature once, and each fresh initiator's as its responder saw it.
  EXPECT_EQ(VerifiedStaticKeys::shared().size(), before + 3);
  EXPECT_TRUE(VerifiedStaticKeys::shared().contains(crypto::encode_public_key(b.public_key()),
                                                    used.public_key(), good.static_key_signature));

  const std::string refused =
      "noise: remote identity signature does not verify over its static key";
  // The same identity and static key with a signature over another key.
  LocalKeys lying{b, used, b.sign(static_key_signature_message(other.public_key()))};
  EXPECT_EQ(initiator_verdict(lying), refused);
  // Another identity presenting the signature that verified for b.
  LocalKeys impostor{c, used, good.static_key_signature};
  EXPECT_EQ(initiator_verdict(impostor), refused);
  EXPECT_EQ(VerifiedStaticKeys::shared().size(), before + 3);  // nothing refused was kept
}

TEST(VerifiedStaticKeysTest, matches_only_the_exact_bytes_and_forgets_the_least_recent) {
  VerifiedStaticKeys memo(2);
  const Bytes id1(36, 1), id2(36, 2), id3(36, 3), sk(32, 7), sig(64, 9);
  memo.add(id1, sk, sig);
  EXPECT_TRUE(memo.contains(id1, sk, sig));
  Bytes sig_changed = sig;
  sig_changed[63] ^= 1;
  EXPECT_FALSE(memo.contains(id1, sk, sig_changed));
  EXPECT_FALSE(memo.contains(id2, sk, sig));
  // Where one part ends and the next begins is part of the entry.
  const Bytes ab{0xaa, 0xbb}, a{0xaa}, bc{0xbb, 0xcc}, c{0xcc};
  memo.add(ab, c, sig);
  EXPECT_FALSE(memo.contains(a, bc, sig));

  EXPECT_TRUE(memo.contains(id1, sk, sig));  // id1 becomes the most recent
  memo.add(id2, sk, sig);                    // capacity 2: ab|c, the least recently used, goes
  EXPECT_EQ(memo.size(), 2u);
  EXPECT_FALSE(memo.contains(ab, c, sig));
  EXPECT_TRUE(memo.contains(id1, sk, sig));  // id1 is now the most recent
  memo.add(id3, sk, sig);
  EXPECT_TRUE(memo.contains(id1, sk, sig));
  EXPECT_FALSE(memo.contains(id2, sk, sig));
  EXPECT_TRUE(memo.contains(id3, sk, sig));
}

TEST(NoiseHandshake, refuses_a_remote_that_is_not_the_dialed_peer) {
  auto a = crypto::Ed25519PrivateKey::generate();
  auto b = crypto::Ed25519PrivateKey::generate();
  auto expected = peer_of(crypto::Ed25519PrivateKey::generate());
  auto initiator = Handshake::initiator(LocalKeys::generate(a), expected);
  auto responder = Handshake::responder(LocalKeys::generate(b));
  (void)responder.start();
  auto m2 = responder.feed(initiator.start().output);
  auto m3 = initiator.feed(m2.output);
  EXPECT_EQ(m3.status, HandshakeStatus::kFailed);
  EXPECT_TRUE(m3.output.empty());
  EXPECT_EQ(initiator.error().code, ErrorCode::kPermissionDenied);
  EXPECT_NE(initiator.error().message.find(peer_of(b).to_string()), std::string::npos);
  EXPECT_NE(initiator.error().message.find(expected.to_string()), std::string::npos);
}

TEST(NoiseHandshake, refuses_truncated_handshake_messages) {
  auto responder = Handshake::responder(LocalKeys::generate(crypto::Ed25519PrivateKey::generate()));
  (void)responder.start();
  Bytes short_m1 = hex("000a");
  core::append(short_m1, Bytes(10, 1));
  EXPECT_EQ(responder.feed(short_m1).status, HandshakeStatus::kFailed);
  EXPECT_EQ(responder.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(responder.error().message.find("truncated"), std::string::npos);

  // A message 2 cut short after its ephemeral key.
  auto initiator = Handshake::initiator(LocalKeys::generate(crypto::Ed25519PrivateKey::generate()));
  auto real = Handshake::responder(LocalKeys::generate(crypto::Ed25519PrivateKey::generate()));
  (void)real.start();
  auto m2 = real.feed(initiator.start().output).output;
  Bytes cut = {0x00, 0x40};
  core::append(cut, ByteView(m2).subspan(2, 64));
  EXPECT_EQ(initiator.feed(cut).status, HandshakeStatus::kFailed);
  EXPECT_EQ(initiator.error().code, ErrorCode::kInvalidArgument);
}

TEST(NoiseHandshake, refuses_an_oversized_handshake_message_from_its_prefix) {
  auto responder = Handshake::responder(LocalKeys::generate(crypto::Ed25519PrivateKey::generate()));
  (void)responder.start();
  const std::size_t len = kMaxHandshakeMessageSize + 1;
  Bytes prefix = {static_cast<std::uint8_t>(len >> 8), static_cast<std::uint8_t>(len & 0xff)};
  auto step = responder.feed(prefix);
  EXPECT_EQ(step.status, HandshakeStatus::kFailed);
  EXPECT_EQ(responder.error().code, ErrorCode::kResourceExhausted);
}

TEST(NoiseHandshake, refuses_an_altered_handshake_message) {
  auto initiator = Handshake::initiator(LocalKeys::generate(crypto::Ed25519PrivateKey::generate()));
  auto responder = Handshake::responder(LocalKeys::generate(crypto::Ed25519PrivateKey::generate()));
  (void)responder.start();
  auto m2 = responder.feed(initiator.start().output).output;
  m2.back() ^= 0x80;
  EXPECT_EQ(initiator.feed(m2).status, HandshakeStatus::kFailed);
  EXPECT_EQ(initiator.error().code, ErrorCode::kDataLoss);
}

TEST(NoiseHandshake, refuses_feed_before_start_and_a_second_start) {
  auto responder = Handshake::responder(LocalKeys::generate(crypto::Ed25519PrivateKey::generate()));
  EXPECT_EQ(responder.feed(Bytes{0, 1, 2}).status, HandshakeStatus::kFailed);
  EXPECT_EQ(responder.error().code, ErrorCode::kFailedPrecondition);
  auto initiator = Handshake::initiator(LocalKeys::generate(crypto::Ed25519PrivateKey::generate()));
  (void)initiator.start();
  EXPECT_EQ(initiator.start().status, HandshakeStatus::kFailed);
}

// --- Transport ---

TEST(NoiseTransport, round_trips_a_mebibyte_in_odd_chunks_both_ways) {
  auto s = connect();
  const Bytes data = crypto::random_bytes(1 << 20);
  for (int dir = 0; dir < 2; ++dir) {
    Session& sender = dir == 0 ? s.initiator : s.responder;
    Session& receiver = dir == 0 ? s.responder : s.initiator;
    // Writes of uneven sizes, some above one frame.
    Bytes wire;
    const std::size_t writes[] = {1, 4093, 65519, 65520, 100000, 7};
    std::size_t off = 0;
    for (std::size_t i = 0; off < data.size(); ++i) {
      const std::size_t n = std::min(writes[i % 6], data.size() - off);
      ASSERT_TRUE(sender.encrypt(ByteView(data).subspan(off, n), wire).ok());
      off += n;
    }
    // Reads of other uneven sizes.
    Bytes plain;
    const std::size_t reads[] = {3, 1, 65537, 9000, 131071, 2};
    off = 0;
    for (std::size_t i = 0; off < wire.size(); ++i) {
      const std::size_t n = std::min(reads[i % 6], wire.size() - off);
      ASSERT_TRUE(receiver.decrypt(ByteView(wire).subspan(off, n), plain).ok());
      EXPECT_LE(receiver.decoder().buffered(), kMaxFrameSize);
      off += n;
    }
    EXPECT_EQ(receiver.decoder().buffered(), 0u);
    EXPECT_EQ(plain, data);
  }
}

TEST(NoiseTransport, frames_large_writes_within_the_message_limit) {
  auto s = connect();
  const Bytes data(200000, 0x5a);
  Bytes wire = s.initiator.encrypt(data).value();
  std::size_t frames = 0;
  for (std::size_t off = 0; off < wire.size(); ++frames) {
    const std::size_t len = (static_cast<std::size_t>(wire[off]) << 8) | wire[off + 1];
    EXPECT_LE(len, kMaxMessageSize);
    EXPECT_GT(len, kTagSize);
    off += 2 + len;
  }
  EXPECT_EQ(frames, 4u);  // 3 full frames of 65519 bytes and a 3443-byte tail
  EXPECT_EQ(wire.size(), data.size() + frames * (2 + kTagSize));
  EXPECT_TRUE(s.initiator.encrypt(Bytes{}).value().empty());
}

TEST(NoiseTransport, a_flipped_ciphertext_byte_fails_and_the_failure_sticks) {
  auto s = connect();
  Bytes wire = s.initiator.encrypt(core::as_bytes("attack at dawn")).value();
  Bytes next = s.initiator.encrypt(core::as_bytes("second")).value();
  wire[5] ^= 0x01;
  Bytes plain;
  auto st = s.responder.decrypt(wire, plain);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code, ErrorCode::kDataLoss);
  EXPECT_NE(st.error().message.find("must close"), std::string::npos);
  EXPECT_TRUE(plain.empty());
  EXPECT_FALSE(s.responder.decrypt(next, plain).ok());
  EXPECT_TRUE(plain.empty());
}

TEST(NoiseTransport, rejects_replayed_and_reordered_messages) {
  auto s = connect();
  Bytes first = s.initiator.encrypt(core::as_bytes("one")).value();
  Bytes second = s.initiator.encrypt(core::as_bytes("two")).value();
  Bytes plain;
  EXPECT_FALSE(s.responder.decrypt(second, plain).ok());

  auto t = connect();
  Bytes one = t.initiator.encrypt(core::as_bytes("one")).value();
  ASSERT_TRUE(t.responder.decrypt(one, plain).ok());
  EXPECT_FALSE(t.responder.decrypt(one, plain).ok());
}

TEST(NoiseTransport, rejects_a_frame_too_short_for_a_tag) {
  auto s = connect();
  Bytes plain;
  auto st = s.responder.decrypt(Bytes{0x00, 0x05, 1, 2, 3, 4, 5}, plain);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code, ErrorCode::kInvalidArgument);
}

TEST(NoiseTransport, uses_separate_keys_per_direction) {
  auto s = connect();
  Bytes wire = s.initiator.encrypt(core::as_bytes("to responder")).value();
  Bytes plain;
  // The initiator's own receive direction cannot open what it sent.
  EXPECT_FALSE(s.initiator.decrypt(wire, plain).ok());
}

}  // namespace
}  // namespace soma::p2p::noise
