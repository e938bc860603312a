#include <gtest/gtest.h>

#include "p2p/yamux/frame.h"
#include "p2p/yamux/stream_state.h"

namespace soma::p2p::yamux {
namespace {

using core::Bytes;

Bytes to_bytes(const HeaderBytes& h) { return Bytes(h.begin(), h.end()); }

TEST(YamuxFrame, encodes_a_window_update_header_in_network_order) {
  auto h = encode_header(FrameHeader::window_update(0x01020304, flag::kAck | flag::kFin, 0x40000));
  EXPECT_EQ(to_bytes(h),
            (Bytes{0x00, 0x01, 0x00, 0x06, 0x01, 0x02, 0x03, 0x04, 0x00, 0x04, 0x00, 0x00}));
}

TEST(YamuxFrame, encodes_data_ping_and_go_away_headers) {
  EXPECT_EQ(to_bytes(encode_header(FrameHeader::data(3, flag::kSyn, 5))),
            (Bytes{0, 0, 0, 1, 0, 0, 0, 3, 0, 0, 0, 5}));
  EXPECT_EQ(to_bytes(encode_header(FrameHeader::ping(flag::kAck, 0xdeadbeef))),
            (Bytes{0, 2, 0, 2, 0, 0, 0, 0, 0xde, 0xad, 0xbe, 0xef}));
  EXPECT_EQ(to_bytes(encode_header(FrameHeader::go_away(GoAwayCode::kInternalError))),
            (Bytes{0, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2}));
  EXPECT_EQ(to_bytes(encode_header(FrameHeader::window_update(2, flag::kRst, 0))),
            (Bytes{0, 1, 0, 8, 0, 0, 0, 2, 0, 0, 0, 0}));
}

TEST(YamuxFrame, appends_header_and_payload) {
  Bytes out{0xaa};
  Bytes payload{'h', 'i'};
  append_frame(out, FrameHeader::data(7, 0, 2), payload);
  EXPECT_EQ(out, (Bytes{0xaa, 0, 0, 0, 0, 0, 0, 0, 7, 0, 0, 0, 2, 'h', 'i'}));
}

TEST(YamuxFrame, decodes_what_it_encodes) {
  for (const FrameHeader& h :
       {FrameHeader::data(1, 0, 0), FrameHeader::data(0xffffffff, flag::kFin | flag::kRst, 9),
        FrameHeader::window_update(2, flag::kSyn, 0xffffffff), FrameHeader::ping(flag::kSyn, 77),
        FrameHeader::go_away(GoAwayCode::kNormal)}) {
    auto bytes = encode_header(h);
    auto d = decode_header(bytes);
    ASSERT_TRUE(d.ok()) << describe(h) << ": " << d.error().message;
    EXPECT_EQ(*d, h);
  }
}

TEST(YamuxFrame, decodes_only_the_first_twelve_bytes) {
  Bytes b{0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 3, 'a', 'b', 'c'};
  auto d = decode_header(b);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->length, 3u);
  EXPECT_EQ(d->stream_id, 1u);
}

// Each malformed header fails with kInvalidArgument and a message naming
// what was wrong.
void expect_rejected(const Bytes& b, std::string_view words) {
  auto d = decode_header(b);
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.error().code, core::ErrorCode::kInvalidArgument);
  EXPECT_NE(d.error().message.find(words), std::string::npos) << d.error().message;
}

TEST(YamuxFrame, rejects_truncated_header) {
  expect_rejected(Bytes{0, 1, 0, 0, 0, 0, 0, 1, 0, 0, 0}, "truncated: 11 of 12");
  expect_rejected(Bytes{}, "truncated: 0 of 12");
}

TEST(YamuxFrame, rejects_bad_version) {
  expect_rejected(Bytes{1, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0}, "version 1");
}

TEST(YamuxFrame, rejects_unknown_type) {
  expect_rejected(Bytes{0, 4, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0}, "type 4 is unknown");
}

TEST(YamuxFrame, rejects_unknown_flags) {
  expect_rejected(Bytes{0, 0, 0, 0x10, 0, 0, 0, 1, 0, 0, 0, 0}, "unknown flags 0x10");
}

