#include "blob/dag_builder.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "core/base_encoding.h"

namespace soma::blob {
namespace {

// Reference CIDs computed with IPFS's UnixFS importer (CIDv1, raw leaves,
// 256 KiB chunks, balanced layout of 174 links).
constexpr const char* kEmpty = "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku";
constexpr const char* kHelloWorld = "bafkreifjjcie6lypi6ny7amxnfftagclbuxndqonfipmb64f2km2devei4";
constexpr const char* kZeros262144 = "bafkreiekhhjkxu4ztk3tyng3er3ijhg56mb44oe3gwbgquhzu4afrg2ksa";
constexpr const char* kZeros262145 = "bafybeigllfqgfpqydppr6cmv56g7ax4wyhruzswvcefv6j5kj77nzttfki";
constexpr const char* kZeros524288 = "bafybeig5axbv7uxiwv63kn6qvegw5vbz2tlgv4nhz4crv6g3f3rat7ttsi";
// 174 chunks: one full node. 174 chunks and a byte, 175 chunks: two levels.
constexpr const char* kZeros45613056 =
    "bafybeibxsa3ioclowpaq7b6gxl65gzqneopfr3fnhedak6sqr4bjz5lnyq";
constexpr const char* kZeros45613057 =
    "bafybeihqwzd3o6q6v3pmwhzjy22vokhr767burokmqemg63hptx2nqd7ym";
constexpr const char* kZeros45875200 =
    "bafybeigfps5vzivfspwgm3uwsfyl5s6bn3ysh7uqidgauxgopw4yi66lse";
// 174 * 174 chunks fill two levels exactly; one more byte needs a third.
constexpr const char* kZeros7936671744 =
    "bafybeidxp6macmsb2fl24g2urxdvecsmmuspexpjyxcav2wyazeytjh5yi";
constexpr const char* kZeros7936671745 =
    "bafybeic3bmw3lls6npgpysoz7577inmexlh7ulmlepk4qypu72heonqfhu";

Dag build(core::ByteView data, std::size_t piece) {
  DagBuilder b;
  while (!data.empty()) {
    std::size_t take = std::min(piece, data.size());
    b.update(data.first(take));
    data = data.subspan(take);
  }
  return b.finish();
}

Dag zeros(std::uint64_t size) {
  core::Bytes zero(kChunkSize, 0);
  DagBuilder b;
  for (std::uint64_t left = size; left > 0;) {
    std::size_t take = static_cast<std::size_t>(std::min<std::uint64_t>(left, kChunkSize));
    b.update(core::ByteView(zero.data(), take));
    left -= take;
  }
  return b.finish();
}

// The DAG of `size` zero bytes, built from leaf digests without hashing it.
Dag zeros_from_leaves(std::uint64_t size) {
  std::uint64_t count = dag_leaf_count(size);
  core::Bytes zero(kChunkSize, 0);
  auto full = crypto::sha256(zero);
  auto last = crypto::sha256(core::ByteView(zero.data(), size - (count - 1) * kChunkSize));
  core::Bytes leaves;
  for (std::uint64_t i = 0; i + 1 < count; ++i)
    leaves.insert(leaves.end(), full.begin(), full.end());
  leaves.insert(leaves.end(), last.begin(), last.end());
  auto dag = DagBuilder::from_leaves(leaves, size);
  EXPECT_TRUE(dag.ok()) << dag.error().message;
  return std::move(*dag);
}

core::Bytes random_bytes(std::size_t n, std::uint32_t seed) {
  std::mt19937 rng(seed);
  core::Bytes out(n);
  for (auto& b : out) b = static_cast<std::uint8_t>(rng());
  return out;
}

TEST(DagBuilder, makes_an_empty_file_one_raw_block) {
  Dag dag = DagBuilder().finish();
  EXPECT_EQ(dag.root.to_string(), kEmpty);
  EXPECT_EQ(dag.size, 0u);
  EXPECT_EQ(dag.leaf_count, 1u);
  EXPECT_TRUE(dag.nodes.empty());
}

TEST(DagBuilder, makes_a_small_file_one_raw_block) {
  Dag dag = build(core::as_bytes("hello world\n"), 5);
  EXPECT_EQ(dag.root.to_string(), kHelloWorld);
  EXPECT_EQ(dag.root.codec(), Codec::kRaw);
  EXPECT_TRUE(dag.nodes.empty());
}

TEST(DagBuilder, matches_ipfs_at_the_chunk_boundaries) {
  EXPECT_EQ(zeros(262144).root.to_string(), kZeros262144);
  EXPECT_EQ(zeros(262145).root.to_string(), kZeros262145);
  EXPECT_EQ(zeros(524288).root.to_string(), kZeros524288);
}

TEST(DagBuilder, encodes_the_root_node_byte_exactly) {
  Dag dag = zeros(262145);
  ASSERT_EQ(dag.nodes.size(), 1u);
  const Block& root = dag.nodes.back();
  EXPECT_EQ(root.cid, dag.root);
  EXPECT_EQ(Cid::of(Codec::kDagPb, root.data), dag.root);

  // Links first, each with its CID, an empty name and the chunk size; then
  // the UnixFS Data: File, filesize 262145, blocksizes 262144 and 1.
  core::Bytes zero(kChunkSize, 0);
  core::Bytes expected;
  for (core::ByteView chunk : {core::ByteView(zero), core::ByteView(zero.data(), 1)}) {
    core::Bytes cid = Cid::of(Codec::kRaw, chunk).bytes();
    core::Bytes tsize = chunk.size() == 1 ? core::Bytes{0x01} : core::Bytes{0x80, 0x80, 0x10};
    expected.push_back(0x12);
    expected.push_back(static_cast<std::uint8_t>(2 + cid.size() + 2 + 1 + tsize.size()));
    expected.push_back(0x0a);
    expected.push_back(static_cast<std::uint8_t>(cid.size()));
    expected.insert(expected.end(), cid.begin(), cid.end());
    expected.insert(expected.end(), {0x12, 0x00, 0x18});
    expected.insert(expected.end(), tsize.begin(), tsize.end());
  }
  core::Bytes data = {0x08, 0x02, 0x18, 0x81, 0x80, 0x10, 0x20, 0x80, 0x80, 0x10, 0x20, 0x01};
  expected.push_back(0x0a);
  expected.push_back(static_cast<std::uint8_t>(data.size()));
  expected.insert(expected.end(), data.begin(), data.end());
  EXPECT_EQ(core::hex_encode(root.data), core::hex_encode(expected));
}

TEST(DagBuilder, gives_the_same_dag_whatever_the_piece_sizes) {
  core::Bytes data = random_bytes(3 * kChunkSize + 12345, 7);
  std::vector<std::string> leaves_seen;
  DagBuilder observed([&](std::uint64_t index, const crypto::Sha256Digest& d, std::size_t size) {
    EXPECT_EQ(index, leaves_seen.size());
    EXPECT_EQ(size, index < 3 ? kChunkSize : 12345u);
    leaves_seen.push_back(core::hex_encode(d));
  });
  observed.update(data);
  Dag whole = observed.finish();
  ASSERT_EQ(leaves_seen.size(), 4u);
  EXPECT_EQ(leaves_seen[0],
            core::hex_encode(crypto::sha256(core::ByteView(data).first(kChunkSize))));

  for (std::size_t piece :
       {std::size_t{1} << 10, std::size_t{7777}, kChunkSize - 1, kChunkSize + 1}) {
    Dag d = build(data, piece);
    EXPECT_EQ(d.root, whole.root) << "piece size " << piece;
    EXPECT_EQ(d.size, data.size());
    EXPECT_EQ(d.leaf_count, 4u);
  }
  EXPECT_EQ(whole.root.codec(), Codec::kDagPb);
}

TEST(DagBuilder, matches_ipfs_for_a_full_node_and_two_levels) {
  EXPECT_EQ(zeros_from_leaves(45613056).root.to_string(), kZeros45613056);
  Dag two = zeros_from_leaves(45613057);
  EXPECT_EQ(two.root.to_string(), kZeros45613057);
  // Two nodes of height one, then the root.
  EXPECT_EQ(two.nodes.size(), 3u);
  EXPECT_EQ(two.nodes.back().cid, two.root);
  EXPECT_EQ(zeros_from_leaves(45875200).root.to_string(), kZeros45875200);
}

TEST(DagBuilder, matches_ipfs_for_three_levels) {
  EXPECT_EQ(zeros_from_leaves(7936671744).root.to_string(), kZeros7936671744);
  Dag three = zeros_from_leaves(7936671745);
  EXPECT_EQ(three.root.to_string(), kZeros7936671745);
  EXPECT_EQ(three.nodes.size(), 174u + 1 + 1 + 1 + 1);
  EXPECT_EQ(dag_block_count(7936671745), 174u * 174 + 1 + three.nodes.size());
}

TEST(DagBuilder, rebuilds_from_leaves_the_dag_it_streamed) {
  core::Bytes data = random_bytes(2 * kChunkSize + 99, 11);
  core::Bytes leaves;
  DagBuilder b([&](std::uint64_t, const crypto::Sha256Digest& d, std::size_t) {
    leaves.insert(leaves.end(), d.begin(), d.end());
  });
  b.update(data);
  Dag streamed = b.finish();
  auto rebuilt = DagBuilder::from_leaves(leaves, data.size());
  ASSERT_TRUE(rebuilt.ok()) << rebuilt.error().message;
  EXPECT_EQ(rebuilt->root, streamed.root);
  ASSERT_EQ(rebuilt->nodes.size(), 1u);
  EXPECT_EQ(rebuilt->nodes[0].data, streamed.nodes[0].data);
}

TEST(DagBuilder, rejects_leaf_digests_that_do_not_fit_the_size) {
  core::Bytes one(32, 0);
  auto wrong = DagBuilder::from_leaves(one, kChunkSize + 1);
  ASSERT_FALSE(wrong.ok());
  EXPECT_EQ(wrong.error().code, core::ErrorCode::kInvalidArgument);
  auto ragged = DagBuilder::from_leaves(core::Bytes(33, 0), 1);
  ASSERT_FALSE(ragged.ok());
  EXPECT_NE(ragged.error().message.find("multiple of 32"), std::string::npos);
}

TEST(DagBuilder, counts_blocks_per_layout) {
  EXPECT_EQ(dag_block_count(0), 1u);
  EXPECT_EQ(dag_block_count(kChunkSize), 1u);
  EXPECT_EQ(dag_block_count(kChunkSize + 1), 3u);
  EXPECT_EQ(dag_block_count(174 * kChunkSize), 175u);
  EXPECT_EQ(dag_block_count(174 * kChunkSize + 1), 178u);
  EXPECT_EQ(dag_leaf_count(0), 1u);
  EXPECT_EQ(dag_leaf_count(2 * kChunkSize), 2u);
}

TEST(DagBuilder, can_drop_node_blocks_to_save_memory) {
  DagBuilder b({}, false);
  core::Bytes zero(kChunkSize + 1, 0);
  b.update(zero);
  Dag dag = b.finish();
  EXPECT_EQ(dag.root.to_string(), kZeros262145);
  EXPECT_TRUE(dag.nodes.empty());
}

}  // namespace
}  // namespace soma::blob
