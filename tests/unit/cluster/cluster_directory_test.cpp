// Three cluster directories in one actor system, as three members with
// distinct incarnations, sharing one real store (SQLite in a temp folder).
// Their input from the node agent, the member list, is fed by hand.

#include "cluster/directory/directory_actor.hpp"

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <caf/all.hpp>
#include <gtest/gtest.h>
#include <unistd.h>

#include "actors/caf_errors.hpp"
#include "actors/cluster_interface.hpp"
#include "actors/util/ids.hpp"
#include "cluster/directory/placement.hpp"
#include "persistence/sql/soci_store.hpp"
#include "persistence/store_actor.hpp"
#include "tests/unit/actors/support/test_fixture.hpp"

namespace {

using namespace std::chrono_literals;
using namespace puzzle;
using namespace puzzle::test_support;

struct test_node {
  std::string node_id;
  std::string incarnation;
  directory_actor dir;
};

class ClusterDirectory : public actor_fixture {
protected:
  ClusterDirectory() : client(sys) {
    char pattern[] = "/tmp/puzzle-cluster-XXXXXX";
    if (::mkdtemp(pattern) == nullptr) throw std::runtime_error("mkdtemp failed");
    folder = pattern;
    auto db = persistence::soci_store::open("sqlite:" + folder + "/puzzle.db");
    if (!db) throw std::runtime_error(message_of(db.error()));
    if (auto applied = (*db)->migrate(); !applied)
      throw std::runtime_error(message_of(applied.error()));
    db_store = persistence::spawn_store(sys, std::move(*db), config::store_settings{}, false);
    track(db_store);
    sched.run();
    for (auto name : {"node-a", "node-b", "node-c"})
      nodes.push_back(spawn_node(name));
  }

  ~ClusterDirectory() override {
    std::error_code ec;
    std::filesystem::remove_all(folder, ec);
  }

  test_node spawn_node(const std::string& name) {
    cluster::directory_options opts;
    opts.cluster.enabled = true;
    opts.cluster.node_id = name;
    opts.cluster.incarnation = util::new_uuid();
    opts.cluster.request_timeout = 1s;
    opts.cluster.retry_delay = 100ms;
    opts.cluster.unknown_owner_wait = 300ms;
    opts.cluster.migrate_timeout = 2s;
    auto dir = sys.spawn(cluster::directory, db_store, opts);
    track(dir);
    sched.run();
    return test_node{name, opts.cluster.incarnation, dir};
  }

  /// The member list as a node agent pushes it: every node `up` unless
  /// `states` says otherwise, each with its directory as endpoint.
  std::vector<cluster_member> view(const std::map<std::string, std::string>& states = {}) {
    std::vector<cluster_member> out;
    for (auto& n : nodes) {
      cluster_member m;
      m.node_id = n.node_id;
      m.incarnation = n.incarnation;
      m.address = "127.0.0.1:0";
      auto i = states.find(n.node_id);
      m.state = i == states.end() ? "up" : i->second;
      m.endpoints.directory = caf::actor_cast<caf::actor>(n.dir);
      out.push_back(std::move(m));
    }
    return out;
  }

  /// Pushes `members` to the directories of `to` (default: every node).
  void push(const std::vector<cluster_member>& members, std::vector<size_t> to = {}) {
    if (to.empty())
      for (size_t i = 0; i < nodes.size(); ++i)
        to.push_back(i);
    for (auto i : to)
      caf::anon_send(nodes[i].dir, members_atom::value, members);
    sched.run();
  }

  std::vector<std::string> incarnations() const {
    std::vector<std::string> out;
    for (auto& n : nodes)
      out.push_back(n.incarnation);
    return out;
  }

  size_t index_of(const std::string& incarnation) const {
    for (size_t i = 0; i < nodes.size(); ++i)
      if (nodes[i].incarnation == incarnation) return i;
    return nodes.size();
  }

