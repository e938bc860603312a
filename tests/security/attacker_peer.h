#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "core/bytes.h"
#include "core/error.h"
#include "crypto/ed25519.h"
#include "crypto/peer_id.h"

// A hostile libp2p peer for attack tests: a real Host (Noise, yamux,
// multistream-select) on a loop thread of its own, with its own identity,
// that writes whatever bytes a test asks for to a real daemon's protocols
// and can pose as a decider. Every call blocks the test thread until the
// loop is done with it.
namespace soma::security {

class AttackerPeer {
 public:
  using Handler =
      std::function<core::Bytes(const crypto::PeerId& from, const core::Bytes& message)>;

  explicit AttackerPeer(crypto::Ed25519PrivateKey identity = crypto::Ed25519PrivateKey::generate());
  ~AttackerPeer();
  AttackerPeer(const AttackerPeer&) = delete;
  AttackerPeer& operator=(const AttackerPeer&) = delete;

  const crypto::PeerId& peer_id() const { return peer_id_; }
  const crypto::Ed25519PrivateKey& key() const { return key_; }
  // Where the daemon can dial this peer: /ip4/127.0.0.1/tcp/N/p2p/<id>.
  const std::string& address() const { return address_; }

  // Opens a stream for `protocol` to `addr` (a multiaddr ending in /p2p/),
  // writes `raw` exactly as given, half-closes, and reads until the daemon
  // closes its side (at most 64 KiB), all within `timeout`. Errors: the
  // dial's, the stream's (kUnavailable when the daemon resets it).
  core::Result<core::Bytes> send_raw(const std::string& addr, const std::string& protocol,
                                     core::Bytes raw,
                                     std::chrono::seconds timeout = std::chrono::seconds(20));
  // send_raw with `message` framed by its varint length; the reply's one
  // length-prefixed message, unframed.
  core::Result<core::Bytes> exchange(const std::string& addr, const std::string& protocol,
                                     const core::Bytes& message,
                                     std::chrono::seconds timeout = std::chrono::seconds(20));

  // A stream left open after writing part of a message.
  struct Stall;
  // Opens a stream for `protocol`, writes `raw` and then neither writes nor
  // closes; the stream waits for the daemon to end it.
  core::Result<std::shared_ptr<Stall>> stall(const std::string& addr, const std::string& protocol,
                                             core::Bytes raw);
  // How long after it was opened the daemon ended a stalled stream, or
  // nullopt when it had not within `timeout`.
  std::optional<std::chrono::milliseconds> wait_ended(const std::shared_ptr<Stall>& stall,
                                                      std::chrono::seconds timeout);

  // Serves `protocol`: each inbound message (one length-prefixed message
  // of at most 64 KiB) goes to `handler`, whose bytes are the answer.
  core::Status serve(const std::string& protocol, Handler handler);

 private:
  struct Loop;
  crypto::Ed25519PrivateKey key_;
  crypto::PeerId peer_id_;
  std::string address_;
  std::unique_ptr<Loop> loop_;
};

// `message` framed by its unsigned-varint length, as the protocols send it.
core::Bytes framed(const core::Bytes& message);

}  // namespace soma::security
