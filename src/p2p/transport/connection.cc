#include "p2p/transport/connection.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <asio/co_spawn.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/post.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>
#include <cstring>
#include <deque>
#include <exception>
#include <memory>
#include <span>
#include <utility>
#include <vector>

namespace soma::p2p::transport {

using asio::use_awaitable;
using asio::experimental::as_tuple;

namespace {

// Bytes taken from the socket by one read: several Noise frames (each at
// most 65537 bytes), so few frames straddle two reads and a bulk transfer
// needs few system calls.
constexpr std::size_t kReadChunk = 256 * 1024;
// Plaintext one read can yield: the read plus a frame the decoder held.
constexpr std::size_t kPlaintextScratch = kReadChunk + noise::kMaxFrameSize;
// Write buffers up to this size stay with an idle connection.
constexpr std::size_t kKeptWriteBuffer = 16 * 1024;

// The read buffers every connection of one thread shares: a connection
// reads into them and keeps only what it cannot hand on at once (see
// Connection::feed). Made on a thread's first read.
struct ReadScratch {
  std::unique_ptr<std::uint8_t[]> wire = std::make_unique_for_overwrite<std::uint8_t[]>(kReadChunk);
  std::unique_ptr<std::uint8_t[]> plaintext =
      std::make_unique_for_overwrite<std::uint8_t[]>(kPlaintextScratch);
};

ReadScratch& read_scratch() {
  thread_local ReadScratch scratch;
  return scratch;
}

template <class... Ts>
struct Overloaded : Ts... {
  using Ts::operator()...;
};
template <class... Ts>
Overloaded(Ts...) -> Overloaded<Ts...>;

}  // namespace

// The state of one stream shared by its handles and the connection. The
// inbox is bounded by the stream's yamux receive window: the peer can send
// no more than the window the reader has handed back through consume().
struct StreamCore {
  StreamCore(const std::shared_ptr<Connection>& conn, yamux::StreamId stream_id,
             StreamDirection dir)
      : connection(conn),
        id(stream_id),
        direction(dir),
        remote_peer(conn->remote_peer()),
        readable(conn->socket_.get_executor()),
        writable(conn->socket_.get_executor()) {}

  ~StreamCore() {
    // The last handle is gone: an unfinished stream is reset so the peer
    // and the session let go of it.
    auto conn = connection.lock();
    if (!conn) return;
    // A stream closed for writing is left to finish: the session still
    // sends its queued data and FIN, and forgets it once both sides are done.
    if (conn->is_open() && !reset && !write_closed) {
      (void)conn->yamux_.reset(id);
      conn->kick_writer();
    }
    conn->forget_stream(id);
  }

  bool finished() const { return reset || (remote_closed && write_closed); }

  std::weak_ptr<Connection> connection;
  yamux::StreamId id;
  StreamDirection direction;
  crypto::PeerId remote_peer;
  std::string protocol;

  std::deque<core::Bytes> inbox;
  std::size_t inbox_offset = 0;
  core::Bytes unread;  // given back by a negotiation; not window-accounted
  std::size_t unread_offset = 0;

  bool remote_closed = false;
  bool write_closed = false;
  bool reset = false;
  bool reset_by_peer = false;
  bool connection_closed = false;

