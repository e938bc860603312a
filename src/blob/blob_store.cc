#include "blob/blob_store.h"

#include <openssl/rand.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <mutex>
#include <system_error>
#include <utility>

#include "blob/blob_file.h"
#include "blob/chunk_copy.h"
#include "blob/cid.h"
#include "blob/dag_builder.h"
#include "blob/worker_pool.h"
#include "core/base_encoding.h"
#include "store/blob_repository.h"

namespace soma::blob {
namespace {

namespace fs = std::filesystem;
using core::Error;

// Longest upload name accepted; it only labels the event.
constexpr std::size_t kMaxNameBytes = 255;
// Bad chunks named one by one in a verify problem before summarising.
constexpr std::size_t kMaxChunksNamed = 8;

std::int64_t now_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

std::string n(std::uint64_t v) { return std::to_string(v); }

bool digest_matches(const core::Bytes& leaves, std::uint64_t index,
                    const crypto::Sha256Digest& digest) {
  std::uint64_t at = index * Cid::kDigestSize;
  if (at + Cid::kDigestSize > leaves.size()) return false;
  return std::equal(digest.begin(), digest.end(), leaves.begin() + static_cast<std::ptrdiff_t>(at));
}

class BlobStoreImpl;

class UploadImpl final : public Upload {
 public:
  UploadImpl(BlobStoreImpl& store, std::string space_id, std::uint64_t declared,
             std::optional<Cid> expected, std::string name, fs::path temp, file::File file)
      : store_(store),
        space_id_(std::move(space_id)),
        declared_(declared),
        expected_(std::move(expected)),
        name_(std::move(name)),
        temp_(std::move(temp)),
        file_(std::move(file)),
        builder_([this](std::uint64_t, const crypto::Sha256Digest& d,
                        std::size_t) { leaves_.insert(leaves_.end(), d.begin(), d.end()); },
                 false) {}

  ~UploadImpl() override {
    if (state_ != State::kOpen) return;
    (void)file_.close(temp_);
    (void)file::remove(temp_);
  }

  Status write(core::ByteView data) override;
  Result<BlobInfo> finish() override;
  std::uint64_t received() const override { return received_; }

 private:
  enum class State { kOpen, kFinished, kFailed };

  // Gives up: removes the temporary file and returns `error`.
  Error fail(Error error) {
    state_ = State::kFailed;
    (void)file_.close(temp_);
    (void)file::remove(temp_);
    return error;
  }
  Status check_open() const {
    if (state_ == State::kOpen) return {};
    return Error::precondition(state_ == State::kFinished
                                   ? "upload is already finished"
                                   : "upload failed earlier; nothing was stored; start a new one");
  }

  BlobStoreImpl& store_;
  std::string space_id_;
  std::uint64_t declared_;
  std::optional<Cid> expected_;
  std::string name_;
  fs::path temp_;
  file::File file_;
  core::Bytes leaves_;
  DagBuilder builder_;
  std::uint64_t received_ = 0;
  State state_ = State::kOpen;
};

class BlobStoreImpl final : public BlobStore {
 public:
  BlobStoreImpl(fs::path dir, store::Database& db, store::EventLog& events, Limits limits)
      : dir_(std::move(dir)),
        tmp_dir_(dir_ / "tmp"),
        db_(db),
        events_(events),
        repo_(db),
        limits_(limits),
        pool_(kTransferThreads) {}

  Status clean_leftovers();

  Result<std::unique_ptr<Upload>> begin_upload(const std::string& space_id,
                                               std::uint64_t declared_size,
                                               const std::optional<std::string>& expected_cid,
                                               const std::string& name) override;
  Result<BlobInfo> import_file(int fd, const std::string& space_id, std::uint64_t size,
                               const std::optional<std::string>& expected_cid,
                               const std::string& name, const TransferProgress& progress) override;
  Result<std::uint64_t> export_file(const std::string& cid, int fd,
                                    const TransferProgress& progress) override;
  Result<BlobInfo> get(const std::string& cid) override;
  Result<std::vector<BlobInfo>> list(const std::optional<std::string>& space_id) override;
  bool space_has(const std::string& space_id, const std::string& cid) override;
  Result<std::uint64_t> space_usage(const std::string& space_id) override;
  Status read(const std::string& cid, std::uint64_t offset, std::uint64_t length,
              const Sink& sink) override;
  Result<VerifyReport> verify(const std::vector<std::string>& cids) override;
  std::uint64_t blob_count() override;
  std::uint64_t total_bytes() override;
  const Limits& limits() const override { return limits_; }

