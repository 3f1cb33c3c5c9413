#include "actors/lock/piece_lock_actor.hpp"

#include <chrono>
#include <cstdint>
#include <optional>
#include <vector>

#include <caf/all.hpp>
#include <gtest/gtest.h>

#include "tests/unit/actors/support/test_fixture.hpp"

namespace {

using namespace std::chrono_literals;
using namespace puzzle;
using namespace puzzle::test_support;

constexpr uint64_t lease_id = 7;

/// The lock actor between two test doubles: a scoped actor standing in for
/// the session (it receives `expire_atom`) and one for the holder's
/// connection (it can go away).
class PieceLockActor : public actor_fixture {
protected:
  PieceLockActor() : session(sys) {
    holder.emplace(sys);
  }

  void spawn_lock(std::chrono::milliseconds lease = 1'000ms) {
    lock = sys.spawn(piece_lock, caf::actor_cast<session_actor>(session), lease_id,
                     caf::actor_cast<client_events_actor>(*holder), lease);
    track(lock);
    session->monitor(lock);
    sched.run();
  }

  /// The lease ids of every `expire_atom` the session double got so far.
  std::vector<uint64_t> expiries() {
    std::vector<uint64_t> out;
    for (bool more = true; more;)
      session->receive(
          [&](expire_atom, uint64_t id) {
            out.push_back(id);
          },
          caf::after(std::chrono::seconds(0)) >>
              [&] {
                more = false;
              });
    return out;
  }

  bool lock_gone() {
    return saw_down(session, lock.address());
  }

  caf::scoped_actor session;
  std::optional<caf::scoped_actor> holder;
  piece_lock_actor lock;
};

TEST_F(PieceLockActor, ReportsExpiryExactlyOnceWhenTheLeaseRunsOut) {
  spawn_lock();
  advance(999ms);
  EXPECT_TRUE(expiries().empty());
  advance(1ms);
  EXPECT_EQ(expiries(), std::vector<uint64_t>{lease_id});
  EXPECT_TRUE(lock_gone());
  advance(10'000ms);
  EXPECT_TRUE(expiries().empty());
}

TEST_F(PieceLockActor, RenewStartsTheLeaseOver) {
  spawn_lock();
  advance(600ms);
  caf::anon_send(lock, renew_atom::value);
  sched.run();
  advance(600ms); // t = 1200: past the first lease
  EXPECT_TRUE(expiries().empty());
  caf::anon_send(lock, renew_atom::value);
  sched.run();
  advance(999ms); // t = 2199
  EXPECT_TRUE(expiries().empty());
  advance(1ms); // t = 2200: one full lease after the last renewal
  EXPECT_EQ(expiries(), std::vector<uint64_t>{lease_id});
  EXPECT_TRUE(lock_gone());
}

TEST_F(PieceLockActor, UnlockQuitsWithoutReporting) {
  spawn_lock();
  caf::anon_send(lock, unlock_atom::value);
  sched.run();
  EXPECT_TRUE(lock_gone());
  advance(5'000ms);
  holder.reset();
  sched.run();
  EXPECT_TRUE(expiries().empty());
}

TEST_F(PieceLockActor, HolderGoingDownReportsAtOnceAndOnlyOnce) {
  spawn_lock();
  advance(100ms);
  holder.reset(); // the connection's actor is gone
  sched.run();
  EXPECT_EQ(expiries(), std::vector<uint64_t>{lease_id});
  EXPECT_TRUE(lock_gone());
  advance(5'000ms);
  EXPECT_TRUE(expiries().empty());
}

// Regression (was a crash): `piece_lock` monitors the holder through its weak
// `actor_addr`; CAF 0.17's `monitor(actor_addr)` does not upgrade it, so a
// holder that is already destroyed when the lock actor starts makes it call
// into a dead object ("pure virtual method called"). Run in a child process.
TEST_F(PieceLockActor, HolderAlreadyGoneAtGrabReportsAtOnce) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(
      {
        auto gone = caf::actor_cast<client_events_actor>(*holder);
        holder.reset();
        sched.run();
        lock = sys.spawn(piece_lock, caf::actor_cast<session_actor>(session), lease_id, gone,
                         std::chrono::milliseconds{1'000});
        track(lock);
        sched.run();
        std::exit(expiries() == std::vector<uint64_t>{lease_id} ? 0 : 1);
      },
      ::testing::ExitedWithCode(0), "");
}

TEST_F(PieceLockActor, StaleTimerTicksAreIgnored) {
  spawn_lock();
  caf::anon_send(lock, renew_atom::value); // generation 2 armed
  sched.run();
  caf::anon_send(lock, tick_atom::value, uint64_t{1}); // the first timer
  caf::anon_send(lock, tick_atom::value, uint64_t{99});
  sched.run();
  EXPECT_TRUE(expiries().empty());
  caf::anon_send(lock, tick_atom::value, uint64_t{2});
  sched.run();
  EXPECT_EQ(expiries(), std::vector<uint64_t>{lease_id});
}

TEST_F(PieceLockActor, LeaseLengthComesFromTheSpawnArgument) {
  spawn_lock(250ms);
  advance(249ms);
  EXPECT_TRUE(expiries().empty());
  advance(1ms);
  EXPECT_EQ(expiries(), std::vector<uint64_t>{lease_id});
}

} // namespace
