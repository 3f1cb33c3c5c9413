#include "persistence/store_actor.hpp"

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/binary_deserializer.hpp>
#include <caf/binary_serializer.hpp>
#include <caf/scheduler/test_coordinator.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>
#include <gtest/gtest.h>

#include "actors/caf_errors.hpp"
#include "actors/type_ids.hpp"
#include "tests/unit/persistence/test_database.hpp"

namespace {

using puzzle::chat_entry;
using puzzle::drop_record;
using puzzle::errc;
using puzzle::participant;
using puzzle::session_state;
using puzzle::session_summary;
using puzzle::store_actor;
using puzzle::model::piece_state;
using puzzle::persistence::soci_store;
using puzzle::test::backend;
using puzzle::test::test_database;

// Only a bound on a broken test: every reply here comes within milliseconds.
constexpr auto reply_timeout = std::chrono::seconds(30);

std::unique_ptr<soci_store> open_store(const std::string& url) {
  auto store = soci_store::open(url);
  if (!store) {
    ADD_FAILURE() << puzzle::message_of(store.error());
    return nullptr;
  }
  if (auto applied = (*store)->migrate(); !applied) {
    ADD_FAILURE() << puzzle::message_of(applied.error());
    return nullptr;
  }
  return std::move(*store);
}

session_state make_session(const std::string& id, int32_t pieces = 4) {
  session_state s;
  s.session_id = id;
  s.name = "Puzzle " + id;
  s.owner_id = "owner";
  s.image = {"img", "/img.png", 400, 300};
  s.spec.image_width = 400;
  s.spec.image_height = 300;
  s.spec.rows = 1;
  s.spec.cols = pieces;
  s.spec.seed = 0x8000000000000001ULL;
  for (int32_t i = 0; i < pieces; ++i)
    s.pieces.push_back(piece_state{i, i * 10.5, -i * 0.25, 0, false, i});
  s.created_at = 1'000;
  return s;
}

/// Waits for the reply of `handle` (already sent) as `T` or an error.
template<class T, class Handle>
caf::expected<T> await(Handle& handle) {
  caf::expected<T> result{caf::make_error(caf::sec::runtime_error)};
  handle.receive(
      [&](T& value) {
        result = std::move(value);
      },
      [&](caf::error& err) {
        result = std::move(err);
      });
  return result;
}

caf::actor_system_config& base_config(caf::actor_system_config& cfg) {
  puzzle::register_message_types(cfg);
  cfg.set("logger.file-verbosity", caf::atom("quiet"));
  return cfg;
}

caf::actor_system_config& testing_config(caf::actor_system_config& cfg) {
  base_config(cfg);
  cfg.set("scheduler.policy", caf::atom("testing"));
  return cfg;
}

// -- on the real scheduler, store detached as in production -------------------

class StoreActor : public ::testing::TestWithParam<backend> {
protected:
  StoreActor() : sys(base_config(cfg)), self(sys) {
    // nop
  }

  void SetUp() override {
    db = std::make_unique<test_database>(GetParam());
    if (!db->skip_reason().empty()) GTEST_SKIP() << db->skip_reason();
    auto opened = open_store(db->url());
    ASSERT_NE(opened, nullptr);
    raw = opened.get();
    puzzle::config::store_settings settings;
    settings.group_commit_max = 64;
    store = puzzle::persistence::spawn_store(sys, std::move(opened), settings, true, 5);
  }

  void TearDown() override {
    if (store) {
      self->send_exit(store, caf::exit_reason::user_shutdown);
      self->wait_for(store);
      store = nullptr;
    }
    db.reset();
  }

  bool request_ok(const session_state& s) {
    auto handle = self->request(store, reply_timeout, puzzle::put_atom_v, s);
    auto ok = await<bool>(handle);
    return ok && *ok;
  }

