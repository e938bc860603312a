#pragma once

#include <asio/awaitable.hpp>
#include <cstddef>
#include <memory>
#include <span>
#include <string>

#include "core/bytes.h"
#include "core/error.h"
#include "crypto/peer_id.h"
#include "p2p/yamux/frame.h"

namespace soma::p2p::transport {

class Connection;
struct StreamCore;

enum class StreamDirection { kInbound, kOutbound };

// A handle to one yamux stream of a Connection, for coroutines on the
// connection's io_context thread (the only thread that may use it). Copies
// share the stream. When the last handle goes before close_write(), the
// stream is reset so the peer and the session let go of it; after
// close_write() it is left to finish (queued data and the FIN still go out).
//
// Backpressure: write_all() waits while the stream's send window and send
// buffer are full; read_some() hands out received bytes and only then
// grants the peer the window they used, so a slow reader slows the sender.
//
// One coroutine may read and another write at the same time; the handle
// must be valid() for every call below.
//
// Errors: kUnavailable once the stream was reset (reset_by_peer() tells who
// did it) or the connection closed; kFailedPrecondition for writing after
// close_write().
class Stream {
 public:
  Stream() = default;
  Stream(std::shared_ptr<Connection> connection, std::shared_ptr<StreamCore> core);

  bool valid() const { return core_ != nullptr; }
  yamux::StreamId id() const;
  StreamDirection direction() const;
  const crypto::PeerId& remote_peer() const;
  const std::shared_ptr<Connection>& connection() const { return connection_; }

  // The protocol agreed for this stream by multistream-select.
  const std::string& protocol() const;
  void set_protocol(std::string protocol);

  // Waits until at least one byte is available and copies up to out.size()
  // bytes. 0 means the peer closed its side: no more bytes will come.
  asio::awaitable<core::Result<std::size_t>> read_some(std::span<std::uint8_t> out);

  // Reads exactly out.size() bytes; kUnavailable if the stream ends first.
  asio::awaitable<core::Status> read_exact(std::span<std::uint8_t> out);

  // Reads until the peer closes its side, at most `max` bytes;
  // kResourceExhausted if it sends more.
  asio::awaitable<core::Result<core::Bytes>> read_to_end(std::size_t max);

  // Queues all of `data`, waiting while the stream has no room.
  asio::awaitable<core::Status> write_all(core::ByteView data);

  // Half-closes our side: the FIN follows the queued data in a frame of its
  // own; reads go on. A second call does nothing.
  core::Status close_write();

  // Aborts the stream in both directions; pending reads and writes fail.
  void reset();

  // Puts bytes back in front of the unread data: what a negotiation read
  // past its own end. They do not count against the receive window again.
  void unread(core::Bytes bytes);

  bool is_reset() const;
  bool reset_by_peer() const;
  // The peer half-closed and every byte it sent has been read.
  bool at_end() const;

 private:
  std::shared_ptr<Connection> connection_;
  std::shared_ptr<StreamCore> core_;
};

}  // namespace soma::p2p::transport