  // Moves a complete, synced temporary file into place and records it for
  // the space. On failure nothing new is visible.
  Result<BlobInfo> publish(const std::string& space_id, const Cid& cid, std::uint64_t size,
                           core::Bytes leaves, const fs::path& temp, const std::string& name);

 private:
  fs::path shard_dir(const std::string& cid) const { return dir_ / cid.substr(cid.size() - 2); }
  fs::path blob_path(const std::string& cid) const { return shard_dir(cid) / cid; }
  Status check_quota(const std::string& space_id, const std::optional<std::string>& cid,
                     std::uint64_t size);
  // Everything a new blob must pass before a byte is written: its name, the
  // size limit, the expected CID (parsed) against the size, the space and
  // its quota.
  Result<std::optional<Cid>> check_new_blob(const std::string& space_id, std::uint64_t size,
                                            const std::optional<std::string>& expected_cid,
                                            const std::string& name);
  // A new temporary file under a random name.
  Result<std::pair<fs::path, file::File>> create_temp();
  // The record of `cid`, checked to hold one digest per leaf.
  Result<store::BlobRecord> find_record(const std::string& cid);
  // The blob's file, checked to be as long as its record says.
  Result<file::File> open_blob(const store::BlobRecord& rec);
  // CIDs named by files in the shard directories that have no record.
  Result<std::vector<fs::path>> unrecorded_files();
  void verify_one(const store::BlobRecord& record, VerifyReport& report);

