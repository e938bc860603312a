#include "membership/rate_limiter.h"

#include <gtest/gtest.h>

namespace soma::membership {
namespace {

crypto::PeerId peer(std::uint8_t fill) {
  core::Bytes seed(crypto::kEd25519SeedSize, fill);
  return crypto::PeerId::from_public_key(crypto::Ed25519PrivateKey::from_seed(seed)->public_key());
}

TEST(RateLimiter, allows_the_limit_in_a_window_and_refuses_the_next) {
  RateLimiter limiter(3, 1000, 16);
  EXPECT_TRUE(limiter.allow(peer(1), 0));
  EXPECT_TRUE(limiter.allow(peer(1), 10));
  EXPECT_TRUE(limiter.allow(peer(1), 999));
  EXPECT_FALSE(limiter.allow(peer(1), 999));
  EXPECT_EQ(limiter.refused(), 1u);
  // The first event leaves the window at 1000, making room for one.
  EXPECT_TRUE(limiter.allow(peer(1), 1000));
  EXPECT_FALSE(limiter.allow(peer(1), 1001));
}

TEST(RateLimiter, counts_each_peer_on_its_own) {
  RateLimiter limiter(1, 1000, 16);
  EXPECT_TRUE(limiter.allow(peer(1), 0));
  EXPECT_TRUE(limiter.allow(peer(2), 0));
  EXPECT_FALSE(limiter.allow(peer(1), 1));
  EXPECT_FALSE(limiter.allow(peer(2), 1));
}

TEST(RateLimiter, tracks_at_most_max_peers_forgetting_the_quietest) {
  RateLimiter limiter(1, 1000, 2);
  EXPECT_TRUE(limiter.allow(peer(1), 0));
  EXPECT_TRUE(limiter.allow(peer(2), 5));
  EXPECT_TRUE(limiter.allow(peer(3), 6));  // peer 1, the quietest, is forgotten
  EXPECT_EQ(limiter.tracked_peers(), 2u);
  EXPECT_FALSE(limiter.allow(peer(2), 7));
  EXPECT_TRUE(limiter.allow(peer(1), 8));
}

}  // namespace
}  // namespace soma::membership
