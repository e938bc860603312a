#include <gtest/gtest.h>

#include <cstring>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "p2p/yamux/session.h"

namespace soma::p2p::yamux {
namespace {

using core::Bytes;
using core::ByteView;
using TimePoint = std::chrono::steady_clock::time_point;
using namespace std::chrono_literals;

template <class... Ts>
struct Overloaded : Ts... {
  using Ts::operator()...;
};
template <class... Ts>
Overloaded(Ts...) -> Overloaded<Ts...>;

// Time that moves only when a test says so.
struct ManualClock {
  TimePoint now{};
};

Config make_config(Role role, std::shared_ptr<ManualClock> clock, Limits limits = {},
                   bool ping_on_start = true) {
  Config c;
  c.role = role;
  c.limits = limits;
  c.ping_on_start = ping_on_start;
  c.clock = [clock] { return clock->now; };
  return c;
}

Session make_session(Config c) {
  auto s = Session::create(std::move(c));
  EXPECT_TRUE(s.ok());
  return std::move(s).value();
}

// Position-dependent bytes, so lost, repeated or reordered pieces show.
Bytes pattern(std::size_t size, std::uint32_t seed) {
  Bytes b(size);
  std::uint64_t salt = (seed + 1) * 0xd1b54a32d192ed03ull;
  std::size_t i = 0;
  for (; i + 8 <= size; i += 8) {
    std::uint64_t w = (i * 0x9e3779b97f4a7c15ull) ^ salt;
    std::memcpy(b.data() + i, &w, 8);
  }
  for (; i < size; ++i) b[i] = static_cast<std::uint8_t>(i ^ seed);
  return b;
}

// Compares large buffers without printing megabytes on failure.
::testing::AssertionResult same_bytes(const Bytes& got, const Bytes& want) {
  if (got.size() != want.size()) {
    return ::testing::AssertionFailure() << "got " << got.size() << " bytes, want " << want.size();
  }
  if (!got.empty() && std::memcmp(got.data(), want.data(), got.size()) != 0) {
    return ::testing::AssertionFailure() << "contents differ";
  }
  return ::testing::AssertionSuccess();
}

Bytes frame(const FrameHeader& h, ByteView payload = {}) {
  Bytes out;
  append_frame(out, h, payload);
  return out;
}

// One side of a connection plus what its application saw and still has to
// write.
struct Peer {
  explicit Peer(Session s) : session(std::move(s)) {}

  Session session;
  bool auto_consume = true;
  bool auto_accept = true;

  std::map<StreamId, Bytes> received;
  std::vector<StreamId> opened;
  std::set<StreamId> finished;
  std::set<StreamId> reset;
  std::vector<StreamId> writable;
  std::vector<event::Pong> pongs;
  std::vector<std::uint32_t> go_aways;
  std::optional<SessionError> failed;

  struct Outgoing {
    Bytes data;
    std::size_t offset = 0;
    bool fin = false;
  };
  std::map<StreamId, Outgoing> outgoing;

  Bytes inbox;  // bytes from the other side not yet fed

  void send(StreamId id, Bytes data, bool fin = false) {
    auto& o = outgoing[id];
    o.data.insert(o.data.end(), data.begin(), data.end());
    o.fin = fin;
  }

  void drain_events() {
    while (auto e = session.next_event()) {
      std::visit(Overloaded{
                     [&](event::StreamOpened& ev) {
                       opened.push_back(ev.stream);
                       if (auto_accept) {
                         EXPECT_TRUE(session.accept(ev.stream).ok());
                       }
                     },
                     [&](event::StreamData& ev) {
                       auto& r = received[ev.stream];
                       r.insert(r.end(), ev.data.begin(), ev.data.end());
                       if (auto_consume) {
                         EXPECT_TRUE(session.consume(ev.stream, ev.data.size()).ok());
                       }
                     },
                     [&](event::StreamFinished& ev) { finished.insert(ev.stream); },
                     [&](event::StreamReset& ev) { reset.insert(ev.stream); },
                     [&](event::StreamWritable& ev) { writable.push_back(ev.stream); },
                     [&](event::Pong& ev) { pongs.push_back(ev); },
                     [&](event::GoAwayReceived& ev) { go_aways.push_back(ev.code); },
                     [&](event::SessionFailed& ev) { failed = ev.error; },
                 },
                 *e);
    }
  }

