#include "actors/util/ids.hpp"

#include <set>
#include <string>

#include <gtest/gtest.h>

using puzzle::util::is_uuid;
using puzzle::util::iso8601;
using puzzle::util::new_uuid;
using puzzle::util::timespan;

TEST(Ids, NewUuidsAreVersion4AndDistinct) {
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) {
    auto id = new_uuid();
    ASSERT_TRUE(is_uuid(id)) << id;
    EXPECT_EQ(id[14], '4') << id;
    EXPECT_NE(std::string("89ab").find(id[19]), std::string::npos) << id;
    seen.insert(id);
  }
  EXPECT_EQ(seen.size(), 1000u);
}

TEST(Ids, IsUuidAcceptsOnlyTheCanonicalForm) {
  EXPECT_TRUE(is_uuid("123e4567-e89b-42d3-a456-426614174000"));
  EXPECT_TRUE(is_uuid("123E4567-E89B-42D3-A456-426614174000"));
  EXPECT_FALSE(is_uuid("123e4567e89b42d3a456426614174000"));
  EXPECT_FALSE(is_uuid("123e4567-e89b-42d3-a456-42661417400"));
  EXPECT_FALSE(is_uuid("123e4567-e89b-42d3-a456-42661417400g"));
  EXPECT_FALSE(is_uuid("../../etc/passwd-xxxxxxxxxxxxxxxxxxx"));
  EXPECT_FALSE(is_uuid(""));
}

TEST(Ids, Iso8601IsUtcWithMilliseconds) {
  EXPECT_EQ(iso8601(0), "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(iso8601(1'700'000'000'123), "2023-11-14T22:13:20.123Z");
  EXPECT_EQ(iso8601(951'782'400'000), "2000-02-29T00:00:00.000Z");
  EXPECT_EQ(iso8601(-1), "1969-12-31T23:59:59.999Z");
}

TEST(Ids, TimespanFollowsDotNetFormat) {
  using std::chrono::microseconds;
  using std::chrono::milliseconds;
  EXPECT_EQ(timespan(microseconds{0}), "00:00:00.0000000");
  EXPECT_EQ(timespan(microseconds{1234}), "00:00:00.0012340");
  EXPECT_EQ(timespan(milliseconds{312'345}), "00:05:12.3450000");
  EXPECT_EQ(timespan(microseconds{3'723'000'001}), "01:02:03.0000010");
  EXPECT_EQ(timespan(microseconds{90'061'500'000}), "1.01:01:01.5000000");
  EXPECT_EQ(timespan(microseconds{-1'500'000}), "-00:00:01.5000000");
}