  /// Stores a session only (no directory row, not live).
  std::string store_session() {
    auto state = make_state(2, 3, util::new_uuid());
    auto ok = ask<bool>(client, store_actor{db_store}, put_atom::value, state);
    EXPECT_TRUE(ok && *ok);
    return state.session_id;
  }

  std::string create_on(size_t node, const std::string& name = "Sunset") {
    create_request req;
    req.name = name;
    req.image = image_ref{"img-9", "/images/img-9.png", 1600, 1200};
    req.rows = 2;
    req.cols = 3;
    req.is_public = true;
    req.owner = user_identity{"u-owner", "Owner"};
    auto created = ask<session_summary>(client, nodes[node].dir, create_atom::value, req);
    if (!created) {
      ADD_FAILURE() << "create failed: " << message_of(created.error());
      return {};
    }
    return created->session_id;
  }

  session_location row(const std::string& id) {
    auto loc = ask<session_location>(client, caf::actor_cast<cluster_store_actor>(db_store),
                                     owner_atom::value, id);
    EXPECT_TRUE(loc) << message_of(loc.error());
    return loc ? *loc : session_location{};
  }

  int32_t live_on(size_t node) {
    auto n = ask<int32_t>(client, nodes[node].dir, stats_atom::value);
    return n ? *n : -1;
  }

  caf::expected<session_actor> lookup(size_t node, const std::string& id) {
    return ask<session_actor>(client, nodes[node].dir, lookup_atom::value, id);
  }

  /// Sends a request, then lets virtual time pass in retry-delay steps
  /// (for retries and timeouts) until the reply is there or `limit` passed.
  template<class T, class... Ts>
  caf::expected<T>
  ask_over_time(const directory_actor& dest, std::chrono::milliseconds limit, Ts&&... xs) {
    auto id = send_request(client, dest, std::forward<Ts>(xs)...);
    sched.run();
    for (auto waited = 0ms; waited <= limit; waited += 100ms) {
      if (auto reply = take_reply<T>(client, id)) return std::move(*reply);
      advance(100ms);
    }
    ADD_FAILURE() << "no reply within " << limit.count() << "ms of virtual time";
    return caf::make_error(caf::sec::request_timeout);
  }

  /// A node other than `owner` that has not cached the session (the
  /// creating node 0 caches it when it started it elsewhere).
  size_t uncached_asker(size_t owner) const {
    return owner == 1 ? 2 : 1;
  }