  // Writes what the application still holds; true if anything was taken.
  bool write_pending() {
    bool progress = false;
    for (auto it = outgoing.begin(); it != outgoing.end();) {
      auto& [id, o] = *it;
      if (o.offset < o.data.size()) {
        auto n = session.write(id, ByteView(o.data).subspan(o.offset));
        if (!n.ok()) {
          ADD_FAILURE() << "write on stream " << id << ": " << n.error().message;
          it = outgoing.erase(it);
          continue;
        }
        o.offset += *n;
        progress = progress || *n > 0;
      }
      if (o.offset == o.data.size()) {
        if (o.fin) {
          EXPECT_TRUE(session.close_write(id).ok());
        }
        it = outgoing.erase(it);
        progress = true;
        continue;
      }
      ++it;
    }
    return progress;
  }
};

// Two sessions back to back over an in-memory pipe.
struct Link {
  explicit Link(Limits client_limits = {}, Limits server_limits = {}, bool ping_on_start = true)
      : clock(std::make_shared<ManualClock>()),
        client(make_session(make_config(Role::kClient, clock, client_limits, ping_on_start))),
        server(make_session(make_config(Role::kServer, clock, server_limits, ping_on_start))) {}

  std::shared_ptr<ManualClock> clock;
  Peer client;
  Peer server;
  std::size_t chunk = 0;  // 0: feed whatever arrived at once; else this many bytes per call

  // Moves one round of bytes from `from` to `to`; true if anything moved.
  bool step(Peer& from, Peer& to) {
    bool progress = from.write_pending();
    from.drain_events();
    while (from.session.has_output()) {
      Bytes out = from.session.take_output();
      to.inbox.insert(to.inbox.end(), out.begin(), out.end());
      progress = true;
    }
    from.drain_events();

    std::size_t fed = 0;
    while (fed < to.inbox.size()) {
      std::size_t n = chunk == 0 ? to.inbox.size() - fed : std::min(chunk, to.inbox.size() - fed);
      auto r = to.session.feed(ByteView(to.inbox).subspan(fed, n));
      if (!r.ok()) {
        to.drain_events();
        to.inbox.clear();
        return false;
      }
      fed += *r;
      progress = progress || *r > 0;
      to.drain_events();
      if (*r < n) break;  // paused: the other direction must run first
    }
    to.inbox.erase(to.inbox.begin(), to.inbox.begin() + static_cast<std::ptrdiff_t>(fed));
    return progress;
  }

