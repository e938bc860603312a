#include "store/listen_port_repository.h"

#include <fmt/format.h>

namespace soma::store {
namespace {

constexpr std::int64_t kMaxPort = 65535;

Result<std::uint16_t> checked_port(const std::string& listen_addr, std::int64_t value) {
  if (value < 1 || value > kMaxPort) {
    return Error::data_loss(
        fmt::format("the port remembered for {} is {}, not a TCP port; the database is damaged",
                    listen_addr, value));
  }
  return static_cast<std::uint16_t>(value);
}

}  // namespace

Result<std::optional<std::uint16_t>> ListenPortRepository::find(const std::string& listen_addr) {
  std::lock_guard lock(db_.mutex());
  auto stmt = db_.prepare("SELECT port FROM listen_ports WHERE listen_addr = ?");
  if (!stmt) return stmt.take_error();
  stmt->bind(1, listen_addr);
  auto row = stmt->step();
  if (!row) return row.take_error();
  if (!*row) return std::optional<std::uint16_t>();
  auto port = checked_port(listen_addr, stmt->column_int64(0));
  if (!port) return port.take_error();
  return std::optional<std::uint16_t>(*port);
}

Status ListenPortRepository::save(const std::string& listen_addr, std::uint16_t port,
                                  std::int64_t updated_ms) {
  if (listen_addr.empty()) return Error::invalid("a remembered port needs its listen address");
  if (port == 0) {
    return Error::invalid(fmt::format("port 0 is not a port to remember for {}", listen_addr));
  }
  std::lock_guard lock(db_.mutex());
  auto stmt = db_.prepare(
      "INSERT INTO listen_ports (listen_addr, port, updated_ms) VALUES (?, ?, ?) "
      "ON CONFLICT (listen_addr) DO UPDATE SET port = excluded.port, "
      "updated_ms = excluded.updated_ms");
  if (!stmt) return stmt.take_error();
  stmt->bind(1, listen_addr).bind(2, std::int64_t{port}).bind(3, updated_ms);
  return stmt->run();
}

Result<std::vector<ListenPortRecord>> ListenPortRepository::list() {
  std::lock_guard lock(db_.mutex());
  auto stmt =
      db_.prepare("SELECT listen_addr, port, updated_ms FROM listen_ports ORDER BY listen_addr");
  if (!stmt) return stmt.take_error();
  std::vector<ListenPortRecord> out;
  for (;;) {
    auto row = stmt->step();
    if (!row) return row.take_error();
    if (!*row) break;
    ListenPortRecord record;
    record.listen_addr = stmt->column_text(0);
    auto port = checked_port(record.listen_addr, stmt->column_int64(1));
    if (!port) return port.take_error();
    record.port = *port;
    record.updated_ms = stmt->column_int64(2);
    out.push_back(std::move(record));
  }
  return out;
}

Result<bool> ListenPortRepository::remove(const std::string& listen_addr) {
  std::lock_guard lock(db_.mutex());
  auto stmt = db_.prepare("DELETE FROM listen_ports WHERE listen_addr = ?");
  if (!stmt) return stmt.take_error();
  stmt->bind(1, listen_addr);
  SOMA_TRY(stmt->run());
  return db_.changes() > 0;
}

}  // namespace soma::store