  Signal readable;
  Signal writable;
};

// ---------------------------------------------------------------------------
// Connection

core::Result<std::shared_ptr<Connection>> Connection::create(asio::ip::tcp::socket socket,
                                                             noise::Session session,
                                                             ConnectionInfo info,
                                                             const yamux::Limits& limits,
                                                             const Timeouts& timeouts) {
  yamux::Config config;
  config.role = info.role == Role::kDialer ? yamux::Role::kClient : yamux::Role::kServer;
  config.limits = limits;
  auto yamux = yamux::Session::create(std::move(config));
  if (!yamux.ok()) return yamux.take_error();
  return std::shared_ptr<Connection>(new Connection(std::move(socket), std::move(session),
                                                    std::move(info), std::move(*yamux), timeouts));
}

Connection::Connection(asio::ip::tcp::socket socket, noise::Session session, ConnectionInfo info,
                       yamux::Session yamux, const Timeouts& timeouts)
    : socket_(std::move(socket)),
      noise_(std::move(session)),
      info_(std::move(info)),
      yamux_(std::move(yamux)),
      timeouts_(timeouts),
      write_signal_(socket_.get_executor()),
      flushed_signal_(socket_.get_executor()),
      frame_deadline_(socket_.get_executor()),
      write_deadline_(socket_.get_executor()),
      close_deadline_(socket_.get_executor()),
      idle_since_(std::chrono::steady_clock::now()) {}

Connection::~Connection() = default;

void Connection::start(Callbacks callbacks, core::Bytes leftover) {
  callbacks_ = std::move(callbacks);
  // The loops read and write without blocking and wait only when the
  // socket has no data or no room.
  std::error_code ec;
  socket_.non_blocking(true, ec);
  if (ec) {
    close({Phase::kRunning, Fault::kLocal,
           core::Error::internal(
               fmt::format("cannot make the connection's socket non-blocking: {}", ec.message())),
           false});
    close_socket();
    return;
  }
  auto log_failure = [peer = info_.remote_peer.to_string()](std::exception_ptr e) {
    if (!e) return;
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& ex) {
      spdlog::error("connection loop failed peer={}: {}", peer, ex.what());
    }
  };
  asio::co_spawn(socket_.get_executor(), read_loop(shared_from_this(), std::move(leftover)),
                 log_failure);
  asio::co_spawn(socket_.get_executor(), write_loop(shared_from_this()), log_failure);
}

core::Result<Stream> Connection::open_stream() {
  if (state_ != State::kOpen) {
    return core::Error::unavailable(
        fmt::format("connection to {} is closing", info_.remote_peer.to_string()));
  }
  auto id = yamux_.open_stream();
  if (!id.ok()) return id.take_error();
  auto core = std::make_shared<StreamCore>(shared_from_this(), *id, StreamDirection::kOutbound);
  streams_[*id] = core;
  update_idle();
  kick_writer();
  return Stream(shared_from_this(), std::move(core));
}

void Connection::close(DisconnectReason reason) {
  if (state_ != State::kOpen) return;
  state_ = State::kClosing;
  reason_ = reason;
  spdlog::debug("closing connection peer={}: {}", info_.remote_peer.to_string(), reason.describe());

  // Wake every stream so its readers and writers see the end.
  std::vector<std::shared_ptr<StreamCore>> open;
  for (auto& [id, weak] : streams_) {
    if (auto core = weak.lock()) open.push_back(std::move(core));
  }
  for (auto& core : open) {
    core->connection_closed = true;
    core->readable.notify();
    core->writable.notify();
  }

  // Tell the peer, then let the writer flush; the socket closes when it has,
  // or at the deadline.
  if (yamux_.failure() == nullptr) (void)yamux_.go_away(yamux::GoAwayCode::kNormal);
  close_deadline_.arm(timeouts_.write, [this] { close_socket(); });
  kick_writer();
  flushed_signal_.notify();

  if (callbacks_.on_closed) {
    asio::post(socket_.get_executor(), [self = shared_from_this(), reason = std::move(reason)] {
      if (self->callbacks_.on_closed) self->callbacks_.on_closed(reason);
      // The owner's callbacks may hold handles to this connection.
      self->callbacks_ = {};
    });
  }
}

void Connection::close_socket() {
  if (state_ == State::kClosed) return;
  if (state_ == State::kOpen) {
    close({Phase::kRunning, Fault::kLocal, core::Error::internal("socket closed"), false});
  }
  state_ = State::kClosed;
  frame_deadline_.cancel();
  write_deadline_.cancel();
  close_deadline_.cancel();
  std::error_code ignored;
  socket_.shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
  socket_.close(ignored);
  kick_writer();
  flushed_signal_.notify();
}

