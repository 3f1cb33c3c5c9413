// The cluster membership table and the session directory, stored by
// persistence/sql/membership.cpp (migration 5). Every test runs on SQLite
// and on PostgreSQL (instances `Sqlite/...` and `Postgresql/...`), through
// the store and through a second, bare connection (as the node agent uses a
// pooled one).

#include "persistence/sql/membership.hpp"

#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <soci/soci.h>

#include "actors/caf_errors.hpp"
#include "tests/unit/persistence/test_database.hpp"

using puzzle::persistence::claim_session;
using puzzle::persistence::heartbeat_member;
using puzzle::persistence::join_member;
using puzzle::persistence::list_members;
using puzzle::persistence::lookup_session_owner;
using puzzle::persistence::mark_member_down;
using puzzle::persistence::mark_member_leaving;
using puzzle::persistence::member_row;
using puzzle::persistence::member_status;
using puzzle::persistence::soci_store;
using puzzle::test::backend;
using puzzle::test::test_database;

namespace {

/// A migrated store on a fresh database, and a second connection to it.
class Membership : public ::testing::TestWithParam<backend> {
protected:
  void SetUp() override {
    database = std::make_unique<test_database>(GetParam());
    if (!database->skip_reason().empty()) GTEST_SKIP() << database->skip_reason();
    auto opened = soci_store::open(database->url());
    ASSERT_TRUE(opened) << puzzle::message_of(opened.error());
    db = std::move(*opened);
    auto applied = db->migrate();
    ASSERT_TRUE(applied) << puzzle::message_of(applied.error());
    other = database->raw();
  }

  void TearDown() override {
    other.reset();
    db.reset();
    database.reset();
  }

  static member_row row(const std::string& incarnation, const std::string& address,
                        int64_t started) {
    member_row result;
    result.cluster_name = "c1";
    result.incarnation = incarnation;
    result.address = address;
    result.node_id = "node-" + address;
    result.last_heartbeat_ms = started;
    result.started_at_ms = started;
    return result;
  }

  std::vector<member_row> members(const std::string& cluster = "c1") {
    auto listed = list_members(*db, cluster);
    EXPECT_TRUE(listed) << puzzle::message_of(listed.error());
    return listed ? *listed : std::vector<member_row>{};
  }

  std::unique_ptr<test_database> database;
  std::unique_ptr<soci_store> db;
  std::unique_ptr<soci::session> other;
};

INSTANTIATE_TEST_SUITE_P(Sqlite, Membership, ::testing::Values(backend::sqlite),
                         puzzle::test::backend_name);
INSTANTIATE_TEST_SUITE_P(Postgresql, Membership, ::testing::Values(backend::postgresql),
                         puzzle::test::backend_name);

} // namespace

TEST(MemberStatus, NamesRoundTrip) {
  for (auto status :
       {member_status::joining, member_status::up, member_status::leaving, member_status::down})
    EXPECT_EQ(puzzle::persistence::parse_member_status(to_string(status)), status);
  EXPECT_FALSE(puzzle::persistence::parse_member_status("unreachable"));
}

