#include "p2p/transport/disconnect.h"

#include <fmt/format.h>

namespace soma::p2p::transport {

std::string_view to_string(Phase phase) {
  switch (phase) {
    case Phase::kDial:
      return "dial";
    case Phase::kSecurityNegotiation:
      return "security negotiation";
    case Phase::kHandshake:
      return "noise handshake";
    case Phase::kMuxerNegotiation:
      return "muxer negotiation";
    case Phase::kRunning:
      return "running";
  }
  return "unknown";
}

std::string_view to_string(Fault fault) {
  switch (fault) {
    case Fault::kNone:
      return "no fault";
    case Fault::kPeer:
      return "peer fault";
    case Fault::kLocalLimit:
      return "local limit";
    case Fault::kNetwork:
      return "network fault";
    case Fault::kLocal:
      return "local fault";
  }
  return "unknown";
}

std::string DisconnectReason::describe() const {
  return fmt::format("{}, {}{}: {}", to_string(phase), to_string(fault),
                     timed_out ? " (timed out)" : "", error.message);
}

}  // namespace soma::p2p::transport
