// The node's inspector (cluster/inspect) on a real actor system, with
// stand-in actors enlisted in the census as the real sessions, locks and
// clients enlist themselves.

#include "cluster/inspect/inspector_actor.hpp"

#include <chrono>
#include <future>
#include <memory>
#include <string>
#include <vector>

#include <caf/all.hpp>
#include <gtest/gtest.h>
#include <spdlog/spdlog.h>

#include "actors/caf_errors.hpp"
#include "actors/type_ids.hpp"
#include "actors/util/census.hpp"

namespace {

using namespace std::chrono_literals;
using namespace puzzle;

/// Answers probes with its mailbox depth, as the real actors do; told
/// `idle_atom`, it freezes like a migrating session: every other message
/// stays in its mailbox (skipped) and counts in the depth.
struct stand_in_state {
  std::string kind;
  std::string key;
  uint64_t handled = 0;
};

actor_probe probe_of(caf::stateful_actor<stand_in_state>* self) {
  actor_probe p;
  p.kind = self->state.kind;
  p.key = self->state.key;
  p.mailbox_depth = self->mailbox().size() + self->get_normal_queue().cache().total_task_size();
  p.messages_handled = self->state.handled;
  p.summary_json = "{\"handled\":" + std::to_string(self->state.handled) + "}";
  return p;
}

caf::behavior stand_in(caf::stateful_actor<stand_in_state>* self, std::string kind,
                       std::string key) {
  self->state.kind = kind;
  self->state.key = key;
  census::enlist(self, std::move(kind), std::move(key));
  self->set_default_handler(caf::skip);
  return {
      [self](inspect_atom) {
        return probe_of(self);
      },
      [self](idle_atom) {
        ++self->state.handled;
        self->become(caf::behavior{[self](inspect_atom) {
          return probe_of(self);
        }});
      },
      [self](tick_atom) {
        ++self->state.handled;
      },
  };
}

/// A directory that only answers drains; anything else is an error.
caf::behavior drain_only(caf::event_based_actor* self, int32_t moved) {
  self->set_default_handler(
      [](caf::scheduled_actor*, caf::message_view&) -> caf::result<caf::message> {
        return make_error(errc::internal, "not in this test");
      });
  return {
      [moved](drain_atom) {
        return moved;
      },
  };
}

struct test_config : caf::actor_system_config {
  test_config() {
    register_message_types(*this);
    set("logger.console-verbosity", caf::atom("quiet"));
    spdlog::set_level(spdlog::level::err);
  }
};

class Inspector : public ::testing::Test {
protected:
  Inspector() : sys(cfg), self(sys) {
    dir = caf::actor_cast<directory_actor>(sys.spawn(drain_only, 3));
    cluster::inspector_options opts;
    opts.node_id = "node-a";
    opts.incarnation = "inc-a";
    opts.cluster_mode = true;
    opts.probe_timeout = 2s;
    opts.on_drained = [this] {
      drained.set_value();
    };
    inspector = cluster::spawn_inspector(sys, dir, opts);
  }

  ~Inspector() override {
    for (auto& a : spawned)
      self->send_exit(a, caf::exit_reason::user_shutdown);
    self->send_exit(inspector, caf::exit_reason::user_shutdown);
    self->send_exit(dir, caf::exit_reason::user_shutdown);
  }

  /// Freezes `whom`: what it gets next waits in its mailbox.
  void freeze(const caf::actor& whom) {
    self->send(whom, idle_atom_v);
  }

  caf::actor spawn_stand_in(const std::string& kind, const std::string& key) {
    auto a = sys.spawn(stand_in, kind, key);
    // It enlists when it starts: wait for its first answer.
    self->request(a, 5s, inspect_atom_v)
        .receive([](actor_probe&) {},
                 [](caf::error& err) {
                   FAIL() << message_of(err);
                 });
    spawned.push_back(a);
    return a;
  }

  template<class T, class... Ts>
  caf::expected<T> ask(Ts&&... xs) {
    caf::expected<T> result{caf::error{}};
    self->request(inspector, 5s, std::forward<Ts>(xs)...)
        .receive(
            [&](T& x) {
              result = std::move(x);
            },
            [&](caf::error& err) {
              result = std::move(err);
            });
    return result;
  }