void Connection::fail_socket(const std::error_code& ec, bool timed_out) {
  if (state_ == State::kOpen) {
    DisconnectReason reason;
    reason.phase = Phase::kRunning;
    reason.timed_out = timed_out;
    if (timed_out) {
      reason.fault = Fault::kPeer;
      reason.error = core::Error::unavailable("the peer stalled past a deadline");
    } else if (ec == asio::error::eof) {
      reason.fault = Fault::kNone;
      reason.error = core::Error::unavailable("the peer closed the connection");
    } else {
      reason.fault = Fault::kNetwork;
      reason.error = core::Error::unavailable(fmt::format("connection failed: {}", ec.message()));
    }
    close(std::move(reason));
  }
  close_socket();
}

asio::awaitable<void> Connection::read_loop(std::shared_ptr<Connection> self,
                                            core::Bytes leftover) {
  Connection& c = *self;
  bool leftover_waited = false;
  if (!leftover.empty() && !co_await c.feed(leftover, leftover_waited)) co_return;
  leftover = {};

  // The connection holds no read buffer while it waits: it reads into the
  // thread's shared buffers without blocking and waits for readability only
  // once a read finds nothing. The reactor reports edges, so that wait may
  // only follow a read that came back short with no turn of the loop in
  // between; after a turn, a read comes first.
  bool may_wait = false;
  while (c.state_ != State::kClosed) {
    if (may_wait) {
      if (c.streams_.empty()) c.noise_.decoder().release_buffer();
      auto [ec] =
          co_await c.socket_.async_wait(asio::socket_base::wait_read, as_tuple(use_awaitable));
      if (ec) {
        c.fail_socket(ec, c.frame_deadline_.expired());
        co_return;
      }
      if (c.state_ == State::kClosed) co_return;
    }
    ReadScratch& scratch = read_scratch();
    std::error_code read_ec;
    std::size_t n = c.socket_.read_some(asio::buffer(scratch.wire.get(), kReadChunk), read_ec);
    if (read_ec == asio::error::would_block || read_ec == asio::error::try_again) {
      may_wait = true;
      continue;
    }
    if (read_ec) {
      c.fail_socket(read_ec, c.frame_deadline_.expired());
      co_return;
    }

    auto plaintext = c.noise_.decoder().feed_into(
        core::ByteView(scratch.wire.get(), n),
        std::span<std::uint8_t>(scratch.plaintext.get(), kPlaintextScratch));
    if (!plaintext.ok()) {
      c.close({Phase::kRunning, Fault::kPeer, plaintext.take_error(), false});
      c.close_socket();
      co_return;
    }

    // A frame that has begun must complete in time (slow-drip peers).
    bool partial = c.noise_.decoder().buffered() > 0;
    if (partial && !c.frame_pending_) {
      c.frame_deadline_.arm(c.timeouts_.frame, [&c] {
        c.close(
            {Phase::kRunning, Fault::kPeer,
             core::Error::unavailable(fmt::format(
                 "the peer left a Noise frame unfinished for {} ms", c.timeouts_.frame.count())),
             true});
        c.close_socket();
      });
    } else if (!partial && c.frame_pending_) {
      c.frame_deadline_.cancel();
    }
    c.frame_pending_ = partial;

    bool waited = false;
    if (*plaintext > 0 &&
        !co_await c.feed(core::ByteView(scratch.plaintext.get(), *plaintext), waited)) {
      co_return;
    }
    // A short read drained the socket. Otherwise let the streams' readers
    // take what arrived before reading more, which keeps what waits in
    // memory small; the next read then checks for more.
    may_wait = n < kReadChunk && !waited;
    if (!may_wait) co_await asio::post(c.socket_.get_executor(), use_awaitable);
  }
}