TEST(YamuxFrame, rejects_stream_frames_on_the_session_id) {
  expect_rejected(Bytes{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}, "stream 0");
  expect_rejected(Bytes{0, 1, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1}, "stream 0");
}

TEST(YamuxFrame, rejects_syn_together_with_ack) {
  expect_rejected(Bytes{0, 1, 0, 3, 0, 0, 0, 1, 0, 0, 0, 0}, "both SYN and ACK");
}

TEST(YamuxFrame, rejects_session_frames_on_a_stream_id) {
  expect_rejected(Bytes{0, 2, 0, 1, 0, 0, 0, 5, 0, 0, 0, 0}, "ping frame addresses stream 5");
  expect_rejected(Bytes{0, 3, 0, 0, 0, 0, 0, 5, 0, 0, 0, 0}, "go-away frame addresses stream 5");
}

TEST(YamuxFrame, rejects_ping_without_exactly_syn_or_ack) {
  expect_rejected(Bytes{0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, "exactly SYN or ACK");
  expect_rejected(Bytes{0, 2, 0, 5, 0, 0, 0, 0, 0, 0, 0, 0}, "exactly SYN or ACK");
}

TEST(YamuxFrame, rejects_go_away_with_flags) {
  expect_rejected(Bytes{0, 3, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0}, "go-away frame has flags FIN");
}

TEST(YamuxFrame, describes_a_header_for_messages) {
  EXPECT_EQ(describe(FrameHeader::data(3, flag::kSyn | flag::kFin, 5)),
            "data(stream=3, flags=SYN|FIN, length=5)");
}

TEST(YamuxStreamLifecycle, walks_an_outbound_stream_through_half_closes) {
  auto s = StreamLifecycle::outbound();
  EXPECT_EQ(s.state(), StreamState::kInit);
  ASSERT_TRUE(s.on_syn_sent().ok());
  EXPECT_EQ(s.state(), StreamState::kSynSent);
  ASSERT_TRUE(s.on_remote_ack().ok());
  EXPECT_EQ(s.state(), StreamState::kEstablished);
  ASSERT_TRUE(s.on_local_fin().ok());
  EXPECT_EQ(s.state(), StreamState::kLocalClose);
  EXPECT_FALSE(s.can_send());
  EXPECT_TRUE(s.can_receive());
  ASSERT_TRUE(s.on_remote_fin().ok());
  EXPECT_EQ(s.state(), StreamState::kClosed);
  EXPECT_TRUE(s.finished());
}

TEST(YamuxStreamLifecycle, keeps_close_state_when_ack_arrives_late) {
  auto s = StreamLifecycle::outbound();
  ASSERT_TRUE(s.on_syn_sent().ok());
  ASSERT_TRUE(s.on_local_fin().ok());
  EXPECT_FALSE(s.acknowledged());
  ASSERT_TRUE(s.on_remote_ack().ok());
  EXPECT_TRUE(s.acknowledged());
  EXPECT_EQ(s.state(), StreamState::kLocalClose);
}

TEST(YamuxStreamLifecycle, refuses_peer_ack_on_its_own_stream_and_double_fin) {
  auto s = StreamLifecycle::inbound();
  EXPECT_EQ(s.state(), StreamState::kSynReceived);
  auto ack = s.on_remote_ack();
  ASSERT_FALSE(ack.ok());
  EXPECT_EQ(ack.error().code, core::ErrorCode::kInvalidArgument);
  ASSERT_TRUE(s.on_remote_fin().ok());
  EXPECT_EQ(s.state(), StreamState::kRemoteClose);
  EXPECT_TRUE(s.can_send());
  auto again = s.on_remote_fin();
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().code, core::ErrorCode::kInvalidArgument);
}

TEST(YamuxStreamLifecycle, refuses_local_fin_after_reset) {
  auto s = StreamLifecycle::inbound();
  ASSERT_TRUE(s.on_ack_sent().ok());
  s.on_reset();
  EXPECT_EQ(s.state(), StreamState::kReset);
  auto fin = s.on_local_fin();
  ASSERT_FALSE(fin.ok());
  EXPECT_EQ(fin.error().code, core::ErrorCode::kFailedPrecondition);
  EXPECT_EQ(to_string(s.state()), "reset");
}

}  // namespace
}  // namespace soma::p2p::yamux
