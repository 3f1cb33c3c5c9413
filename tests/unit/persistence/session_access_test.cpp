// The invite code and the users let into private sessions, stored by
// persistence/sql/session_access.cpp (migration 4). Every test runs on
// SQLite and on PostgreSQL (instances `Sqlite/...` and `Postgresql/...`).

#include "persistence/sql/session_access.hpp"

#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "actors/caf_errors.hpp"
#include "tests/unit/persistence/test_database.hpp"

using puzzle::persistence::grant_access;
using puzzle::persistence::load_access;
using puzzle::persistence::put_invite;
using puzzle::persistence::soci_store;
using puzzle::test::backend;
using puzzle::test::test_database;

namespace {

/// A migrated store on a fresh database.
class AccessStore : public ::testing::TestWithParam<backend> {
protected:
  void SetUp() override {
    database = std::make_unique<test_database>(GetParam());
    if (!database->skip_reason().empty()) GTEST_SKIP() << database->skip_reason();
    reopen();
  }

  void reopen() {
    db.reset();
    auto opened = soci_store::open(database->url());
    ASSERT_TRUE(opened) << puzzle::message_of(opened.error());
    db = std::move(*opened);
    auto applied = db->migrate();
    ASSERT_TRUE(applied) << puzzle::message_of(applied.error());
  }

  void TearDown() override {
    db.reset();
    database.reset();
  }

  std::unique_ptr<test_database> database;
  std::unique_ptr<soci_store> db;
};

INSTANTIATE_TEST_SUITE_P(Sqlite, AccessStore, ::testing::Values(backend::sqlite),
                         puzzle::test::backend_name);
INSTANTIATE_TEST_SUITE_P(Postgresql, AccessStore, ::testing::Values(backend::postgresql),
                         puzzle::test::backend_name);

} // namespace

TEST_P(AccessStore, NothingStoredIsEmptyAccess) {
  auto access = load_access(*db, "no-such-session");
  ASSERT_TRUE(access) << puzzle::message_of(access.error());
  EXPECT_TRUE(access->invite_code.empty());
  EXPECT_TRUE(access->allowed.empty());
}

TEST_P(AccessStore, InviteAndGrantsSurviveReopening) {
  ASSERT_FALSE(put_invite(*db, "s1", "code-1", 1000));
  ASSERT_FALSE(put_invite(*db, "s2", "code-2", 1000));
  ASSERT_FALSE(grant_access(*db, "s1", "alice", 2000));
  ASSERT_FALSE(grant_access(*db, "s1", "bob", 3000));
  // Granting twice is a no-op, not a duplicate key error.
  ASSERT_FALSE(grant_access(*db, "s1", "alice", 4000));
  ASSERT_FALSE(grant_access(*db, "s2", "carol", 2000));
  reopen();
  auto s1 = load_access(*db, "s1");
  ASSERT_TRUE(s1) << puzzle::message_of(s1.error());
  EXPECT_EQ(s1->invite_code, "code-1");
  EXPECT_EQ(s1->allowed, (std::vector<std::string>{"alice", "bob"}));
  auto s2 = load_access(*db, "s2");
  ASSERT_TRUE(s2);
  EXPECT_EQ(s2->invite_code, "code-2");
  EXPECT_EQ(s2->allowed, (std::vector<std::string>{"carol"}));
}

TEST_P(AccessStore, ANewInviteReplacesTheOld) {
  ASSERT_FALSE(put_invite(*db, "s1", "old", 1000));
  ASSERT_FALSE(put_invite(*db, "s1", "new", 2000));
  auto s1 = load_access(*db, "s1");
  ASSERT_TRUE(s1);
  EXPECT_EQ(s1->invite_code, "new");
}