TEST_P(Membership, JoinInsertsJoiningAndHeartbeatMakesUp) {
  ASSERT_FALSE(join_member(*db, row("inc-a", "127.0.0.1:7001", 1000)));
  ASSERT_FALSE(join_member(*other, row("inc-b", "127.0.0.1:7002", 2000)));
  auto listed = members();
  ASSERT_EQ(listed.size(), 2u);
  EXPECT_EQ(listed[0].incarnation, "inc-a");
  EXPECT_EQ(listed[0].address, "127.0.0.1:7001");
  EXPECT_EQ(listed[0].node_id, "node-127.0.0.1:7001");
  EXPECT_EQ(listed[0].status, member_status::joining);
  EXPECT_EQ(listed[0].last_heartbeat_ms, 1000);
  EXPECT_EQ(listed[0].started_at_ms, 1000);
  EXPECT_EQ(listed[1].incarnation, "inc-b");
  EXPECT_EQ(listed[1].status, member_status::joining);

  auto beat = heartbeat_member(*other, "c1", "inc-a", 5000);
  ASSERT_TRUE(beat) << puzzle::message_of(beat.error());
  EXPECT_TRUE(*beat);
  beat = heartbeat_member(*db, "c1", "inc-b", 6000);
  ASSERT_TRUE(beat) << puzzle::message_of(beat.error());
  EXPECT_TRUE(*beat);
  listed = members();
  ASSERT_EQ(listed.size(), 2u);
  EXPECT_EQ(listed[0].status, member_status::up);
  EXPECT_EQ(listed[0].last_heartbeat_ms, 5000);
  EXPECT_EQ(listed[1].status, member_status::up);
  EXPECT_EQ(listed[1].last_heartbeat_ms, 6000);
  // Other clusters in the same database are separate.
  EXPECT_TRUE(members("c2").empty());
}

TEST_P(Membership, JoiningAgainChangesNothingAndDoesNotReviveADownRow) {
  ASSERT_FALSE(join_member(*db, row("inc-a", "127.0.0.1:7001", 1000)));
  ASSERT_TRUE(*heartbeat_member(*db, "c1", "inc-a", 2000));
  // A retried join (its first answer lost) is not an error and keeps the row.
  ASSERT_FALSE(join_member(*other, row("inc-a", "127.0.0.1:7001", 1000)));
  auto listed = members();
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0].status, member_status::up);
  EXPECT_EQ(listed[0].last_heartbeat_ms, 2000);
  ASSERT_TRUE(*mark_member_down(*db, "c1", "inc-a", 2001));
  ASSERT_FALSE(join_member(*db, row("inc-a", "127.0.0.1:7001", 3000)));
  listed = members();
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0].status, member_status::down);
  EXPECT_FALSE(*heartbeat_member(*db, "c1", "inc-a", 4000));
}

TEST_P(Membership, ADownRowNeverHeartbeatsBackToUp) {
  ASSERT_FALSE(join_member(*db, row("inc-a", "127.0.0.1:7001", 1000)));
  ASSERT_TRUE(*heartbeat_member(*db, "c1", "inc-a", 2000));
  // A peer that saw the heartbeat of 2000 as too old buries the row.
  auto down = mark_member_down(*other, "c1", "inc-a", 2001);
  ASSERT_TRUE(down) << puzzle::message_of(down.error());
  EXPECT_TRUE(*down);
  // The buried incarnation's next heartbeat is refused: it is fenced.
  auto beat = heartbeat_member(*db, "c1", "inc-a", 3000);
  ASSERT_TRUE(beat) << puzzle::message_of(beat.error());
  EXPECT_FALSE(*beat);
  auto listed = members();
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0].status, member_status::down);
  EXPECT_EQ(listed[0].last_heartbeat_ms, 2000);
  // Down is final: it does not become leaving either.
  EXPECT_FALSE(*mark_member_leaving(*db, "c1", "inc-a"));
  EXPECT_FALSE(*mark_member_down(*db, "c1", "inc-a", std::numeric_limits<int64_t>::max()));

  // The restarted process is a new incarnation at the same address.
  ASSERT_FALSE(join_member(*db, row("inc-a2", "127.0.0.1:7001", 4000)));
  ASSERT_TRUE(*heartbeat_member(*db, "c1", "inc-a2", 4100));
  listed = members();
  ASSERT_EQ(listed.size(), 2u);
  EXPECT_EQ(listed[0].incarnation, "inc-a");
  EXPECT_EQ(listed[0].status, member_status::down);
  EXPECT_EQ(listed[1].incarnation, "inc-a2");
  EXPECT_EQ(listed[1].status, member_status::up);
}