  test_config cfg;
  caf::actor_system sys;
  caf::scoped_actor self;
  directory_actor dir;
  cluster::inspector_actor inspector;
  std::vector<caf::actor> spawned;
  std::promise<void> drained;
};

TEST_F(Inspector, ListsCensusActorsByKindWithTheirMailboxDepth) {
  auto session = spawn_stand_in("session", "session/list-1");
  spawn_stand_in("lock", "lock/list-1/4");
  spawn_stand_in("client", "client/list-u");
  // The session is frozen while three more messages wait in its mailbox.
  freeze(session);
  for (int i = 0; i < 3; ++i)
    self->send(session, tick_atom_v);
  auto listed = ask<std::vector<actor_probe>>(actors_atom_v, std::string{"session"});
  ASSERT_TRUE(listed) << message_of(listed.error());
  auto& sessions = *listed;
  std::vector<actor_probe> mine;
  for (auto& p : sessions) {
    EXPECT_EQ(p.kind, "session");
    if (p.key == "session/list-1") mine.push_back(p);
  }
  ASSERT_EQ(mine.size(), 1u);
  // The three waiting messages, and only the freeze handled.
  EXPECT_EQ(mine[0].mailbox_depth, 3u);
  EXPECT_EQ(mine[0].messages_handled, 1u);
  EXPECT_EQ(mine[0].node_id, "node-a");
  EXPECT_EQ(mine[0].incarnation, "inc-a");

  // Every kind, ordered by key, stamped with this node.
  auto all = ask<std::vector<actor_probe>>(actors_atom_v, std::string{});
  ASSERT_TRUE(all) << message_of(all.error());
  std::vector<std::string> keys;
  for (auto& p : *all)
    if (p.key.find("list-") != std::string::npos) {
      keys.push_back(p.key);
      EXPECT_EQ(p.node_id, "node-a");
    }
  EXPECT_EQ(keys, (std::vector<std::string>{"client/list-u", "lock/list-1/4", "session/list-1"}));
}

TEST_F(Inspector, AddsAMessageRateFromTheSecondListingOn) {
  auto session = spawn_stand_in("session", "session/rate-1");
  auto first = ask<std::vector<actor_probe>>(actors_atom_v, std::string{"session"});
  ASSERT_TRUE(first);
  for (auto& p : *first) {
    if (p.key == "session/rate-1") {
      EXPECT_EQ(p.summary_json, "{\"handled\":0}");
    }
  }
  for (int i = 0; i < 5; ++i)
    self->send(session, tick_atom_v);
  auto second = ask<std::vector<actor_probe>>(actors_atom_v, std::string{"session"});
  ASSERT_TRUE(second);
  bool seen = false;
  for (auto& p : *second)
    if (p.key == "session/rate-1") {
      seen = true;
      EXPECT_EQ(p.messages_handled, 5u);
      EXPECT_NE(p.summary_json.find("\"handled\":5,\"messageRate\":"), std::string::npos)
          << p.summary_json;
    }
  EXPECT_TRUE(seen);
}

TEST_F(Inspector, InspectsOneKeyAndRefusesAnUnknownOne) {
  spawn_stand_in("lock", "lock/one-1/2");
  auto probe = ask<actor_probe>(inspect_atom_v, std::string{"lock/one-1/2"});
  ASSERT_TRUE(probe) << message_of(probe.error());
  EXPECT_EQ(probe->kind, "lock");
  EXPECT_EQ(probe->node_id, "node-a");
  EXPECT_EQ(probe->mailbox_depth, 0u);
  auto missing = ask<actor_probe>(inspect_atom_v, std::string{"lock/none/1"});
  ASSERT_FALSE(missing);
  EXPECT_EQ(code_of(missing.error()), errc::session_not_found);
  EXPECT_EQ(message_of(missing.error()), "no actor 'lock/none/1' on node node-a");
  auto not_killed = ask<bool>(kill_atom_v, std::string{"lock/none/1"});
  ASSERT_FALSE(not_killed);
  EXPECT_EQ(code_of(not_killed.error()), errc::session_not_found);
}

TEST_F(Inspector, KillEndsTheActorWithANonNormalReason) {
  auto victim = spawn_stand_in("session", "session/kill-1");
  self->monitor(victim);
  auto killed = ask<bool>(kill_atom_v, std::string{"session/kill-1"});
  ASSERT_TRUE(killed) << message_of(killed.error());
  EXPECT_TRUE(*killed);
  caf::error reason;
  self->receive(
      [&](caf::down_msg& down) {
        reason = down.reason;
      },
      caf::after(5s) >>
          [] {
            FAIL() << "no down message";
          });
  EXPECT_EQ(reason, caf::exit_reason::kill);
  // Struck off the census: the key is gone.
  auto gone = ask<actor_probe>(inspect_atom_v, std::string{"session/kill-1"});
  ASSERT_FALSE(gone);
  EXPECT_EQ(code_of(gone.error()), errc::session_not_found);
}

TEST_F(Inspector, DrainAsksTheDirectoryThenLeaves) {
  auto moved = ask<int32_t>(drain_atom_v);
  ASSERT_TRUE(moved) << message_of(moved.error());
  EXPECT_EQ(*moved, 3);
  EXPECT_EQ(drained.get_future().wait_for(5s), std::future_status::ready);

  cluster::inspector_options single;
  single.node_id = "solo";
  auto solo = cluster::spawn_inspector(sys, dir, single);
  caf::error refused;
  self->request(solo, 5s, drain_atom_v)
      .receive(
          [](int32_t) {
            FAIL() << "a single node drained";
          },
          [&](caf::error& err) {
            refused = std::move(err);
          });
  EXPECT_EQ(code_of(refused), errc::invalid_argument);
  self->send_exit(solo, caf::exit_reason::user_shutdown);
}

} // namespace
