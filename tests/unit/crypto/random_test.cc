#include "crypto/random.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

namespace soma::crypto {
namespace {

TEST(Random, random_bytes_returns_the_requested_length) {
  EXPECT_TRUE(random_bytes(0).empty());
  EXPECT_EQ(random_bytes(1).size(), 1u);
  EXPECT_EQ(random_bytes(4096).size(), 4096u);
}

TEST(Random, random_bytes_differ_between_calls) { EXPECT_NE(random_bytes(32), random_bytes(32)); }

TEST(Random, random_id_is_26_lower_case_base32_characters) {
  for (int i = 0; i < 100; ++i) {
    std::string id = random_id();
    ASSERT_EQ(id.size(), kRandomIdLength);
    for (char c : id) {
      EXPECT_TRUE((c >= 'a' && c <= 'z') || (c >= '2' && c <= '7')) << id;
    }
  }
}

TEST(Random, random_ids_do_not_repeat) {
  std::set<std::string> ids;
  for (int i = 0; i < 1000; ++i) ids.insert(random_id());
  EXPECT_EQ(ids.size(), 1000u);
}

}  // namespace
}  // namespace soma::crypto
