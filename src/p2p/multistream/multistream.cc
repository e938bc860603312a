#include "p2p/multistream/multistream.h"

#include <algorithm>
#include <utility>

#include "core/varint.h"

namespace soma::p2p::multistream {
namespace {

using core::Bytes;
using core::ByteView;
using core::Error;
using core::Result;
using core::Status;

// Remote text quoted in errors is cut to this length so a 1 KiB line does
// not end up in logs whole.
constexpr std::size_t kMaxQuoted = 64;

std::string quote(std::string_view s) {
  std::string out = "'";
  for (char c : s.substr(0, kMaxQuoted)) {
    const auto u = static_cast<unsigned char>(c);
    out += (u < 0x20 || u == 0x7f) ? '?' : c;
  }
  if (s.size() > kMaxQuoted) out += "...";
  return out + "'";
}

// Strict UTF-8: no overlong forms, no surrogates, nothing above U+10FFFF.
bool is_valid_utf8(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    std::size_t extra = 0;
    std::uint32_t cp = 0;
    std::uint32_t min = 0;
    if (c < 0x80) {
      ++i;
      continue;
    } else if ((c & 0xe0) == 0xc0) {
      extra = 1;
      cp = c & 0x1f;
      min = 0x80;
    } else if ((c & 0xf0) == 0xe0) {
      extra = 2;
      cp = c & 0x0f;
      min = 0x800;
    } else if ((c & 0xf8) == 0xf0) {
      extra = 3;
      cp = c & 0x07;
      min = 0x10000;
    } else {
      return false;
    }
    if (s.size() - i <= extra) return false;
    for (std::size_t k = 1; k <= extra; ++k) {
      const auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xc0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return false;
    i += extra + 1;
  }
  return true;
}

void consume(Bytes& buffer, std::size_t n) {
  buffer.erase(buffer.begin(), buffer.begin() + static_cast<std::ptrdiff_t>(n));
}

Status validate_protocols(const std::vector<std::string>& ids, std::string_view what) {
  if (ids.empty()) return Error::invalid("multistream: no " + std::string(what) + " protocols");
  for (const auto& id : ids) SOMA_TRY(validate_protocol_id(id));
  return {};
}

}  // namespace

Status validate_protocol_id(std::string_view id) {
  if (id.empty()) return Error::invalid("multistream: empty protocol id");
  if (id.size() + 1 > kMaxMessageSize) {
    return Error::invalid("multistream: protocol id " + quote(id) + " is longer than " +
                          std::to_string(kMaxMessageSize - 1) + " bytes");
  }
  if (id.find('\n') != std::string_view::npos) {
    return Error::invalid("multistream: protocol id " + quote(id) + " contains a newline");
  }
  if (!is_valid_utf8(id)) {
    return Error::invalid("multistream: protocol id " + quote(id) + " is not valid UTF-8");
  }
  return {};
}

Status append_message(Bytes& out, std::string_view line) {
  SOMA_TRY(validate_protocol_id(line));
  core::varint::append(out, line.size() + 1);
  core::append(out, core::as_bytes(line));
  out.push_back('\n');
  return {};
}

Result<std::optional<Decoded>> decode_message(ByteView in) {
  auto prefix = core::varint::decode_prefix(in);
  if (!prefix) {
    return Error::invalid("multistream: remote sent a malformed length prefix: " +
                          prefix.error().message);
  }
  if (!prefix->has_value()) {
    // A prefix that is still incomplete after two bytes already encodes a
    // length of at least 2^14, far beyond the limit.
    if (in.size() >= core::varint::encoded_size(kMaxMessageSize)) {
      return Error::exhausted("multistream: remote sent a message longer than the " +
                              std::to_string(kMaxMessageSize) + "-byte limit");
    }
    return std::optional<Decoded>();
  }
  const std::uint64_t length = (*prefix)->value;
  const std::size_t header = (*prefix)->size;
  if (length > kMaxMessageSize) {
    return Error::exhausted("multistream: remote sent a message of " + std::to_string(length) +
                            " bytes; the limit is " + std::to_string(kMaxMessageSize));
  }
  if (length == 0) return Error::invalid("multistream: remote sent an empty message");
  if (in.size() - header < length) return std::optional<Decoded>();

  std::string_view body = core::as_chars(in.subspan(header, static_cast<std::size_t>(length)));
  if (body.back() != '\n') {
    return Error::invalid("multistream: remote sent a message " + quote(body) +
                          " that does not end in a newline");
  }
  body.remove_suffix(1);
  if (body.find('\n') != std::string_view::npos) {
    return Error::invalid("multistream: remote sent a message with more than one line");
  }
  if (body.empty()) return Error::invalid("multistream: remote sent an empty line");
  if (!is_valid_utf8(body)) {
    return Error::invalid("multistream: remote sent a message that is not valid UTF-8");
  }
  return std::optional<Decoded>(Decoded{std::string(body), header + length});
}

// --- Dialer ---

Dialer::Dialer(std::vector<std::string> protocols) : protocols_(std::move(protocols)) {}

Result<Dialer> Dialer::create(std::vector<std::string> protocols) {
  SOMA_TRY(validate_protocols(protocols, "proposed"));
  return Dialer(std::move(protocols));
}

Bytes Dialer::start() {
  Bytes out;
  // Both ids were validated in create(), so neither append can fail.
  (void)append_message(out, kProtocolId);
  (void)append_message(out, protocols_[next_]);
  return out;
}

Step Dialer::feed(ByteView in) {
  Step step;
  // After a failure nothing more is kept; after a selection input only
  // grows the leftover the caller takes.
  if (state_ != State::kFailed) core::append(buffer_, in);
  if (state_ == State::kNegotiating) process(step.output);
  step.state = state_;
  return step;
}

void Dialer::process(Bytes& output) {
  while (state_ == State::kNegotiating) {
    auto decoded = decode_message(buffer_);
    if (!decoded) return fail(decoded.take_error());
    if (!decoded->has_value()) return;
    const std::string line = std::move((*decoded)->line);
    consume(buffer_, (*decoded)->size);

    if (phase_ == Phase::kAwaitHeader) {
      if (line != kProtocolId) {
        return fail(Error::invalid("multistream: remote does not speak " +
                                   std::string(kProtocolId) + " (it sent " + quote(line) + ")"));
      }
      phase_ = Phase::kAwaitAnswer;
      continue;
    }
    const std::string& proposed = protocols_[next_];
    if (line == proposed) {
      selected_ = proposed;
      state_ = State::kSelected;
      return;
    }
    if (line != kNotAvailable) {
      return fail(Error::invalid("multistream: remote answered " + quote(line) + " to " +
                                 quote(proposed) + "; expected the same id or \"na\""));
    }
    if (++next_ == protocols_.size()) {
      std::string all;
      for (const auto& p : protocols_) all += (all.empty() ? "" : ", ") + p;
      return fail(Error::not_found("multistream: remote supports none of the proposed protocols (" +
                                   all + ")"));
    }
    (void)append_message(output, protocols_[next_]);
  }
}

void Dialer::fail(Error error) {
  state_ = State::kFailed;
  error_ = std::move(error);
  buffer_.clear();
}

Bytes Dialer::take_leftover() {
  if (state_ != State::kSelected) return {};
  return std::exchange(buffer_, {});
}

// --- Listener ---

Listener::Listener(std::vector<std::string> supported, std::size_t max_attempts)
    : supported_(std::move(supported)), max_attempts_(max_attempts) {}

Result<Listener> Listener::create(std::vector<std::string> supported, std::size_t max_attempts) {
  SOMA_TRY(validate_protocols(supported, "supported"));
  if (max_attempts == 0) return Error::invalid("multistream: max_attempts must be at least 1");
  return Listener(std::move(supported), max_attempts);
}

Bytes Listener::start() {
  Bytes out;
  (void)append_message(out, kProtocolId);
  return out;
}

Step Listener::feed(ByteView in) {
  Step step;
  // After a failure nothing more is kept; after a selection input only
  // grows the leftover the caller takes.
  if (state_ != State::kFailed) core::append(buffer_, in);
  if (state_ == State::kNegotiating) process(step.output);
  step.state = state_;
  return step;
}

void Listener::process(Bytes& output) {
  while (state_ == State::kNegotiating) {
    auto decoded = decode_message(buffer_);
    if (!decoded) return fail(decoded.take_error());
    if (!decoded->has_value()) return;
    const std::string line = std::move((*decoded)->line);
    consume(buffer_, (*decoded)->size);

    if (phase_ == Phase::kAwaitHeader) {
      if (line != kProtocolId) {
        return fail(Error::invalid("multistream: remote does not speak " +
                                   std::string(kProtocolId) + " (it sent " + quote(line) + ")"));
      }
      phase_ = Phase::kAwaitProposal;
      continue;
    }
    if (line != kList &&
        std::find(supported_.begin(), supported_.end(), line) != supported_.end()) {
      (void)append_message(output, line);
      selected_ = line;
      state_ = State::kSelected;
      return;
    }
    (void)append_message(output, kNotAvailable);
    if (++refused_ >= max_attempts_) {
      return fail(Error::exhausted("multistream: remote proposed " + std::to_string(refused_) +
                                   " unsupported protocols; giving up"));
    }
  }
}

void Listener::fail(Error error) {
  state_ = State::kFailed;
  error_ = std::move(error);
  buffer_.clear();
}

Bytes Listener::take_leftover() {
  if (state_ != State::kSelected) return {};
  return std::exchange(buffer_, {});
}

}  // namespace soma::p2p::multistream
