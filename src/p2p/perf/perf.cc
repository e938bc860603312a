#include "p2p/perf/perf.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <asio/this_coro.hpp>
#include <string>
#include <vector>

#include "p2p/transport/deadline.h"

namespace soma::p2p::perf {
namespace {

using transport::Stream;

// Size of the fixed buffer both sides send from and read into.
constexpr std::size_t kChunkSize = 64 * 1024;

// Re-armed before every read and write: a peer that stops making progress
// for `idle` gets its stream reset.
class IdleGuard {
 public:
  IdleGuard(const asio::any_io_executor& executor, Stream stream, std::chrono::milliseconds idle)
      : deadline_(executor), stream_(std::move(stream)), idle_(idle) {}
  void touch() {
    deadline_.arm(idle_, [s = stream_]() mutable { s.reset(); });
  }
  bool expired() const { return deadline_.expired(); }
  void cancel() { deadline_.cancel(); }

 private:
  transport::Deadline deadline_;
  Stream stream_;
  std::chrono::milliseconds idle_;
};

asio::awaitable<core::Status> send_bytes(Stream& stream, std::uint64_t count, IdleGuard& guard) {
  std::vector<std::uint8_t> chunk(kChunkSize, 0);
  while (count > 0) {
    auto n = static_cast<std::size_t>(std::min<std::uint64_t>(count, chunk.size()));
    guard.touch();
    auto st = co_await stream.write_all(core::ByteView(chunk.data(), n));
    if (!st.ok()) co_return st;
    count -= n;
  }
  co_return core::Status{};
}

// Reads and discards until the peer closes its side; returns the count.
asio::awaitable<core::Result<std::uint64_t>> drain(Stream& stream, IdleGuard& guard) {
  std::vector<std::uint8_t> chunk(kChunkSize);
  std::uint64_t total = 0;
  for (;;) {
    guard.touch();
    auto n = co_await stream.read_some(chunk);
    if (!n.ok()) co_return n.take_error();
    if (*n == 0) co_return total;
    total += *n;
  }
}

std::uint64_t read_be64(const std::array<std::uint8_t, kRequestSize>& b) {
  std::uint64_t v = 0;
  for (auto byte : b) v = (v << 8) | byte;
  return v;
}

asio::awaitable<void> serve(ServerConfig config, Stream stream) {
  const std::string peer = stream.remote_peer().to_string();
  if (!config.allowed_peers.empty() && !config.allowed_peers.contains(stream.remote_peer())) {
    spdlog::debug("perf refused for peer={}: not an allowed peer", peer);
    stream.reset();
    co_return;
  }
  IdleGuard guard(co_await asio::this_coro::executor, stream, config.idle_timeout);

  std::array<std::uint8_t, kRequestSize> request{};
  guard.touch();
  auto st = co_await stream.read_exact(request);
  if (!st.ok()) co_return;
  std::uint64_t wanted = read_be64(request);
  if (wanted > config.max_response_bytes) {
    spdlog::warn("perf refused for peer={}: asks for {} bytes, the limit is {}", peer, wanted,
                 config.max_response_bytes);
    stream.reset();
    co_return;
  }

  // The response must not start before the upload has ended.
  auto uploaded = co_await drain(stream, guard);
  if (!uploaded.ok()) co_return;
  st = co_await send_bytes(stream, wanted, guard);
  guard.cancel();
  if (st.ok()) (void)stream.close_write();
}

}  // namespace

core::Status register_handler(host::Host& host, ServerConfig config) {
  return host.set_handler(std::string(kProtocolId),
                          [config](Stream stream) { return serve(config, std::move(stream)); });
}

asio::awaitable<core::Result<Stats>> run(host::Host& host,
                                         std::shared_ptr<transport::Connection> connection,
                                         std::uint64_t upload_bytes, std::uint64_t download_bytes,
                                         std::chrono::milliseconds idle_timeout) {
  auto start = std::chrono::steady_clock::now();
  std::vector<std::string> wanted{std::string(kProtocolId)};
  auto opened = co_await host.new_stream(std::move(connection), std::move(wanted));
  if (!opened.ok()) co_return opened.take_error();
  Stream stream = *opened;
  IdleGuard guard(co_await asio::this_coro::executor, stream, idle_timeout);

  auto fail = [&guard, &stream](core::Error error) -> core::Error {
    if (guard.expired()) {
      return core::Error::unavailable(
          fmt::format("perf with {} stalled", stream.remote_peer().to_string()));
    }
    return error;
  };

  std::array<std::uint8_t, kRequestSize> request{};
  for (std::size_t i = 0; i < kRequestSize; ++i) {
    request[i] = static_cast<std::uint8_t>(download_bytes >> (8 * (kRequestSize - 1 - i)));
  }
  guard.touch();
  auto st = co_await stream.write_all(request);
  if (st.ok()) st = co_await send_bytes(stream, upload_bytes, guard);
  if (st.ok()) st = stream.close_write();
  if (!st.ok()) co_return fail(st.take_error());
  auto uploaded_at = std::chrono::steady_clock::now();

  auto received = co_await drain(stream, guard);
  guard.cancel();
  if (!received.ok()) co_return fail(received.take_error());
  if (*received != download_bytes) {
    co_return core::Error::data_loss(
        fmt::format("perf server sent {} bytes, {} were asked for", *received, download_bytes));
  }
  Stats stats;
  stats.uploaded = upload_bytes;
  stats.downloaded = *received;
  stats.upload_time = uploaded_at - start;
  stats.download_time = std::chrono::steady_clock::now() - uploaded_at;
  co_return stats;
}

}  // namespace soma::p2p::perf