  std::string folder;
  store_actor db_store;
  std::vector<test_node> nodes;
  caf::scoped_actor client;
};

TEST_F(ClusterDirectory, CreatedSessionsLiveOnTheRendezvousWinnerAndEveryNodeGetsAShare) {
  push(view());
  std::map<std::string, int> owned;
  for (int i = 0; i < 30; ++i) {
    auto id = create_on(static_cast<size_t>(i % 3), "Puzzle " + std::to_string(i));
    ASSERT_FALSE(id.empty());
    auto loc = row(id);
    EXPECT_EQ(loc.owner_incarnation, cluster::rendezvous_winner(id, incarnations()));
    EXPECT_EQ(loc.generation, 1);
    ++owned[loc.owner_incarnation];
  }
  ASSERT_EQ(owned.size(), 3u) << "every member gets a share";
  for (size_t n = 0; n < nodes.size(); ++n)
    EXPECT_EQ(live_on(n), owned[nodes[n].incarnation]) << nodes[n].node_id;
}

TEST_F(ClusterDirectory, LookupOnAnotherNodeReturnsTheOwnersSessionHandle) {
  push(view());
  auto id = create_on(0);
  auto owner = index_of(row(id).owner_incarnation);
  ASSERT_LT(owner, nodes.size());
  auto at_owner = lookup(owner, id);
  ASSERT_TRUE(at_owner) << message_of(at_owner.error());
  for (size_t n = 0; n < nodes.size(); ++n) {
    auto found = lookup(n, id);
    ASSERT_TRUE(found) << message_of(found.error());
    EXPECT_EQ(*found, *at_owner) << nodes[n].node_id;
  }
  // Only the owner holds it in memory.
  for (size_t n = 0; n < nodes.size(); ++n)
    EXPECT_EQ(live_on(n), n == owner ? 1 : 0);
  // Requests through any node reach the one session.
  auto state = ask<std::string>(client, nodes[(owner + 1) % 3].dir, state_atom::value, id);
  ASSERT_TRUE(state) << message_of(state.error());
  EXPECT_NE(state->find(id), std::string::npos);
}

TEST_F(ClusterDirectory, StoredSessionWithoutRowIsActivatedOnceOnTheWinner) {
  push(view());
  auto id = store_session();
  // Three lookups at once, one per node.
  std::vector<caf::message_id> requests;
  for (auto& n : nodes)
    requests.push_back(send_request(client, n.dir, lookup_atom::value, id));
  sched.run();
  std::set<caf::actor_addr> handles;
  for (auto req : requests) {
    auto reply = take_reply<session_actor>(client, req);
    ASSERT_TRUE(reply && *reply) << (reply ? message_of(reply->error()) : "no reply");
    handles.insert((**reply).address());
  }
  EXPECT_EQ(handles.size(), 1u);
  auto loc = row(id);
  EXPECT_EQ(loc.owner_incarnation, cluster::rendezvous_winner(id, incarnations()));
  EXPECT_EQ(loc.generation, 1);
  EXPECT_EQ(live_on(0) + live_on(1) + live_on(2), 1);
}

TEST_F(ClusterDirectory, LookupOfAnUnknownIdLeavesNoRow) {
  push(view());
  auto id = util::new_uuid();
  for (size_t n = 0; n < nodes.size(); ++n) {
    auto found = lookup(n, id);
    ASSERT_FALSE(found);
    EXPECT_EQ(code_of(found.error()), errc::session_not_found);
  }
  EXPECT_TRUE(row(id).owner_incarnation.empty());
}

TEST_F(ClusterDirectory, AdoptionWinsTheCompareAndSetOnceAndRefusesAStaleGeneration) {
  push(view());
  auto id = store_session();
  // Activated on its owner only: no other node caches it.
  auto owner = index_of(cluster::rendezvous_winner(id, incarnations()));
  auto first = lookup(owner, id);
  ASSERT_TRUE(first) << message_of(first.error());
  ASSERT_EQ(row(id).owner_incarnation, nodes[owner].incarnation);
  auto x = (owner + 1) % 3;
  auto y = (owner + 2) % 3;
  session_snapshot snap;
  snap.generation = 1;
  snap.state = make_state(2, 3, id);
  auto adopted = ask<session_actor>(client, nodes[x].dir, adopt_atom::value, snap);
  ASSERT_TRUE(adopted) << message_of(adopted.error());
  EXPECT_EQ(row(id).owner_incarnation, nodes[x].incarnation);
  EXPECT_EQ(row(id).generation, 2);
  EXPECT_EQ(live_on(x), 1);
  // Another node with the same, now stale, generation loses.
  auto stale = ask<session_actor>(client, nodes[y].dir, adopt_atom::value, snap);
  ASSERT_FALSE(stale);
  EXPECT_EQ(code_of(stale.error()), errc::conflict);
  EXPECT_EQ(live_on(y), 0);
  EXPECT_EQ(row(id).owner_incarnation, nodes[x].incarnation);
  // Lookups anywhere now find the adopted session.
  auto via_y = lookup(y, id);
  ASSERT_TRUE(via_y) << message_of(via_y.error());
  EXPECT_EQ(*via_y, *adopted);
}

TEST_F(ClusterDirectory, DeadMembersSessionsAreReactivatedExactlyOnceAcrossTheSurvivors) {
  push(view());
  std::vector<std::string> ids;
  for (int i = 0; i < 48; ++i)
    ids.push_back(create_on(static_cast<size_t>(i % 3), "P" + std::to_string(i)));
  std::set<std::string> on_c;
  for (auto& id : ids)
    if (row(id).owner_incarnation == nodes[2].incarnation) on_c.insert(id);
  ASSERT_FALSE(on_c.empty());
  auto a_before = live_on(0);
  auto b_before = live_on(1);
  // node-c dies: its directory (and sessions) are gone, then the
  // survivors' agents see it unreachable and, after the grace period, down.
  caf::anon_send_exit(nodes[2].dir, caf::exit_reason::kill);
  sched.run();
  push(view({{"node-c", "unreachable"}}), {0, 1});
  push(view({{"node-c", "down"}}), {0, 1});
  std::vector<std::string> survivors = {nodes[0].incarnation, nodes[1].incarnation};
  for (auto& id : on_c) {
    auto loc = row(id);
    EXPECT_EQ(loc.owner_incarnation, cluster::rendezvous_winner(id, survivors)) << id;
    EXPECT_EQ(loc.generation, 2) << id;
  }
  // Eagerly, without a lookup, and each exactly once.
  EXPECT_EQ(live_on(0) + live_on(1), a_before + b_before + static_cast<int32_t>(on_c.size()));
  // Pushing the same view again changes nothing.
  push(view({{"node-c", "down"}}), {0, 1});
  EXPECT_EQ(live_on(0) + live_on(1), a_before + b_before + static_cast<int32_t>(on_c.size()));
  for (auto& id : on_c)
    EXPECT_EQ(row(id).generation, 2) << id;
}

TEST_F(ClusterDirectory, SessionOnAnUnreachableNodeIsAnErrorAfterTheRequestTimeout) {
  push(view());
  auto id = create_on(0);
  auto owner = index_of(row(id).owner_incarnation);
  auto asker = uncached_asker(owner);
  auto states = std::map<std::string, std::string>{{nodes[owner].node_id, "unreachable"}};
  push(view(states));
  auto found = ask_over_time<session_actor>(nodes[asker].dir, 3s, lookup_atom::value, id);
  ASSERT_FALSE(found);
  EXPECT_EQ(code_of(found.error()), errc::internal);
  EXPECT_EQ(message_of(found.error()),
            "session " + id + " is on an unreachable node " + nodes[owner].node_id);
  // Nobody stole it meanwhile.
  EXPECT_EQ(row(id).owner_incarnation, nodes[owner].incarnation);
  EXPECT_EQ(row(id).generation, 1);
}

TEST_F(ClusterDirectory, SessionWhoseOwnerComesBackIsFoundAgain) {
  push(view());
  auto id = create_on(0);
  auto owner = index_of(row(id).owner_incarnation);
  auto asker = uncached_asker(owner);
  push(view({{nodes[owner].node_id, "unreachable"}}));
  auto req = send_request(client, nodes[asker].dir, lookup_atom::value, id);
  sched.run();
  advance(200ms);
  EXPECT_FALSE(take_reply<session_actor>(client, req)) << "waits while unreachable";
  push(view());
  advance(100ms);
  auto reply = take_reply<session_actor>(client, req);
  ASSERT_TRUE(reply && *reply);
  EXPECT_EQ(row(id).owner_incarnation, nodes[owner].incarnation);
}

TEST_F(ClusterDirectory, FencedNodeStopsItsSessionsAndActivatesNoMore) {
  push(view());
  // Incarnations are random, so is placement: create sessions until
  // node-b holds one (a third of them land there; 64 all missing it has a
  // chance of (2/3)^64).
  std::vector<std::string> ids;
  std::string on_b;
  for (int i = 0; i < 64 && on_b.empty(); ++i) {
    ids.push_back(create_on(0, "F" + std::to_string(i)));
    if (row(ids.back()).owner_incarnation == nodes[1].incarnation) on_b = ids.back();
  }
  ASSERT_FALSE(on_b.empty());
  ASSERT_GT(live_on(1), 0);
  auto handle = lookup(1, on_b);
  ASSERT_TRUE(handle);
  client->monitor(*handle);
  // node-b learns that the others declared it down.
  push(view({{"node-b", "down"}}), {1});
  EXPECT_EQ(live_on(1), 0);
  // Its sessions end with the move's reason, not `user_shutdown` (which
  // tells members the session was deleted): they look for it again.
  std::optional<caf::error> reason;
  client->receive(
      [&](caf::down_msg& msg) {
        if (msg.source == handle->address()) reason = msg.reason;
      },
      caf::after(std::chrono::seconds(0)) >> [] {});
  ASSERT_TRUE(reason);
  EXPECT_TRUE(is_session_moved(*reason)) << caf::to_string(*reason);
  auto found = lookup(1, ids[0]);
  ASSERT_FALSE(found);
  EXPECT_EQ(code_of(found.error()), errc::internal);
}

TEST_F(ClusterDirectory, MigrateRefusesUnknownAndUnavailableTargets) {
  push(view({{"node-c", "unreachable"}}));
  auto id = create_on(0);
  auto owner = index_of(row(id).owner_incarnation);
  // Ask a node that does not own it: the owner's directory answers.
  auto via = (owner + 1) % 3;
  auto unknown
      = ask<std::string>(client, nodes[via].dir, migrate_atom::value, id, std::string{"node-x"});
  ASSERT_FALSE(unknown);
  EXPECT_EQ(code_of(unknown.error()), errc::invalid_argument);
  EXPECT_EQ(message_of(unknown.error()),
            "unknown node 'node-x' (not a member's node id or incarnation)");
  auto itself
      = ask<std::string>(client, nodes[via].dir, migrate_atom::value, id, nodes[owner].node_id);
  ASSERT_FALSE(itself);
  EXPECT_EQ(code_of(itself.error()), errc::invalid_argument);
  EXPECT_EQ(message_of(itself.error()),
            "session " + id + " already lives on node " + nodes[owner].node_id);
  if (owner != 2) {
    auto down
        = ask<std::string>(client, nodes[via].dir, migrate_atom::value, id, nodes[2].incarnation);
    ASSERT_FALSE(down);
    EXPECT_EQ(code_of(down.error()), errc::invalid_argument);
    EXPECT_EQ(message_of(down.error()), "node node-c is not up (it is unreachable)");
  }
  EXPECT_EQ(row(id).owner_incarnation, nodes[owner].incarnation);
}

TEST_F(ClusterDirectory, MigrateThroughAnyNodeMovesTheSessionToTheNamedNode) {
  push(view());
  auto id = create_on(0);
  auto owner = index_of(row(id).owner_incarnation);
  auto target = (owner + 1) % 3;
  auto via = (owner + 2) % 3;
  // Warm the asking node's cache: the request is routed to the owner.
  ASSERT_TRUE(lookup(via, id));
  auto moved
      = ask<std::string>(client, nodes[via].dir, migrate_atom::value, id, nodes[target].node_id);
  ASSERT_TRUE(moved) << message_of(moved.error());
  EXPECT_EQ(*moved, nodes[target].incarnation);
  auto loc = row(id);
  EXPECT_EQ(loc.owner_incarnation, nodes[target].incarnation);
  EXPECT_EQ(loc.generation, 2);
  EXPECT_EQ(live_on(owner), 0);
  EXPECT_EQ(live_on(target), 1);
  // The old owner now finds it on the target, like everyone else.
  auto at_target = lookup(target, id);
  ASSERT_TRUE(at_target) << message_of(at_target.error());
  auto from_old = lookup(owner, id);
  ASSERT_TRUE(from_old) << message_of(from_old.error());
  EXPECT_EQ(*from_old, *at_target);
}

TEST_F(ClusterDirectory, MigrateWithoutTargetPicksTheWinnerAmongTheOthers) {
  push(view());
  auto id = create_on(0);
  auto owner = index_of(row(id).owner_incarnation);
  std::vector<std::string> others;
  for (auto& n : nodes)
    if (n.incarnation != nodes[owner].incarnation) others.push_back(n.incarnation);
  auto moved = ask<std::string>(client, nodes[owner].dir, migrate_atom::value, id, std::string{});
  ASSERT_TRUE(moved) << message_of(moved.error());
  EXPECT_EQ(*moved, cluster::rendezvous_winner(id, others));
  EXPECT_EQ(row(id).owner_incarnation, *moved);
}

TEST_F(ClusterDirectory, DrainMovesEveryLocalSessionToTheOtherLiveNodes) {
  push(view());
  // Placement follows the random incarnations: at least 12 sessions, and
  // more until node-a holds some ((2/3)^64 that 64 all miss it).
  std::vector<std::string> ids;
  for (int i = 0; i < 64 && (i < 12 || live_on(0) == 0); ++i)
    ids.push_back(create_on(0, "D" + std::to_string(i)));
  auto before = live_on(0);
  ASSERT_GT(before, 0);
  auto moved = ask<int32_t>(client, nodes[0].dir, drain_atom::value);
  ASSERT_TRUE(moved) << message_of(moved.error());
  EXPECT_EQ(*moved, before);
  EXPECT_EQ(live_on(0), 0);
  std::vector<std::string> others = {nodes[1].incarnation, nodes[2].incarnation};
  for (auto& id : ids)
    EXPECT_EQ(row(id).owner_incarnation, cluster::rendezvous_winner(id, others)) << id;
  EXPECT_EQ(live_on(1) + live_on(2), static_cast<int32_t>(ids.size()));
  // A draining node takes no new sessions: they are placed on the others.
  auto fresh = create_on(0, "after the drain");
  EXPECT_NE(row(fresh).owner_incarnation, nodes[0].incarnation);
}

TEST_F(ClusterDirectory, MembersAnswerTheLatestViewWithEndpoints) {
  auto members = view({{"node-c", "leaving"}});
  // The agent does not know its own directory's handle in every test.
  members[0].endpoints.directory = caf::actor{};
  push(members, {0});
  auto got = ask<std::vector<cluster_member>>(client, nodes[0].dir, members_atom::value);
  ASSERT_TRUE(got);
  ASSERT_EQ(got->size(), 3u);
  EXPECT_TRUE((*got)[0].self);
  EXPECT_EQ((*got)[0].endpoints.directory, caf::actor_cast<caf::actor>(nodes[0].dir));
  EXPECT_FALSE((*got)[1].self);
  EXPECT_EQ((*got)[2].state, "leaving");
}

} // namespace

namespace {

TEST_F(ClusterDirectory, LiveStatesAnswerAtOnceOnANodeWithoutSessions) {
  push(view());
  // No session in memory: an empty list, not a request left unanswered.
  auto none
      = ask<std::vector<std::string>>(client, nodes[0].dir, list_atom::value, state_atom::value);
  ASSERT_TRUE(none) << message_of(none.error());
  EXPECT_TRUE(none->empty());
  auto id = create_on(0);
  auto owner = index_of(row(id).owner_incarnation);
  ASSERT_LT(owner, nodes.size());
  auto one = ask<std::vector<std::string>>(client, nodes[owner].dir, list_atom::value,
                                           state_atom::value);
  ASSERT_TRUE(one) << message_of(one.error());
  ASSERT_EQ(one->size(), 1u);
  EXPECT_EQ(nlohmann::json::parse(one->front()).value("sessionId", ""), id);
}

} // namespace
