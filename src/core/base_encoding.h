#pragma once

#include <string>
#include <string_view>

#include "core/bytes.h"
#include "core/error.h"

namespace soma::core {

// Bitcoin-alphabet base58, as libp2p prints PeerIds and CIDv0.
std::string base58btc_encode(ByteView in);
Result<Bytes> base58btc_decode(std::string_view in);

// RFC 4648 base32, lower-case, no padding: multibase 'b', as CIDv1 prints.
std::string base32_encode(ByteView in);
Result<Bytes> base32_decode(std::string_view in);

std::string hex_encode(ByteView in);
Result<Bytes> hex_decode(std::string_view in);

}  // namespace soma::core