  std::unique_ptr<test_database> db;
  caf::actor_system_config cfg;
  caf::actor_system sys;
  caf::scoped_actor self;
  store_actor store;
  /// Owned by the store actor; only for `stats()`, which is thread-safe.
  soci_store* raw = nullptr;
};

INSTANTIATE_TEST_SUITE_P(Sqlite, StoreActor, ::testing::Values(backend::sqlite),
                         puzzle::test::backend_name);
INSTANTIATE_TEST_SUITE_P(Postgresql, StoreActor, ::testing::Values(backend::postgresql),
                         puzzle::test::backend_name);

TEST_P(StoreActor, WritesSentWithoutWaitingAreAllAcknowledgedAndVisible) {
  ASSERT_TRUE(store);
  ASSERT_TRUE(request_ok(make_session("s", 8)));
  // Saves, joins and chats all reply bool: one handle type.
  std::vector<decltype(self->request(store, reply_timeout, puzzle::save_atom_v, drop_record{}))>
      handles;
  for (int32_t i = 0; i < 8; ++i) {
    drop_record drop;
    drop.session_id = "s";
    drop.version = static_cast<uint64_t>(i) + 1;
    drop.started_at = 500;
    drop.pieces = {piece_state{i, 100.0 + i, 200.0 - i, 0, i % 2 == 0, 0}};
    handles.push_back(self->request(store, reply_timeout, puzzle::save_atom_v, drop));
  }
  for (int i = 0; i < 3; ++i)
    handles.push_back(
        self->request(store, reply_timeout, puzzle::join_atom_v, std::string{"s"},
                      participant{"u-" + std::to_string(i), "user", "#abc", 10 + i, true}));
  for (int i = 0; i < 7; ++i)
    handles.push_back(self->request(store, reply_timeout, puzzle::chat_atom_v, std::string{"s"},
                                    chat_entry{"c-" + std::to_string(i), "u-0", "user",
                                               "message " + std::to_string(i), 100 + i}));
  ASSERT_EQ(handles.size(), 18u);
  for (auto& handle : handles) {
    auto ok = await<bool>(handle);
    ASSERT_TRUE(ok) << puzzle::message_of(ok.error());
    EXPECT_TRUE(*ok);
  }
  auto load = self->request(store, reply_timeout, puzzle::load_atom_v, std::string{"s"});
  auto loaded = await<session_state>(load);
  ASSERT_TRUE(loaded) << puzzle::message_of(loaded.error());
  EXPECT_EQ(loaded->version, 8u);
  EXPECT_EQ(loaded->started_at, 500);
  ASSERT_EQ(loaded->pieces.size(), 8u);
  for (int32_t i = 0; i < 8; ++i) {
    EXPECT_EQ(loaded->pieces[static_cast<size_t>(i)].x, 100.0 + i);
    EXPECT_EQ(loaded->pieces[static_cast<size_t>(i)].y, 200.0 - i);
    EXPECT_EQ(loaded->pieces[static_cast<size_t>(i)].placed, i % 2 == 0);
    EXPECT_EQ(loaded->pieces[static_cast<size_t>(i)].group_id, 0);
  }
  ASSERT_EQ(loaded->participants.size(), 3u);
  EXPECT_EQ(loaded->participants[0].user_id, "u-0");
  EXPECT_EQ(loaded->participants[2].user_id, "u-2");
  EXPECT_FALSE(loaded->participants[2].online);
  // chat_history is 5: the newest five of seven.
  ASSERT_EQ(loaded->chat.size(), 5u);
  EXPECT_EQ(loaded->chat.front().id, "c-2");
  EXPECT_EQ(loaded->chat.back().id, "c-6");
  EXPECT_EQ(loaded->chat.back().message, "message 6");
}

TEST_P(StoreActor, LoadRightAfterAWriteSeesIt) {
  ASSERT_TRUE(store);
  auto s = make_session("fresh");
  auto put = self->request(store, reply_timeout, puzzle::put_atom_v, s);
  auto load = self->request(store, reply_timeout, puzzle::load_atom_v, std::string{"fresh"});
  auto loaded = await<session_state>(load);
  ASSERT_TRUE(loaded) << puzzle::message_of(loaded.error());
  EXPECT_EQ(loaded->session_id, "fresh");
  EXPECT_EQ(loaded->name, "Puzzle fresh");
  EXPECT_EQ(loaded->spec.seed, 0x8000000000000001ULL);
  ASSERT_EQ(loaded->pieces.size(), 4u);
  EXPECT_EQ(loaded->pieces[3].x, 31.5);
  EXPECT_EQ(loaded->pieces[3].y, -0.75);
  auto ok = await<bool>(put);
  ASSERT_TRUE(ok);
  EXPECT_TRUE(*ok);
}

TEST_P(StoreActor, LoadOfUnknownSessionIsSessionNotFound) {
  ASSERT_TRUE(store);
  auto load = self->request(store, reply_timeout, puzzle::load_atom_v, std::string{"missing"});
  auto loaded = await<session_state>(load);
  ASSERT_FALSE(loaded);
  EXPECT_EQ(puzzle::code_of(loaded.error()), errc::session_not_found);
  EXPECT_EQ(puzzle::message_of(loaded.error()), "session missing not found");
}

TEST_P(StoreActor, WriteToUnknownSessionFailsAloneInItsBatch) {
  ASSERT_TRUE(store);
  ASSERT_TRUE(request_ok(make_session("known")));
  auto good = self->request(store, reply_timeout, puzzle::chat_atom_v, std::string{"known"},
                            chat_entry{"c", "u", "n", "hi", 1});
  auto bad = self->request(store, reply_timeout, puzzle::save_atom_v,
                           drop_record{"unknown", 1, {}, 0, 0});
  auto after = self->request(store, reply_timeout, puzzle::join_atom_v, std::string{"known"},
                             participant{"u", "n", "#fff", 1, true});
  auto good_ok = await<bool>(good);
  auto bad_ok = await<bool>(bad);
  auto after_ok = await<bool>(after);
  ASSERT_TRUE(good_ok);
  EXPECT_TRUE(*good_ok);
  ASSERT_FALSE(bad_ok);
  EXPECT_EQ(puzzle::code_of(bad_ok.error()), errc::session_not_found);
  EXPECT_EQ(puzzle::message_of(bad_ok.error()), "session unknown not found");
  ASSERT_TRUE(after_ok);
  EXPECT_TRUE(*after_ok);
}

TEST_P(StoreActor, ListDeleteAndPing) {
  ASSERT_TRUE(store);
  auto older = make_session("older");
  older.created_at = 10;
  auto newer = make_session("newer", 6);
  newer.created_at = 20;
  newer.pieces[1].placed = true;
  auto put_older = self->request(store, reply_timeout, puzzle::put_atom_v, older);
  auto put_newer = self->request(store, reply_timeout, puzzle::put_atom_v, newer);
  auto list = self->request(store, reply_timeout, puzzle::list_atom_v);
  auto summaries = await<std::vector<session_summary>>(list);
  ASSERT_TRUE(summaries) << puzzle::message_of(summaries.error());
  ASSERT_EQ(summaries->size(), 2u);
  EXPECT_EQ((*summaries)[0].session_id, "newer");
  EXPECT_EQ((*summaries)[0].piece_count, 6);
  EXPECT_EQ((*summaries)[0].placed_count, 1);
  EXPECT_EQ((*summaries)[0].created_at, 20);
  EXPECT_EQ((*summaries)[1].session_id, "older");
  EXPECT_EQ((*summaries)[1].piece_count, 4);
  EXPECT_EQ((*summaries)[1].placed_count, 0);
  EXPECT_TRUE(*await<bool>(put_older));
  EXPECT_TRUE(*await<bool>(put_newer));
  auto del = self->request(store, reply_timeout, puzzle::delete_atom_v, std::string{"older"});
  auto deleted = await<bool>(del);
  ASSERT_TRUE(deleted);
  EXPECT_TRUE(*deleted);
  auto del_again = self->request(store, reply_timeout, puzzle::delete_atom_v, std::string{"older"});
  auto deleted_again = await<bool>(del_again);
  ASSERT_TRUE(deleted_again);
  EXPECT_FALSE(*deleted_again);
  auto ping = self->request(store, reply_timeout, puzzle::ping_atom_v);
  auto pong = await<bool>(ping);
  ASSERT_TRUE(pong);
  EXPECT_TRUE(*pong);
}

TEST_P(StoreActor, StoresListsAndServesImagesWithoutCopyingOnTheWay) {
  ASSERT_TRUE(store);
  puzzle::image_record x;
  x.info = {"img-1", "Photo", "image/jpeg", 30, 20, 5, "image/png", "u-1", 99};
  x.original = puzzle::shared_bytes{std::string{"a\0b\xff\x00", 5}};
  x.thumbnail = puzzle::shared_bytes{"thumb"};
  auto put = self->request(store, reply_timeout, puzzle::put_atom_v, x);
  auto ok = await<bool>(put);
  ASSERT_TRUE(ok) << puzzle::message_of(ok.error());
  EXPECT_TRUE(*ok);
  auto list = self->request(store, reply_timeout, puzzle::list_atom_v, puzzle::image_atom_v);
  auto infos = await<std::vector<puzzle::image_info>>(list);
  ASSERT_TRUE(infos) << puzzle::message_of(infos.error());
  ASSERT_EQ(infos->size(), 1u);
  EXPECT_EQ((*infos)[0].name, "Photo");
  EXPECT_EQ((*infos)[0].byte_count, 5u);
  auto one = self->request(store, reply_timeout, puzzle::load_atom_v, puzzle::image_atom_v,
                           std::string{"img-1"});
  auto info = await<puzzle::image_info>(one);
  ASSERT_TRUE(info);
  EXPECT_EQ(info->width, 30);
  EXPECT_EQ(info->height, 20);
  auto file = self->request(store, reply_timeout, puzzle::load_atom_v, puzzle::image_atom_v,
                            std::string{"img-1"}, puzzle::image_part::original);
  auto bytes = await<puzzle::image_file>(file);
  ASSERT_TRUE(bytes);
  EXPECT_EQ(bytes->content_type, "image/jpeg");
  EXPECT_EQ(bytes->bytes, x.original.str());
  auto thumb = self->request(store, reply_timeout, puzzle::load_atom_v, puzzle::image_atom_v,
                             std::string{"img-1"}, puzzle::image_part::thumbnail);
  auto thumb_bytes = await<puzzle::image_file>(thumb);
  ASSERT_TRUE(thumb_bytes);
  EXPECT_EQ(thumb_bytes->bytes, "thumb");
  auto missing = self->request(store, reply_timeout, puzzle::load_atom_v, puzzle::image_atom_v,
                               std::string{"nope"});
  auto not_found = await<puzzle::image_info>(missing);
  ASSERT_FALSE(not_found);
  EXPECT_EQ(puzzle::code_of(not_found.error()), errc::image_not_found);
  auto missing_file = self->request(store, reply_timeout, puzzle::load_atom_v, puzzle::image_atom_v,
                                    std::string{"nope"}, puzzle::image_part::thumbnail);
  auto no_file = await<puzzle::image_file>(missing_file);
  ASSERT_FALSE(no_file);
  EXPECT_EQ(puzzle::code_of(no_file.error()), errc::image_not_found);
}

TEST(SharedBytes, SerialisesByValueAndLoadsIntoANewBuffer) {
  puzzle::image_record x;
  x.info.id = "i";
  x.original = puzzle::shared_bytes{std::string{"\x89PNG\0data", 9}};
  x.thumbnail = puzzle::shared_bytes{"t"};
  std::vector<char> buf;
  caf::actor_system_config cfg;
  caf::actor_system sys{testing_config(cfg)};
  caf::binary_serializer sink{sys, buf};
  ASSERT_FALSE(sink(x));
  puzzle::image_record y;
  caf::binary_deserializer source{sys, buf};
  ASSERT_FALSE(source(y));
  EXPECT_EQ(y.info.id, "i");
  EXPECT_EQ(y.original.str(), x.original.str());
  EXPECT_EQ(y.thumbnail.str(), "t");
  EXPECT_NE(y.original.data, x.original.data);
}

// -- deterministic: the test coordinator decides when the store runs ----------

class StoreActorGroupCommit : public ::testing::TestWithParam<backend> {
protected:
  StoreActorGroupCommit()
      : sys(testing_config(cfg)),
        sched(dynamic_cast<caf::scheduler::test_coordinator&>(sys.scheduler())), self(sys, true) {
    // nop
  }

