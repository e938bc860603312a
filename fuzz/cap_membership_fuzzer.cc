// Membership capability decoding on arbitrary input and on mutations of a
// valid one: never a crash, whatever decodes re-encodes to exactly its
// input, and the context-free verification copes with whatever decodes.
#include <cstddef>
#include <cstdint>

#include "cap/verify.h"
#include "cap_fuzz_util.h"

namespace {

void check_verifies_safely(soma::core::ByteView in) {
  using namespace soma::cap;
  static const fuzz::Cast cast;
  auto decoded = decode_signed<MembershipCapability>(in);
  if (!decoded.ok()) return;
  auto checked = check_membership(*decoded, cast.space, decoded->body.subject, fuzz::Cast::kT0);
  fuzz::check(checked.ok() || !checked.refusal().message.empty());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace soma::cap;
  static const soma::core::Bytes sample = encode_signed(fuzz::Cast().membership());
  fuzz::fuzz_artifact<MembershipCapability>(data, size, sample);
  check_verifies_safely(soma::core::ByteView(data, size));
  check_verifies_safely(fuzz::mutate(sample, data, size));
  return 0;
}