  void settle() {
    for (int i = 0; i < 200000; ++i) {
      bool a = step(client, server);
      bool b = step(server, client);
      if (!a && !b) return;
    }
    FAIL() << "link did not settle";
  }
};

// ---------------------------------------------------------------------------

TEST(YamuxSession, opens_streams_both_ways_with_client_odd_and_server_even_ids) {
  Link link;
  auto c1 = link.client.session.open_stream();
  auto s1 = link.server.session.open_stream();
  ASSERT_TRUE(c1.ok());
  ASSERT_TRUE(s1.ok());
  EXPECT_EQ(*c1, 1u);
  EXPECT_EQ(*s1, 2u);
  EXPECT_EQ(*link.client.session.open_stream(), 3u);

  link.client.send(*c1, Bytes{'h', 'i'});
  link.server.send(*s1, Bytes{'y', 'o'});
  link.settle();

  EXPECT_EQ(link.server.opened, (std::vector<StreamId>{1, 3}));
  EXPECT_EQ(link.client.opened, (std::vector<StreamId>{2}));
  EXPECT_EQ(link.server.received[1], (Bytes{'h', 'i'}));
  EXPECT_EQ(link.client.received[2], (Bytes{'y', 'o'}));
  EXPECT_EQ(link.client.session.stream_info(1)->state, StreamState::kEstablished);
  EXPECT_EQ(link.server.session.stream_info(2)->state, StreamState::kEstablished);
  EXPECT_FALSE(link.client.failed.has_value());
  EXPECT_FALSE(link.server.failed.has_value());
}

TEST(YamuxSession, open_sends_a_window_update_with_syn_and_accept_sends_ack) {
  auto clock = std::make_shared<ManualClock>();
  Session client = make_session(make_config(Role::kClient, clock, {}, false));
  Session server = make_session(make_config(Role::kServer, clock, {}, false));
  ASSERT_EQ(*client.open_stream(), 1u);
  Bytes syn = client.take_output();
  EXPECT_EQ(syn, (Bytes{0, 1, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0}));

  ASSERT_EQ(*server.feed(syn), 12u);
  auto e = server.next_event();
  ASSERT_TRUE(e.has_value());
  ASSERT_TRUE(std::holds_alternative<event::StreamOpened>(*e));
  EXPECT_EQ(server.stream_info(1)->state, StreamState::kSynReceived);
  ASSERT_TRUE(server.accept(1).ok());
  EXPECT_EQ(server.take_output(), (Bytes{0, 1, 0, 2, 0, 0, 0, 1, 0, 0, 0, 0}));
  EXPECT_EQ(server.stream_info(1)->state, StreamState::kEstablished);
}

TEST(YamuxSession, carries_8_mib_each_way_with_window_updates) {
  Link link;
  StreamId id = *link.client.session.open_stream();
  Bytes up = pattern(8 << 20, 1);
  Bytes down = pattern(8 << 20, 2);
  link.client.send(id, up, true);
  link.settle();
  link.server.send(id, down, true);
  link.settle();

  EXPECT_TRUE(same_bytes(link.server.received[id], up));
  EXPECT_TRUE(same_bytes(link.client.received[id], down));
  EXPECT_TRUE(link.server.finished.contains(id));
  EXPECT_TRUE(link.client.finished.contains(id));
  EXPECT_GT(link.client.session.stats().window_updates_sent, 0u);
  EXPECT_GT(link.server.session.stats().window_updates_sent, 0u);
  EXPECT_EQ(link.client.session.stats().data_bytes_sent, up.size());
  EXPECT_EQ(link.server.session.stats().data_bytes_received, up.size());
  // Both halves closed: the stream is forgotten on both sides.
  EXPECT_EQ(link.client.session.stream_count(), 0u);
  EXPECT_EQ(link.server.session.stream_count(), 0u);
}

TEST(YamuxSession, flow_control_holds_data_back_until_the_receiver_consumes) {
  Link link;
  link.server.auto_consume = false;
  StreamId id = *link.client.session.open_stream();
  Bytes data = pattern(8 << 20, 3);
  link.client.send(id, data);
  link.settle();

  // Exactly one initial window crossed; the rest waits at the sender.
  ASSERT_EQ(link.server.received[id].size(), kInitialStreamWindow);
  auto info = link.client.session.stream_info(id);
  ASSERT_TRUE(info.has_value());
  EXPECT_EQ(info->send_window, 0u);
  EXPECT_EQ(info->queued, kDefaultMaxStreamSendBuffer);
  EXPECT_EQ(link.server.session.stream_info(id)->receive_credit, 0u);
  EXPECT_EQ(link.server.session.stream_info(id)->unconsumed, kInitialStreamWindow);

  // Consuming less than half a window sends no update yet.
  ASSERT_TRUE(link.server.session.consume(id, 1000).ok());
  link.settle();
  EXPECT_EQ(link.server.received[id].size(), kInitialStreamWindow);

  // Consuming everything lets the rest through, window by window.
  link.server.auto_consume = true;
  ASSERT_TRUE(link.server.session.consume(id, kInitialStreamWindow - 1000).ok());
  link.settle();
  EXPECT_TRUE(same_bytes(link.server.received[id], data));
}

TEST(YamuxSession, grows_the_receive_window_when_the_reader_keeps_up) {
  Link link;
  link.settle();  // the start pings measure the round trip
  ASSERT_TRUE(link.server.session.rtt().has_value());
  StreamId id = *link.client.session.open_stream();
  link.client.send(id, pattern(4 << 20, 4));
  link.settle();
  auto info = link.server.session.stream_info(id);
  ASSERT_TRUE(info.has_value());
  EXPECT_GT(info->receive_window, kInitialStreamWindow);
  EXPECT_LE(info->receive_window, kDefaultMaxStreamWindow);
}

TEST(YamuxSession, keeps_the_window_when_the_reader_is_slow) {
  Link link;
  link.settle();
  StreamId id = *link.client.session.open_stream();
  link.server.auto_consume = false;
  link.client.send(id, pattern(2 << 20, 5));
  for (int i = 0; i < 12; ++i) {
    link.settle();
    link.clock->now += 1s;  // far more than four round trips per window
    auto& got = link.server.received[id];
    auto info = link.server.session.stream_info(id);
    ASSERT_TRUE(info.has_value());
    ASSERT_TRUE(link.server.session.consume(id, info->unconsumed).ok());
    EXPECT_EQ(info->receive_window, kInitialStreamWindow) << "after " << got.size();
  }
  link.settle();
  EXPECT_EQ(link.server.received[id].size(), 2u << 20);
}

TEST(YamuxSession, half_close_leaves_the_other_direction_working) {
  Link link;
  StreamId id = *link.client.session.open_stream();
  link.client.send(id, Bytes{'h', 'e', 'l', 'l', 'o'}, true);
  link.settle();
  EXPECT_EQ(link.server.received[id], (Bytes{'h', 'e', 'l', 'l', 'o'}));
  EXPECT_TRUE(link.server.finished.contains(id));
  EXPECT_EQ(link.client.session.stream_info(id)->state, StreamState::kLocalClose);
  EXPECT_EQ(link.server.session.stream_info(id)->state, StreamState::kRemoteClose);

  // Writing after our own FIN is refused; the peer can still write.
  auto late = link.client.session.write(id, Bytes{'x'});
  ASSERT_FALSE(late.ok());
  EXPECT_EQ(late.error().code, core::ErrorCode::kFailedPrecondition);

  link.server.send(id, Bytes{'w', 'o', 'r', 'l', 'd'}, true);
  link.settle();
  EXPECT_EQ(link.client.received[id], (Bytes{'w', 'o', 'r', 'l', 'd'}));
  EXPECT_TRUE(link.client.finished.contains(id));
  EXPECT_EQ(link.client.session.stream_count(), 0u);
  EXPECT_EQ(link.server.session.stream_count(), 0u);
}

// The frames in `bytes`, header and payload size, in order.
struct SentFrame {
  FrameHeader header;
  Bytes payload;
};

std::vector<SentFrame> split_frames(ByteView bytes) {
  std::vector<SentFrame> out;
  while (!bytes.empty()) {
    auto h = decode_header(bytes);
    EXPECT_TRUE(h.ok()) << h.error().message;
    if (!h.ok()) break;
    std::size_t payload = h->type == FrameType::kData ? h->length : 0;
    EXPECT_LE(kHeaderSize + payload, bytes.size());
    if (kHeaderSize + payload > bytes.size()) break;
    out.push_back({*h, Bytes(bytes.begin() + kHeaderSize,
                             bytes.begin() + static_cast<std::ptrdiff_t>(kHeaderSize + payload))});
    bytes = bytes.subspan(kHeaderSize + payload);
  }
  return out;
}

TEST(YamuxSession, half_close_after_data_sends_the_fin_in_an_empty_frame_of_its_own) {
  auto clock = std::make_shared<ManualClock>();
  Session client = make_session(make_config(Role::kClient, clock, {}, false));
  StreamId id = *client.open_stream();
  (void)client.take_output();  // the SYN

  ASSERT_EQ(*client.write(id, Bytes{'h', 'e', 'l', 'l', 'o'}), 5u);
  ASSERT_TRUE(client.close_write(id).ok());
  auto frames = split_frames(client.take_output());
  ASSERT_EQ(frames.size(), 2u);
  EXPECT_EQ(frames[0].header, FrameHeader::data(id, 0, 5));
  EXPECT_EQ(frames[0].payload, (Bytes{'h', 'e', 'l', 'l', 'o'}));
  EXPECT_EQ(frames[1].header, FrameHeader::window_update(id, flag::kFin, 0));
  EXPECT_EQ(client.stream_info(id)->state, StreamState::kLocalClose);
}

TEST(YamuxSession, a_fin_behind_queued_data_waits_for_the_window_and_goes_out_alone) {
  auto clock = std::make_shared<ManualClock>();
  Session client = make_session(make_config(Role::kClient, clock, {}, false));
  StreamId id = *client.open_stream();
  (void)client.take_output();

  // More than the send window: the tail waits in the stream's queue.
  constexpr std::size_t kTail = 1000;
  Bytes data = pattern(kInitialStreamWindow + kTail, 11);
  ASSERT_EQ(*client.write(id, data), data.size());
  ASSERT_TRUE(client.close_write(id).ok());
  Bytes first;
  while (client.has_output()) core::append(first, client.take_output());
  std::size_t sent = 0;
  for (const auto& f : split_frames(first)) {
    EXPECT_EQ(f.header.type, FrameType::kData);
    EXPECT_EQ(f.header.flags, 0u) << describe(f.header);
    sent += f.payload.size();
  }
  EXPECT_EQ(sent, kInitialStreamWindow);
  EXPECT_EQ(client.stream_info(id)->queued, kTail);

  // The peer grants more window: the tail goes out, then the FIN alone.
  ASSERT_TRUE(client.feed(frame(FrameHeader::window_update(id, flag::kAck, 64 * 1024))).ok());
  auto frames = split_frames(client.take_output());
  ASSERT_EQ(frames.size(), 2u);
  EXPECT_EQ(frames[0].header, FrameHeader::data(id, 0, kTail));
  EXPECT_TRUE(same_bytes(frames[0].payload, Bytes(data.end() - kTail, data.end())));
  EXPECT_EQ(frames[1].header, FrameHeader::window_update(id, flag::kFin, 0));
  EXPECT_FALSE(client.has_output());
}

TEST(YamuxSession, reset_is_seen_by_the_other_side) {
  Link link;
  StreamId id = *link.client.session.open_stream();
  link.client.send(id, Bytes{'a'});
  link.settle();
  ASSERT_TRUE(link.client.session.reset(id).ok());
  link.settle();
  EXPECT_TRUE(link.server.reset.contains(id));
  EXPECT_FALSE(link.server.session.stream_info(id).has_value());
  auto w = link.server.session.write(id, Bytes{'b'});
  ASSERT_FALSE(w.ok());
  EXPECT_EQ(w.error().code, core::ErrorCode::kFailedPrecondition);
  EXPECT_FALSE(link.server.failed.has_value());
}

TEST(YamuxSession, ignores_frames_that_were_in_flight_when_a_stream_was_reset) {
  Link link;
  StreamId id = *link.client.session.open_stream();
  link.client.send(id, Bytes{'a'});
  link.settle();

  // The client writes while the server resets; both frames cross.
  ASSERT_EQ(*link.client.session.write(id, Bytes{'b', 'c'}), 2u);
  ASSERT_TRUE(link.server.session.reset(id).ok());
  link.settle();
  EXPECT_TRUE(link.client.reset.contains(id));
  EXPECT_EQ(link.server.received[id], (Bytes{'a'}));
  EXPECT_GE(link.server.session.stats().ignored_frames, 1u);
  EXPECT_FALSE(link.server.failed.has_value());
  EXPECT_FALSE(link.client.failed.has_value());
}

TEST(YamuxSession, carries_100_concurrent_streams_of_1_mib) {
  Link link;
  std::map<StreamId, Bytes> sent;
  for (std::uint32_t i = 0; i < 100; ++i) {
    auto id = link.client.session.open_stream();
    ASSERT_TRUE(id.ok()) << id.error().message;
    sent[*id] = pattern(1 << 20, 100 + i);
    link.client.send(*id, sent[*id], true);
  }
  link.settle();
  ASSERT_EQ(link.server.opened.size(), 100u);
  for (const auto& [id, data] : sent) {
    EXPECT_TRUE(same_bytes(link.server.received[id], data)) << "stream " << id;
    EXPECT_TRUE(link.server.finished.contains(id));
  }
}

TEST(YamuxSession, resets_inbound_streams_over_the_limit_and_keeps_the_others) {
  Limits server_limits;
  server_limits.max_inbound_streams = 4;
  Link link({}, server_limits);
  std::vector<StreamId> ids;
  for (int i = 0; i < 6; ++i) ids.push_back(*link.client.session.open_stream());
  link.settle();

  EXPECT_EQ(link.server.opened, (std::vector<StreamId>{1, 3, 5, 7}));
  EXPECT_EQ(link.client.reset, (std::set<StreamId>{9, 11}));
  EXPECT_EQ(link.server.session.stats().refused_streams, 2u);
  EXPECT_FALSE(link.server.failed.has_value());

  // The admitted streams still carry data both ways.
  for (StreamId id : {1u, 3u, 5u, 7u}) {
    link.client.send(id, pattern(300000, id));
    link.server.send(id, pattern(1000, id + 50));
  }
  link.settle();
  for (StreamId id : {1u, 3u, 5u, 7u}) {
    EXPECT_TRUE(same_bytes(link.server.received[id], pattern(300000, id)));
    EXPECT_TRUE(same_bytes(link.client.received[id], pattern(1000, id + 50)));
  }

  // Once one closes, a new stream fits again.
  ASSERT_TRUE(link.client.session.reset(1).ok());
  StreamId next = *link.client.session.open_stream();
  link.settle();
  EXPECT_EQ(link.server.opened.back(), next);
  EXPECT_FALSE(link.client.reset.contains(next));
}

TEST(YamuxSession, resets_inbound_streams_beyond_the_pending_backlog) {
  Limits server_limits;
  server_limits.max_pending_inbound_streams = 2;
  Link link({}, server_limits);
  link.server.auto_accept = false;
  for (int i = 0; i < 3; ++i) (void)link.client.session.open_stream();
  link.settle();
  EXPECT_EQ(link.server.opened, (std::vector<StreamId>{1, 3}));
  EXPECT_EQ(link.client.reset, (std::set<StreamId>{5}));

  // Accepting one frees a place in the backlog.
  ASSERT_TRUE(link.server.session.accept(1).ok());
  StreamId next = *link.client.session.open_stream();
  link.settle();
  EXPECT_EQ(link.server.opened.back(), next);
}

TEST(YamuxSession, refuses_to_open_beyond_the_outbound_limit) {
  Limits limits;
  limits.max_outbound_streams = 2;
  Link link(limits);
  ASSERT_TRUE(link.client.session.open_stream().ok());
  ASSERT_TRUE(link.client.session.open_stream().ok());
  auto third = link.client.session.open_stream();
  ASSERT_FALSE(third.ok());
  EXPECT_EQ(third.error().code, core::ErrorCode::kResourceExhausted);
}

TEST(YamuxSession, waits_for_acks_before_opening_past_the_backlog) {
  Limits limits;
  limits.max_ack_backlog = 2;
  Link link(limits);
  ASSERT_TRUE(link.client.session.open_stream().ok());
  ASSERT_TRUE(link.client.session.open_stream().ok());
  auto third = link.client.session.open_stream();
  ASSERT_FALSE(third.ok());
  EXPECT_EQ(third.error().code, core::ErrorCode::kResourceExhausted);

  link.settle();  // the server accepts both
  EXPECT_EQ(link.client.session.stream_info(1)->state, StreamState::kEstablished);
  EXPECT_TRUE(link.client.session.open_stream().ok());
}

TEST(YamuxSession, reports_the_code_of_a_received_go_away) {
  auto clock = std::make_shared<ManualClock>();
  Session client = make_session(make_config(Role::kClient, clock, {}, false));
  ASSERT_TRUE(client.feed(frame(FrameHeader::go_away(GoAwayCode::kProtocolError))).ok());
  auto e = client.next_event();
  ASSERT_TRUE(e.has_value());
  auto* g = std::get_if<event::GoAwayReceived>(&*e);
  ASSERT_NE(g, nullptr);
  EXPECT_EQ(g->code, 1u);
  EXPECT_EQ(client.remote_go_away(), 1u);
  EXPECT_EQ(client.failure(), nullptr);
}

TEST(YamuxSession, go_away_stops_new_streams_but_not_existing_ones) {
  Link link;
  StreamId id = *link.client.session.open_stream();
  link.settle();
  ASSERT_TRUE(link.client.session.go_away(GoAwayCode::kNormal).ok());
  link.settle();
  EXPECT_EQ(link.server.go_aways, (std::vector<std::uint32_t>{0}));
  EXPECT_EQ(link.server.session.remote_go_away(), 0u);

  auto from_server = link.server.session.open_stream();
  ASSERT_FALSE(from_server.ok());
  EXPECT_EQ(from_server.error().code, core::ErrorCode::kUnavailable);
  auto from_client = link.client.session.open_stream();
  ASSERT_FALSE(from_client.ok());
  EXPECT_EQ(from_client.error().code, core::ErrorCode::kFailedPrecondition);

  link.client.send(id, Bytes{'s', 't', 'i', 'l', 'l'});
  link.server.send(id, Bytes{'o', 'k'});
  link.settle();
  EXPECT_EQ(link.server.received[id], (Bytes{'s', 't', 'i', 'l', 'l'}));
  EXPECT_EQ(link.client.received[id], (Bytes{'o', 'k'}));
}

TEST(YamuxSession, refuses_inbound_streams_after_sending_go_away) {
  auto clock = std::make_shared<ManualClock>();
  Session client = make_session(make_config(Role::kClient, clock, {}, false));
  ASSERT_TRUE(client.go_away(GoAwayCode::kNormal).ok());
  (void)client.take_output();
  ASSERT_TRUE(client.feed(frame(FrameHeader::window_update(2, flag::kSyn, 0))).ok());
  EXPECT_FALSE(client.has_events());
  EXPECT_EQ(client.take_output(), (Bytes{0, 1, 0, 8, 0, 0, 0, 2, 0, 0, 0, 0}));
  EXPECT_EQ(client.stats().refused_streams, 1u);
}

TEST(YamuxSession, ping_measures_the_round_trip) {
  Link link({}, {}, false);
  auto opaque = link.client.session.ping();
  ASSERT_TRUE(opaque.ok());
  // A second ping while one is in flight rides on the first.
  EXPECT_EQ(*link.client.session.ping(), *opaque);

  link.step(link.client, link.server);
  link.clock->now += 7ms;
  link.step(link.server, link.client);
  ASSERT_EQ(link.client.pongs.size(), 1u);
  EXPECT_EQ(link.client.pongs[0].opaque, *opaque);
  EXPECT_EQ(link.client.pongs[0].rtt, 7ms);
  EXPECT_EQ(link.client.session.rtt(), 7ms);
  EXPECT_EQ(link.server.session.stats().pings_answered, 1u);
}

TEST(YamuxSession, answers_a_ping_with_the_same_opaque_value) {
  auto clock = std::make_shared<ManualClock>();
  Session server = make_session(make_config(Role::kServer, clock, {}, false));
  ASSERT_TRUE(server.feed(frame(FrameHeader::ping(flag::kSyn, 0x01020304))).ok());
  EXPECT_EQ(server.take_output(), (Bytes{0, 2, 0, 2, 0, 0, 0, 0, 1, 2, 3, 4}));
}

TEST(YamuxSession, fails_with_a_local_limit_when_pinged_too_fast) {
  auto clock = std::make_shared<ManualClock>();
  Limits limits;
  limits.max_inbound_pings_per_interval = 3;
  Session server = make_session(make_config(Role::kServer, clock, limits, false));
  Bytes pings;
  for (int i = 0; i < 3; ++i) append_frame(pings, FrameHeader::ping(flag::kSyn, 1));
  ASSERT_TRUE(server.feed(pings).ok());

  // A new interval allows three more.
  clock->now += 1s;
  ASSERT_TRUE(server.feed(pings).ok());
  auto fourth = server.feed(frame(FrameHeader::ping(flag::kSyn, 9)));
  ASSERT_FALSE(fourth.ok());
  EXPECT_EQ(fourth.error().code, core::ErrorCode::kResourceExhausted);
  ASSERT_NE(server.failure(), nullptr);
  EXPECT_EQ(server.failure()->fault, Fault::kLocalLimit);
  EXPECT_EQ(server.failure()->sent_code, GoAwayCode::kInternalError);
}

TEST(YamuxSession, works_when_fed_byte_by_byte) {
  Link link;
  link.chunk = 1;
  StreamId a = *link.client.session.open_stream();
  StreamId b = *link.server.session.open_stream();
  link.client.send(a, pattern(5000, 7), true);
  link.server.send(b, pattern(3000, 8), true);
  link.settle();
  EXPECT_TRUE(same_bytes(link.server.received[a], pattern(5000, 7)));
  EXPECT_TRUE(same_bytes(link.client.received[b], pattern(3000, 8)));
  EXPECT_TRUE(link.server.finished.contains(a));
  EXPECT_TRUE(link.client.finished.contains(b));
  EXPECT_EQ(link.client.pongs.size(), 1u);
}

TEST(YamuxSession, reports_partial_writes_and_then_writable) {
  Limits limits;
  limits.max_stream_send_buffer = 64 * 1024;
  Link link(limits);
  link.server.auto_consume = false;
  StreamId id = *link.client.session.open_stream();
  Bytes data = pattern(1 << 20, 9);
  auto n = link.client.session.write(id, data);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, kInitialStreamWindow + 64 * 1024);
  EXPECT_EQ(*link.client.session.write(id, ByteView(data).subspan(*n)), 0u);
  link.settle();
  EXPECT_TRUE(link.client.writable.empty());

