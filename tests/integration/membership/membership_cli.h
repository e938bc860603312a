#pragma once

// The `soma` calls the membership integration tests share: JSON output,
// a daemon's peer id and loopback address, its requests and spaces, and
// waiting for what travels between daemons asynchronously.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "harness/soma_harness.h"

namespace soma::testing {

inline const std::vector<std::string> kLoopback = {"--listen", "/ip4/127.0.0.1/tcp/0"};

inline nlohmann::json run_json(const Daemon& d, std::vector<std::string> args,
                               int expected_exit = 0) {
  args.push_back("--json");
  auto r = d.soma(args);
  EXPECT_EQ(r.exit_code, expected_exit) << "soma " << args[0] << ": " << r.out << r.err;
  auto doc = nlohmann::json::parse(r.out, nullptr, false);
  EXPECT_FALSE(doc.is_discarded()) << r.out;
  return doc.is_discarded() ? nlohmann::json::object() : doc;
}

inline std::string peer_id(const Daemon& d) { return run_json(d, {"status"})["peer_id"]; }

inline std::string loopback_addr(const Daemon& d) {
  const nlohmann::json doc = run_json(d, {"status"});
  for (const auto& a : doc["listen_addrs"]) {
    std::string addr = a.get<std::string>();
    if (addr.rfind("/ip4/127.0.0.1/tcp/", 0) == 0) return addr;
  }
  ADD_FAILURE() << "no 127.0.0.1 listen address in " << doc.dump();
  return {};
}

inline nlohmann::json requests(const Daemon& d, const std::string& direction) {
  return run_json(d, {"requests", "--" + direction})["requests"];
}

// The space as `soma spaces` lists it on `d`; null when it is not there.
inline nlohmann::json find_space(const Daemon& d, const std::string& id) {
  const nlohmann::json listed = run_json(d, {"spaces"});
  for (const auto& s : listed["spaces"]) {
    if (s["id"] == id) return s;
  }
  return nlohmann::json();
}

inline bool contains(const std::vector<std::string>& items, const std::string& item) {
  return std::find(items.begin(), items.end(), item) != items.end();
}

// Polls `check` for up to `timeout`: requests and decisions travel
// asynchronously, and a daemon started later retries on its own schedule.
inline bool eventually(const std::function<bool()>& check,
                       std::chrono::seconds timeout = std::chrono::seconds(60)) {
  const auto until = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < until) {
    if (check()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  return check();
}

}  // namespace soma::testing
