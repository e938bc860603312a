// What checking a membership costs: full verification of a carried
// capability issued by the owner (one Ed25519 signature) and by a delegate
// (two: the capability and its embedded delegation, plus the rate check),
// and the authorizer's answer for a peer whose capability was recorded
// (re-verified now, against the stored revocations). Storage is the
// in-memory store, so the figures are the checks themselves, not SQLite.
#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstdlib>

#include "cap/authorizer.h"
#include "cap/issuance.h"
#include "cap/signing.h"
#include "cap/verify.h"
#include "crypto/random.h"
#include "memory_capability_store.h"

namespace {

using namespace soma::cap;
using soma::cap::testing::ManualClock;
using soma::cap::testing::MemoryCapabilityStore;
using soma::cap::testing::MemorySpaceDirectory;

constexpr Timestamp kT0 = 1'700'000'000'000;
constexpr Timestamp kMinute = 60'000;
constexpr Timestamp kDay = 24 * 60 * kMinute;

soma::crypto::Ed25519PrivateKey key(std::uint8_t fill) {
  soma::core::Bytes seed(soma::crypto::kEd25519SeedSize, fill);
  return *soma::crypto::Ed25519PrivateKey::from_seed(seed);
}

template <typename T>
T must(soma::core::Result<T> r) {
  if (!r.ok()) {
    std::fprintf(stderr, "cap_bench: setup failed: %s\n", r.error().message.c_str());
    std::abort();
  }
  return std::move(*r);
}

// An owner, a bot it delegates to, and a member, in one space.
struct Cast {
  soma::crypto::Ed25519PrivateKey owner_key = key(1);
  soma::crypto::Ed25519PrivateKey bot_key = key(2);
  soma::crypto::PeerId owner = soma::crypto::PeerId::from_public_key(owner_key.public_key());
  soma::crypto::PeerId bot = soma::crypto::PeerId::from_public_key(bot_key.public_key());
  soma::crypto::PeerId member = soma::crypto::PeerId::from_public_key(key(3).public_key());
  SpaceRef space{soma::crypto::random_id(), owner};

  Signed<MembershipCapability> from_owner() const {
    return must(issue_membership(owner_key, space, {member, Role::kEditor, kT0, kT0 + 30 * kDay}));
  }

  Signed<MembershipCapability> from_bot() const {
    DelegationGrant g;
    g.delegate = bot;
    g.roles = {Role::kMember};
    g.issued_at = kT0;
    g.expires_at = kT0 + kDay;
    g.max_member_expires_at = kT0 + 7 * kDay;
    g.rate_per_hour = 1000;
    auto delegation = must(issue_delegation(owner_key, space, g));
    return must(issue_membership(
        bot_key, space, {member, Role::kMember, kT0 + kMinute, kT0 + 2 * kDay}, delegation));
  }
};

void verify(benchmark::State& state, bool delegated) {
  const Cast cast;
  const MemoryCapabilityStore store;
  const soma::core::Bytes carried = encode_signed(delegated ? cast.from_bot() : cast.from_owner());
  for (auto _ : state) {
    auto verified = verify_membership(carried, cast.space, cast.member, kT0 + 2 * kMinute, store);
    if (!verified.ok() || !verified->ok()) {
      state.SkipWithError("the capability did not verify");
      break;
    }
    benchmark::DoNotOptimize(verified);
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["bytes"] = static_cast<double>(carried.size());
}

void BM_VerifyOwnerIssued(benchmark::State& state) { verify(state, false); }
BENCHMARK(BM_VerifyOwnerIssued);

void BM_VerifyDelegated(benchmark::State& state) { verify(state, true); }
BENCHMARK(BM_VerifyDelegated);

void authorize(benchmark::State& state, bool delegated) {
  const Cast cast;
  MemoryCapabilityStore store;
  MemorySpaceDirectory spaces;
  spaces.add(cast.space);
  const ManualClock clock(kT0 + 2 * kMinute);
  Authorizer authorizer(store, spaces, clock);
  const soma::core::Bytes carried = encode_signed(delegated ? cast.from_bot() : cast.from_owner());
  auto presented = authorizer.present(cast.space.id, cast.member, carried);
  if (!presented.ok() || !presented->allowed()) {
    state.SkipWithError("the capability was not accepted");
    return;
  }
  for (auto _ : state) {
    auto decision = authorizer.authorize(cast.space.id, cast.member);
    if (!decision.ok() || !decision->allowed()) {
      state.SkipWithError("the recorded capability did not authorize");
      break;
    }
    benchmark::DoNotOptimize(decision);
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_AuthorizeRecordedOwnerIssued(benchmark::State& state) { authorize(state, false); }
BENCHMARK(BM_AuthorizeRecordedOwnerIssued);

void BM_AuthorizeRecordedDelegated(benchmark::State& state) { authorize(state, true); }
BENCHMARK(BM_AuthorizeRecordedDelegated);

}  // namespace

BENCHMARK_MAIN();
