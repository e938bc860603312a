#include "p2p/multistream/multistream.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/base_encoding.h"
#include "core/varint.h"

namespace soma::p2p::multistream {
namespace {

using core::Bytes;
using core::ByteView;

Bytes msg(std::string_view line) {
  Bytes out;
  EXPECT_TRUE(append_message(out, line).ok());
  return out;
}

Bytes concat(std::initializer_list<Bytes> parts) {
  Bytes out;
  for (const auto& p : parts) core::append(out, p);
  return out;
}

Dialer make_dialer(std::vector<std::string> protocols) {
  return std::move(Dialer::create(std::move(protocols)).value());
}

Listener make_listener(std::vector<std::string> supported,
                       std::size_t attempts = kMaxListenerAttempts) {
  return std::move(Listener::create(std::move(supported), attempts).value());
}

// Shuttles bytes between a dialer and a listener, delivering each side's
// output to the other in chunks of `chunk` bytes, until neither changes.
void run(Dialer& dialer, Listener& listener, std::size_t chunk) {
  Bytes to_listener = dialer.start();
  Bytes to_dialer = listener.start();
  for (int rounds = 0; rounds < 100 && (!to_listener.empty() || !to_dialer.empty()); ++rounds) {
    Bytes next_to_dialer, next_to_listener;
    for (std::size_t off = 0; off < to_listener.size(); off += chunk) {
      auto n = std::min(chunk, to_listener.size() - off);
      auto step = listener.feed(ByteView(to_listener).subspan(off, n));
      core::append(next_to_dialer, step.output);
    }
    for (std::size_t off = 0; off < to_dialer.size(); off += chunk) {
      auto n = std::min(chunk, to_dialer.size() - off);
      auto step = dialer.feed(ByteView(to_dialer).subspan(off, n));
      core::append(next_to_listener, step.output);
    }
    to_dialer = std::move(next_to_dialer);
    to_listener = std::move(next_to_listener);
  }
}

TEST(Multistream, encodes_na_as_the_spec_shows) {
  EXPECT_EQ(msg("na"), (Bytes{0x03, 0x6e, 0x61, 0x0a}));
  EXPECT_EQ(core::hex_encode(msg(kProtocolId)), "132f6d756c746973747265616d2f312e302e300a");
}

TEST(Multistream, decodes_a_message_and_reports_its_size) {
  Bytes b = concat({msg("/noise"), Bytes{0xaa}});
  auto d = decode_message(b);
  ASSERT_TRUE(d.ok());
  ASSERT_TRUE(d->has_value());
  EXPECT_EQ((*d)->line, "/noise");
  EXPECT_EQ((*d)->size, 8u);
}

TEST(Multistream, waits_for_an_incomplete_message) {
  Bytes full = msg("/yamux/1.0.0");
  for (std::size_t n = 0; n < full.size(); ++n) {
    auto d = decode_message(ByteView(full).first(n));
    ASSERT_TRUE(d.ok()) << n;
    EXPECT_FALSE(d->has_value()) << n;
  }
}

TEST(Multistream, refuses_an_oversized_message_from_its_prefix_alone) {
  Bytes b;
  core::varint::append(b, kMaxMessageSize + 1);
  auto d = decode_message(b);
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.error().code, core::ErrorCode::kResourceExhausted);
  // An unfinished prefix that can only grow past the limit is refused too.
  auto partial = decode_message(Bytes{0xff, 0xff});
  ASSERT_FALSE(partial.ok());
  EXPECT_EQ(partial.error().code, core::ErrorCode::kResourceExhausted);
  Bytes line(kMaxMessageSize, 'a');
  EXPECT_FALSE(append_message(b, core::as_chars(line)).ok());
}

TEST(Multistream, refuses_a_message_without_newline) {
  Bytes b{0x03, 'a', 'b', 'c'};
  auto d = decode_message(b);
  ASSERT_FALSE(d.ok());
  EXPECT_NE(d.error().message.find("newline"), std::string::npos);
}

TEST(Multistream, refuses_malformed_messages) {
  EXPECT_FALSE(decode_message(Bytes{0x00}).ok());                          // empty
  EXPECT_FALSE(decode_message(Bytes{0x01, '\n'}).ok());                    // empty line
  EXPECT_FALSE(decode_message(Bytes{0x04, 'a', '\n', 'b', '\n'}).ok());    // two lines
  EXPECT_FALSE(decode_message(Bytes{0x03, 0xc0, 0x80, '\n'}).ok());        // overlong UTF-8
  EXPECT_FALSE(decode_message(Bytes{0x04, 0xed, 0xa0, 0x80, '\n'}).ok());  // surrogate
  EXPECT_FALSE(decode_message(Bytes{0x81, 0x00}).ok());                    // non-minimal varint
  EXPECT_TRUE(decode_message(Bytes{0x04, 0xc3, 0xa9, 'x', '\n'}).ok());    // "éx"
}

TEST(Multistream, validates_protocol_ids) {
  EXPECT_FALSE(Dialer::create({}).ok());
  EXPECT_FALSE(Dialer::create({""}).ok());
  EXPECT_FALSE(Dialer::create({"/a\n/b"}).ok());
  EXPECT_FALSE(Listener::create({}).ok());
  EXPECT_FALSE(Listener::create({"/a"}, 0).ok());
  EXPECT_TRUE(Dialer::create({"/a", "/b"}).ok());
}

TEST(Multistream, negotiates_the_first_protocol) {
  auto dialer = make_dialer({"/noise"});
  auto listener = make_listener({"/tls/1.0.0", "/noise"});
  run(dialer, listener, 1 << 16);
  EXPECT_EQ(dialer.state(), State::kSelected);
  EXPECT_EQ(listener.state(), State::kSelected);
  EXPECT_EQ(dialer.selected(), "/noise");
  EXPECT_EQ(listener.selected(), "/noise");
  EXPECT_TRUE(dialer.take_leftover().empty());
  EXPECT_TRUE(listener.take_leftover().empty());
}

TEST(Multistream, falls_back_after_na) {
  auto dialer = make_dialer({"/mplex/6.7.0", "/yamux/1.0.0"});
  auto listener = make_listener({"/yamux/1.0.0"});
  run(dialer, listener, 1 << 16);
  EXPECT_EQ(dialer.state(), State::kSelected);
  EXPECT_EQ(dialer.selected(), "/yamux/1.0.0");
  EXPECT_EQ(listener.selected(), "/yamux/1.0.0");
}

TEST(Multistream, negotiates_when_fed_byte_by_byte) {
  auto dialer = make_dialer({"/a/1", "/b/1", "/c/1"});
  auto listener = make_listener({"/c/1"});
  run(dialer, listener, 1);
  EXPECT_EQ(dialer.state(), State::kSelected);
  EXPECT_EQ(listener.state(), State::kSelected);
  EXPECT_EQ(dialer.selected(), "/c/1");
}

TEST(Multistream, exchanges_exactly_the_expected_bytes) {
  auto dialer = make_dialer({"/a", "/b"});
  EXPECT_EQ(dialer.start(), concat({msg(kProtocolId), msg("/a")}));
  auto s1 = dialer.feed(concat({msg(kProtocolId), msg("na")}));
  EXPECT_EQ(s1.state, State::kNegotiating);
  EXPECT_EQ(s1.output, msg("/b"));
  auto s2 = dialer.feed(msg("/b"));
  EXPECT_EQ(s2.state, State::kSelected);
  EXPECT_TRUE(s2.output.empty());
}

TEST(Multistream, returns_data_that_arrives_with_the_final_message) {
  const Bytes data{0xde, 0xad, 0xbe, 0xef};
  auto dialer = make_dialer({"/echo/1"});
  (void)dialer.start();
  auto step = dialer.feed(concat({msg(kProtocolId), msg("/echo/1"), data}));
  EXPECT_EQ(step.state, State::kSelected);
  // Later reads keep accumulating into the leftover until it is taken.
  (void)dialer.feed(Bytes{0x01});
  EXPECT_EQ(dialer.take_leftover(), concat({data, Bytes{0x01}}));
  EXPECT_TRUE(dialer.take_leftover().empty());

  // A dialer that pipelines its first data with its proposal (as optimistic
  // peers do) has that data handed back by the listener.
  auto listener = make_listener({"/echo/1"});
  auto l = listener.feed(concat({msg(kProtocolId), msg("/echo/1"), data}));
  EXPECT_EQ(l.state, State::kSelected);
  EXPECT_EQ(l.output, msg("/echo/1"));
  EXPECT_EQ(listener.take_leftover(), data);
}

TEST(Multistream, fails_when_the_remote_supports_nothing_proposed) {
  auto dialer = make_dialer({"/a", "/b"});
  auto listener = make_listener({"/c"});
  run(dialer, listener, 7);
  EXPECT_EQ(dialer.state(), State::kFailed);
  EXPECT_EQ(dialer.error().code, core::ErrorCode::kNotFound);
  EXPECT_NE(dialer.error().message.find("/a, /b"), std::string::npos);
  EXPECT_EQ(listener.state(), State::kNegotiating);
  EXPECT_TRUE(dialer.take_leftover().empty());
}

TEST(Multistream, answers_ls_with_na) {
  auto listener = make_listener({"/a"});
  auto step = listener.feed(concat({msg(kProtocolId), msg("ls")}));
  EXPECT_EQ(step.state, State::kNegotiating);
  EXPECT_EQ(step.output, msg("na"));
}

TEST(Multistream, listener_gives_up_after_too_many_refusals) {
  auto listener = make_listener({"/a"}, 3);
  Bytes in = msg(kProtocolId);
  for (int i = 0; i < 5; ++i) core::append(in, msg("/nope"));
  auto step = listener.feed(in);
  EXPECT_EQ(step.state, State::kFailed);
  EXPECT_EQ(listener.error().code, core::ErrorCode::kResourceExhausted);
  EXPECT_EQ(step.output, concat({msg("na"), msg("na"), msg("na")}));
  // Further input is ignored.
  EXPECT_EQ(listener.feed(msg("/a")).state, State::kFailed);
  EXPECT_TRUE(listener.take_leftover().empty());
}

TEST(Multistream, refuses_a_remote_that_skips_the_header) {
  auto listener = make_listener({"/a"});
  auto step = listener.feed(msg("/a"));
  EXPECT_EQ(step.state, State::kFailed);
  EXPECT_EQ(listener.error().code, core::ErrorCode::kInvalidArgument);
  EXPECT_TRUE(step.output.empty());

  auto dialer = make_dialer({"/a"});
  (void)dialer.start();
  EXPECT_EQ(dialer.feed(msg("/multistream/2.0.0")).state, State::kFailed);
}

TEST(Multistream, refuses_an_answer_that_is_neither_echo_nor_na) {
  auto dialer = make_dialer({"/a"});
  (void)dialer.start();
  auto step = dialer.feed(concat({msg(kProtocolId), msg("/b")}));
  EXPECT_EQ(step.state, State::kFailed);
  EXPECT_NE(dialer.error().message.find("'/b'"), std::string::npos);
}

TEST(Multistream, refuses_an_oversized_line_during_negotiation) {
  auto listener = make_listener({"/a"});
  Bytes in = msg(kProtocolId);
  core::varint::append(in, 5000);
  auto step = listener.feed(in);
  EXPECT_EQ(step.state, State::kFailed);
  EXPECT_EQ(listener.error().code, core::ErrorCode::kResourceExhausted);
}

TEST(Multistream, refuses_a_line_missing_its_newline_during_negotiation) {
  auto dialer = make_dialer({"/a"});
  (void)dialer.start();
  Bytes in = msg(kProtocolId);
  core::append(in, Bytes{0x02, '/', 'a'});
  EXPECT_EQ(dialer.feed(in).state, State::kFailed);
  EXPECT_NE(dialer.error().message.find("newline"), std::string::npos);
}

}  // namespace
}  // namespace soma::p2p::multistream
