#pragma once

#include <string>
#include <string_view>

#include "core/error.h"

// Why a connection ended: what went wrong, during which phase, and whose
// fault it was. Every closed connection carries one. Value types.
namespace soma::p2p::transport {

// The phase a connection was in when it ended.
enum class Phase {
  kDial,                 // TCP connect
  kSecurityNegotiation,  // multistream-select for /noise
  kHandshake,            // the Noise XX handshake
  kMuxerNegotiation,     // multistream-select for /yamux/1.0.0, encrypted
  kRunning,              // yamux session up
};

enum class Fault {
  kNone,        // an orderly close, asked for by us or the peer
  kPeer,        // the peer broke a protocol, stalled past a deadline or is not who we dialed
  kLocalLimit,  // the peer stayed within the protocol but went past one of our limits
  kNetwork,     // the network failed: refused, unreachable, reset by the OS
  kLocal,       // our own fault (a local error such as a failing crypto provider)
};

std::string_view to_string(Phase phase);
std::string_view to_string(Fault fault);

struct DisconnectReason {
  Phase phase = Phase::kRunning;
  Fault fault = Fault::kNone;
  core::Error error;
  // True when the cause was a deadline passing.
  bool timed_out = false;

  // "handshake, peer fault: <message>".
  std::string describe() const;
};

}  // namespace soma::p2p::transport
