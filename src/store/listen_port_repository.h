#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "store/database.h"

namespace soma::store {

// The TCP port the daemon was given for one listen address that asked for
// any port (/tcp/0), so that its address stays the same across restarts.
struct ListenPortRecord {
  std::string listen_addr;  // the configured address, e.g. "/ip4/0.0.0.0/tcp/0"
  std::uint16_t port = 0;   // 1..65535
  std::int64_t updated_ms = 0;
};

// The SQL for remembered listen ports (table `listen_ports`). Each call
// takes the database lock. Errors are the database's (see sqlite_error),
// plus those named below. Thread-safe.
class ListenPortRepository {
 public:
  explicit ListenPortRepository(Database& db) : db_(db) {}

  // The port remembered for `listen_addr`, or nullopt. A stored value
  // outside 1..65535 is kDataLoss (the schema's check forbids it).
  Result<std::optional<std::uint16_t>> find(const std::string& listen_addr);
  // Remembers `port` for `listen_addr`, replacing an earlier port.
  // kInvalidArgument for port 0 or an empty address.
  Status save(const std::string& listen_addr, std::uint16_t port, std::int64_t updated_ms);
  // Every remembered port, ordered by address.
  Result<std::vector<ListenPortRecord>> list();
  // Forgets `listen_addr`; false when nothing was remembered for it.
  Result<bool> remove(const std::string& listen_addr);

 private:
  Database& db_;
};

}  // namespace soma::store
