#include "persistence/sql/soci_store.hpp"

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <soci/soci.h>
#include <soci/sqlite3/soci-sqlite3.h>

#include "actors/caf_errors.hpp"
#include "persistence/sql/migrations.hpp"
#include "persistence/sql/store_url.hpp"
#include "tests/unit/persistence/test_database.hpp"

namespace {

using puzzle::chat_entry;
using puzzle::drop_record;
using puzzle::errc;
using puzzle::participant;
using puzzle::session_state;
using puzzle::session_summary;
using puzzle::model::piece_state;
using puzzle::persistence::soci_store;
using puzzle::test::backend;
using puzzle::test::test_database;

/// A fresh directory under /tmp, removed with everything in it.
class temp_dir {
public:
  temp_dir() {
    char pattern[] = "/tmp/puzzle-store-XXXXXX";
    if (::mkdtemp(pattern) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = pattern;
  }

  ~temp_dir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }

  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;

  const std::string& path() const {
    return path_;
  }

private:
  std::string path_;
};

bool same_bits(double x, double y) {
  return std::memcmp(&x, &y, sizeof(double)) == 0;
}

void expect_same_pieces(const std::vector<piece_state>& actual,
                        const std::vector<piece_state>& expected) {
  ASSERT_EQ(actual.size(), expected.size());
  for (size_t i = 0; i < expected.size(); ++i) {
    SCOPED_TRACE("piece index " + std::to_string(i));
    EXPECT_EQ(actual[i].id, expected[i].id);
    EXPECT_TRUE(same_bits(actual[i].x, expected[i].x)) << actual[i].x << " != " << expected[i].x;
    EXPECT_TRUE(same_bits(actual[i].y, expected[i].y)) << actual[i].y << " != " << expected[i].y;
    EXPECT_EQ(actual[i].rotation, expected[i].rotation);
    EXPECT_EQ(actual[i].placed, expected[i].placed);
    EXPECT_EQ(actual[i].group_id, expected[i].group_id);
  }
}

/// Field by field, doubles bit for bit.
void expect_same(const session_state& actual, const session_state& expected) {
  EXPECT_EQ(actual.schema_version, expected.schema_version);
  EXPECT_EQ(actual.session_id, expected.session_id);
  EXPECT_EQ(actual.name, expected.name);
  EXPECT_EQ(actual.owner_id, expected.owner_id);
  EXPECT_EQ(actual.is_public, expected.is_public);
  EXPECT_EQ(actual.image.id, expected.image.id);
  EXPECT_EQ(actual.image.url, expected.image.url);
  EXPECT_EQ(actual.image.width, expected.image.width);
  EXPECT_EQ(actual.image.height, expected.image.height);
  EXPECT_EQ(actual.spec.image_width, expected.spec.image_width);
  EXPECT_EQ(actual.spec.image_height, expected.spec.image_height);
  EXPECT_EQ(actual.spec.rows, expected.spec.rows);
  EXPECT_EQ(actual.spec.cols, expected.spec.cols);
  EXPECT_EQ(actual.spec.seed, expected.spec.seed);
  EXPECT_EQ(actual.spec.rotation, expected.spec.rotation);
  EXPECT_TRUE(same_bits(actual.spec.snap_ratio, expected.spec.snap_ratio));
  EXPECT_TRUE(same_bits(actual.spec.table_factor, expected.spec.table_factor));
  EXPECT_EQ(actual.version, expected.version);
  expect_same_pieces(actual.pieces, expected.pieces);
  ASSERT_EQ(actual.participants.size(), expected.participants.size());
  for (size_t i = 0; i < expected.participants.size(); ++i) {
    SCOPED_TRACE("participant index " + std::to_string(i));
    const auto& a = actual.participants[i];
    const auto& e = expected.participants[i];
    EXPECT_EQ(a.user_id, e.user_id);
    EXPECT_EQ(a.username, e.username);
    EXPECT_EQ(a.color, e.color);
    EXPECT_EQ(a.joined_at, e.joined_at);
    EXPECT_EQ(a.online, e.online);
  }
  ASSERT_EQ(actual.chat.size(), expected.chat.size());
  for (size_t i = 0; i < expected.chat.size(); ++i) {
    SCOPED_TRACE("chat index " + std::to_string(i));
    const auto& a = actual.chat[i];
    const auto& e = expected.chat[i];
    EXPECT_EQ(a.id, e.id);
    EXPECT_EQ(a.user_id, e.user_id);
    EXPECT_EQ(a.username, e.username);
    EXPECT_EQ(a.message, e.message);
    EXPECT_EQ(a.timestamp, e.timestamp);
  }
  EXPECT_EQ(actual.created_at, expected.created_at);
  EXPECT_EQ(actual.started_at, expected.started_at);
  EXPECT_EQ(actual.completed_at, expected.completed_at);
}

piece_state piece(int32_t id, double x, double y, int32_t rotation = 0, bool placed = false,
                  int32_t group_id = -1) {
  return piece_state{id, x, y, rotation, placed, group_id < 0 ? id : group_id};
}

/// A session with every field set to something a lossy store would break.
session_state sample_session(const std::string& id = "s-1") {
  session_state s;
  s.session_id = id;
  s.name = "Bergsee \xC3\xA4\xC3\xB6\xC3\xBC 'quoted'; DROP TABLE x";
  s.owner_id = "owner-42";
  s.is_public = false;
  s.image = {"img-7", "/images/berg see.jpg?x=1&y=2", 4032, 3024};
  s.spec.image_width = 4031;
  s.spec.image_height = 3023;
  s.spec.rows = 2;
  s.spec.cols = 3;
  s.spec.seed = 0xF123456789ABCDEFULL; // above 2^63
  s.spec.rotation = true;
  s.spec.snap_ratio = 0.1 + 0.2; // 0.30000000000000004
  s.spec.table_factor = 1.0 / 3.0;
  s.version = (uint64_t{1} << 63) + 5;
  s.pieces = {
      piece(0, -12.375, 0.1, 90),
      piece(1, 1.0 / 3.0, -2.0 / 3.0, 180, false, 0),
      piece(2, std::numeric_limits<double>::denorm_min(), -1e-300, 270),
      piece(3, 1.7976931348623157e308, -123456.789012345678, 0, true, 3),
      piece(4, 0, std::nextafter(1.0, 2.0), 0, true, 3),
      piece(5, -0.5, 1e-7, 0),
  };
  s.participants = {
      {"u-1", "Ann", "#ff0000", 1'700'000'000'000, false},
      {"u-2", "B\xC3\xB6rk \xF0\x9F\x8E\xB8", "hsl(120, 50%, 50%)", 1'700'000'000'500, false},
  };
  s.chat = {
      {"c-1", "u-1", "Ann", "hello \xF0\x9F\x91\x8B \xE4\xBD\xA0\xE5\xA5\xBD", 1'700'000'000'100},
      {"c-2", "u-2", "B\xC3\xB6rk \xF0\x9F\x8E\xB8", "semi; colon 'quote' \"dq\" \\ back\nnew line",
       1'700'000'000'200},
      {"c-3", "u-1", "Ann", "", 1'700'000'000'300},
  };
  s.created_at = 1'699'999'999'999;
  s.started_at = 1'700'000'000'050;
  s.completed_at = 0;
  return s;
}

std::unique_ptr<soci_store> open_url(const std::string& url) {
  auto store = soci_store::open(url);
  if (!store) {
    ADD_FAILURE() << puzzle::message_of(store.error());
    return nullptr;
  }
  auto applied = (*store)->migrate();
  if (!applied) {
    ADD_FAILURE() << puzzle::message_of(applied.error());
    return nullptr;
  }
  return std::move(*store);
}

session_state load_ok(soci_store& store, const std::string& id) {
  auto loaded = store.load(id);
  if (!loaded) {
    ADD_FAILURE() << puzzle::message_of(loaded.error());
    return {};
  }
  if (!*loaded) {
    ADD_FAILURE() << "session " << id << " not stored";
    return {};
  }
  return std::move(**loaded);
}

long long count_rows(const std::string& url, const std::string& table,
                     const std::string& session_id) {
  auto sql = puzzle::test::raw_session(url);
  long long n = -1;
  *sql << "SELECT COUNT(*) FROM " + table + " WHERE session_id = :id", soci::into(n),
      soci::use(session_id);
  return n;
}

/// Every test runs on SQLite and on PostgreSQL (instances `sqlite/...` and
/// `postgresql/...`), each on a fresh database.
class SociStore : public ::testing::TestWithParam<backend> {
protected:
  void SetUp() override {
    db = std::make_unique<test_database>(GetParam());
    if (!db->skip_reason().empty()) GTEST_SKIP() << db->skip_reason();
    store = open_url(db->url());
    ASSERT_NE(store, nullptr);
  }

