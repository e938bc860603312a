#pragma once

#include <algorithm>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "commands.h"
#include "notes/importer.h"
#include "output.h"

namespace soma::cli {

// Import and export report problems the same way: notices lose nothing,
// anything left out fails the command (exit 5) after the rest is done.
template <typename Problem>
bool is_notice(const Problem& p) {
  return p.severity == notes::ImportProblem::Severity::kNotice;
}

template <typename Problem>
std::size_t count_left_out(const std::vector<Problem>& problems) {
  return static_cast<std::size_t>(std::count_if(problems.begin(), problems.end(),
                                                [](const Problem& p) { return !is_notice(p); }));
}

template <typename Problem>
nlohmann::json problems_json(const std::vector<Problem>& problems) {
  nlohmann::json list = nlohmann::json::array();
  for (const auto& p : problems) {
    list.push_back({{"path", p.path},
                    {"reason", p.reason},
                    {"severity", is_notice(p) ? "notice" : "left out"}});
  }
  return list;
}

// Prints the "problems:" lines and returns the exit code; `done` and `what`
// word the closing note ("imported", "file(s)").
template <typename Problem>
int finish_with_problems(Output& out, const std::vector<Problem>& problems, std::string_view done,
                         std::string_view what) {
  std::size_t left_out = count_left_out(problems);
  out.line("  problems:    " + std::to_string(left_out) + " left out, " +
           std::to_string(problems.size() - left_out) + " notices");
  for (const auto& p : problems) {
    out.line(std::string(is_notice(p) ? "    notice: " : "    left out: ") + p.path + ": " +
             p.reason);
  }
  if (left_out == 0) return kExitOk;
  out.note(std::string(done) + " everything else; " + std::to_string(left_out) + " " +
           std::string(what) + " left out, listed above");
  return kExitFailure;
}

}  // namespace soma::cli