asio::awaitable<bool> Connection::feed(core::ByteView in, bool& waited) {
  // Where the rest of `in` goes when the feed has to wait: `in` may point
  // into the thread's shared read buffer, which other connections reuse
  // meanwhile.
  core::Bytes held;
  while (!in.empty()) {
    if (state_ == State::kClosed) co_return false;
    auto consumed = yamux_.feed(in);
    dispatch_events();
    kick_writer();
    if (!consumed.ok()) {
      // The session queued a go-away and a SessionFailed event, which
      // dispatch_events() turned into close().
      co_return false;
    }
    in = in.subspan(*consumed);
    // The session paused: control output piled up unsent. Wait for the
    // writer to flush before feeding the rest.
    if (*consumed == 0 && !yamux_.has_events()) {
      if (held.empty()) {
        held.assign(in.begin(), in.end());
        in = held;
      }
      waited = true;
      co_await flushed_signal_.wait();
    }
  }
  co_return true;
}

asio::awaitable<void> Connection::write_loop(std::shared_ptr<Connection> self) {
  Connection& c = *self;
  core::Bytes plaintext;
  // Grown as needed and never zero-filled: each batch is encrypted over it.
  std::unique_ptr<std::uint8_t[]> wire;
  std::size_t wire_capacity = 0;
  while (c.state_ != State::kClosed) {
    if (!c.yamux_.has_output()) {
      if (c.state_ == State::kClosing) break;
      // Between bursts a connection without streams keeps no batch-sized
      // buffers; while streams are open they are reused.
      if (c.streams_.empty()) {
        if (wire_capacity > kKeptWriteBuffer) {
          wire.reset();
          wire_capacity = 0;
        }
        if (plaintext.capacity() > kKeptWriteBuffer) core::Bytes().swap(plaintext);
        c.yamux_.release_buffers();
      }
      co_await c.write_signal_.wait();
      continue;
    }
    plaintext = c.yamux_.take_output(std::move(plaintext));
    c.dispatch_events();  // take_output() may report writable streams
    const std::size_t needed = noise::encrypted_size(plaintext.size());
    if (wire_capacity < needed) {
      wire = std::make_unique_for_overwrite<std::uint8_t[]>(needed);
      wire_capacity = needed;
    }
    auto encrypted =
        c.noise_.encoder().encrypt_into(plaintext, std::span<std::uint8_t>(wire.get(), needed));
    if (!encrypted.ok()) {
      c.close({Phase::kRunning, Fault::kLocal, encrypted.take_error(), false});
      break;
    }

    // Most writes fit in the socket buffer at once; only a write that does
    // not needs a deadline and a wait.
    std::error_code ec;
    std::size_t sent = c.socket_.write_some(asio::buffer(wire.get(), *encrypted), ec);
    if (ec == asio::error::would_block || ec == asio::error::try_again) {
      ec.clear();
      sent = 0;
    }
    if (!ec && sent < *encrypted) {
      c.write_deadline_.arm(c.timeouts_.write, [&c] {
        c.close({Phase::kRunning, Fault::kPeer,
                 core::Error::unavailable(
                     fmt::format("the peer read nothing for {} ms", c.timeouts_.write.count())),
                 true});
        c.close_socket();
      });
      auto [write_ec, n] = co_await asio::async_write(
          c.socket_, asio::buffer(wire.get() + sent, *encrypted - sent), as_tuple(use_awaitable));
      (void)n;
      ec = write_ec;
    }
    bool timed_out = c.write_deadline_.expired();
    c.write_deadline_.cancel();
    if (ec) {
      c.fail_socket(ec, timed_out);
      co_return;
    }
    c.flushed_signal_.notify();
  }
  c.close_socket();
}