  auto unconsumed = link.server.session.stream_info(id)->unconsumed;
  ASSERT_TRUE(link.server.session.consume(id, unconsumed).ok());
  link.settle();
  EXPECT_EQ(link.client.writable, (std::vector<StreamId>{id}));
}

TEST(YamuxSession, feed_pauses_when_events_pile_up) {
  auto clock = std::make_shared<ManualClock>();
  Limits limits;
  limits.max_queued_events = 2;
  Session server = make_session(make_config(Role::kServer, clock, limits, false));
  Bytes in;
  for (StreamId id : {1u, 3u, 5u}) append_frame(in, FrameHeader::window_update(id, flag::kSyn, 0));
  auto n = server.feed(in);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 24u);
  while (server.next_event()) {
  }
  auto rest = server.feed(ByteView(in).subspan(*n));
  ASSERT_TRUE(rest.ok());
  EXPECT_EQ(*rest, 12u);
}

// ---- malformed input --------------------------------------------------------

struct YamuxMalformedInput : ::testing::Test {
  std::shared_ptr<ManualClock> clock = std::make_shared<ManualClock>();
  Session server = make_session(make_config(Role::kServer, clock, {}, false));

  // Feeds `in` and expects the session to fail because of the peer, with a
  // reason containing `words` and a go-away(protocol error) queued.
  void expect_peer_error(const Bytes& in, std::string_view words) {
    auto r = server.feed(in);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, core::ErrorCode::kInvalidArgument);
    EXPECT_NE(r.error().message.find(words), std::string::npos) << r.error().message;
    ASSERT_NE(server.failure(), nullptr);
    EXPECT_EQ(server.failure()->fault, Fault::kPeer);
    EXPECT_NE(server.failure()->reason.find(words), std::string::npos);

