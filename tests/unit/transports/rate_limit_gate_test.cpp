#include "transports/http/rate_limit_gate.hpp"

#include <gtest/gtest.h>

namespace {

using namespace std::chrono_literals;
using namespace puzzle::transports::http;

const rate_limit_gate::clock::time_point t0{std::chrono::hours(1)};

TEST(RateLimitGate, GroupsRequestsByRoute) {
  EXPECT_EQ(group_of("POST", "/api/auth/guest", false), route_group::auth);
  EXPECT_EQ(group_of("POST", "/api/images", false), route_group::upload);
  EXPECT_EQ(group_of("POST", "/api/sessions", false), route_group::write);
  EXPECT_EQ(group_of("DELETE", "/api/sessions/x", false), route_group::write);
  EXPECT_EQ(group_of("GET", "/api/sessions", false), route_group::read);
  EXPECT_EQ(group_of("HEAD", "/api/images/x/file", false), route_group::read);
  EXPECT_EQ(group_of("POST", "/puzzlehub/negotiate", false), route_group::connect);
  EXPECT_EQ(group_of("GET", "/ws", true), route_group::connect);
  EXPECT_EQ(group_of("POST", "/socket.io/", false), route_group::connect);
  EXPECT_EQ(group_of("GET", "/", false), route_group::none);
  EXPECT_EQ(group_of("GET", "/health/ready", false), route_group::none);
  EXPECT_EQ(group_of("OPTIONS", "/api/sessions", false), route_group::none);
  EXPECT_EQ(key_of(route_group::upload), "rate-limits.http-upload");
}

puzzle::config::rate_limit_settings settings() {
  puzzle::config::rate_limit_settings out;
  out.http_auth = "fixed-window 2/1min";
  out.http_read = "token-bucket 3 1/1s";
  out.max_tracked_keys = 100;
  return out;
}

TEST(RateLimitGate, LimitsEachAddressOnItsOwn) {
  rate_limit_gate gate{settings()};
  EXPECT_FALSE(gate.admit(route_group::auth, "10.0.0.1", "", t0));
  EXPECT_FALSE(gate.admit(route_group::auth, "10.0.0.1", "", t0));
  auto refused = gate.admit(route_group::auth, "10.0.0.1", "", t0 + 15s);
  ASSERT_TRUE(refused);
  EXPECT_EQ(*refused, 45'000ms);
  EXPECT_FALSE(gate.admit(route_group::auth, "10.0.0.2", "", t0 + 15s))
      << "another address has its own budget";
  EXPECT_FALSE(gate.admit(route_group::read, "10.0.0.1", "", t0 + 15s))
      << "another group has its own budget";
  EXPECT_FALSE(gate.admit(route_group::none, "10.0.0.1", "", t0 + 15s));
}

TEST(RateLimitGate, HoldsAUserToItsBudgetAcrossAddresses) {
  rate_limit_gate gate{settings()};
  for (int i = 0; i < 3; ++i)
    EXPECT_FALSE(gate.admit(route_group::read, "10.0.0." + std::to_string(i), "u-1", t0));
  auto refused = gate.admit(route_group::read, "10.0.0.9", "u-1", t0);
  ASSERT_TRUE(refused);
  EXPECT_EQ(*refused, 1'000ms);
  EXPECT_FALSE(gate.admit(route_group::read, "10.0.0.9", "u-2", t0));
}

TEST(RateLimitGate, MemoryIsBoundedAndFreshKeysShareAnOverflowBudget) {
  auto cfg = settings();
  cfg.max_tracked_keys = 100;
  rate_limit_gate gate{cfg};
  for (int i = 0; i < 100; ++i)
    EXPECT_FALSE(gate.admit(route_group::read, "a" + std::to_string(i), "", t0));
  EXPECT_EQ(gate.tracked_keys(), 100u);
  // Full, and nobody is at rest yet: new addresses share one bucket of 3.
  int refused = 0;
  for (int i = 0; i < 10; ++i)
    refused += gate.admit(route_group::read, "b" + std::to_string(i), "", t0) ? 1 : 0;
  EXPECT_EQ(refused, 7);
  EXPECT_EQ(gate.tracked_keys(), 100u);
  // Later the early keys are at rest again and make room.
  EXPECT_FALSE(gate.admit(route_group::read, "c", "", t0 + 10s));
  EXPECT_EQ(gate.tracked_keys(), 1u);
}

} // namespace
