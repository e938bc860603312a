#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <vector>

#include "blob/cid.h"
#include "core/bytes.h"
#include "core/error.h"
#include "crypto/sha256.h"

namespace soma::blob {

// The DAG layout IPFS gives a file with `ipfs add --cid-version=1`: raw
// leaves of fixed 256 KiB chunks, sha2-256, and a balanced tree of dag-pb
// UnixFS nodes with at most 174 links each. Soma's blob CIDs are these, so
// the same bytes get the same name in IPFS and in Soma.
inline constexpr std::size_t kChunkSize = 262144;
inline constexpr std::size_t kMaxLinksPerNode = 174;

struct Block {
  Cid cid;
  core::Bytes data;
};

struct Dag {
  Cid root;
  std::uint64_t size = 0;        // file bytes
  std::uint64_t leaf_count = 0;  // raw chunks (1 for an empty file)
  // dag-pb nodes, every child before its parent, the root last; empty when
  // the file is a single raw block, or when the builder was told not to keep
  // them.
  std::vector<Block> nodes;
};

// Number of blocks (leaves plus dag-pb nodes) of a file of `size` bytes.
std::uint64_t dag_block_count(std::uint64_t size);
// Number of leaves of a file of `size` bytes.
std::uint64_t dag_leaf_count(std::uint64_t size);

// Builds a file's DAG while its bytes stream through, in pieces of any
// size. Memory is bounded: one chunk's hash state and at most 174 pending
// links per tree level, plus the node blocks when they are kept. Not
// thread-safe.
class DagBuilder {
 public:
  // Called once per leaf, in order, as soon as its chunk is complete.
  using LeafFn = std::function<void(std::uint64_t index, const crypto::Sha256Digest& digest,
                                    std::size_t size)>;

  explicit DagBuilder(LeafFn on_leaf = {}, bool keep_nodes = true);

  void update(core::ByteView data);
  std::uint64_t size() const { return size_; }

  // Completes the last chunk and the tree. The builder is spent afterwards.
  Dag finish();

  // Rebuilds the DAG of a `size`-byte file from its leaf digests,
  // concatenated 32 bytes each. Fails with kInvalidArgument when their
  // number does not fit the size.
  static Result<Dag> from_leaves(core::ByteView leaf_digests, std::uint64_t size,
                                 bool keep_nodes = true);

 private:
  // One link a parent node will hold.
  struct Entry {
    Cid cid;
    std::uint64_t tsize;       // encoded bytes of the whole subtree
    std::uint64_t file_bytes;  // file bytes under it
  };

  void complete_leaf();
  void push(std::size_t level, Entry entry);
  Entry reduce(std::size_t level);

  LeafFn on_leaf_;
  bool keep_nodes_;
  crypto::Sha256 chunk_hash_;
  std::size_t chunk_fill_ = 0;
  std::uint64_t size_ = 0;
  std::uint64_t leaf_count_ = 0;
  // levels_[0] holds leaves, levels_[n] nodes of height n; each holds the
  // links not yet gathered into a parent.
  std::vector<std::vector<Entry>> levels_;
  // How many entries each level has had in all, to tell the root apart.
  std::vector<std::uint64_t> level_totals_;
  std::vector<Block> nodes_;
};

}  // namespace soma::blob
