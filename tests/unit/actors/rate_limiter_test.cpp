#include "actors/util/rate_limiter.hpp"

#include <string>

#include <gtest/gtest.h>

namespace {

using namespace std::chrono_literals;
using puzzle::util::limiter_clock;
using puzzle::util::limiter_spec;
using puzzle::util::rate_limiter;
using algorithm = limiter_spec::algorithm;

limiter_spec spec_of(const std::string& text) {
  limiter_spec out;
  std::string error;
  EXPECT_TRUE(limiter_spec::parse(text, out, error)) << text << ": " << error;
  return out;
}

const limiter_clock::time_point t0{std::chrono::hours(1)};

TEST(LimiterSpec, ParsesTheThreeForms) {
  auto fixed = spec_of("fixed-window 100/1min");
  EXPECT_EQ(fixed.kind, algorithm::fixed_window);
  EXPECT_EQ(fixed.permits, 100u);
  EXPECT_EQ(fixed.window, 60'000ms);
  auto sliding = spec_of("sliding-window 100/1min/6");
  EXPECT_EQ(sliding.kind, algorithm::sliding_window);
  EXPECT_EQ(sliding.segments, 6u);
  auto bucket = spec_of("token-bucket  100 20/10s");
  EXPECT_EQ(bucket.kind, algorithm::token_bucket);
  EXPECT_EQ(bucket.permits, 100u);
  EXPECT_EQ(bucket.refill, 20u);
  EXPECT_EQ(bucket.window, 10'000ms);
  EXPECT_EQ(spec_of("token-bucket 5 1/500ms").window, 500ms);
  EXPECT_EQ(spec_of("fixed-window 1/2h").window, 7'200'000ms);
}

TEST(LimiterSpec, PrintsWhatItParses) {
  for (const char* text : {"fixed-window 100/1min", "sliding-window 100/1min/6",
                           "token-bucket 100 20/10s", "token-bucket 5 1/500ms"})
    EXPECT_EQ(spec_of(text).to_string(), text);
}

TEST(LimiterSpec, RefusesMalformedText) {
  for (const char* text :
       {"", "fixed-window", "fixed-window 100", "fixed-window 0/1s", "fixed-window 100/1",
        "fixed-window 100/1d", "fixed-window 100/0s", "sliding-window 100/1min",
        "sliding-window 100/1min/0", "token-bucket 100", "token-bucket 100 0/1s",
        "token-bucket x 1/1s", "leaky-bucket 1/1s", "fixed-window -1/1s"}) {
    limiter_spec out;
    std::string error;
    EXPECT_FALSE(limiter_spec::parse(text, out, error)) << text;
    EXPECT_NE(error.find("fixed-window"), std::string::npos) << text;
  }
}

TEST(RateLimiter, FixedWindowAllowsPermitsPerWindowAndSaysWhenToRetry) {
  rate_limiter limiter{spec_of("fixed-window 3/10s"), t0};
  for (int i = 0; i < 3; ++i)
    EXPECT_TRUE(limiter.acquire(t0 + 1s).allowed) << i;
  auto refused = limiter.acquire(t0 + 4s);
  EXPECT_FALSE(refused.allowed);
  EXPECT_EQ(refused.retry_after, 6'000ms);
  EXPECT_TRUE(limiter.acquire(t0 + 10s).allowed) << "a new window";
  EXPECT_FALSE(limiter.acquire(t0 + 10s, 3).allowed) << "a refused request takes nothing...";
  EXPECT_TRUE(limiter.acquire(t0 + 10s, 2).allowed) << "...so 2 still fit";
}

TEST(RateLimiter, SlidingWindowForgetsOneSegmentAtATime) {
  // 4 permits per 4s in 4 segments of 1s.
  rate_limiter limiter{spec_of("sliding-window 4/4s/4"), t0};
  EXPECT_TRUE(limiter.acquire(t0, 2).allowed);      // segment 0
  EXPECT_TRUE(limiter.acquire(t0 + 2s, 2).allowed); // segment 2
  auto refused = limiter.acquire(t0 + 3s);
  EXPECT_FALSE(refused.allowed);
  EXPECT_EQ(refused.retry_after, 1'000ms) << "segment 0 leaves at t0 + 4s";
  EXPECT_TRUE(limiter.acquire(t0 + 4s, 2).allowed) << "segment 0 left";
  EXPECT_FALSE(limiter.acquire(t0 + 5s).allowed) << "segment 2 is still in";
  EXPECT_TRUE(limiter.acquire(t0 + 6s, 2).allowed);
}

TEST(RateLimiter, SlidingWindowDoesNotAllowTheBurstAFixedWindowAllowsAtItsEdge) {
  rate_limiter sliding{spec_of("sliding-window 10/10s/10"), t0};
  rate_limiter fixed{spec_of("fixed-window 10/10s"), t0};
  EXPECT_TRUE(sliding.acquire(t0 + 9s, 10).allowed);
  EXPECT_TRUE(fixed.acquire(t0 + 9s, 10).allowed);
  // One second later: a new fixed window, but the same sliding one.
  EXPECT_TRUE(fixed.acquire(t0 + 10s, 10).allowed);
  EXPECT_FALSE(sliding.acquire(t0 + 10s, 1).allowed);
}

TEST(RateLimiter, TokenBucketAllowsABurstThenTheRefillRate) {
  rate_limiter limiter{spec_of("token-bucket 5 1/200ms"), t0};
  EXPECT_TRUE(limiter.acquire(t0, 5).allowed) << "the full bucket";
  auto refused = limiter.acquire(t0 + 50ms);
  EXPECT_FALSE(refused.allowed);
  EXPECT_EQ(refused.retry_after, 150ms);
  EXPECT_TRUE(limiter.acquire(t0 + 200ms).allowed);
  EXPECT_FALSE(limiter.acquire(t0 + 300ms).allowed);
  auto big = limiter.acquire(t0 + 300ms, 3);
  EXPECT_FALSE(big.allowed);
  EXPECT_EQ(big.retry_after, 500ms) << "3 tokens: at t0 + 800ms";
  EXPECT_TRUE(limiter.acquire(t0 + 10s, 5).allowed) << "refilled, capped at 5";
  EXPECT_FALSE(limiter.acquire(t0 + 10s).allowed);
}

TEST(RateLimiter, IdleOnceBackAtRest) {
  rate_limiter bucket{spec_of("token-bucket 2 1/1s"), t0};
  EXPECT_TRUE(bucket.idle(t0));
  EXPECT_TRUE(bucket.acquire(t0).allowed);
  EXPECT_FALSE(bucket.idle(t0 + 500ms));
  EXPECT_TRUE(bucket.idle(t0 + 1s));
  rate_limiter window{spec_of("sliding-window 2/2s/2"), t0};
  EXPECT_TRUE(window.acquire(t0).allowed);
  EXPECT_FALSE(window.idle(t0 + 1s));
  EXPECT_TRUE(window.idle(t0 + 2s));
}

} // namespace