  ~StoreActorGroupCommit() override {
    if (store) {
      caf::anon_send_exit(store, caf::exit_reason::user_shutdown);
      sched.run();
    }
  }

  void SetUp() override {
    db = std::make_unique<test_database>(GetParam());
    if (!db->skip_reason().empty()) GTEST_SKIP() << db->skip_reason();
  }

  void TearDown() override {
    if (store) {
      caf::anon_send_exit(store, caf::exit_reason::user_shutdown);
      sched.run();
      store = nullptr;
    }
  }

  /// Spawns the store on the test scheduler and lets it start.
  void spawn(uint32_t group_commit_max) {
    auto opened = open_store(db->url());
    ASSERT_NE(opened, nullptr);
    raw = opened.get();
    puzzle::config::store_settings settings;
    settings.group_commit_max = group_commit_max;
    store = puzzle::persistence::spawn_store(sys, std::move(opened), settings, false, 1000);
    sched.run();
    auto put = self->request(store, reply_timeout, puzzle::put_atom_v, make_session("g"));
    sched.run();
    auto ok = await<bool>(put);
    ASSERT_TRUE(ok);
    ASSERT_TRUE(*ok);
  }

  using chat_handle = decltype(std::declval<caf::scoped_actor&>()->request(
      std::declval<store_actor&>(), reply_timeout, puzzle::chat_atom_v, std::string{},
      chat_entry{}));