TEST_P(Membership, DownIsFencedByAFresherHeartbeat) {
  ASSERT_FALSE(join_member(*db, row("inc-a", "127.0.0.1:7001", 1000)));
  ASSERT_TRUE(*heartbeat_member(*db, "c1", "inc-a", 5000));
  // The peer read the row when its heartbeat was 1000; it has beaten since.
  auto down = mark_member_down(*other, "c1", "inc-a", 1001);
  ASSERT_TRUE(down);
  EXPECT_FALSE(*down);
  EXPECT_EQ(members()[0].status, member_status::up);
  // Unknown rows change nothing.
  EXPECT_FALSE(*mark_member_down(*db, "c1", "no-such", 9000));
  EXPECT_FALSE(*heartbeat_member(*db, "c1", "no-such", 9000));
}

TEST_P(Membership, LeavingThenDownAndNoHeartbeatInBetween) {
  ASSERT_FALSE(join_member(*db, row("inc-a", "127.0.0.1:7001", 1000)));
  ASSERT_TRUE(*heartbeat_member(*other, "c1", "inc-a", 2000));
  auto leaving = mark_member_leaving(*other, "c1", "inc-a");
  ASSERT_TRUE(leaving) << puzzle::message_of(leaving.error());
  EXPECT_TRUE(*leaving);
  EXPECT_EQ(members()[0].status, member_status::leaving);
  // A late heartbeat does not undo the leave.
  EXPECT_FALSE(*heartbeat_member(*other, "c1", "inc-a", 3000));
  EXPECT_EQ(members()[0].status, member_status::leaving);
  EXPECT_TRUE(*mark_member_down(*db, "c1", "inc-a", std::numeric_limits<int64_t>::max()));
  EXPECT_EQ(members()[0].status, member_status::down);
}

TEST_P(Membership, FirstClaimOfASessionHasOneWinner) {
  auto none = lookup_session_owner(*db, "s1");
  ASSERT_TRUE(none) << puzzle::message_of(none.error());
  EXPECT_FALSE(*none);
  auto first = claim_session(*db, "s1", "inc-a", 0);
  ASSERT_TRUE(first) << puzzle::message_of(first.error());
  auto second = claim_session(*other, "s1", "inc-b", 0);
  ASSERT_TRUE(second) << puzzle::message_of(second.error());
  EXPECT_TRUE(*first);
  EXPECT_FALSE(*second);
  auto entry = lookup_session_owner(*other, "s1");
  ASSERT_TRUE(entry);
  ASSERT_TRUE(*entry);
  EXPECT_EQ((*entry)->session_id, "s1");
  EXPECT_EQ((*entry)->owner_incarnation, "inc-a");
  EXPECT_EQ((*entry)->generation, 1);
}

TEST_P(Membership, ClaimIsACompareAndSetOnTheGeneration) {
  ASSERT_TRUE(*claim_session(*db, "s1", "inc-a", 0));
  // Two nodes both saw generation 1 and both claim: exactly one wins.
  auto b = claim_session(*other, "s1", "inc-b", 1);
  auto c = claim_session(*db, "s1", "inc-c", 1);
  ASSERT_TRUE(b) << puzzle::message_of(b.error());
  ASSERT_TRUE(c) << puzzle::message_of(c.error());
  EXPECT_TRUE(*b);
  EXPECT_FALSE(*c);
  auto entry = lookup_session_owner(*db, "s1");
  ASSERT_TRUE(entry && *entry);
  EXPECT_EQ((*entry)->owner_incarnation, "inc-b");
  EXPECT_EQ((*entry)->generation, 2);
  // A stale owner cannot take it back with its old generation, nor claim
  // it as new.
  EXPECT_FALSE(*claim_session(*db, "s1", "inc-a", 1));
  EXPECT_FALSE(*claim_session(*db, "s1", "inc-a", 0));
  EXPECT_TRUE(*claim_session(*db, "s1", "inc-c", 2));
  entry = lookup_session_owner(*other, "s1");
  ASSERT_TRUE(entry && *entry);
  EXPECT_EQ((*entry)->owner_incarnation, "inc-c");
  EXPECT_EQ((*entry)->generation, 3);
}
