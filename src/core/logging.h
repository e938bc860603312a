#pragma once

#include <string_view>

namespace soma::core {

// Sends logs to stderr at the level named by `level` ("trace", "debug",
// "info", "warn", "error", "off"); an empty level reads $SOMA_LOG, else info.
// Log lines name peers, spaces and protocols, never keys, tokens or content.
void init_logging(std::string_view program, std::string_view level = {});

}  // namespace soma::core
