#include "blob/worker_pool.h"

#include <algorithm>

namespace soma::blob {

WorkerPool::WorkerPool(std::size_t helpers) {
  helpers_.reserve(helpers);
  for (std::size_t i = 0; i < helpers; ++i) helpers_.emplace_back([this, i] { help(i + 1); });
}

WorkerPool::~WorkerPool() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  work_cv_.notify_all();
  for (auto& t : helpers_) t.join();
}

bool WorkerPool::claim(Job& job, std::size_t& index) {
  if (job.next >= job.count) return false;
  index = job.next++;
  // A job leaves the queue once nothing is left to claim, so no helper
  // touches it after its caller has returned.
  if (job.next == job.count) {
    auto it = std::find(queue_.begin(), queue_.end(), &job);
    if (it != queue_.end()) queue_.erase(it);
  }
  return true;
}

void WorkerPool::run(std::size_t count, const Piece& piece) {
  if (count == 0) return;
  Job job{&piece, count};
  std::unique_lock lock(mu_);
  // A helper is only worth waking when there is more than one piece.
  if (count > 1 && !helpers_.empty() && queue_.size() < kMaxQueuedJobs) {
    queue_.push_back(&job);
    work_cv_.notify_all();
  }

  std::size_t index = 0;
  while (claim(job, index)) {
    lock.unlock();
    piece(index, 0);
    lock.lock();
    ++job.finished;
  }
  done_cv_.wait(lock, [&] { return job.finished == job.count; });
}

void WorkerPool::help(std::size_t slot) {
  std::unique_lock lock(mu_);
  for (;;) {
    work_cv_.wait(lock, [&] { return stop_ || !queue_.empty(); });
    if (stop_) return;
    Job& job = *queue_.front();
    std::size_t index = 0;
    if (!claim(job, index)) continue;
    lock.unlock();
    (*job.piece)(index, slot);
    lock.lock();
    // Notified under the lock: the caller cannot see the job finished, and
    // return, before this thread is done with it.
    if (++job.finished == job.count) done_cv_.notify_all();
  }
}

}  // namespace soma::blob