  const fs::path dir_;
  const fs::path tmp_dir_;
  store::Database& db_;
  store::EventLog& events_;
  store::BlobRepository repo_;
  const Limits limits_;
  // Serialises the step from "renamed into place" to "recorded", so a
  // concurrent upload of the same bytes or a scan for unrecorded files never
  // sees the other half-way. Never held while hashing or writing bytes.
  std::mutex publish_mutex_;
  std::atomic<std::uint64_t> leftovers_{0};
  WorkerPool pool_;
};

Status UploadImpl::write(core::ByteView data) {
  SOMA_TRY(check_open());
  if (data.size() > declared_ - received_) {
    return fail(Error::exhausted("upload is longer than its declared size of " + n(declared_) +
                                 " bytes; nothing was stored"));
  }
  auto w = file_.write_all(data, temp_);
  if (!w) return fail(w.take_error());
  builder_.update(data);
  received_ += data.size();
  return {};
}

Result<BlobInfo> UploadImpl::finish() {
  SOMA_TRY(check_open());
  if (received_ != declared_) {
    return fail(Error::invalid("truncated upload: received " + n(received_) + " of " +
                               n(declared_) + " bytes; nothing was stored"));
  }
  Dag dag = builder_.finish();
  if (expected_ && dag.root != *expected_) {
    return fail(Error::data_loss("uploaded bytes hash to " + dag.root.to_string() + ", not " +
                                 expected_->to_string() + "; nothing was stored"));
  }

  // The bytes must be durable before any name points at them.
  auto synced = file_.sync(temp_);
  if (!synced) return fail(synced.take_error());
  auto closed = file_.close(temp_);
  if (!closed) return fail(closed.take_error());

  auto info = store_.publish(space_id_, dag.root, dag.size, std::move(leaves_), temp_, name_);
  if (!info) return fail(info.take_error());
  state_ = State::kFinished;
  return info;
}

Status BlobStoreImpl::clean_leftovers() {
  std::uint64_t removed = 0;
  std::error_code ec;

  // Temporary files belong to uploads that never finished.
  for (fs::directory_iterator it(tmp_dir_, ec), end; !ec && it != end; it.increment(ec)) {
    SOMA_TRY(file::remove(it->path()));
    ++removed;
  }
  if (ec) return Error::internal("cannot list " + tmp_dir_.string() + ": " + ec.message());

  // A blob file without a record was renamed into place but its transaction
  // never committed: it was never acknowledged.
  auto orphans = unrecorded_files();
  if (!orphans) return orphans.take_error();
  for (const fs::path& p : *orphans) {
    SOMA_TRY(file::remove(p));
    ++removed;
  }

  if (removed > 0) {
    SOMA_TRY(file::sync_dir(tmp_dir_));
    spdlog::warn("blob store: removed {} unfinished file(s) left by an interrupted upload",
                 removed);
  }
  leftovers_ += removed;
  return {};
}

Result<std::vector<fs::path>> BlobStoreImpl::unrecorded_files() {
  std::vector<fs::path> out;
  std::error_code ec;
  for (fs::directory_iterator shard(dir_, ec), end; !ec && shard != end; shard.increment(ec)) {
    std::string shard_name = shard->path().filename().string();
    if (shard_name.size() != 2 || !shard->is_directory(ec)) continue;
    std::error_code ec2;
    for (fs::directory_iterator it(shard->path(), ec2), end2; !ec2 && it != end2;
         it.increment(ec2)) {
      std::string name = it->path().filename().string();
      // Only files named as this store names blobs; anything else is not ours.
      auto cid = Cid::parse(name);
      if (!cid || cid->to_string() != name || !name.ends_with(shard_name)) continue;
      auto known = repo_.exists(name);
      if (!known) return known.take_error();
      if (!*known) out.push_back(it->path());
    }
    if (ec2) return Error::internal("cannot list " + shard->path().string() + ": " + ec2.message());
  }
  if (ec) return Error::internal("cannot list " + dir_.string() + ": " + ec.message());
  return out;
}

Status BlobStoreImpl::check_quota(const std::string& space_id,
                                  const std::optional<std::string>& cid, std::uint64_t size) {
  if (limits_.space_quota_bytes == 0) return {};
  if (cid) {
    auto has = repo_.space_has(space_id, *cid);
    if (!has) return has.take_error();
    if (*has) return {};
  }
  auto used = repo_.space_usage(space_id);
  if (!used) return used.take_error();
  if (size > limits_.space_quota_bytes || *used > limits_.space_quota_bytes - size) {
    return Error::exhausted("space " + space_id + " uses " + n(*used) + " bytes of its quota of " +
                            n(limits_.space_quota_bytes) + "; a blob of " + n(size) +
                            " bytes does not fit; nothing was stored");
  }
  return {};
}

Result<std::optional<Cid>> BlobStoreImpl::check_new_blob(
    const std::string& space_id, std::uint64_t size, const std::optional<std::string>& expected_cid,
    const std::string& name) {
  if (name.size() > kMaxNameBytes) {
    return Error::invalid("blob name is " + n(name.size()) + " bytes; at most " + n(kMaxNameBytes) +
                          " allowed");
  }
  if (size > limits_.max_blob_bytes) {
    return Error::exhausted("blob of " + n(size) + " bytes is over the limit of " +
                            n(limits_.max_blob_bytes) + " bytes; nothing was stored");
  }
  std::optional<Cid> expected;
  if (expected_cid) {
    auto parsed = Cid::parse(*expected_cid);
    if (!parsed) return Error::invalid("expected CID: " + parsed.error().message);
    // The layout decides the codec: one chunk is a raw block, more a dag-pb root.
    bool one_block = size <= kChunkSize;
    if (one_block != (parsed->codec() == Codec::kRaw)) {
      return Error::invalid("expected CID " + *expected_cid + " cannot name " + n(size) +
                            " bytes: " +
                            (one_block ? "a blob of one chunk has a raw CID (bafk…)"
                                       : "a blob of several chunks has a dag-pb CID (bafy…)"));
    }
    expected = *parsed;
  }
  auto space = repo_.space_exists(space_id);
  if (!space) return space.take_error();
  if (!*space) return Error::not_found("no space " + space_id);
  SOMA_TRY(check_quota(space_id, expected_cid, size));
  return expected;
}

Result<std::pair<fs::path, file::File>> BlobStoreImpl::create_temp() {
  // A random name: concurrent uploads never share a temporary file.
  std::uint8_t rnd[16];
  if (RAND_bytes(rnd, sizeof rnd) != 1) return Error::internal("no randomness for a file name");
  fs::path temp = tmp_dir_ / (core::hex_encode(rnd) + ".part");
  auto f = file::File::create_exclusive(temp);
  if (!f) return f.take_error();
  return std::pair{std::move(temp), std::move(*f)};
}

Result<std::unique_ptr<Upload>> BlobStoreImpl::begin_upload(
    const std::string& space_id, std::uint64_t declared_size,
    const std::optional<std::string>& expected_cid, const std::string& name) {
  // Validate everything before a byte touches the disk.
  auto expected = check_new_blob(space_id, declared_size, expected_cid, name);
  if (!expected) return expected.take_error();
  auto temp = create_temp();
  if (!temp) return temp.take_error();
  return std::unique_ptr<Upload>(
      std::make_unique<UploadImpl>(*this, space_id, declared_size, std::move(*expected), name,
                                   std::move(temp->first), std::move(temp->second)));
}

namespace {

// A temporary file that is removed unless kept: every early return of an
// import discards what was written.
class TempFile {
 public:
  TempFile(fs::path path, file::File file) : path_(std::move(path)), file_(std::move(file)) {}
  ~TempFile() {
    if (kept_) return;
    (void)file_.close(path_);
    (void)file::remove(path_);
  }
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;

