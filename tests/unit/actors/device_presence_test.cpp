// The presence rules of one device (actors/device/presence_tracker.hpp) as a
// plain value with time passed in, plus the message-rate meter, the bounded
// memory of message ids and the bindings file.

#include "actors/device/presence_tracker.hpp"

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <unistd.h>

#include <gtest/gtest.h>

#include "actors/device/binding_file.hpp"
#include "actors/device/message_rate.hpp"
#include "actors/device/recent_ids.hpp"

namespace {

using namespace std::chrono_literals;
using puzzle::message_rate;
using puzzle::presence;
using puzzle::presence_tracker;
using puzzle::recent_ids;
using time_point = presence_tracker::time_point;

const time_point t0 = time_point{} + 1000s;

presence_tracker tracker() {
  return presence_tracker{60s, 2s};
}

TEST(PresenceTracker, StartsUnknown) {
  auto p = tracker();
  EXPECT_EQ(p.state(), presence::unknown);
  EXPECT_FALSE(p.next_deadline());
}

TEST(PresenceTracker, LiveOnlineStatusShowsOnlineAtOnce) {
  auto p = tracker();
  EXPECT_TRUE(p.on_status(true, false, t0));
  EXPECT_EQ(p.state(), presence::online);
  EXPECT_TRUE(p.heard_live());
}

TEST(PresenceTracker, LastWillShowsOfflineAfterTheGracePeriod) {
  auto p = tracker();
  p.on_status(true, false, t0);
  EXPECT_FALSE(p.on_status(false, false, t0 + 10s));
  EXPECT_EQ(p.state(), presence::online);
  EXPECT_EQ(p.next_deadline(), t0 + 12s);
  EXPECT_FALSE(p.tick(t0 + 11s));
  EXPECT_TRUE(p.tick(t0 + 12s));
  EXPECT_EQ(p.state(), presence::offline);
  EXPECT_FALSE(p.next_deadline());
}

TEST(PresenceTracker, OfflineWithoutGraceShowsAtOnce) {
  presence_tracker p{60s, 0s};
  p.on_status(true, false, t0);
  EXPECT_TRUE(p.on_status(false, false, t0 + 1s));
  EXPECT_EQ(p.state(), presence::offline);
}

TEST(PresenceTracker, OfflineOfAnUnknownDeviceShowsAtOnce) {
  auto p = tracker();
  EXPECT_TRUE(p.on_status(false, false, t0));
  EXPECT_EQ(p.state(), presence::offline);
}

TEST(PresenceTracker, TakeoverBlipDoesNotFlap) {
  // Two devices with one client id: each connect makes the broker publish
  // the other connection's will, then the new connection says online.
  auto p = tracker();
  p.on_status(true, false, t0);
  for (int i = 1; i <= 5; ++i) {
    auto now = t0 + std::chrono::seconds(i);
    p.on_status(false, false, now);
    EXPECT_EQ(p.state(), presence::online);
    p.on_status(true, false, now + 100ms);
    EXPECT_EQ(p.state(), presence::online);
    EXPECT_FALSE(p.tick(now + 5s));
  }
  EXPECT_EQ(p.flaps_suppressed(), 5u);
}

TEST(PresenceTracker, ReadingWithinGraceCancelsOffline) {
  auto p = tracker();
  p.on_status(true, false, t0);
  p.on_status(false, false, t0 + 1s);
  EXPECT_FALSE(p.on_traffic(t0 + 2s));
  EXPECT_FALSE(p.tick(t0 + 10s));
  EXPECT_EQ(p.state(), presence::online);
  EXPECT_EQ(p.flaps_suppressed(), 1u);
}

TEST(PresenceTracker, SecondOfflineDoesNotRestartTheGrace) {
  auto p = tracker();
  p.on_status(true, false, t0);
  p.on_status(false, false, t0);
  p.on_status(false, false, t0 + 1500ms);
  EXPECT_TRUE(p.tick(t0 + 2s));
}

TEST(PresenceTracker, RetainedOnlineShowsButExpiresWithoutTraffic) {
  auto p = tracker();
  EXPECT_TRUE(p.on_status(true, true, t0));
  EXPECT_EQ(p.state(), presence::online);
  EXPECT_FALSE(p.heard_live());
  EXPECT_EQ(p.next_deadline(), t0 + 60s);
  EXPECT_TRUE(p.tick(t0 + 60s));
  EXPECT_EQ(p.state(), presence::offline);
}

TEST(PresenceTracker, RetainedStatusThatAgreesChangesNothing) {
  auto p = tracker();
  p.on_status(true, false, t0);
  EXPECT_FALSE(p.on_status(true, true, t0 + 30s));
  // The silence window still runs from the last live message.
  EXPECT_EQ(p.next_deadline(), t0 + 60s);
  p.on_status(false, false, t0 + 61s);
  p.tick(t0 + 61s);
  EXPECT_EQ(p.state(), presence::offline);
  EXPECT_FALSE(p.on_status(false, true, t0 + 62s));
  EXPECT_EQ(p.state(), presence::offline);
}

TEST(PresenceTracker, StaleRetainedOfflineIsOverruledByLiveTraffic) {
  // The bridge reconnects and the broker replays an old retained "offline"
  // while the device is talking: no flap.
  auto p = tracker();
  p.on_status(true, false, t0);
  p.on_status(false, true, t0 + 1s);
  p.on_traffic(t0 + 1500ms);
  EXPECT_FALSE(p.tick(t0 + 5s));
  EXPECT_EQ(p.state(), presence::online);
}

TEST(PresenceTracker, SilenceLongerThanOfflineAfterShowsOffline) {
  auto p = tracker();
  p.on_traffic(t0);
  EXPECT_FALSE(p.tick(t0 + 59s));
  EXPECT_TRUE(p.tick(t0 + 60s));
  EXPECT_EQ(p.state(), presence::offline);
  EXPECT_TRUE(p.on_traffic(t0 + 61s));
  EXPECT_EQ(p.state(), presence::online);
}

TEST(PresenceTracker, ZeroOfflineAfterMeansNoSilenceTimeout) {
  presence_tracker p{0s, 2s};
  p.on_traffic(t0);
  EXPECT_FALSE(p.next_deadline());
  EXPECT_FALSE(p.tick(t0 + 24h));
  EXPECT_EQ(p.state(), presence::online);
}

TEST(MessageRate, AveragesOverTheWindow) {
  message_rate rate{10};
  for (int i = 0; i < 20; ++i)
    rate.add(t0 + std::chrono::milliseconds(i * 100));
  EXPECT_DOUBLE_EQ(rate.per_second(t0 + 2s), 2.0);
  EXPECT_DOUBLE_EQ(rate.per_second(t0 + 10s), 1.0); // the first second left
  EXPECT_DOUBLE_EQ(rate.per_second(t0 + 12s), 0.0);
}

TEST(MessageRate, LongSilenceClearsEverything) {
  message_rate rate{5};
  rate.add(t0);
  EXPECT_DOUBLE_EQ(rate.per_second(t0 + 1h), 0.0);
  rate.add(t0 + 1h);
  EXPECT_DOUBLE_EQ(rate.per_second(t0 + 1h), 0.2);
}

TEST(RecentIds, RefusesAnIdSeenWithinTheWindow) {
  recent_ids ids{3};
  EXPECT_TRUE(ids.insert("a"));
  EXPECT_FALSE(ids.insert("a"));
  EXPECT_TRUE(ids.insert("b"));
  EXPECT_TRUE(ids.insert("c"));
  EXPECT_FALSE(ids.insert("a"));
  EXPECT_TRUE(ids.insert("d")); // "a" falls out
  EXPECT_EQ(ids.size(), 3u);
  EXPECT_TRUE(ids.insert("a"));
}

/// A fresh path in the temporary folder, unique per process and call.
std::filesystem::path temp_path(const std::string& stem) {
  static int n = 0;
  return std::filesystem::temp_directory_path()
      / (stem + "-" + std::to_string(::getpid()) + "-" + std::to_string(++n));
}

TEST(BindingFile, RoundTripsAndCreatesItsFolder) {
  auto dir = temp_path("puzzle-bindings");
  auto path = (dir / "sub" / "device-bindings.json").string();
  std::vector<puzzle::device_binding> none;
  EXPECT_EQ(puzzle::load_bindings(path, none), ""); // no file: no bindings
  EXPECT_TRUE(none.empty());
  std::vector<puzzle::device_binding> in{
      {"box-1", "0b6e5f2c-6d1a-4c1e-9a51-3f1d2e4c5b6a", "u-1", 42},
      {"table-01", "2b1c0d9e-0000-4000-8000-000000000001", "u-2", 7}};
  ASSERT_EQ(puzzle::save_bindings(path, in), "");
  std::vector<puzzle::device_binding> out;
  ASSERT_EQ(puzzle::load_bindings(path, out), "");
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].device_id, "box-1");
  EXPECT_EQ(out[0].session_id, in[0].session_id);
  EXPECT_EQ(out[0].bound_by, "u-1");
  EXPECT_EQ(out[0].bound_at, 42);
  EXPECT_EQ(out[1].device_id, "table-01");
  std::filesystem::remove_all(dir);
}

TEST(BindingFile, AFileThatDoesNotParseIsAnError) {
  auto path = temp_path("puzzle-bindings-bad").string();
  {
    std::ofstream f{path};
    f << "{\"bindings\": [{\"deviceId\": \"box/+\", \"sessionId\": \"x\"}]}";
  }
  std::vector<puzzle::device_binding> out;
  EXPECT_NE(puzzle::load_bindings(path, out), "");
  {
    std::ofstream f{path};
    f << "not json";
  }
  EXPECT_NE(puzzle::load_bindings(path, out), "");
  std::filesystem::remove(path);
}

} // namespace