void Connection::dispatch_events() {
  while (auto event = yamux_.next_event()) {
    std::visit(Overloaded{
                   [this](yamux::event::StreamOpened& e) {
                     auto core = std::make_shared<StreamCore>(shared_from_this(), e.stream,
                                                              StreamDirection::kInbound);
                     streams_[e.stream] = core;
                     update_idle();
                     if (state_ == State::kOpen && callbacks_.on_inbound_stream) {
                       callbacks_.on_inbound_stream(Stream(shared_from_this(), std::move(core)));
                     }
                     // A handle nobody kept resets the stream as it goes.
                   },
                   [this](yamux::event::StreamData& e) {
                     auto core = find_stream(e.stream);
                     if (!core) return;
                     core->inbox.push_back(std::move(e.data));
                     core->readable.notify();
                   },
                   [this](yamux::event::StreamFinished& e) {
                     auto core = find_stream(e.stream);
                     if (!core) return;
                     core->remote_closed = true;
                     core->readable.notify();
                     if (core->finished()) forget_stream(e.stream);
                   },
                   [this](yamux::event::StreamReset& e) {
                     auto core = find_stream(e.stream);
                     if (!core) return;
                     core->reset = true;
                     core->reset_by_peer = true;
                     core->readable.notify();
                     core->writable.notify();
                     forget_stream(e.stream);
                   },
                   [this](yamux::event::StreamWritable& e) {
                     if (auto core = find_stream(e.stream)) core->writable.notify();
                   },
                   [](yamux::event::Pong&) {},
                   [this](yamux::event::GoAwayReceived& e) {
                     spdlog::debug("peer={} sent yamux go-away code={}",
                                   info_.remote_peer.to_string(), e.code);
                   },
                   [this](yamux::event::SessionFailed& e) { on_session_failed(e.error); },
               },
               *event);
  }
}

void Connection::on_session_failed(const yamux::SessionError& error) {
  Fault fault = error.fault == yamux::Fault::kPeer ? Fault::kPeer : Fault::kLocalLimit;
  core::Error err = fault == Fault::kPeer ? core::Error::invalid(error.reason)
                                          : core::Error::exhausted(error.reason);
  close({Phase::kRunning, fault, std::move(err), false});
}

std::shared_ptr<StreamCore> Connection::find_stream(yamux::StreamId id) {
  auto it = streams_.find(id);
  if (it == streams_.end()) return nullptr;
  return it->second.lock();
}

void Connection::forget_stream(yamux::StreamId id) {
  streams_.erase(id);
  update_idle();
}

void Connection::update_idle() {
  if (streams_.empty()) idle_since_ = std::chrono::steady_clock::now();
}

// ---------------------------------------------------------------------------
// Stream

Stream::Stream(std::shared_ptr<Connection> connection, std::shared_ptr<StreamCore> core)
    : connection_(std::move(connection)), core_(std::move(core)) {}

yamux::StreamId Stream::id() const { return core_->id; }
StreamDirection Stream::direction() const { return core_->direction; }
const crypto::PeerId& Stream::remote_peer() const { return core_->remote_peer; }
const std::string& Stream::protocol() const { return core_->protocol; }
void Stream::set_protocol(std::string protocol) { core_->protocol = std::move(protocol); }
bool Stream::is_reset() const { return core_->reset; }
bool Stream::reset_by_peer() const { return core_->reset_by_peer; }
bool Stream::at_end() const {
  return core_->remote_closed && core_->inbox.empty() &&
         core_->unread_offset == core_->unread.size();
}

namespace {

core::Error ended_error(const StreamCore& core, const Connection& conn) {
  if (core.reset) {
    return core::Error::unavailable(fmt::format("stream {} with {} was reset{}", core.id,
                                                core.remote_peer.to_string(),
                                                core.reset_by_peer ? " by the peer" : ""));
  }
  std::string why = conn.reason() ? conn.reason()->describe() : "closed";
  return core::Error::unavailable(
      fmt::format("connection to {} ended ({})", core.remote_peer.to_string(), why));
}

}  // namespace

