#include "blob/dag_builder.h"

#include <algorithm>
#include <string>
#include <utility>

#include "core/varint.h"

namespace soma::blob {
namespace {

using core::Error;

// Protobuf wire tags (field number << 3 | wire type) of the two messages.
// PBNode: Links = 2 (bytes), Data = 1 (bytes).
// PBLink: Hash = 1 (bytes), Name = 2 (bytes), Tsize = 3 (varint).
// UnixFS Data: Type = 1 (varint), filesize = 3 (varint), blocksizes = 4
// (varint, repeated, unpacked as proto2 writes it).
constexpr std::uint8_t kNodeLinks = 0x12;
constexpr std::uint8_t kNodeData = 0x0a;
constexpr std::uint8_t kLinkHash = 0x0a;
constexpr std::uint8_t kLinkName = 0x12;
constexpr std::uint8_t kLinkTsize = 0x18;
constexpr std::uint8_t kUnixfsType = 0x08;
constexpr std::uint8_t kUnixfsFilesize = 0x18;
constexpr std::uint8_t kUnixfsBlocksize = 0x20;
constexpr std::uint64_t kUnixfsTypeFile = 2;

void append_bytes_field(core::Bytes& out, std::uint8_t tag, core::ByteView value) {
  out.push_back(tag);
  core::varint::append(out, value.size());
  core::append(out, value);
}

void append_varint_field(core::Bytes& out, std::uint8_t tag, std::uint64_t value) {
  out.push_back(tag);
  core::varint::append(out, value);
}

}  // namespace

std::uint64_t dag_leaf_count(std::uint64_t size) {
  return size == 0 ? 1 : (size + kChunkSize - 1) / kChunkSize;
}

std::uint64_t dag_block_count(std::uint64_t size) {
  std::uint64_t width = dag_leaf_count(size);
  std::uint64_t blocks = width;
  while (width > 1) {
    width = (width + kMaxLinksPerNode - 1) / kMaxLinksPerNode;
    blocks += width;
  }
  return blocks;
}

DagBuilder::DagBuilder(LeafFn on_leaf, bool keep_nodes)
    : on_leaf_(std::move(on_leaf)), keep_nodes_(keep_nodes) {}

void DagBuilder::update(core::ByteView data) {
  while (!data.empty()) {
    std::size_t take = std::min(data.size(), kChunkSize - chunk_fill_);
    chunk_hash_.update(data.first(take));
    chunk_fill_ += take;
    size_ += take;
    data = data.subspan(take);
    if (chunk_fill_ == kChunkSize) complete_leaf();
  }
}

void DagBuilder::complete_leaf() {
  crypto::Sha256Digest digest = chunk_hash_.finish();
  if (on_leaf_) on_leaf_(leaf_count_, digest, chunk_fill_);
  ++leaf_count_;
  push(0, Entry{Cid(Codec::kRaw, digest), chunk_fill_, chunk_fill_});
  chunk_fill_ = 0;
}

void DagBuilder::push(std::size_t level, Entry entry) {
  if (levels_.size() <= level) {
    levels_.resize(level + 1);
    level_totals_.resize(level + 1, 0);
  }
  levels_[level].push_back(std::move(entry));
  ++level_totals_[level];
  // A full batch is a node whatever follows, exactly as the balanced layout
  // groups each level in runs of 174.
  if (levels_[level].size() == kMaxLinksPerNode) push(level + 1, reduce(level));
}

DagBuilder::Entry DagBuilder::reduce(std::size_t level) {
  std::vector<Entry>& links = levels_[level];

  // UnixFS Data: a File whose bytes all live in its children.
  core::Bytes data;
  std::uint64_t file_bytes = 0;
  for (const Entry& e : links) file_bytes += e.file_bytes;
  append_varint_field(data, kUnixfsType, kUnixfsTypeFile);
  append_varint_field(data, kUnixfsFilesize, file_bytes);
  for (const Entry& e : links) append_varint_field(data, kUnixfsBlocksize, e.file_bytes);

  // PBNode in dag-pb's canonical order: every link, then Data. Each link
  // carries an empty Name, as IPFS writes for file chunks.
  core::Bytes node;
  node.reserve(links.size() * (Cid::kBinarySize + 16) + data.size() + 8);
  std::uint64_t children_tsize = 0;
  core::Bytes link;
  for (const Entry& e : links) {
    link.clear();
    append_bytes_field(link, kLinkHash, e.cid.bytes());
    append_bytes_field(link, kLinkName, {});
    append_varint_field(link, kLinkTsize, e.tsize);
    append_bytes_field(node, kNodeLinks, link);
    children_tsize += e.tsize;
  }
  append_bytes_field(node, kNodeData, data);

  Cid cid = Cid::of(Codec::kDagPb, node);
  Entry parent{cid, node.size() + children_tsize, file_bytes};
  if (keep_nodes_) nodes_.push_back(Block{cid, std::move(node)});
  links.clear();
  return parent;
}

Dag DagBuilder::finish() {
  // The last chunk; an empty file still has one, empty, leaf.
  if (chunk_fill_ > 0 || leaf_count_ == 0) complete_leaf();

  // Close each level bottom-up. A level that has had only one entry in all
  // and is the highest holds the root: for a one-chunk file that is the raw
  // leaf itself.
  for (std::size_t level = 0;; ++level) {
    bool highest = level + 1 == levels_.size();
    if (highest && level_totals_[level] == 1) {
      Dag dag{levels_[level].front().cid, size_, leaf_count_, std::move(nodes_)};
      levels_.clear();
      level_totals_.clear();
      return dag;
    }
    if (!levels_[level].empty()) push(level + 1, reduce(level));
  }
}

Result<Dag> DagBuilder::from_leaves(core::ByteView leaf_digests, std::uint64_t size,
                                    bool keep_nodes) {
  if (leaf_digests.size() % Cid::kDigestSize != 0) {
    return Error::invalid("leaf digests are " + std::to_string(leaf_digests.size()) +
                          " bytes, not a multiple of 32");
  }
  std::uint64_t count = leaf_digests.size() / Cid::kDigestSize;
  if (count != dag_leaf_count(size)) {
    return Error::invalid(std::to_string(count) + " leaf digests do not fit a file of " +
                          std::to_string(size) + " bytes, which has " +
                          std::to_string(dag_leaf_count(size)) + " chunks");
  }

  DagBuilder builder({}, keep_nodes);
  for (std::uint64_t i = 0; i < count; ++i) {
    crypto::Sha256Digest digest;
    auto piece = leaf_digests.subspan(i * Cid::kDigestSize, Cid::kDigestSize);
    std::copy(piece.begin(), piece.end(), digest.begin());
    std::uint64_t leaf_size = i + 1 < count ? kChunkSize : size - i * kChunkSize;
    builder.push(0, Entry{Cid(Codec::kRaw, digest), leaf_size, leaf_size});
  }
  builder.leaf_count_ = count;
  builder.size_ = size;
  return builder.finish();
}

}  // namespace soma::blob