    bool saw_failed = false;
    while (auto e = server.next_event()) {
      saw_failed = saw_failed || std::holds_alternative<event::SessionFailed>(*e);
    }
    EXPECT_TRUE(saw_failed);
    Bytes out = server.take_output();
    Bytes go_away = frame(FrameHeader::go_away(GoAwayCode::kProtocolError));
    ASSERT_GE(out.size(), go_away.size());
    EXPECT_TRUE(std::equal(go_away.begin(), go_away.end(), out.end() - 12));

    // A failed session stays failed.
    EXPECT_FALSE(server.feed(frame(FrameHeader::ping(flag::kSyn, 1))).ok());
    EXPECT_FALSE(server.open_stream().ok());
  }
};

TEST_F(YamuxMalformedInput, bad_version) {
  expect_peer_error(Bytes{2, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0}, "version 2");
}

TEST_F(YamuxMalformedInput, unknown_type) {
  expect_peer_error(Bytes{0, 9, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0}, "type 9 is unknown");
}

TEST_F(YamuxMalformedInput, data_frame_over_the_initial_window_on_open) {
  expect_peer_error(frame(FrameHeader::data(1, flag::kSyn, kInitialStreamWindow + 1)),
                    "exceeding the initial window");
}

TEST_F(YamuxMalformedInput, data_frame_over_the_window) {
  Bytes in = frame(FrameHeader::data(1, flag::kSyn, kInitialStreamWindow),
                   Bytes(kInitialStreamWindow, 0x55));
  ASSERT_TRUE(server.feed(in).ok());
  expect_peer_error(frame(FrameHeader::data(1, 0, 1), Bytes{1}), "exceeding the receive window");
}

