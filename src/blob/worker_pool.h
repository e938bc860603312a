#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace soma::blob {

// A fixed set of helper threads that lend a hand to callers with many
// independent pieces of work, such as hashing the chunks of one batch of a
// blob. The caller always works on its own job too, so a job finishes even
// when every helper is busy with someone else's.
//
// Threading: run() may be called from any number of threads at once; each
// call blocks until its own job is done. The destructor must not race with
// run(). Errors: none; a piece reports its own outcome through state the
// caller gives it.
class WorkerPool {
 public:
  // Jobs waiting for helpers beyond this are run by their callers alone,
  // so no number of callers can grow the queue.
  static constexpr std::size_t kMaxQueuedJobs = 32;

  // The piece to run and the slot of the thread running it, in
  // [0, threads()): slot 0 is the caller, so per-thread scratch space can
  // be indexed by it. Must not throw.
  using Piece = std::function<void(std::size_t index, std::size_t slot)>;

  // Starts `helpers` threads (0: every job runs on its caller).
  explicit WorkerPool(std::size_t helpers);
  ~WorkerPool();
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  // Threads that may work on one job: the caller and the helpers.
  std::size_t threads() const { return helpers_.size() + 1; }

  // Runs piece(i, slot) once for every i in [0, count) and returns when all
  // have finished.
  void run(std::size_t count, const Piece& piece);

 private:
  struct Job {
    const Piece* piece;
    std::size_t count;
    std::size_t next = 0;      // first index not yet claimed
    std::size_t finished = 0;  // pieces that have returned
  };

  void help(std::size_t slot);
  // Claims the next index of `job`; false when every index is claimed.
  // REQUIRES: mu_ is held.
  bool claim(Job& job, std::size_t& index);

  std::mutex mu_;
  std::condition_variable work_cv_;  // a job was queued, or stopping
  std::condition_variable done_cv_;  // a piece finished
  std::deque<Job*> queue_;           // jobs with unclaimed indices
  bool stop_ = false;
  std::vector<std::thread> helpers_;
};

}  // namespace soma::blob
