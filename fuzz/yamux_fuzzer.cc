// Feeds arbitrary bytes to a server-side yamux Session the way a connection
// would, in chunks whose size the first input byte picks, while acting as a
// busy application: accepting streams, consuming and echoing data, closing
// on FIN, and taking the output. The session must never crash, must keep
// making progress once its events and output are drained, and must answer
// every failure with a go-away.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <variant>

#include "p2p/yamux/session.h"

namespace {

using namespace soma::p2p::yamux;

void act_on_events(Session& session) {
  while (auto e = session.next_event()) {
    if (auto* opened = std::get_if<event::StreamOpened>(&*e)) {
      (void)session.accept(opened->stream);
    } else if (auto* data = std::get_if<event::StreamData>(&*e)) {
      (void)session.consume(data->stream, data->data.size());
      (void)session.write(data->stream, data->data);
    } else if (auto* fin = std::get_if<event::StreamFinished>(&*e)) {
      (void)session.close_write(fin->stream);
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  std::size_t chunk = 1 + data[0] % 97;
  ++data;
  --size;

  // Small limits so refusals and pauses are reached with short inputs; time
  // advances one millisecond per chunk so ping limits and round trips vary.
  auto now = std::chrono::steady_clock::time_point{};
  Config config;
  config.role = Role::kServer;
  config.ping_on_start = (chunk % 2) == 0;
  config.clock = [&now] { return now; };
  config.limits.max_inbound_streams = 4;
  config.limits.max_pending_inbound_streams = 3;
  config.limits.max_queued_events = 8;
  config.limits.max_inbound_pings_per_interval = 4;
  config.limits.output_batch = 1024;
  config.limits.max_pending_control_bytes = 64;
  config.limits.max_stream_send_buffer = 4096;
  config.limits.max_send_frame_payload = 512;
  auto created = Session::create(config);
  if (!created.ok()) std::abort();
  Session session = std::move(created).value();

  std::size_t pos = 0;
  while (pos < size) {
    std::size_t n = size - pos < chunk ? size - pos : chunk;
    auto fed = session.feed(soma::core::ByteView(data + pos, n));
    if (!fed.ok()) {
      // A failed session reports why and queues a go-away.
      if (session.failure() == nullptr || !session.has_output()) std::abort();
      break;
    }
    pos += *fed;
    act_on_events(session);
    while (session.has_output()) (void)session.take_output();
    act_on_events(session);
    while (session.has_output()) (void)session.take_output();

    // With events and output drained, a paused feed must move again.
    if (*fed == 0) {
      auto again = session.feed(soma::core::ByteView(data + pos, n));
      if (again.ok() && *again == 0) std::abort();
      if (!again.ok()) break;
      pos += *again;
      act_on_events(session);
    }
    now += std::chrono::milliseconds(1);
  }
  return 0;
}