TEST_F(YamuxMalformedInput, syn_on_an_existing_stream) {
  ASSERT_TRUE(server.feed(frame(FrameHeader::window_update(1, flag::kSyn, 0))).ok());
  expect_peer_error(frame(FrameHeader::window_update(1, flag::kSyn, 0)), "SYN again");
}

TEST_F(YamuxMalformedInput, reused_stream_id) {
  ASSERT_TRUE(server.feed(frame(FrameHeader::window_update(3, flag::kSyn, 0))).ok());
  ASSERT_TRUE(server.feed(frame(FrameHeader::window_update(3, flag::kRst, 0))).ok());
  expect_peer_error(frame(FrameHeader::window_update(1, flag::kSyn, 0)), "reused stream id 1");
}

TEST_F(YamuxMalformedInput, wrong_id_parity) {
  expect_peer_error(frame(FrameHeader::window_update(2, flag::kSyn, 0)), "even parity");
}

TEST_F(YamuxMalformedInput, frame_for_a_stream_never_opened) {
  expect_peer_error(frame(FrameHeader::data(7, 0, 1), Bytes{1}), "never opened");
}

TEST_F(YamuxMalformedInput, data_after_fin) {
  ASSERT_TRUE(server.feed(frame(FrameHeader::window_update(1, flag::kSyn | flag::kFin, 0))).ok());
  expect_peer_error(frame(FrameHeader::data(1, 0, 1), Bytes{1}), "after it sent FIN");
}

