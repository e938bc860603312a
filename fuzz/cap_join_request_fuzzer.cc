// Join request decoding on arbitrary input and on mutations of a valid one:
// never a crash, and whatever decodes re-encodes to exactly its input.
#include <cstddef>
#include <cstdint>

#include "cap_fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace soma::cap;
  static const soma::core::Bytes sample = encode_signed(fuzz::Cast().join_request());
  fuzz::fuzz_artifact<JoinRequest>(data, size, sample);
  return 0;
}
