#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/bytes.h"
#include "core/error.h"

// multistream-select 1.0 (libp2p connections spec): the protocol that agrees
// on the next protocol of a connection or stream. Sans-I/O: the negotiators
// below take received bytes and hand back bytes to send; wiring them to a
// socket or stream is the caller's job. Not thread-safe; each instance
// belongs to one connection or stream and is driven from one thread.
namespace soma::p2p::multistream {

inline constexpr std::string_view kProtocolId = "/multistream/1.0.0";
inline constexpr std::string_view kNotAvailable = "na";
inline constexpr std::string_view kList = "ls";

// Largest message (line plus its '\n') either side accepts; the length
// prefix is checked against it before anything is buffered.
inline constexpr std::size_t kMaxMessageSize = 1024;
// How many protocols a listener refuses before it gives up on the remote.
inline constexpr std::size_t kMaxListenerAttempts = 16;

// --- Message codec: <uvarint length><utf-8 line>'\n' ---

// Whether `id` can travel as a message: non-empty valid UTF-8 without
// '\n', short enough to fit kMaxMessageSize with its newline.
core::Status validate_protocol_id(std::string_view id);

// Appends one message holding `line` (the newline is added here). `line`
// must satisfy validate_protocol_id(), or the result is an error.
core::Status append_message(core::Bytes& out, std::string_view line);

struct Decoded {
  std::string line;      // without the trailing '\n'
  std::size_t size = 0;  // bytes consumed, prefix included
};

// Decodes the first message of `in`. nullopt means more bytes are needed;
// an error means the remote sent something that is not a valid message
// (oversized, empty, missing '\n', invalid UTF-8).
core::Result<std::optional<Decoded>> decode_message(core::ByteView in);

// --- Negotiators ---

enum class State { kNegotiating, kSelected, kFailed };

// What one feed() produced: bytes to send to the remote (possibly empty,
// sent even when the state became kSelected or kFailed) and the state after
// the input was processed.
struct Step {
  core::Bytes output;
  State state = State::kNegotiating;
};

// The side that opens the channel and proposes protocols, in the order
// given, one at a time; each "na" moves on to the next proposal.
class Dialer {
 public:
  // Fails when `protocols` is empty or holds an invalid id.
  static core::Result<Dialer> create(std::vector<std::string> protocols);

  // The first bytes to send: the multistream header pipelined with the
  // first proposal. Call once, before feed().
  core::Bytes start();

  // Processes received bytes. Once the state leaves kNegotiating further
  // input is not parsed: it is appended to the leftover.
  Step feed(core::ByteView in);

  State state() const { return state_; }
  // The agreed protocol; meaningful in kSelected.
  const std::string& selected() const { return selected_; }
  // Why negotiation failed; meaningful in kFailed. kNotFound when the remote
  // refused every proposal, kInvalidArgument when it broke the protocol.
  const core::Error& error() const { return error_; }
  // Bytes that followed the final negotiation message: the first bytes of
  // the selected protocol. Moves them out.
  core::Bytes take_leftover();

 private:
  explicit Dialer(std::vector<std::string> protocols);
  void process(core::Bytes& output);
  void fail(core::Error error);

  enum class Phase { kAwaitHeader, kAwaitAnswer };

  std::vector<std::string> protocols_;
  std::size_t next_ = 0;  // index of the proposal awaiting an answer
  Phase phase_ = Phase::kAwaitHeader;
  State state_ = State::kNegotiating;
  std::string selected_;
  core::Error error_;
  core::Bytes buffer_;
};

// The side that accepts the channel and answers proposals against the set
// of protocols it supports. "ls" is answered with "na": Soma does not
// disclose its protocol list this way, and peers treat "na" to "ls" as the
// listing being unavailable.
class Listener {
 public:
  // Fails when `supported` is empty or holds an invalid id.
  static core::Result<Listener> create(std::vector<std::string> supported,
                                       std::size_t max_attempts = kMaxListenerAttempts);

  // The multistream header, which the listener may send without waiting.
  core::Bytes start();

  Step feed(core::ByteView in);

  State state() const { return state_; }
  const std::string& selected() const { return selected_; }
  // kResourceExhausted after max_attempts refusals, kInvalidArgument when
  // the remote broke the protocol.
  const core::Error& error() const { return error_; }
  core::Bytes take_leftover();

 private:
  Listener(std::vector<std::string> supported, std::size_t max_attempts);
  void process(core::Bytes& output);
  void fail(core::Error error);

  enum class Phase { kAwaitHeader, kAwaitProposal };

  std::vector<std::string> supported_;
  std::size_t max_attempts_;
  std::size_t refused_ = 0;
  Phase phase_ = Phase::kAwaitHeader;
  State state_ = State::kNegotiating;
  std::string selected_;
  core::Error error_;
  core::Bytes buffer_;
};

}  // namespace soma::p2p::multistream