TEST_F(YamuxMalformedInput, ack_on_a_stream_the_peer_opened) {
  ASSERT_TRUE(server.feed(frame(FrameHeader::window_update(1, flag::kSyn, 0))).ok());
  expect_peer_error(frame(FrameHeader::window_update(1, flag::kAck, 0)), "it opened itself");
}

TEST_F(YamuxMalformedInput, pong_without_a_ping) {
  expect_peer_error(frame(FrameHeader::ping(flag::kAck, 5)), "answers no ping");
}

TEST_F(YamuxMalformedInput, window_update_past_two_to_the_32) {
  ASSERT_TRUE(server.feed(frame(FrameHeader::window_update(1, flag::kSyn, 0x80000000))).ok());
  expect_peer_error(frame(FrameHeader::window_update(1, 0, 0x80000000)), "past 2^32-1");
}

TEST_F(YamuxMalformedInput, truncated_header_waits_and_then_completes) {
  Bytes syn = frame(FrameHeader::window_update(1, flag::kSyn, 0));
  auto first = server.feed(ByteView(syn).first(11));
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(*first, 11u);
  EXPECT_FALSE(server.has_events());
  ASSERT_TRUE(server.feed(ByteView(syn).last(1)).ok());
  EXPECT_TRUE(server.has_events());
  // A garbage continuation of a partial header is caught when it completes.
  Bytes bad{0, 7, 0, 0, 0, 0};
  ASSERT_TRUE(server.feed(bad).ok());
  expect_peer_error(Bytes{0, 1, 0, 0, 0, 0}, "type 7 is unknown");
}

TEST(YamuxLimits, rejects_windows_below_the_spec) {
  Limits limits;
  limits.initial_stream_window = 1024;
  auto s = Session::create(Config{Role::kClient, limits, true, {}});
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, core::ErrorCode::kInvalidArgument);
  EXPECT_NE(s.error().message.find("initial_stream_window"), std::string::npos);
}

TEST(YamuxLimits, announces_a_larger_initial_window_with_syn) {
  Limits limits;
  limits.initial_stream_window = 1 << 20;
  auto clock = std::make_shared<ManualClock>();
  Session client = make_session(make_config(Role::kClient, clock, limits, false));
  ASSERT_TRUE(client.open_stream().ok());
  EXPECT_EQ(client.take_output(),
            frame(FrameHeader::window_update(1, flag::kSyn, (1 << 20) - kInitialStreamWindow)));
}

}  // namespace
}  // namespace soma::p2p::yamux