asio::awaitable<core::Result<std::size_t>> Stream::read_some(std::span<std::uint8_t> out) {
  StreamCore& c = *core_;
  for (;;) {
    if (c.unread_offset < c.unread.size()) {
      std::size_t n = std::min(out.size(), c.unread.size() - c.unread_offset);
      std::memcpy(out.data(), c.unread.data() + c.unread_offset, n);
      c.unread_offset += n;
      if (c.unread_offset == c.unread.size()) {
        c.unread.clear();
        c.unread_offset = 0;
      }
      co_return n;
    }
    if (!c.inbox.empty()) {
      std::size_t n = 0;
      while (n < out.size() && !c.inbox.empty()) {
        core::Bytes& front = c.inbox.front();
        std::size_t take = std::min(out.size() - n, front.size() - c.inbox_offset);
        std::memcpy(out.data() + n, front.data() + c.inbox_offset, take);
        n += take;
        c.inbox_offset += take;
        if (c.inbox_offset == front.size()) {
          core::Bytes used = std::move(front);
          c.inbox.pop_front();
          c.inbox_offset = 0;
          connection_->yamux_.recycle(std::move(used));
        }
      }
      // Hand the window back so the peer may send more.
      if (connection_->is_open() && !c.reset) {
        (void)connection_->yamux_.consume(c.id, n);
        connection_->dispatch_events();
        connection_->kick_writer();
      }
      co_return n;
    }
    if (c.reset || (c.connection_closed && !c.remote_closed)) {
      co_return ended_error(c, *connection_);
    }
    if (c.remote_closed || out.empty()) co_return std::size_t{0};
    co_await c.readable.wait();
  }
}

asio::awaitable<core::Status> Stream::read_exact(std::span<std::uint8_t> out) {
  std::size_t got = 0;
  while (got < out.size()) {
    auto n = co_await read_some(out.subspan(got));
    if (!n.ok()) co_return n.take_error();
    if (*n == 0) {
      co_return core::Error::unavailable(
          fmt::format("stream {} ended after {} of {} expected bytes", core_->id, got, out.size()));
    }
    got += *n;
  }
  co_return core::Status{};
}

asio::awaitable<core::Result<core::Bytes>> Stream::read_to_end(std::size_t max) {
  core::Bytes out;
  std::array<std::uint8_t, 16 * 1024> buffer{};
  for (;;) {
    auto n = co_await read_some(buffer);
    if (!n.ok()) co_return n.take_error();
    if (*n == 0) co_return out;
    if (out.size() + *n > max) {
      co_return core::Error::exhausted(
          fmt::format("stream {} sent more than the {} bytes allowed", core_->id, max));
    }
    out.insert(out.end(), buffer.begin(), buffer.begin() + static_cast<std::ptrdiff_t>(*n));
  }
}

asio::awaitable<core::Status> Stream::write_all(core::ByteView data) {
  StreamCore& c = *core_;
  while (!data.empty()) {
    if (c.reset || c.connection_closed) co_return ended_error(c, *connection_);
    if (c.write_closed) {
      co_return core::Error::precondition(fmt::format("stream {} is closed for writing", c.id));
    }
    auto accepted = connection_->yamux_.write(c.id, data);
    connection_->dispatch_events();
    connection_->kick_writer();
    if (!accepted.ok()) {
      if (c.reset || c.connection_closed) co_return ended_error(c, *connection_);
      co_return accepted.take_error();
    }
    data = data.subspan(*accepted);
    if (!data.empty()) co_await c.writable.wait();
  }
  co_return core::Status{};
}

core::Status Stream::close_write() {
  StreamCore& c = *core_;
  if (c.write_closed) return {};
  if (c.reset || c.connection_closed) return ended_error(c, *connection_);
  // The session sends the FIN after the queued data, in a frame of its own.
  auto st = connection_->yamux_.close_write(c.id);
  connection_->dispatch_events();
  connection_->kick_writer();
  if (!st.ok()) return st;
  c.write_closed = true;
  if (c.finished()) connection_->forget_stream(c.id);
  return {};
}

void Stream::reset() {
  StreamCore& c = *core_;
  if (c.reset) return;
  c.reset = true;
  c.readable.notify();
  c.writable.notify();
  if (connection_->is_open()) {
    (void)connection_->yamux_.reset(c.id);
    connection_->dispatch_events();
    connection_->kick_writer();
  }
  connection_->forget_stream(c.id);
}

void Stream::unread(core::Bytes bytes) {
  if (bytes.empty()) return;
  StreamCore& c = *core_;
  core::Bytes rest(c.unread.begin() + static_cast<std::ptrdiff_t>(c.unread_offset), c.unread.end());
  c.unread = std::move(bytes);
  core::append(c.unread, rest);
  c.unread_offset = 0;
}

}  // namespace soma::p2p::transport
