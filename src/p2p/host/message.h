#pragma once

#include <asio/awaitable.hpp>
#include <cstddef>

#include "core/bytes.h"
#include "core/error.h"
#include "p2p/transport/stream.h"

// Messages prefixed by their unsigned-varint length, as libp2p's own
// protocols and Soma's frame them. Loop thread only, like the Stream.
namespace soma::p2p::host {

// Reads one message of at most `max_size` bytes; the length is checked
// before anything is allocated. Errors: kResourceExhausted for a longer
// message, kInvalidArgument for a malformed prefix, kUnavailable when the
// stream ends or fails first.
asio::awaitable<core::Result<core::Bytes>> read_message(transport::Stream& stream,
                                                        std::size_t max_size);

// Writes `message` with its length prefix.
asio::awaitable<core::Status> write_message(transport::Stream& stream, core::ByteView message);

}  // namespace soma::p2p::host
