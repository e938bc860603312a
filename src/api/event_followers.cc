#include "api/event_followers.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <string>
#include <utility>
#include <vector>

#include "api/converters.h"
#include "api/status_mapping.h"

namespace soma::api {
namespace {

class RefusedWatch final : public grpc::ServerWriteReactor<v1::Event> {
 public:
  explicit RefusedWatch(const grpc::Status& status) { Finish(status); }
  void OnDone() override { delete this; }
};

}  // namespace

grpc::ServerWriteReactor<v1::Event>* refused_watch(const grpc::Status& status) {
  return new RefusedWatch(status);
}

// One WatchEvents call. `last_` is the id of the last event written; every
// query asks for ids above it, so the stream has neither duplicates nor gaps.
class EventFollowers::Watch final : public grpc::ServerWriteReactor<v1::Event> {
 public:
  Watch(EventFollowers& owner, std::uint64_t after_id, bool follow)
      : owner_(owner), last_(after_id), follow_(follow) {}

  // Sends the next event if none is in flight; finishes the call when the
  // replay is over (no follow), the client left, or the log shut down.
  void pump() {
    std::unique_lock lock(mu_);
    if (writing_ || finished_) return;
    if (cancelled_) return finish(lock, {grpc::StatusCode::CANCELLED, "the client cancelled"});
    if (next_ == pending_.size()) {
      pending_.clear();
      next_ = 0;
      auto batch = owner_.events_.list_after(last_, kEventBatch);
      if (!batch) {
        spdlog::error("api WatchEvents failed: {}", batch.error().message);
        return finish(lock, to_grpc_status(batch.error()));
      }
      pending_ = std::move(*batch);
      if (pending_.empty()) {
        if (!follow_) return finish(lock, grpc::Status::OK);
        if (owner_.events_.stopped()) {
          return finish(lock, {grpc::StatusCode::UNAVAILABLE,
                               fmt::format("soma-daemon is shutting down; reconnect and resume "
                                           "with after_id={}",
                                           last_)});
        }
        return;  // idle until the notifier sees news
      }
    }
    out_.Clear();
    to_proto(pending_[next_], &out_);
    writing_ = true;
    lock.unlock();
    StartWrite(&out_);
  }

  void OnWriteDone(bool ok) override {
    {
      std::unique_lock lock(mu_);
      writing_ = false;
      if (!ok) return finish(lock, {grpc::StatusCode::CANCELLED, "the client went away"});
      last_ = pending_[next_].id;
      ++next_;
    }
    pump();
  }

  void OnCancel() override {
    std::unique_lock lock(mu_);
    cancelled_ = true;
    // A write in flight completes with ok=false and finishes the call then.
    if (!writing_) finish(lock, {grpc::StatusCode::CANCELLED, "the client cancelled"});
  }

  void OnDone() override {
    owner_.forget(this);
    delete this;
  }

 private:
  void finish(std::unique_lock<std::mutex>& lock, const grpc::Status& status) {
    if (finished_) return;
    finished_ = true;
    lock.unlock();
    Finish(status);
  }

  EventFollowers& owner_;
  std::mutex mu_;
  std::uint64_t last_;
  const bool follow_;
  std::vector<store::Event> pending_;
  std::size_t next_ = 0;
  v1::Event out_;
  bool writing_ = false;
  bool cancelled_ = false;
  bool finished_ = false;
};

EventFollowers::EventFollowers(store::EventLog& events, std::size_t max_followers)
    : events_(events), max_followers_(max_followers) {}

EventFollowers::~EventFollowers() {
  stop_ = true;
  if (notifier_.joinable()) notifier_.join();
}

grpc::ServerWriteReactor<v1::Event>* EventFollowers::watch(const v1::WatchEventsRequest& req) {
  Watch* watch = nullptr;
  {
    std::lock_guard lock(mu_);
    if (watches_.size() >= max_followers_) {
      spdlog::warn("api WatchEvents refused: {} event followers are open, the most allowed",
                   watches_.size());
      return refused_watch(
          {grpc::StatusCode::RESOURCE_EXHAUSTED,
           fmt::format("too many event followers ({}); close some", watches_.size())});
    }
    watch = new Watch(*this, req.after_id(), req.follow());
    watches_.insert(watch);
    if (!notifier_started_) {
      notifier_started_ = true;
      // Taken here, before this watch's first query: an event published
      // between that query and the thread's start must still wake it.
      const std::uint64_t seen = events_.last_published();
      notifier_ = std::thread([this, seen] { run_notifier(seen); });
    }
  }
  // gRPC holds operations started before the reactor is returned and runs
  // them once it is bound.
  watch->pump();
  return watch;
}

std::size_t EventFollowers::open_watches() {
  std::lock_guard lock(mu_);
  return watches_.size();
}

void EventFollowers::forget(Watch* watch) {
  std::lock_guard lock(mu_);
  watches_.erase(watch);
}

void EventFollowers::run_notifier(std::uint64_t seen) {
  while (!stop_) {
    const bool alive = events_.wait_after(seen, std::chrono::steady_clock::now() + kPollInterval);
    const std::uint64_t now = events_.last_published();
    if (alive && now == seen) continue;
    seen = now;
    // Holding mu_ keeps every watch alive: OnDone must take it to forget one.
    std::lock_guard lock(mu_);
    for (Watch* w : watches_) w->pump();
    // Once the log is shut down, every idle watch has just finished and any
    // later one finishes on its own first pump; nothing is left to wake.
    if (!alive) return;
  }
}

}  // namespace soma::api