  const fs::path& path() const { return path_; }
  file::File& file() { return file_; }
  // The file now belongs to whoever renamed or removed it.
  void keep() { kept_ = true; }

 private:
  fs::path path_;
  file::File file_;
  bool kept_ = false;
};

bool same_time(const struct timespec& a, const struct timespec& b) {
  return a.tv_sec == b.tv_sec && a.tv_nsec == b.tv_nsec;
}

}  // namespace

Result<BlobInfo> BlobStoreImpl::import_file(int fd, const std::string& space_id, std::uint64_t size,
                                            const std::optional<std::string>& expected_cid,
                                            const std::string& name,
                                            const TransferProgress& progress) {
  const std::string label = name.empty() ? std::string("the file") : name;

  // The file must be what the caller saw before anything is checked or read.
  struct stat before {};
  if (::fstat(fd, &before) != 0) {
    return Error::internal("cannot stat " + label + ": " + std::strerror(errno));
  }
  if (!S_ISREG(before.st_mode)) {
    return Error::invalid(label + " is not a regular file; only regular files can be imported");
  }
  if (static_cast<std::uint64_t>(before.st_size) != size) {
    return Error::precondition(label + " is " + n(static_cast<std::uint64_t>(before.st_size)) +
                               " bytes, not the " + n(size) +
                               " it had a moment ago; it is changing; nothing was stored");
  }
  auto expected = check_new_blob(space_id, size, expected_cid, name);
  if (!expected) return expected.take_error();
  auto created = create_temp();
  if (!created) return created.take_error();
  TempFile temp(std::move(created->first), std::move(created->second));

  // Each chunk's digest lands in its own slot, whichever thread hashes it.
  core::Bytes leaves(dag_leaf_count(size) * Cid::kDigestSize);
  auto shrank = [&] {
    return Error::precondition(label + " shrank while being imported; nothing was stored; try again once it stops changing");
  };
  auto hash_chunk = [&](std::uint64_t index, core::ByteView chunk) -> Status {
    std::uint64_t want = std::min<std::uint64_t>(kChunkSize, size - index * kChunkSize);
    if (chunk.size() != want) return shrank();
    crypto::Sha256Digest digest = crypto::sha256(chunk);
    std::copy(digest.begin(), digest.end(),
              leaves.begin() + static_cast<std::ptrdiff_t>(index * Cid::kDigestSize));
    return {};
  };
  SOMA_TRY(copy_chunks(pool_, CopyEnd{fd, label}, CopyEnd{temp.file().fd(), temp.path().string()},
                       size, hash_chunk, progress));

  // Nothing may have changed meanwhile: no byte past the end, the same
  // size and the same modification time.
  std::uint8_t past_end = 0;
  auto extra = pread_full(fd, &past_end, 1, size);
  if (!extra) return Error::internal("cannot read " + label + ": " + extra.error().message);
  struct stat after {};
  if (::fstat(fd, &after) != 0) {
    return Error::internal("cannot stat " + label + ": " + std::strerror(errno));
  }
  if (*extra != 0 || static_cast<std::uint64_t>(after.st_size) > size) {
    return Error::precondition(label + " grew while being imported; nothing was stored; try again once it stops changing");
  }
  if (static_cast<std::uint64_t>(after.st_size) < size) return shrank();
  if (!same_time(before.st_mtim, after.st_mtim)) {
    return Error::precondition(label + " was modified while being imported; nothing was stored; try again once it stops changing");
  }

  auto dag = DagBuilder::from_leaves(leaves, size, false);
  if (!dag) return dag.take_error();
  if (*expected && dag->root != **expected) {
    return Error::data_loss(label + " hashes to " + dag->root.to_string() + ", not " +
                            (*expected)->to_string() + "; nothing was stored");
  }

  // The bytes must be durable before any name points at them.
  SOMA_TRY(temp.file().sync(temp.path()));
  SOMA_TRY(temp.file().close(temp.path()));
  auto info = publish(space_id, dag->root, size, std::move(leaves), temp.path(), name);
  if (!info) return info.take_error();
  temp.keep();
  return info;
}

Result<std::uint64_t> BlobStoreImpl::export_file(const std::string& cid, int fd,
                                                 const TransferProgress& progress) {
  auto rec = find_record(cid);
  if (!rec) return rec.take_error();
  // A damaged record could name chunks of another blob.
  auto dag = DagBuilder::from_leaves(rec->leaves, rec->size, false);
  if (!dag || dag->root.to_string() != cid) {
    return Error::data_loss("blob " + cid + " has a damaged record (its digests build " +
                            (dag ? dag->root.to_string() : dag.error().message) + "); run verify");
  }

  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    return Error::internal("cannot stat the export file: " + std::string(std::strerror(errno)));
  }
  if (!S_ISREG(st.st_mode)) {
    return Error::invalid(
        "the export file is not a regular file; blobs are exported only into "
        "regular files");
  }
  if (st.st_size != 0) {
    return Error::precondition("the export file is not empty (" +
                               n(static_cast<std::uint64_t>(st.st_size)) +
                               " bytes); blobs are exported only into a new, empty file");
  }
  auto blob = open_blob(*rec);
  if (!blob) return blob.take_error();

