// Feeds arbitrary input to the PeerId and libp2p key decoders. Whatever
// they accept must re-encode to exactly what was given.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "core/bytes.h"
#include "crypto/keys.h"
#include "crypto/peer_id.h"

namespace {

void check(bool ok) {
  if (!ok) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace soma;
  core::ByteView in(data, size);

  if (auto id = crypto::PeerId::parse(core::as_chars(in)); id.ok()) {
    std::string_view text = core::as_chars(in);
    check(id->to_string() == text || id->to_cid_string() == text || text.front() == 'z');
    check(*crypto::PeerId::from_bytes(id->bytes()) == *id);
    (void)id->extract_public_key();
  }

  if (auto id = crypto::PeerId::from_bytes(in); id.ok()) {
    check(id->bytes() == core::Bytes(in.begin(), in.end()));
    check(*crypto::PeerId::parse(id->to_string()) == *id);
    check(*crypto::PeerId::parse(id->to_cid_string()) == *id);
  }

  (void)crypto::decode_key_message(in);

  if (auto key = crypto::decode_public_key(in); key.ok()) {
    check(crypto::encode_public_key(*key) == core::Bytes(in.begin(), in.end()));
  }

  // The legacy 96-byte form decodes but re-encodes as 64 bytes.
  if (auto key = crypto::decode_private_key(in); key.ok()) {
    core::Bytes encoded = crypto::encode_private_key(*key);
    check(encoded.size() == in.size() ? encoded == core::Bytes(in.begin(), in.end())
                                      : crypto::decode_private_key(encoded)->seed() == key->seed());
  }
  return 0;
}
