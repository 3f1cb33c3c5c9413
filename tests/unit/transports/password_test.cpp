#include "transports/auth/password.hpp"

#include <string>

#include <gtest/gtest.h>

using puzzle::transports::auth::check_new_password;
using puzzle::transports::auth::dummy_hash;
using puzzle::transports::auth::hash_cost;
using puzzle::transports::auth::hash_password;
using puzzle::transports::auth::verify_password;

namespace {

/// The cheapest costs libsodium accepts: the tests check behaviour, not
/// strength.
const hash_cost cheap{1, 8};

puzzle::config::auth_settings limits(uint32_t min_points, uint32_t max_bytes) {
  puzzle::config::auth_settings s;
  s.min_password_length = min_points;
  s.max_password_bytes = max_bytes;
  return s;
}

} // namespace

TEST(Password, HashIsArgon2idAndVerifies) {
  auto hash = hash_password("correct horse", cheap);
  EXPECT_EQ(hash.rfind("$argon2id$", 0), 0u) << hash;
  EXPECT_NE(hash.find("m=8,t=1"), std::string::npos) << hash;
  EXPECT_TRUE(verify_password(hash, "correct horse"));
  EXPECT_FALSE(verify_password(hash, "correct horsf"));
  EXPECT_FALSE(verify_password(hash, ""));
}

TEST(Password, SaltMakesEveryHashDifferent) {
  auto a = hash_password("same password", cheap);
  auto b = hash_password("same password", cheap);
  EXPECT_NE(a, b);
  EXPECT_TRUE(verify_password(a, "same password"));
  EXPECT_TRUE(verify_password(b, "same password"));
}

TEST(Password, BytesAfterANulCount) {
  std::string with_nul{"abc\0def", 7};
  auto hash = hash_password(with_nul, cheap);
  EXPECT_TRUE(verify_password(hash, with_nul));
  EXPECT_FALSE(verify_password(hash, "abc"));
}

TEST(Password, GarbageHashNeverVerifies) {
  EXPECT_FALSE(verify_password("", "x"));
  EXPECT_FALSE(verify_password("$argon2id$v=19$nonsense", "x"));
  EXPECT_FALSE(verify_password("plain text", "plain text"));
}

TEST(Password, DummyHashIsStableAndMatchesNothingGuessable) {
  auto& a = dummy_hash(cheap);
  auto& b = dummy_hash(cheap);
  EXPECT_EQ(&a, &b);
  EXPECT_EQ(a.rfind("$argon2id$", 0), 0u);
  EXPECT_FALSE(verify_password(a, ""));
  EXPECT_FALSE(verify_password(a, "password"));
}

TEST(Password, LimitsCountCodePointsAndBytes) {
  auto s = limits(8, 16);
  EXPECT_EQ(check_new_password("12345678", s), "");
  EXPECT_EQ(check_new_password("1234567", s),
            "password must have at least 8 characters (auth.min-password-length)");
  // Eight code points of two bytes each: long enough, and 16 bytes.
  EXPECT_EQ(
      check_new_password("\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9", s),
      "");
  // Seven code points (14 bytes) are too short even though 14 >= 8 bytes.
  EXPECT_NE(check_new_password("\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9", s), "");
  EXPECT_EQ(check_new_password(std::string(17, 'a'), s),
            "password must have at most 16 bytes (auth.max-password-bytes)");
  EXPECT_EQ(check_new_password("abcdefg\xFF", s), "password must be valid UTF-8");
  EXPECT_EQ(check_new_password("abcdefg\xC0\x80", s), "password must be valid UTF-8");
  EXPECT_EQ(check_new_password("abcdefg\xED\xA0\x80", s), "password must be valid UTF-8");
}
