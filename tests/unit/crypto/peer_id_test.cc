#include "crypto/peer_id.h"

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <unordered_set>

#include "core/base_encoding.h"
#include "crypto/keys.h"
#include "test_hex.h"

namespace soma::crypto {
namespace {

using testing::hex;
using testing::unhex;

constexpr const char* kSpecPublic =
    "080112201ed1e8fae2c4a144b8be8fd4b47bf3d3b34b871c3cacf6010f0e42d474fce27e";
// The PeerId of kSpecPublic: identity multihash 00 24 ‖ key, in base58btc
// and as a base32 CIDv1 (computed independently of this code).
constexpr const char* kSpecPeerId = "12D3KooWBtg3aaRMjxwedh83aGiUkwSxDwUZkzuJcfaqUmo7R3pq";
constexpr const char* kSpecPeerCid =
    "bafzaajaiaejcahwr5d5ofrfbis4l5d6uwr57hu5tjodrypfm6yaq6dsc2r2pzyt6";

// The peer-ids spec's example strings.
constexpr const char* kExampleEd25519 = "12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA";
constexpr const char* kExampleSha256 = "QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5N";
constexpr const char* kExampleSha256Cid =
    "bafzbeie5745rpv2m6tjyuugywy4d5ewrqgqqhfnf445he3omzpjbx5xqxe";

void expect_rejected(std::string_view text, const std::string& needle) {
  auto id = PeerId::parse(text);
  ASSERT_FALSE(id.ok()) << "accepted " << text;
  EXPECT_EQ(id.error().code, core::ErrorCode::kInvalidArgument);
  EXPECT_NE(id.error().message.find(needle), std::string::npos) << id.error().message;
}

TEST(PeerId, the_spec_ed25519_key_gives_its_identity_peer_id) {
  auto key = decode_public_key(unhex(kSpecPublic));
  ASSERT_TRUE(key.ok());
  PeerId id = PeerId::from_public_key(*key);
  EXPECT_EQ(hex(id.bytes()), std::string("0024") + kSpecPublic);
  EXPECT_EQ(id.to_string(), kSpecPeerId);
  EXPECT_EQ(id.to_cid_string(), kSpecPeerCid);
  EXPECT_TRUE(id.has_inline_key());
  EXPECT_TRUE(id.matches(*key));
}

TEST(PeerId, the_spec_private_key_yields_the_same_peer_id) {
  auto key = decode_private_key(
      unhex("080112407e0830617c4a7de83925dfb2694556b12936c477a0e1feb2e148ec9da60fee7d1ed1e8fae2c4a1"
            "44b8be8fd4b47bf3d3b34b871c3cacf6010f0e42d474fce27e"));
  ASSERT_TRUE(key.ok());
  EXPECT_EQ(PeerId::from_public_key(key->public_key()).to_string(), kSpecPeerId);
}

TEST(PeerId, parses_both_text_forms_to_the_same_id) {
  auto a = PeerId::parse(kSpecPeerId);
  auto b = PeerId::parse(kSpecPeerCid);
  ASSERT_TRUE(a.ok()) << a.error().message;
  ASSERT_TRUE(b.ok()) << b.error().message;
  EXPECT_EQ(*a, *b);
  auto key = a->extract_public_key();
  ASSERT_TRUE(key.ok()) << key.error().message;
  EXPECT_EQ(hex(encode_public_key(*key)), kSpecPublic);
}

TEST(PeerId, parses_the_spec_examples) {
  auto ed = PeerId::parse(kExampleEd25519);
  ASSERT_TRUE(ed.ok()) << ed.error().message;
  EXPECT_EQ(ed->to_string(), kExampleEd25519);
  auto key = ed->extract_public_key();
  ASSERT_TRUE(key.ok()) << key.error().message;
  EXPECT_EQ(hex(key->raw()), "2ffa35a99d3a3cfbb17bb7c1dc5561b18a8dcca4df38dc613ea859c37eb1336b");
  EXPECT_EQ(PeerId::from_public_key(*key), *ed);

  auto hashed = PeerId::parse(kExampleSha256);
  auto hashed_cid = PeerId::parse(kExampleSha256Cid);
  ASSERT_TRUE(hashed.ok()) << hashed.error().message;
  ASSERT_TRUE(hashed_cid.ok()) << hashed_cid.error().message;
  EXPECT_EQ(*hashed, *hashed_cid);
  EXPECT_EQ(hashed->to_string(), kExampleSha256);
  EXPECT_EQ(hashed->to_cid_string(), kExampleSha256Cid);
  EXPECT_FALSE(hashed->has_inline_key());
  auto no_key = hashed->extract_public_key();
  ASSERT_FALSE(no_key.ok());
  EXPECT_EQ(no_key.error().code, core::ErrorCode::kFailedPrecondition);
}

TEST(PeerId, accepts_a_base58btc_multibase_cid) {
  auto id = PeerId::parse(kSpecPeerId);
  ASSERT_TRUE(id.ok());
  core::Bytes cid = {0x01, 0x72};
  core::append(cid, id->bytes());
  auto parsed = PeerId::parse("z" + core::base58btc_encode(cid));
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  EXPECT_EQ(*parsed, *id);
}

TEST(PeerId, generated_keys_round_trip_through_both_text_forms) {
  for (int i = 0; i < 20; ++i) {
    auto key = Ed25519PrivateKey::generate();
    PeerId id = PeerId::from_public_key(key.public_key());
    EXPECT_TRUE(id.to_string().starts_with("12D3KooW")) << id.to_string();
    EXPECT_EQ(*PeerId::parse(id.to_string()), id);
    EXPECT_EQ(*PeerId::parse(id.to_cid_string()), id);
    EXPECT_EQ(*PeerId::from_bytes(id.bytes()), id);
    EXPECT_TRUE(*id.extract_public_key() == key.public_key());
  }
}

TEST(PeerId, rejects_text_that_is_not_a_peer_id) {
  expect_rejected("", "empty");
  expect_rejected("hello", "expected base58btc");
  expect_rejected("12D3KooW0OIl", "base58");  // 0, O, I, l are not base58
  expect_rejected(std::string(kMaxPeerIdText + 1, '1'), "limit");
  expect_rejected("1", "length");  // one zero byte: an identity code with no length
  expect_rejected(std::string("B") + (kSpecPeerCid + 1), "expected base58btc");
}

TEST(PeerId, rejects_non_canonical_text) {
  std::string upper = kSpecPeerCid;
  for (std::size_t i = 1; i < upper.size(); ++i) {
    if (upper[i] >= 'a' && upper[i] <= 'z') upper[i] = static_cast<char>(upper[i] - 'a' + 'A');
  }
  expect_rejected(upper, "canonical");
}

TEST(PeerId, rejects_cids_of_other_codecs_and_versions) {
  auto id = PeerId::parse(kSpecPeerId);
  ASSERT_TRUE(id.ok());
  core::Bytes dag_pb = {0x01, 0x70};
  core::append(dag_pb, id->bytes());
  expect_rejected("b" + core::base32_encode(dag_pb), "libp2p-key");
  core::Bytes v2 = {0x02, 0x72};
  core::append(v2, id->bytes());
  expect_rejected("b" + core::base32_encode(v2), "CIDv1");
}

TEST(PeerId, from_bytes_rejects_malformed_multihashes) {
  auto reject = [](const std::string& h, const std::string& needle) {
    auto id = PeerId::from_bytes(unhex(h));
    ASSERT_FALSE(id.ok()) << h;
    EXPECT_EQ(id.error().code, core::ErrorCode::kInvalidArgument);
    EXPECT_NE(id.error().message.find(needle), std::string::npos) << id.error().message;
  };
  std::string key = kSpecPublic;
  reject("", "empty");
  reject("0025" + key, "says 37");         // length longer than the digest
  reject("0024" + key + "00", "says 36");  // trailing byte
  reject("0024" + std::string("08011221") + key.substr(8), "inline key is invalid");
  reject("1220" + std::string(62, 'a'), "says 32");
  reject("1210" + std::string(32, 'a'), "32 bytes");
  reject("1320" + std::string(64, 'a'), "neither identity");  // sha2-512 code
  reject("00" + std::string("2b") + "08011227" + std::string(78, 'a'), "at most 42");
  reject(std::string(2 * (kMaxPeerIdBytes + 1), 'a'), "limit");
}

TEST(PeerId, hashes_and_orders_for_use_as_a_map_key) {
  std::unordered_set<PeerId> set;
  std::map<PeerId, int> ordered;
  for (int i = 0; i < 10; ++i) {
    PeerId id = PeerId::from_public_key(Ed25519PrivateKey::generate().public_key());
    set.insert(id);
    set.insert(id);
    ordered[id] = i;
  }
  EXPECT_EQ(set.size(), 10u);
  EXPECT_EQ(ordered.size(), 10u);
  PeerId empty;
  EXPECT_TRUE(empty.empty());
  EXPECT_EQ(empty.to_string(), "");
  EXPECT_EQ(empty.extract_public_key().error().code, core::ErrorCode::kFailedPrecondition);
  EXPECT_LT(empty, ordered.begin()->first);
}

}  // namespace
}  // namespace soma::crypto