  /// Sends `n` chat lines without letting the store run.
  std::vector<chat_handle> send_chat(int n) {
    std::vector<chat_handle> handles;
    for (int i = 0; i < n; ++i)
      handles.push_back(self->request(store, reply_timeout, puzzle::chat_atom_v, std::string{"g"},
                                      chat_entry{"c-" + std::to_string(i), "u", "n", "m", i}));
    return handles;
  }

  void expect_all_true(std::vector<chat_handle>& handles) {
    for (auto& handle : handles) {
      auto ok = await<bool>(handle);
      ASSERT_TRUE(ok) << puzzle::message_of(ok.error());
      EXPECT_TRUE(*ok);
    }
  }

  std::unique_ptr<test_database> db;
  caf::actor_system_config cfg;
  caf::actor_system sys;
  caf::scheduler::test_coordinator& sched;
  caf::scoped_actor self;
  store_actor store;
  soci_store* raw = nullptr; ///< Owned by the store actor; same thread.
};

TEST_P(StoreActorGroupCommit, HundredQueuedWritesCommitInOneTransaction) {
  spawn(512);
  auto before = raw->stats().transactions;
  auto handles = send_chat(100);
  EXPECT_EQ(raw->stats().transactions, before);
  sched.run();
  EXPECT_EQ(raw->stats().transactions, before + 1);
  EXPECT_EQ(raw->stats().rollbacks, 0u);
  expect_all_true(handles);
  auto load = self->request(store, reply_timeout, puzzle::load_atom_v, std::string{"g"});
  sched.run();
  auto loaded = await<session_state>(load);
  ASSERT_TRUE(loaded);
  ASSERT_EQ(loaded->chat.size(), 100u);
  EXPECT_EQ(loaded->chat.front().id, "c-0");
  EXPECT_EQ(loaded->chat.back().id, "c-99");
  EXPECT_EQ(raw->stats().transactions, before + 1);
}

TEST_P(StoreActorGroupCommit, BatchesAreCappedAtGroupCommitMax) {
  spawn(10);
  auto before = raw->stats().transactions;
  auto handles = send_chat(100);
  sched.run();
  EXPECT_EQ(raw->stats().transactions, before + 10);
  expect_all_true(handles);
}

TEST_P(StoreActorGroupCommit, ReadFlushesPendingWritesFirst) {
  spawn(512);
  auto before = raw->stats().transactions;
  auto handles = send_chat(3);
  auto load = self->request(store, reply_timeout, puzzle::load_atom_v, std::string{"g"});
  // Run the three writes and the load only: the flush_atom stays queued.
  for (int i = 0; i < 4; ++i)
    ASSERT_TRUE(sched.try_run_once());
  EXPECT_EQ(raw->stats().transactions, before + 1);
  auto loaded = await<session_state>(load);
  ASSERT_TRUE(loaded);
  ASSERT_EQ(loaded->chat.size(), 3u);
  EXPECT_EQ(loaded->chat[2].id, "c-2");
  expect_all_true(handles);
  sched.run(); // the late flush_atom finds nothing to do
  EXPECT_EQ(raw->stats().transactions, before + 1);
}

TEST_P(StoreActorGroupCommit, ExitCommitsPendingWrites) {
  spawn(512);
  auto handles = send_chat(3);
  caf::anon_send_exit(store, caf::exit_reason::user_shutdown);
  sched.run();
  raw = nullptr; // gone with the actor
  store = nullptr;
  expect_all_true(handles);
  auto reopened = open_store(db->url());
  ASSERT_NE(reopened, nullptr);
  auto loaded = reopened->load("g");
  ASSERT_TRUE(loaded);
  ASSERT_TRUE(loaded->has_value());
  ASSERT_EQ((*loaded)->chat.size(), 3u);
  EXPECT_EQ((*loaded)->chat[0].id, "c-0");
  EXPECT_EQ((*loaded)->chat[2].id, "c-2");
}

/// PostgreSQL only: SQLite has no connection to lose.
class StoreActorPostgresql : public StoreActorGroupCommit {};

TEST_P(StoreActorPostgresql, ABatchWhoseConnectionBrokeRunsAgainOnANewOne) {
  spawn(512);
  db->kill_connections();
  auto handles = send_chat(5);
  sched.run();
  expect_all_true(handles);
  EXPECT_EQ(raw->stats().reconnects, 1u);
  auto load = self->request(store, reply_timeout, puzzle::load_atom_v, std::string{"g"});
  sched.run();
  auto loaded = await<session_state>(load);
  ASSERT_TRUE(loaded) << puzzle::message_of(loaded.error());
  ASSERT_EQ(loaded->chat.size(), 5u);
  EXPECT_EQ(loaded->chat[4].id, "c-4");
}

INSTANTIATE_TEST_SUITE_P(Sqlite, StoreActorGroupCommit, ::testing::Values(backend::sqlite),
                         puzzle::test::backend_name);
INSTANTIATE_TEST_SUITE_P(Postgresql, StoreActorGroupCommit, ::testing::Values(backend::postgresql),
                         puzzle::test::backend_name);
INSTANTIATE_TEST_SUITE_P(Postgresql, StoreActorPostgresql, ::testing::Values(backend::postgresql),
                         puzzle::test::backend_name);

} // namespace
