// /soma/mailbox/1 decoding on arbitrary input: never a crash, every bound
// holds on what decodes, and what decodes survives a re-encode unchanged.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "membership/mailbox_wire.h"

namespace {

using namespace soma::membership::mailbox;

void check(bool ok) {
  if (!ok) std::abort();
}

void fuzz_request(soma::core::ByteView bytes) {
  auto request = decode_request(bytes);
  if (!request.ok()) return;
  if (const auto* d = std::get_if<Deposit>(&*request)) {
    check(!d->payload.empty() && d->payload.size() <= kMaxPayloadSize);
  } else if (const auto* a = std::get_if<Ack>(&*request)) {
    check(a->ids.size() <= kMaxAckIds);
  }
  auto again = decode_request(encode(*request));
  check(again.ok());
  check(again->index() == request->index());
  check(encode(*again) == encode(*request));
}

void fuzz_reply(soma::core::ByteView bytes) {
  auto reply = decode_reply(bytes);
  if (!reply.ok()) return;
  check(reply->items.size() <= kMaxFetchBatch);
  for (const Item& item : reply->items) {
    check(!item.payload.empty() && item.payload.size() <= kMaxPayloadSize);
  }
  auto again = decode_reply(encode(*reply));
  check(again.ok());
  check(again->items.size() == reply->items.size());
  check(again->ok == reply->ok);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const soma::core::ByteView bytes(data, size);
  fuzz_request(bytes);
  fuzz_reply(bytes);
  return 0;
}
