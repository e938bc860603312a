#include "p2p/host/message.h"

#include <fmt/format.h>

#include <array>

#include "core/varint.h"

namespace soma::p2p::host {

asio::awaitable<core::Result<core::Bytes>> read_message(transport::Stream& stream,
                                                        std::size_t max_size) {
  // The prefix, one byte at a time: it is at most kMaxBytes long and the
  // bytes after it belong to the message.
  core::Bytes prefix;
  std::uint64_t length = 0;
  for (;;) {
    std::array<std::uint8_t, 1> byte{};
    auto st = co_await stream.read_exact(byte);
    if (!st.ok()) co_return st.take_error();
    prefix.push_back(byte[0]);
    auto decoded = core::varint::decode_prefix(prefix);
    if (!decoded.ok()) co_return decoded.take_error();
    if (decoded->has_value()) {
      length = (*decoded)->value;
      break;
    }
  }
  if (length > max_size) {
    co_return core::Error::exhausted(
        fmt::format("message of {} bytes on {} exceeds the {} byte limit", length,
                    stream.protocol(), max_size));
  }
  core::Bytes message(static_cast<std::size_t>(length));
  auto st = co_await stream.read_exact(message);
  if (!st.ok()) co_return st.take_error();
  co_return message;
}

asio::awaitable<core::Status> write_message(transport::Stream& stream, core::ByteView message) {
  core::Bytes framed;
  core::varint::append(framed, message.size());
  core::append(framed, message);
  co_return co_await stream.write_all(framed);
}

}  // namespace soma::p2p::host
