#pragma once

#include <grpcpp/server_context.h>
#include <grpcpp/support/server_callback.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <mutex>
#include <thread>
#include <unordered_set>

#include "soma/api/v1/daemon.pb.h"
#include "store/event_log.h"

namespace soma::api {

// Serves WatchEvents with gRPC's callback API, so a following watch holds
// no thread while it waits: any number of followers (up to the cap) leave
// the server's thread pool to short calls.
//
// One notifier thread, started with the first watch, waits on the event log
// and, when events are published, lets every idle watch send what is new.
// Watches query and write from gRPC's callback threads and from the
// notifier; each watch serialises its own work, so at most one write of a
// watch is in flight.
//
// Ownership: `events` is borrowed and must outlive this object. The gRPC
// server must be shut down (every watch done) before this object is
// destroyed. Threading: watch() is called from gRPC's threads concurrently.
class EventFollowers {
 public:
  // The default for the most WatchEvents calls open at once; one more is
  // refused with RESOURCE_EXHAUSTED.
  static constexpr std::size_t kDefaultMaxFollowers = 256;
  // Events read per query; also bounds what one watch holds in memory.
  static constexpr std::size_t kEventBatch = 256;
  // How often the notifier looks for news even without a wake-up, and how
  // soon it notices that this object is going away.
  static constexpr std::chrono::milliseconds kPollInterval{100};

  EventFollowers(store::EventLog& events, std::size_t max_followers = kDefaultMaxFollowers);
  ~EventFollowers();
  EventFollowers(const EventFollowers&) = delete;
  EventFollowers& operator=(const EventFollowers&) = delete;

  // Starts a watch of events with id > after_id. A watch that cannot be
  // served (cap reached) finishes at once with RESOURCE_EXHAUSTED.
  grpc::ServerWriteReactor<v1::Event>* watch(const v1::WatchEventsRequest& req);

  std::size_t open_watches();

  class Watch;

 private:
  friend class Watch;
  void forget(Watch* watch);
  void run_notifier(std::uint64_t seen);

  store::EventLog& events_;
  const std::size_t max_followers_;
  std::mutex mu_;
  std::unordered_set<Watch*> watches_;
  bool notifier_started_ = false;
  std::atomic<bool> stop_{false};
  std::thread notifier_;
};

// A stream that finishes at once with `status` (a refused call).
grpc::ServerWriteReactor<v1::Event>* refused_watch(const grpc::Status& status);

}  // namespace soma::api