  void TearDown() override {
    store.reset();
    db.reset();
  }

  /// The URL `count_rows` opens.
  std::string db_file() const {
    return db->url();
  }

  std::unique_ptr<test_database> db;
  std::unique_ptr<soci_store> store;
};

INSTANTIATE_TEST_SUITE_P(Sqlite, SociStore, ::testing::Values(backend::sqlite),
                         puzzle::test::backend_name);
INSTANTIATE_TEST_SUITE_P(Postgresql, SociStore, ::testing::Values(backend::postgresql),
                         puzzle::test::backend_name);

// -- migrations ---------------------------------------------------------------

TEST(SociStoreMigrations, AreNumberedFromOneAndStrictlyIncreasing) {
  const auto& all = puzzle::persistence::migrations();
  ASSERT_GE(all.size(), 2u);
  for (size_t i = 0; i < all.size(); ++i)
    EXPECT_EQ(all[i].version, static_cast<int32_t>(i) + 1);
  EXPECT_EQ(puzzle::persistence::latest_schema_version(), static_cast<int32_t>(all.size()));
}

TEST(SociStoreMigrations, SplitStatementsSplitsAtSemicolonsAndTrims) {
  auto parts = puzzle::persistence::split_statements(
      "\n CREATE TABLE a (x INT);\n\n  CREATE INDEX i ON a (x) ;  ;\n");
  ASSERT_EQ(parts.size(), 2u);
  EXPECT_EQ(parts[0], "CREATE TABLE a (x INT)");
  EXPECT_EQ(parts[1], "CREATE INDEX i ON a (x)");
  EXPECT_TRUE(puzzle::persistence::split_statements(" ; \n").empty());
}

TEST_P(SociStore, MigrationsApplyOnceAndNotAgainOnReopen) {
  // SetUp applied them all; a second call and a new instance apply none.
  auto count = static_cast<size_t>(puzzle::persistence::latest_schema_version());
  auto second = store->migrate();
  ASSERT_TRUE(second) << puzzle::message_of(second.error());
  EXPECT_EQ(*second, 0u);
  store.reset();
  auto reopened = soci_store::open(db->url());
  ASSERT_TRUE(reopened) << puzzle::message_of(reopened.error());
  auto again = (*reopened)->migrate();
  ASSERT_TRUE(again) << puzzle::message_of(again.error());
  EXPECT_EQ(*again, 0u);
  auto sql = db->raw();
  long long rows = 0;
  int version = 0;
  std::string description;
  *sql << "SELECT COUNT(*) FROM schema_migrations", soci::into(rows);
  EXPECT_EQ(rows, static_cast<long long>(count));
  *sql << "SELECT version, description FROM schema_migrations WHERE version = 1",
      soci::into(version), soci::into(description);
  EXPECT_EQ(version, 1);
  EXPECT_EQ(description, "sessions, pieces, participants and chat");
  *sql << "SELECT version, description FROM schema_migrations WHERE version = 2",
      soci::into(version), soci::into(description);
  EXPECT_EQ(version, 2);
  EXPECT_EQ(description, "uploaded images");
  if (GetParam() == backend::sqlite) {
    std::string mode;
    *sql << "PRAGMA journal_mode", soci::into(mode);
    EXPECT_EQ(mode, "wal");
  }
}

TEST_P(SociStore, MigrationsOnAFreshDatabaseApplyAll) {
  store.reset();
  test_database fresh{GetParam()};
  auto opened = soci_store::open(fresh.url());
  ASSERT_TRUE(opened) << puzzle::message_of(opened.error());
  auto first = (*opened)->migrate();
  ASSERT_TRUE(first) << puzzle::message_of(first.error());
  EXPECT_EQ(*first, puzzle::persistence::migrations().size());
}

TEST_P(SociStore, MigrationsRefuseADatabaseFromANewerBuild) {
  store.reset();
  {
    auto sql = db->raw();
    *sql << "INSERT INTO schema_migrations (version, description, applied_at) "
            "VALUES (99, 'future', 0)";
  }
  auto reopened = soci_store::open(db->url());
  ASSERT_TRUE(reopened);
  auto applied = (*reopened)->migrate();
  ASSERT_FALSE(applied);
  EXPECT_EQ(puzzle::code_of(applied.error()), errc::internal);
  EXPECT_EQ(puzzle::message_of(applied.error()),
            "store: database schema version 99 is newer than this build ("
                + std::to_string(puzzle::persistence::latest_schema_version()) + ")");
}

// -- open ---------------------------------------------------------------------

TEST(SociStoreOpen, ParsesPostgresqlUrlsIntoLibpqKeywords) {
  using puzzle::persistence::parse_store_url;
  using puzzle::persistence::store_backend;
  auto full = parse_store_url("postgresql://pz%40user:p%27w%5Cd@db.example:6543/"
                              "puzzle%20db?sslmode=require&application_name=node-1");
  ASSERT_TRUE(full) << puzzle::message_of(full.error());
  EXPECT_EQ(full->backend, store_backend::postgresql);
  EXPECT_EQ(full->connect,
            "host='db.example' port='6543' dbname='puzzle db' user='pz@user' "
            "password='p\\'w\\\\d' sslmode='require' "
            "application_name='node-1' connect_timeout='5' "
            "options='-c bytea_output=hex -c client_min_messages=warning'");
  EXPECT_EQ(full->display,
            "postgresql://pz%40user:***@db.example:6543/"
            "puzzle%20db?sslmode=require&application_name=node-1");
  // The environment's password wins; IPv6 hosts in brackets; postgres://.
  auto v6 = parse_store_url("postgres://u:inurl@[::1]:5432/p?connect_timeout=2", "fromenv", 9);
  ASSERT_TRUE(v6) << puzzle::message_of(v6.error());
  EXPECT_EQ(v6->connect,
            "host='::1' port='5432' dbname='p' user='u' password='fromenv' "
            "connect_timeout='2' "
            "options='-c bytea_output=hex -c client_min_messages=warning'");
  auto bare = parse_store_url("postgresql://localhost");
  ASSERT_TRUE(bare);
  EXPECT_EQ(bare->connect,
            "host='localhost' connect_timeout='5' "
            "options='-c bytea_output=hex -c client_min_messages=warning'");
  EXPECT_EQ(bare->display, "postgresql://localhost");
}

TEST(SociStoreOpen, RejectsBrokenPostgresqlUrlsWithoutShowingThePassword) {
  using puzzle::persistence::parse_store_url;
  for (std::string url :
       {"postgresql://", "postgresql://u:secret@:5432/db", "postgresql://u:secret@h:99999/db",
        "postgresql://u:secret@h:5x/db", "postgresql://u:secret@[::1/db",
        "postgresql://u:sec%zzret@h/db", "postgresql://u:secret@h/db?password=x",
        "postgresql://u:secret@h/db?bad"}) {
    SCOPED_TRACE(url);
    auto parsed = parse_store_url(url);
    ASSERT_FALSE(parsed);
    EXPECT_EQ(puzzle::code_of(parsed.error()), errc::invalid_argument);
    auto text = puzzle::message_of(parsed.error());
    EXPECT_EQ(text.rfind("store.url: ", 0), 0u) << text;
    EXPECT_EQ(text.find("secret"), std::string::npos) << text;
  }
  EXPECT_EQ(puzzle::persistence::redact_store_url("postgresql://u:secret@h:1/d"),
            "postgresql://u:***@h:1/d");
  EXPECT_EQ(puzzle::persistence::redact_store_url("sqlite:data/x.db"), "sqlite:data/x.db");
}

TEST(SociStoreOpen, UnreachablePostgresqlIsAnInternalErrorNamingTheKey) {
  // Port 1 on loopback: nothing listens there, the connection is refused.
  auto store = soci_store::open("postgresql://u:secret@127.0.0.1:1/none");
  ASSERT_FALSE(store);
  EXPECT_EQ(puzzle::code_of(store.error()), errc::internal);
  auto text = puzzle::message_of(store.error());
  EXPECT_EQ(text.rfind("store.url: cannot open 'postgresql://u:***@127.0.0.1:1/none'", 0), 0u)
      << text;
  EXPECT_EQ(text.find("secret"), std::string::npos) << text;
}

TEST(SociStoreOpen, RejectsOtherUrlsNamingTheKey) {
  for (std::string url :
       {"", "mysql://x/y", "/tmp/plain/path.db", "sqlite:", "sqlite://", "sqlite3:"}) {
    SCOPED_TRACE("url '" + url + "'");
    auto store = soci_store::open(url);
    ASSERT_FALSE(store);
    EXPECT_EQ(puzzle::code_of(store.error()), errc::invalid_argument);
    EXPECT_EQ(puzzle::message_of(store.error()).rfind("store.url: ", 0), 0u)
        << puzzle::message_of(store.error());
  }
  auto bad = soci_store::open("mysql://x/y");
  ASSERT_FALSE(bad);
  EXPECT_EQ(puzzle::message_of(bad.error()),
            "store.url: unsupported URL 'mysql://x/y' (expected sqlite:<path> or "
            "postgresql://user@host:port/db)");
}

TEST(SociStoreOpen, AcceptsEverySqliteSpellingAndCreatesParentDirectories) {
  temp_dir dir;
  const std::vector<std::pair<std::string, std::string>> cases{
      {"sqlite:" + dir.path() + "/a/b/one.db", dir.path() + "/a/b/one.db"},
      {"sqlite://" + dir.path() + "/c/two.db", dir.path() + "/c/two.db"},
      {"sqlite3:" + dir.path() + "/d e/three.db", dir.path() + "/d e/three.db"},
  };
  for (const auto& [url, file] : cases) {
    SCOPED_TRACE(url);
    auto store = soci_store::open(url);
    ASSERT_TRUE(store) << puzzle::message_of(store.error());
    EXPECT_EQ((*store)->path(), file);
    EXPECT_TRUE((*store)->ping());
    EXPECT_TRUE(std::filesystem::exists(file));
  }
}

// -- put and load -------------------------------------------------------------

TEST_P(SociStore, PutThenLoadRoundTripsEveryField) {
  auto s = sample_session();
  ASSERT_FALSE(store->put_session(s));
  auto loaded = load_ok(*store, "s-1");
  expect_same(loaded, s);
}

TEST_P(SociStore, LoadOrdersPiecesByIdParticipantsByJoinTimeAndMarksOffline) {
  auto s = sample_session();
  auto expected = s;
  std::swap(s.pieces[0], s.pieces[5]);
  std::swap(s.pieces[2], s.pieces[3]);
  std::swap(s.participants[0], s.participants[1]);
  for (auto& who : s.participants)
    who.online = true;
  ASSERT_FALSE(store->put_session(s));
  expect_same(load_ok(*store, "s-1"), expected);
}

TEST_P(SociStore, NegativeZeroLoadsAsZeroOfEqualValue) {
  // SQLite stores a REAL that is a whole number as an integer: -0.0 comes
  // back as +0.0, which compares equal (PostgreSQL keeps the sign). Every
  // other double is bit-exact.
  auto s = sample_session();
  s.pieces[0].x = -0.0;
  ASSERT_FALSE(store->put_session(s));
  auto loaded = load_ok(*store, "s-1");
  ASSERT_EQ(loaded.pieces.size(), 6u);
  EXPECT_EQ(loaded.pieces[0].x, 0.0);
  if (GetParam() == backend::sqlite) {
    EXPECT_FALSE(std::signbit(loaded.pieces[0].x));
  }
}

TEST_P(SociStore, LoadOfUnknownSessionIsEmpty) {
  auto loaded = store->load("nope");
  ASSERT_TRUE(loaded) << puzzle::message_of(loaded.error());
  EXPECT_FALSE(loaded->has_value());
}

TEST_P(SociStore, PutReplacesAllRowsOfThatSessionOnly) {
  ASSERT_FALSE(store->put_session(sample_session("s-1")));
  ASSERT_FALSE(store->put_session(sample_session("s-2")));
  auto replacement = sample_session("s-1");
  replacement.name = "second";
  replacement.version = 3;
  replacement.pieces = {piece(0, 1, 2), piece(1, 3, 4)};
  replacement.participants.resize(1);
  replacement.chat.clear();
  ASSERT_FALSE(store->put_session(replacement));
  expect_same(load_ok(*store, "s-1"), replacement);
  expect_same(load_ok(*store, "s-2"), sample_session("s-2"));
  EXPECT_EQ(count_rows(db_file(), "pieces", "s-1"), 2);
  EXPECT_EQ(count_rows(db_file(), "participants", "s-1"), 1);
  EXPECT_EQ(count_rows(db_file(), "chat", "s-1"), 0);
}

TEST_P(SociStore, PutOf5000PiecesRoundTrips) {
  auto s = sample_session("big");
  s.spec.rows = 50;
  s.spec.cols = 100;
  s.pieces.clear();
  for (int32_t i = 0; i < 5000; ++i)
    s.pieces.push_back(piece(i, i * 0.1 - 250.0, -i / 7.0, (i % 4) * 90, i % 3 == 0, i / 2));
  ASSERT_FALSE(store->put_session(s));
  auto loaded = load_ok(*store, "big");
  expect_same(loaded, s);
  auto stats = store->stats();
  EXPECT_EQ(stats.transactions, 1u);
}

// -- save_drop ----------------------------------------------------------------

TEST_P(SociStore, SaveDropUpdatesOnlyTheGivenPiecesAndTheTimes) {
  auto s = sample_session();
  ASSERT_FALSE(store->put_session(s));
  drop_record drop;
  drop.session_id = "s-1";
  drop.version = 77;
  drop.started_at = 1'700'000'001'000;
  drop.completed_at = 1'700'000'009'000;
  drop.pieces = {piece(1, -0.125, 99.5, 0, true, 4), piece(4, 5e-324, -7.25, 90, false, 1)};
  ASSERT_FALSE(store->save_drop(drop));
  auto expected = s;
  expected.version = 77;
  expected.started_at = 1'700'000'001'000;
  expected.completed_at = 1'700'000'009'000;
  expected.pieces[1] = drop.pieces[0];
  expected.pieces[4] = drop.pieces[1];
  expect_same(load_ok(*store, "s-1"), expected);
}

TEST_P(SociStore, SaveDropOfUnknownSessionIsSessionNotFound) {
  drop_record drop;
  drop.session_id = "ghost";
  drop.version = 1;
  drop.pieces = {piece(0, 1, 1)};
  auto err = store->save_drop(drop);
  EXPECT_EQ(puzzle::code_of(err), errc::session_not_found);
  EXPECT_EQ(puzzle::message_of(err), "session ghost not found");
}

TEST_P(SociStore, SaveDropWithUnknownPieceChangesNothing) {
  auto s = sample_session();
  ASSERT_FALSE(store->put_session(s));
  drop_record drop;
  drop.session_id = "s-1";
  drop.version = 8;
  drop.pieces = {piece(0, 1, 1), piece(42, 2, 2)};
  auto err = store->save_drop(drop);
  EXPECT_EQ(puzzle::code_of(err), errc::invalid_argument);
  expect_same(load_ok(*store, "s-1"), s);
  EXPECT_EQ(store->stats().transactions, 1u);
  EXPECT_EQ(store->stats().rollbacks, 1u);
}

// -- chat and participants ----------------------------------------------------

TEST_P(SociStore, AppendChatKeepsOnlyTheNewestLines) {
  auto s = sample_session();
  ASSERT_FALSE(store->put_session(s));
  std::vector<chat_entry> lines;
  for (int i = 0; i < 5; ++i)
    lines.push_back({"n-" + std::to_string(i), "u-2", "B",
                     "line " + std::to_string(i) + " \xF0\x9F\xA7\xA9", 1'800'000'000'000 + i});
  for (const auto& line : lines)
    ASSERT_FALSE(store->append_chat("s-1", line, 4));
  auto loaded = load_ok(*store, "s-1");
  ASSERT_EQ(loaded.chat.size(), 4u);
  EXPECT_EQ(loaded.chat[0].id, "n-1");
  EXPECT_EQ(loaded.chat[1].id, "n-2");
  EXPECT_EQ(loaded.chat[2].id, "n-3");
  EXPECT_EQ(loaded.chat[3].id, "n-4");
  EXPECT_EQ(loaded.chat[3].message, "line 4 \xF0\x9F\xA7\xA9");
  EXPECT_EQ(loaded.chat[3].timestamp, 1'800'000'000'004);
  EXPECT_EQ(loaded.chat[3].user_id, "u-2");
  EXPECT_EQ(loaded.chat[3].username, "B");
  EXPECT_EQ(count_rows(db_file(), "chat", "s-1"), 4);
}

TEST_P(SociStore, AppendChatContinuesAfterTheStoredLines) {
  auto s = sample_session();
  ASSERT_FALSE(store->put_session(s));
  chat_entry line{"c-4", "u-1", "Ann", "after", 1'700'000'000'400};
  ASSERT_FALSE(store->append_chat("s-1", line, 100));
  auto expected = s;
  expected.chat.push_back(line);
  expect_same(load_ok(*store, "s-1"), expected);
}

TEST_P(SociStore, AppendChatToUnknownSessionIsSessionNotFound) {
  auto err = store->append_chat("ghost", {"c", "u", "n", "m", 1}, 10);
  EXPECT_EQ(puzzle::code_of(err), errc::session_not_found);
  EXPECT_EQ(count_rows(db_file(), "chat", "ghost"), 0);
}

TEST_P(SociStore, UpsertParticipantInsertsThenUpdates) {
  auto s = sample_session();
  s.participants.clear();
  ASSERT_FALSE(store->put_session(s));
  participant ann{"u-1", "Ann", "#111111", 100, true};
  participant bob{"u-2", "Bob", "#222222", 50, true};
  ASSERT_FALSE(store->upsert_participant("s-1", ann));
  ASSERT_FALSE(store->upsert_participant("s-1", bob));
  participant ann2{"u-1", "Annie \xF0\x9F\x90\xB1", "#333333", 200, true};
  ASSERT_FALSE(store->upsert_participant("s-1", ann2));
  auto loaded = load_ok(*store, "s-1");
  ASSERT_EQ(loaded.participants.size(), 2u);
  EXPECT_EQ(loaded.participants[0].user_id, "u-2");
  EXPECT_EQ(loaded.participants[0].username, "Bob");
  EXPECT_EQ(loaded.participants[0].color, "#222222");
  EXPECT_EQ(loaded.participants[0].joined_at, 50);
  EXPECT_FALSE(loaded.participants[0].online);
  EXPECT_EQ(loaded.participants[1].user_id, "u-1");
  EXPECT_EQ(loaded.participants[1].username, "Annie \xF0\x9F\x90\xB1");
  EXPECT_EQ(loaded.participants[1].color, "#333333");
  EXPECT_EQ(loaded.participants[1].joined_at, 200);
  EXPECT_FALSE(loaded.participants[1].online);
  auto err = store->upsert_participant("ghost", ann);
  EXPECT_EQ(puzzle::code_of(err), errc::session_not_found);
}

// -- list and remove ----------------------------------------------------------

TEST_P(SociStore, ListSummarisesNewestFirstWithPlacedCounts) {
  auto a = sample_session("a"); // pieces 3 and 4 placed
  a.created_at = 100;
  auto b = sample_session("b");
  b.created_at = 300;
  b.is_public = true;
  b.completed_at = 999;
  for (auto& p : b.pieces)
    p.placed = true;
  auto c = sample_session("c");
  c.created_at = 200;
  c.pieces.clear();
  for (const auto& s : {a, b, c})
    ASSERT_FALSE(store->put_session(s));
  auto summaries = store->list();
  ASSERT_TRUE(summaries) << puzzle::message_of(summaries.error());
  ASSERT_EQ(summaries->size(), 3u);
  const auto& first = (*summaries)[0];
  EXPECT_EQ(first.session_id, "b");
  EXPECT_EQ(first.name, b.name);
  EXPECT_EQ(first.owner_id, "owner-42");
  EXPECT_TRUE(first.is_public);
  EXPECT_EQ(first.image.id, "img-7");
  EXPECT_EQ(first.image.url, "/images/berg see.jpg?x=1&y=2");
  EXPECT_EQ(first.image.width, 4032);
  EXPECT_EQ(first.image.height, 3024);
  EXPECT_EQ(first.rows, 2);
  EXPECT_EQ(first.cols, 3);
  EXPECT_EQ(first.piece_count, 6);
  EXPECT_EQ(first.placed_count, 6);
  EXPECT_EQ(first.participants_online, 0);
  EXPECT_TRUE(first.is_completed);
  EXPECT_EQ(first.created_at, 300);
  const auto& second = (*summaries)[1];
  EXPECT_EQ(second.session_id, "c");
  EXPECT_FALSE(second.is_public);
  EXPECT_EQ(second.piece_count, 0);
  EXPECT_EQ(second.placed_count, 0);
  EXPECT_FALSE(second.is_completed);
  EXPECT_EQ(second.created_at, 200);
  const auto& third = (*summaries)[2];
  EXPECT_EQ(third.session_id, "a");
  EXPECT_EQ(third.piece_count, 6);
  EXPECT_EQ(third.placed_count, 2);
  EXPECT_FALSE(third.is_completed);
  EXPECT_EQ(third.created_at, 100);
}

TEST_P(SociStore, ListOfEmptyStoreIsEmpty) {
  auto summaries = store->list();
  ASSERT_TRUE(summaries);
  EXPECT_TRUE(summaries->empty());
}

TEST_P(SociStore, RemoveDeletesTheSessionAndAllItsRows) {
  ASSERT_FALSE(store->put_session(sample_session("s-1")));
  ASSERT_FALSE(store->put_session(sample_session("s-2")));
  auto removed = store->remove("s-1");
  ASSERT_TRUE(removed);
  EXPECT_TRUE(*removed);
  auto loaded = store->load("s-1");
  ASSERT_TRUE(loaded);
  EXPECT_FALSE(loaded->has_value());
  EXPECT_EQ(count_rows(db_file(), "pieces", "s-1"), 0);
  EXPECT_EQ(count_rows(db_file(), "participants", "s-1"), 0);
  EXPECT_EQ(count_rows(db_file(), "chat", "s-1"), 0);
  EXPECT_EQ(count_rows(db_file(), "pieces", "s-2"), 6);
  auto again = store->remove("s-1");
  ASSERT_TRUE(again);
  EXPECT_FALSE(*again);
  auto summaries = store->list();
  ASSERT_TRUE(summaries);
  ASSERT_EQ(summaries->size(), 1u);
  EXPECT_EQ((*summaries)[0].session_id, "s-2");
}

// -- batches ------------------------------------------------------------------

TEST_P(SociStore, BatchCommitsSeveralWritesInOneTransaction) {
  ASSERT_FALSE(store->put_session(sample_session()));
  auto before = store->stats();
  ASSERT_FALSE(store->begin());
  EXPECT_TRUE(store->in_batch());
  for (int i = 0; i < 10; ++i)
    ASSERT_FALSE(store->append_chat("s-1", {"b-" + std::to_string(i), "u-1", "Ann", "x", i}, 100));
  drop_record drop{"s-1", 12, {piece(0, 9, 9)}, 5, 0};
  ASSERT_FALSE(store->save_drop(drop));
  ASSERT_FALSE(store->upsert_participant("s-1", {"u-9", "Z", "#999", 7, true}));
  ASSERT_FALSE(store->commit());
  EXPECT_FALSE(store->in_batch());
  auto after = store->stats();
  EXPECT_EQ(after.transactions, before.transactions + 1);
  EXPECT_EQ(after.rollbacks, before.rollbacks);
  auto loaded = load_ok(*store, "s-1");
  EXPECT_EQ(loaded.chat.size(), 13u);
  EXPECT_EQ(loaded.chat.back().id, "b-9");
  EXPECT_EQ(loaded.version, 12u);
  EXPECT_EQ(loaded.started_at, 5);
  EXPECT_EQ(loaded.pieces[0].x, 9.0);
  ASSERT_EQ(loaded.participants.size(), 3u);
  EXPECT_EQ(loaded.participants[0].user_id, "u-9");
}

TEST_P(SociStore, BatchIsolatesAFailingWrite) {
  ASSERT_FALSE(store->begin());
  ASSERT_FALSE(store->put_session(sample_session("good")));
  auto bad = sample_session("bad");
  bad.pieces.push_back(bad.pieces.front()); // duplicate primary key
  auto put_err = store->put_session(bad);
  EXPECT_EQ(puzzle::code_of(put_err), errc::internal);
  auto drop_err = store->save_drop({"ghost", 1, {}, 0, 0});
  EXPECT_EQ(puzzle::code_of(drop_err), errc::session_not_found);
  chat_entry line{"c-9", "u-1", "Ann", "still here", 42};
  ASSERT_FALSE(store->append_chat("good", line, 100));
  ASSERT_FALSE(store->commit());
  EXPECT_EQ(store->stats().transactions, 1u);
  auto expected = sample_session("good");
  expected.chat.push_back(line);
  expect_same(load_ok(*store, "good"), expected);
  auto missing = store->load("bad");
  ASSERT_TRUE(missing);
  EXPECT_FALSE(missing->has_value());
  EXPECT_EQ(count_rows(db_file(), "pieces", "bad"), 0);
}

TEST_P(SociStore, RollbackDiscardsTheWholeBatch) {
  ASSERT_FALSE(store->begin());
  ASSERT_FALSE(store->put_session(sample_session()));
  store->rollback();
  EXPECT_FALSE(store->in_batch());
  auto loaded = store->load("s-1");
  ASSERT_TRUE(loaded);
  EXPECT_FALSE(loaded->has_value());
  EXPECT_EQ(store->stats().transactions, 0u);
  EXPECT_EQ(store->stats().rollbacks, 1u);
}

TEST_P(SociStore, BatchMisuseIsAnError) {
  EXPECT_EQ(puzzle::code_of(store->commit()), errc::internal);
  ASSERT_FALSE(store->begin());
  EXPECT_EQ(puzzle::code_of(store->begin()), errc::internal);
  auto migrated = store->migrate();
  EXPECT_FALSE(migrated);
  ASSERT_FALSE(store->commit());
}

// -- durability ---------------------------------------------------------------

TEST_P(SociStore, ANewInstanceOnTheSameFileLoadsTheSameState) {
  auto s = sample_session();
  ASSERT_FALSE(store->put_session(s));
  ASSERT_FALSE(store->begin());
  drop_record drop{"s-1", 9, {piece(2, -3.5, 4.25, 180, false, 1)}, 11, 0};
  ASSERT_FALSE(store->save_drop(drop));
  participant cid{"u-3", "Cid", "#00ff00", 1'700'000'000'900, true};
  ASSERT_FALSE(store->upsert_participant("s-1", cid));
  chat_entry line{"c-4", "u-3", "Cid", "\xF0\x9F\x92\xBE saved", 77};
  ASSERT_FALSE(store->append_chat("s-1", line, 100));
  ASSERT_FALSE(store->commit());
  store.reset();
  auto reopened = open_url(db->url());
  ASSERT_NE(reopened, nullptr);
  auto expected = s;
  expected.version = 9;
  expected.started_at = 11;
  expected.completed_at = 0;
  expected.pieces[2] = drop.pieces[0];
  cid.online = false;
  expected.participants.push_back(cid);
  expected.chat.push_back(line);
  expect_same(load_ok(*reopened, "s-1"), expected);
  EXPECT_TRUE(reopened->ping());
}

// -- images -------------------------------------------------------------------

/// Every byte value, NULs and invalid UTF-8 included, `n` bytes long.
std::string binary_bytes(size_t n, unsigned seed = 0) {
  std::string out(n, '\0');
  for (size_t i = 0; i < n; ++i)
    out[i] = static_cast<char>((i * 31 + seed) & 0xff);
  return out;
}

puzzle::image_record sample_image(const std::string& id, int64_t created_at, size_t size = 1000) {
  puzzle::image_record x;
  x.info.id = id;
  x.info.name = "Photo \xF0\x9F\x93\xB7 " + id;
  x.info.content_type = "image/png";
  x.info.width = 640;
  x.info.height = 480;
  x.info.byte_count = size;
  x.info.thumbnail_content_type = "image/jpeg";
  x.info.owner_id = "u-" + id;
  x.info.created_at = created_at;
  x.original = puzzle::shared_bytes{binary_bytes(size)};
  x.thumbnail = puzzle::shared_bytes{binary_bytes(size / 10 + 1, 7)};
  return x;
}

void expect_same_info(const puzzle::image_info& actual, const puzzle::image_info& expected) {
  EXPECT_EQ(actual.id, expected.id);
  EXPECT_EQ(actual.name, expected.name);
  EXPECT_EQ(actual.content_type, expected.content_type);
  EXPECT_EQ(actual.width, expected.width);
  EXPECT_EQ(actual.height, expected.height);
  EXPECT_EQ(actual.byte_count, expected.byte_count);
  EXPECT_EQ(actual.thumbnail_content_type, expected.thumbnail_content_type);
  EXPECT_EQ(actual.owner_id, expected.owner_id);
  EXPECT_EQ(actual.created_at, expected.created_at);
}

/// Stores `x`, failing the test with the store's message.
void put_image_ok(soci_store& store, const puzzle::image_record& x, uint32_t max_stored = 10) {
  auto err = store.put_image(x, max_stored);
  ASSERT_FALSE(err) << puzzle::message_of(err);
}

TEST_P(SociStore, PutImageThenLoadRoundTripsMetadataAndBytes) {
  auto x = sample_image("i-1", 1'700'000'000'123, 3 << 20);
  put_image_ok(*store, x, 10);
  auto info = store->load_image_info("i-1");
  ASSERT_TRUE(info) << puzzle::message_of(info.error());
  ASSERT_TRUE(*info);
  expect_same_info(**info, x.info);
  auto original = store->load_image_file("i-1", puzzle::image_part::original);
  ASSERT_TRUE(original) << puzzle::message_of(original.error());
  ASSERT_TRUE(*original);
  EXPECT_EQ((*original)->content_type, "image/png");
  EXPECT_TRUE((*original)->bytes == x.original.str()) << "the original differs";
  auto thumb = store->load_image_file("i-1", puzzle::image_part::thumbnail);
  ASSERT_TRUE(thumb && *thumb);
  EXPECT_EQ((*thumb)->content_type, "image/jpeg");
  EXPECT_TRUE((*thumb)->bytes == x.thumbnail.str()) << "the thumbnail differs";
  // Stored as binary, not text.
  auto sql = db->raw();
  std::string type;
  if (GetParam() == backend::sqlite) {
    *sql << "SELECT typeof(bytes) || ',' || typeof(thumbnail) FROM images", soci::into(type);
    EXPECT_EQ(type, "blob,blob");
  } else {
    *sql << "SELECT pg_typeof(bytes) || ',' || pg_typeof(thumbnail) FROM images", soci::into(type);
    EXPECT_EQ(type, "bytea,bytea");
    long long stored = 0;
    *sql << "SELECT OCTET_LENGTH(bytes) FROM images", soci::into(stored);
    EXPECT_EQ(stored, 3 << 20);
  }
}

TEST_P(SociStore, ListImagesNewestFirstWithSizes) {
  auto empty = store->list_images();
  ASSERT_TRUE(empty);
  EXPECT_TRUE(empty->empty());
  put_image_ok(*store, sample_image("old", 10, 100), 10);
  put_image_ok(*store, sample_image("new", 30, 300), 10);
  put_image_ok(*store, sample_image("mid", 20, 200), 10);
  auto list = store->list_images();
  ASSERT_TRUE(list) << puzzle::message_of(list.error());
  ASSERT_EQ(list->size(), 3u);
  EXPECT_EQ((*list)[0].id, "new");
  EXPECT_EQ((*list)[1].id, "mid");
  EXPECT_EQ((*list)[2].id, "old");
  expect_same_info((*list)[0], sample_image("new", 30, 300).info);
  EXPECT_EQ((*list)[2].byte_count, 100u);
}

TEST_P(SociStore, UnknownImagesAreEmpty) {
  auto info = store->load_image_info("nope");
  ASSERT_TRUE(info);
  EXPECT_FALSE(*info);
  auto file = store->load_image_file("nope", puzzle::image_part::thumbnail);
  ASSERT_TRUE(file);
  EXPECT_FALSE(*file);
}

TEST_P(SociStore, PutImageBeyondMaxStoredIsLimitExceeded) {
  put_image_ok(*store, sample_image("a", 1), 2);
  put_image_ok(*store, sample_image("b", 2), 2);
  auto err = store->put_image(sample_image("c", 3), 2);
  EXPECT_EQ(puzzle::code_of(err), errc::limit_exceeded);
  EXPECT_EQ(puzzle::message_of(err), "the store holds 2 images; at most 2 (images.max-stored)");
  auto list = store->list_images();
  ASSERT_TRUE(list);
  EXPECT_EQ(list->size(), 2u);
}

TEST_P(SociStore, PutImageRefusesDuplicateIdsAndEmptyFiles) {
  put_image_ok(*store, sample_image("a", 1), 10);
  auto again = store->put_image(sample_image("a", 2), 10);
  EXPECT_EQ(puzzle::code_of(again), errc::internal);
  auto empty = sample_image("e", 3);
  empty.original = puzzle::shared_bytes{};
  EXPECT_EQ(puzzle::code_of(store->put_image(empty, 10)), errc::invalid_argument);
  auto info = store->load_image_info("a");
  ASSERT_TRUE(info && *info);
  EXPECT_EQ((*info)->created_at, 1);
}

TEST_P(SociStore, ImagesSurviveAReopen) {
  auto x = sample_image("keep", 5, 50'000);
  put_image_ok(*store, x, 10);
  store.reset();
  auto reopened = open_url(db->url());
  ASSERT_NE(reopened, nullptr);
  auto file = reopened->load_image_file("keep", puzzle::image_part::original);
  ASSERT_TRUE(file && *file);
  EXPECT_TRUE((*file)->bytes == x.original.str());
}

// -- PostgreSQL: pool and reconnect -------------------------------------------

/// PostgreSQL only: SQLite has no connection to lose.
class SociStorePostgresql : public SociStore {};

INSTANTIATE_TEST_SUITE_P(Postgresql, SociStorePostgresql, ::testing::Values(backend::postgresql),
                         puzzle::test::backend_name);

TEST_P(SociStorePostgresql, OpensThePoolAndLendsTheOtherConnections) {
  store.reset();
  puzzle::persistence::store_open_options options;
  options.pool_size = 3;
  auto opened = soci_store::open(db->url(), options);
  ASSERT_TRUE(opened) << puzzle::message_of(opened.error());
  auto& pooled = **opened;
  EXPECT_EQ(pooled.pool_size(), 3u);
  EXPECT_EQ(pooled.backend(), puzzle::persistence::store_backend::postgresql);
  ASSERT_TRUE(pooled.migrate());
  // The store holds one connection; two more can be leased at once.
  soci::session first{*pooled.pool()};
  soci::session second{*pooled.pool()};
  long long open_connections = 0;
  first << "SELECT COUNT(*) FROM pg_stat_activity WHERE datname = current_database()",
      soci::into(open_connections);
  EXPECT_EQ(open_connections, 3);
  int one = 0;
  second << "SELECT 1", soci::into(one);
  EXPECT_EQ(one, 1);
  EXPECT_TRUE(pooled.ping());
}

TEST_P(SociStorePostgresql, AWriteOnABrokenConnectionReconnectsAndRunsOnce) {
  ASSERT_FALSE(store->put_session(sample_session()));
  // Warm the prepared statements: they belong to the connection that dies.
  ASSERT_FALSE(store->save_drop({"s-1", 2, {piece(0, 1, 1)}, 0, 0}));
  db->kill_connections();
  auto err = store->save_drop({"s-1", 3, {piece(0, 7.5, 8.5)}, 4, 0});
  ASSERT_FALSE(err) << puzzle::message_of(err);
  EXPECT_EQ(store->stats().reconnects, 1u);
  auto loaded = load_ok(*store, "s-1");
  EXPECT_EQ(loaded.version, 3u);
  EXPECT_EQ(loaded.pieces[0].x, 7.5);
  // Exactly once: the chat line of a retried write is not doubled.
  db->kill_connections();
  ASSERT_FALSE(store->append_chat("s-1", {"c-once", "u-1", "Ann", "once", 9}, 100));
  loaded = load_ok(*store, "s-1");
  ASSERT_EQ(loaded.chat.size(), 4u);
  EXPECT_EQ(loaded.chat.back().id, "c-once");
  EXPECT_EQ(store->stats().reconnects, 2u);
}

TEST_P(SociStorePostgresql, AReadAndAPingOnABrokenConnectionReconnect) {
  ASSERT_FALSE(store->put_session(sample_session()));
  db->kill_connections();
  auto loaded = store->load("s-1");
  ASSERT_TRUE(loaded) << puzzle::message_of(loaded.error());
  ASSERT_TRUE(loaded->has_value());
  db->kill_connections();
  EXPECT_TRUE(store->ping());
  EXPECT_EQ(store->stats().reconnects, 2u);
}

TEST_P(SociStorePostgresql, ABatchBrokenBeforeItsCommitMayRunAgain) {
  ASSERT_FALSE(store->put_session(sample_session()));
  ASSERT_FALSE(store->begin());
  ASSERT_FALSE(store->append_chat("s-1", {"b-1", "u-1", "Ann", "one", 1}, 100));
  db->kill_connections();
  auto err = store->append_chat("s-1", {"b-2", "u-1", "Ann", "two", 2}, 100);
  EXPECT_EQ(puzzle::code_of(err), errc::internal);
  EXPECT_TRUE(store->commit());
  EXPECT_FALSE(store->in_batch());
  ASSERT_TRUE(store->retry_batch());
  // Nothing of the broken batch was stored; run it again.
  ASSERT_FALSE(store->begin());
  ASSERT_FALSE(store->append_chat("s-1", {"b-1", "u-1", "Ann", "one", 1}, 100));
  ASSERT_FALSE(store->append_chat("s-1", {"b-2", "u-1", "Ann", "two", 2}, 100));
  ASSERT_FALSE(store->commit());
  auto loaded = load_ok(*store, "s-1");
  ASSERT_EQ(loaded.chat.size(), 5u);
  EXPECT_EQ(loaded.chat[3].id, "b-1");
  EXPECT_EQ(loaded.chat[4].id, "b-2");
}

TEST_P(SociStorePostgresql, AFailureThatIsNotTheConnectionIsNotRetried) {
  ASSERT_FALSE(store->put_session(sample_session()));
  auto bad = sample_session("bad");
  bad.pieces.push_back(bad.pieces.front()); // duplicate primary key
  EXPECT_EQ(puzzle::code_of(store->put_session(bad)), errc::internal);
  EXPECT_FALSE(store->retry_batch());
  EXPECT_EQ(store->stats().reconnects, 0u);
}

} // namespace