  // Whatever fails below, the file is left empty rather than half a blob.
  struct Truncate {
    int fd;
    bool armed = true;
    ~Truncate() {
      if (armed) (void)::ftruncate(fd, 0);
    }
  } truncate{fd};

  auto verify_chunk = [&](std::uint64_t index, core::ByteView chunk) -> Status {
    std::uint64_t want = std::min<std::uint64_t>(kChunkSize, rec->size - index * kChunkSize);
    if (chunk.size() != want || !digest_matches(rec->leaves, index, crypto::sha256(chunk))) {
      return Error::data_loss("blob " + cid + " chunk " + n(index) +
                              " does not match its digest; the stored copy is corrupt");
    }
    return {};
  };
  SOMA_TRY(copy_chunks(pool_, CopyEnd{blob->fd(), blob_path(cid).string()},
                       CopyEnd{fd, "the export file"}, rec->size, verify_chunk, progress));
  if (::fsync(fd) != 0) {
    int err = errno;
    std::string message = "cannot sync the export file: " + std::string(std::strerror(err));
    if (err == ENOSPC || err == EDQUOT) return Error::exhausted(std::move(message));
    return Error::internal(std::move(message));
  }
  truncate.armed = false;
  return rec->size;
}

Result<BlobInfo> BlobStoreImpl::publish(const std::string& space_id, const Cid& cid,
                                        std::uint64_t size, core::Bytes leaves,
                                        const fs::path& temp, const std::string& name) {
  const std::string text = cid.to_string();
  const fs::path final_path = blob_path(text);
  std::lock_guard publish_lock(publish_mutex_);

  // The space may have gone, or filled up, since the upload began.
  auto space = repo_.space_exists(space_id);
  if (!space) return space.take_error();
  if (!*space) return Error::not_found("no space " + space_id + "; nothing was stored");
  SOMA_TRY(check_quota(space_id, text, size));

  // Move the verified bytes into place. Over an existing copy the rename is
  // atomic and swaps identical bytes, repairing a copy damaged on disk.
  auto recorded = repo_.exists(text);
  if (!recorded) return recorded.take_error();
  auto created = file::make_dir(shard_dir(text));
  if (!created) return created.take_error();
  if (*created) SOMA_TRY(file::sync_dir(dir_));
  SOMA_TRY(file::rename(temp, final_path));
  const bool placed = !*recorded;
  auto synced = file::sync_dir(shard_dir(text));
  if (!synced) {
    if (placed) (void)file::remove(final_path);
    return synced.take_error();
  }

  // One transaction records the blob, charges it to the space and logs it.
  bool appended = false;
  Status tx = db_.transaction([&]() -> Status {
    store::BlobRecord record{text, size, std::move(leaves), 0, now_ms()};
    auto inserted = repo_.insert(record);
    if (!inserted) return inserted.take_error();
    auto linked = repo_.link_space(space_id, text, now_ms());
    if (!linked) return linked.take_error();
    if (*inserted || *linked) {
      std::string detail = n(size) + " bytes";
      if (!name.empty()) detail = name + " (" + detail + ")";
      auto event = events_.append("blob.added", space_id, text, detail);
      if (!event) return event.take_error();
      appended = true;
    }
    return {};
  });
  if (!tx) {
    // Unrecorded, the file would never be acknowledged; take it back.
    if (placed) (void)file::remove(final_path);
    return tx.take_error();
  }
  if (appended) events_.published();
  return get(text);
}

Result<BlobInfo> BlobStoreImpl::get(const std::string& cid) {
  auto parsed = Cid::parse(cid);
  if (!parsed) return parsed.take_error();
  auto rec = repo_.find(cid);
  if (!rec) return rec.take_error();
  if (!*rec) return Error::not_found("no blob " + cid);
  auto spaces = repo_.spaces_of(cid);
  if (!spaces) return spaces.take_error();
  return BlobInfo{cid, (*rec)->size, dag_block_count((*rec)->size), (*rec)->created_ms,
                  std::move(*spaces)};
}

Result<std::vector<BlobInfo>> BlobStoreImpl::list(const std::optional<std::string>& space_id) {
  auto records = repo_.list(space_id);
  if (!records) return records.take_error();
  std::vector<BlobInfo> out;
  out.reserve(records->size());
  for (auto& r : *records) {
    auto spaces = repo_.spaces_of(r.cid);
    if (!spaces) return spaces.take_error();
    out.push_back(
        BlobInfo{std::move(r.cid), r.size, dag_block_count(r.size), r.created_ms, *spaces});
  }
  return out;
}

bool BlobStoreImpl::space_has(const std::string& space_id, const std::string& cid) {
  auto has = repo_.space_has(space_id, cid);
  return has.ok() && *has;
}

Result<std::uint64_t> BlobStoreImpl::space_usage(const std::string& space_id) {
  return repo_.space_usage(space_id);
}

Result<store::BlobRecord> BlobStoreImpl::find_record(const std::string& cid) {
  auto parsed = Cid::parse(cid);
  if (!parsed) return parsed.take_error();
  auto found = repo_.find(cid);
  if (!found) return found.take_error();
  if (!*found) return Error::not_found("no blob " + cid);
  store::BlobRecord& rec = **found;
  if (rec.leaf_count != dag_leaf_count(rec.size) ||
      rec.leaves.size() != rec.leaf_count * Cid::kDigestSize) {
    return Error::data_loss("blob " + cid + " has a damaged record (wrong number of leaf digests)");
  }
  return std::move(rec);
}

Result<file::File> BlobStoreImpl::open_blob(const store::BlobRecord& rec) {
  const fs::path path = blob_path(rec.cid);
  auto f = file::File::open_read(path);
  if (!f) {
    if (f.error().code == core::ErrorCode::kNotFound) {
      return Error::data_loss("blob " + rec.cid +
                              " is recorded but its file is missing; run verify");
    }
    return f.take_error();
  }
  auto on_disk = f->size(path);
  if (!on_disk) return on_disk.take_error();
  if (*on_disk != rec.size) {
    return Error::data_loss("blob " + rec.cid + " file is " + n(*on_disk) + " bytes, not " +
                            n(rec.size) + "; the stored copy is corrupt");
  }
  return f;
}

Status BlobStoreImpl::read(const std::string& cid, std::uint64_t offset, std::uint64_t length,
                           const Sink& sink) {
  auto found = find_record(cid);
  if (!found) return found.take_error();
  const store::BlobRecord& rec = *found;
  if (offset > rec.size) {
    return Error::invalid("offset " + n(offset) + " is past the end of blob " + cid + " (" +
                          n(rec.size) + " bytes)");
  }
  std::uint64_t end = (length == 0 || length > rec.size - offset) ? rec.size : offset + length;
  if (offset == end) return {};

  const fs::path path = blob_path(cid);
  auto f = open_blob(rec);
  if (!f) return f.take_error();

  // Each chunk is checked whole before any of its bytes leave.
  core::Bytes buffer(kChunkSize);
  for (std::uint64_t index = offset / kChunkSize; index * kChunkSize < end; ++index) {
    std::uint64_t chunk_start = index * kChunkSize;
    auto chunk_len =
        static_cast<std::size_t>(std::min<std::uint64_t>(kChunkSize, rec.size - chunk_start));
    auto got = f->read_at(buffer.data(), chunk_len, chunk_start, path);
    if (!got) return got.take_error();
    core::ByteView chunk(buffer.data(), *got);
    if (*got != chunk_len || !digest_matches(rec.leaves, index, crypto::sha256(chunk))) {
      return Error::data_loss("blob " + cid + " chunk " + n(index) +
                              " does not match its digest; the stored copy is corrupt");
    }
    std::uint64_t from = std::max(offset, chunk_start);
    std::uint64_t to = std::min<std::uint64_t>(end, chunk_start + chunk_len);
    SOMA_TRY(sink(chunk.subspan(from - chunk_start, to - from), from));
  }
  return {};
}

void BlobStoreImpl::verify_one(const store::BlobRecord& rec, VerifyReport& report) {
  auto problem = [&](std::string what) { report.problems.push_back({rec.cid, std::move(what)}); };
  ++report.checked;

  // The record itself must describe the blob its CID names.
  auto rebuilt = DagBuilder::from_leaves(rec.leaves, rec.size, false);
  if (!rebuilt) {
    problem("record is damaged: " + rebuilt.error().message);
  } else if (rebuilt->root.to_string() != rec.cid) {
    problem("recorded leaf digests build " + rebuilt->root.to_string() + ", not the blob's CID");
  }

  const fs::path path = blob_path(rec.cid);
  auto f = file::File::open_read(path);
  if (!f) {
    problem(f.error().code == core::ErrorCode::kNotFound ? "file is missing" : f.error().message);
    return;
  }
  auto on_disk = f->size(path);
  if (!on_disk) {
    problem(on_disk.error().message);
    return;
  }
  if (*on_disk != rec.size) {
    problem("file is " + n(*on_disk) + " bytes; the record says " + n(rec.size));
    return;
  }

  // Re-hash every leaf and rebuild the DAG from the bytes on disk.
  std::vector<std::uint64_t> bad;
  std::uint64_t bad_total = 0;
  DagBuilder builder(
      [&](std::uint64_t index, const crypto::Sha256Digest& d, std::size_t) {
        if (!digest_matches(rec.leaves, index, d)) {
          if (bad.size() < kMaxChunksNamed) bad.push_back(index);
          ++bad_total;
        }
      },
      false);
  core::Bytes buffer(kChunkSize);
  for (std::uint64_t at = 0; at < rec.size;) {
    auto want = static_cast<std::size_t>(std::min<std::uint64_t>(kChunkSize, rec.size - at));
    auto got = f->read_at(buffer.data(), want, at, path);
    if (!got) {
      problem(got.error().message);
      return;
    }
    if (*got != want) {
      problem("file shrank while being checked");
      return;
    }
    builder.update(core::ByteView(buffer.data(), want));
    at += want;
    report.bytes_checked += want;
  }
  Dag dag = builder.finish();
  if (bad_total > 0) {
    std::string list;
    for (std::uint64_t i : bad) list += (list.empty() ? "" : ", ") + n(i);
    if (bad_total > bad.size()) list += " and " + n(bad_total - bad.size()) + " more";
    problem(n(bad_total) + " chunk(s) do not match their digests: " + list);
  }
  if (dag.root.to_string() != rec.cid) {
    problem("file bytes hash to " + dag.root.to_string() + ", not the blob's CID");
  }
}

Result<VerifyReport> BlobStoreImpl::verify(const std::vector<std::string>& cids) {
  VerifyReport report;
  std::vector<std::string> targets = cids;
  if (cids.empty()) {
    auto all = repo_.all_cids();
    if (!all) return all.take_error();
    targets = std::move(*all);

    std::lock_guard publish_lock(publish_mutex_);
    auto orphans = unrecorded_files();
    if (!orphans) return orphans.take_error();
    for (const fs::path& p : *orphans) {
      report.problems.push_back({p.filename().string(), "file has no record"});
    }
  }

  for (const std::string& cid : targets) {
    auto parsed = Cid::parse(cid);
    if (!parsed) {
      report.problems.push_back({cid, "not a CID: " + parsed.error().message});
      continue;
    }
    auto rec = repo_.find(cid);
    if (!rec) return rec.take_error();
    if (!*rec) {
      report.problems.push_back({cid, "no such blob"});
      continue;
    }
    verify_one(**rec, report);
  }
  report.leftovers_removed = leftovers_.exchange(0);
  return report;
}

std::uint64_t BlobStoreImpl::blob_count() {
  auto c = repo_.count();
  return c.ok() ? *c : 0;
}

std::uint64_t BlobStoreImpl::total_bytes() {
  auto t = repo_.total_bytes();
  return t.ok() ? *t : 0;
}

}  // namespace

Result<std::unique_ptr<BlobStore>> BlobStore::open(const fs::path& dir, store::Database& db,
                                                   store::EventLog& events, Limits limits) {
  std::error_code ec;
  if (dir.has_parent_path()) fs::create_directories(dir.parent_path(), ec);
  if (ec)
    return Error::internal("cannot create " + dir.parent_path().string() + ": " + ec.message());
  auto made = file::make_dir(dir);
  if (!made) return made.take_error();
  auto made_tmp = file::make_dir(dir / "tmp");
  if (!made_tmp) return made_tmp.take_error();

  auto store = std::make_unique<BlobStoreImpl>(dir, db, events, limits);
  SOMA_TRY(store->clean_leftovers());
  return std::unique_ptr<BlobStore>(std::move(store));
}

}  // namespace soma::blob
