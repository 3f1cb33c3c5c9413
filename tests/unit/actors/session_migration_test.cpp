// A session moving to another actor while people play (docs/cluster.md,
// "Migration"), on the deterministic fixture: the migrate handler's freeze,
// snapshot and forwarding, `session_from_snapshot`, and the client actor's
// switch to the new handle and its re-join after a session died.
//
// The target node's directory is a stand-in here (it spawns
// `session_from_snapshot` as the real one does after winning the claim, or
// refuses with CONFLICT); the real directory with real nodes is covered by
// the integration tests.

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <caf/all.hpp>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "actors/caf_errors.hpp"
#include "actors/client/client_actor.hpp"
#include "actors/directory_interface.hpp"
#include "actors/session/session_actor.hpp"
#include "actors/util/census.hpp"
#include "tests/unit/actors/support/test_fixture.hpp"

namespace {

using namespace std::chrono_literals;
using namespace puzzle;
using namespace puzzle::test_support;
using nlohmann::json;

const std::string sid = default_session_id;

session_options migration_options() {
  session_options opts;
  opts.lock_lease = 1'000ms;
  opts.migration_timeout = 5'000ms;
  opts.forward_grace = 10'000ms;
  return opts;
}

/// What the stand-in directory does and has done.
struct stand_in_data {
  session_options options = migration_options();
  session_actor current; ///< What `lookup` answers; empty: not found.
  bool refuse = false;   ///< Answer adoptions with CONFLICT.
  errc lookup_error = errc::none;
  size_t adopts = 0;
  size_t lookups = 0;
  session_snapshot last;
  std::vector<session_actor> adopted;
};

/// The parts of a directory these tests need: `lookup` and `adopt`.
caf::behavior stand_in_directory(caf::event_based_actor* self, std::shared_ptr<stand_in_data> data,
                                 store_actor store) {
  return {
      [data](lookup_atom, const std::string& id) -> caf::result<session_actor> {
        ++data->lookups;
        if (data->lookup_error != errc::none)
          return make_error(data->lookup_error, "directory unavailable");
        if (!data->current)
          return make_error(errc::session_not_found, "session " + id + " not found");
        return data->current;
      },
      [self, data, store](adopt_atom, session_snapshot& snap) -> caf::result<session_actor> {
        ++data->adopts;
        data->last = snap;
        if (data->refuse) return make_error(errc::conflict, "another node claimed the session");
        // What the real directory does after its compare-and-set won
        // generation + 1.
        snap.generation += 1;
        auto session = self->spawn(session_from_snapshot, std::move(snap), store, data->options);
        data->current = session;
        data->adopted.push_back(session);
        return session;
      },
  };
}

client_options generous_options() {
  client_options opts;
  opts.request_timeout = 2'000ms;
  for (auto& budget : opts.budgets) {
    budget.kind = util::limiter_spec::algorithm::token_bucket;
    budget.permits = 1'000'000;
    budget.refill = 1'000'000;
    budget.window = 1'000ms;
  }
  opts.close_after_refusals = 0;
  return opts;
}

client_command command(command_kind kind, std::string call_id, int32_t piece = 0, double x = 0,
                       double y = 0) {
  client_command cmd;
  cmd.kind = kind;
  cmd.call_id = std::move(call_id);
  cmd.session_id = sid;
  cmd.piece_id = piece;
  cmd.x = x;
  cmd.y = y;
  return cmd;
}

/// One client actor with its recording port.
struct test_client {
  std::shared_ptr<recording_port> port = std::make_shared<recording_port>();
  client_actor handle;
  std::string user_id;
  std::vector<std::string> move_calls; ///< Call ids of moves, in send order.
  size_t calls = 0;                    ///< Commands sent with a call id.
};

/// The answer to call `id` on `port`: its result JSON, or nothing.
const recording_port::result_entry* result_of(const recording_port& port, const std::string& id) {
  for (auto& r : port.results)
    if (r.call_id == id) return &r;
  return nullptr;
}

size_t answers_to(const recording_port& port, const std::string& id) {
  size_t n = 0;
  for (auto& r : port.results)
    if (r.call_id == id) ++n;
  for (auto& e : port.errors)
    if (e.call_id == id) ++n;
  return n;
}

class SessionMigration : public actor_fixture {
protected:
  SessionMigration()
      : op(sys), watcher(sys), data(std::make_shared<stand_in_data>()), state(make_state(4, 4)) {
    directory = sys.spawn(stand_in_directory, data, store_actor{store});
    track(directory);
    sched.run();
  }

  void start() {
    session = spawn_session(state, migration_options());
    data->current = session;
  }

  void spawn_client(test_client& c, const std::string& user_id) {
    c.user_id = user_id;
    c.handle = sys.spawn(client_behavior, client_port_ptr{c.port},
                         caf::actor_cast<directory_actor>(directory),
                         user_identity{user_id, "Name " + user_id}, false, generous_options());
    track(c.handle);
    sched.run();
  }

  /// A client actor for `user_id` that joined the session.
  void join_client(test_client& c, const std::string& user_id) {
    spawn_client(c, user_id);
    post(c, command(command_kind::join, "join-" + user_id));
    sched.run();
  }

  void post(test_client& c, client_command cmd) {
    if (!cmd.call_id.empty()) ++c.calls;
    if (cmd.kind == command_kind::move) c.move_calls.push_back(cmd.call_id);
    caf::anon_send(c.handle, std::move(cmd));
  }

  /// Grab, drag and drop of one piece; positions never snap (x differences
  /// stay below one piece width, y differences far below one height).
  void play_round(test_client& c, int32_t first_piece, int round) {
    auto piece = first_piece + round % 6;
    auto tag = c.user_id + "-" + std::to_string(round);
    auto x = 2.0 + 3.0 * piece + 0.1 * round;
    auto y = 2.0 + 0.1 * round;
    post(c, command(command_kind::lock, "lock-" + tag, piece));
    post(c, command(command_kind::drag, "drag-" + tag, piece, x + 1, y + 1));
    post(c, command(command_kind::move, "move-" + tag, piece, x, y));
  }

  caf::message_id migrate(const caf::actor& target, const std::string& incarnation = "inc-b") {
    return send_request(op, session, migrate_atom::value, target, incarnation);
  }

  actor_probe probe(const session_actor& whom) {
    auto p = ask<actor_probe>(op, whom, inspect_atom::value);
    if (!p) {
      ADD_FAILURE() << message_of(p.error());
      return {};
    }
    return *p;
  }

  /// Waits (on virtual time, never sleeping) until `who` got the down
  /// message of `whom`; returns its reason.
  std::optional<caf::error> down_reason(caf::scoped_actor& who, const caf::actor_addr& whom) {
    std::optional<caf::error> out;
    for (bool more = true; more && !out;)
      who->receive(
          [&](caf::down_msg& msg) {
            if (msg.source == whom) out = msg.reason;
          },
          caf::after(std::chrono::seconds(0)) >>
              [&] {
                more = false;
              });
    return out;
  }

  caf::scoped_actor op;      ///< The operator asking for the move.
  caf::scoped_actor watcher; ///< A member that sees every event.
  std::shared_ptr<stand_in_data> data;
  caf::actor directory;
  session_state state;
  session_actor session;
};

// -- session_from_snapshot ----------------------------------------------------

TEST_F(SessionMigration, FromSnapshotRestoresMembersLeasesGenerationAndVersion) {
  start();
  join(watcher, session, "u-watch", "Watcher");
  caf::scoped_actor bob{sys};
  join(bob, session, "u-bob", "Bob");
  ASSERT_TRUE(ask<move_result>(bob, session, move_atom::value, 1, 20.0, 20.0, 0));
  auto grab = ask<lock_result>(watcher, session, lock_atom::value, 3);
  ASSERT_TRUE(grab && grab->granted);
  drain_events(watcher);
  drain_events(bob);

  auto id = migrate(directory);
  sched.run();
  auto reply = take_reply<std::string>(op, id);
  ASSERT_TRUE(reply && *reply) << (reply ? message_of(reply->error()) : "no reply");
  EXPECT_EQ(**reply, "inc-b");
  ASSERT_EQ(data->adopts, 1u);
  EXPECT_EQ(data->last.schema_version, session_snapshot::current_schema);
  EXPECT_EQ(data->last.generation, 0);
  EXPECT_EQ(data->last.members.size(), 2u);
  ASSERT_EQ(data->last.leases.size(), 1u);
  EXPECT_EQ(data->last.leases[0].user_id, "u-watch");
  auto moved = data->current;
  ASSERT_TRUE(moved);
  track(moved);

  auto p = probe(moved);
  EXPECT_EQ(p.kind, "session");
  EXPECT_EQ(p.key, "session/" + sid);
  auto summary = json::parse(p.summary_json);
  EXPECT_EQ(summary["generation"], 1);
  EXPECT_EQ(summary["version"], 1);
  EXPECT_EQ(summary["members"], 2);
  EXPECT_EQ(summary["leases"], 1);
  EXPECT_EQ(summary["mode"], "serving");
  auto old_summary = json::parse(probe(session).summary_json);
  EXPECT_EQ(old_summary["mode"], "forwarding");

  // Participants online, the lease held by the same member.
  auto st = state_of(op, moved);
  ASSERT_EQ(st["participants"].size(), 2u);
  EXPECT_EQ(st["participants"][0]["online"], true);
  EXPECT_EQ(st["participants"][1]["online"], true);
  EXPECT_EQ(st["pieces"][3]["lockedBy"], "u-watch");
  // Bob is still a member (identified by his actor) and the lease binds him.
  auto denied = ask<lock_result>(bob, moved, lock_atom::value, 3);
  ASSERT_TRUE(denied);
  EXPECT_FALSE(denied->granted);
  EXPECT_EQ(denied->locked_by, "u-watch");
  // Versions continue from the snapshot.
  auto next = ask<move_result>(bob, moved, move_atom::value, 2, 30.0, 20.0, 0);
  ASSERT_TRUE(next);
  EXPECT_EQ(next->version, 2u);
  auto evs = drain_events(watcher);
  auto moves = named(evs, "PieceMoved");
  ASSERT_EQ(moves.size(), 1u);
  EXPECT_EQ(moves[0].version, 2u);
  // The moved lease runs out on the new session with the usual event.
  advance(1'000ms);
  auto unlocked = named(drain_events(watcher), "PieceUnlocked");
  ASSERT_EQ(unlocked.size(), 1u);
  EXPECT_EQ(args_of(unlocked[0])[0]["pieceId"], 3);
  EXPECT_TRUE(state_of(op, moved)["pieces"][3]["lockedBy"].is_null());
}

TEST_F(SessionMigration, ALeaseAlreadyOverIsReleasedAtOnce) {
  state.version = 7;
  store_data->sessions[sid] = state;
  session_snapshot snap;
  snap.generation = 4;
  snap.state = state;
  snap.members.push_back(
      member_snapshot{caf::actor_cast<client_events_actor>(watcher), "u-watch", "Watcher"});
  lease_snapshot lease;
  lease.lease_id = 9;
  lease.holder = caf::actor_cast<client_events_actor>(watcher);
  lease.user_id = "u-watch";
  lease.username = "Watcher";
  lease.piece_id = 2;
  lease.pieces = {2};
  lease.expires_at = 1; // long past
  snap.leases.push_back(lease);
  snap.next_lease_id = 10;
  auto s = sys.spawn(session_from_snapshot, snap, store_actor{store}, migration_options());
  track(s);
  sched.run();
  // The rest of that lease is 0 ms; the test coordinator fires a due timer
  // only when its clock moves.
  advance(1ms);
  auto unlocked = named(drain_events(watcher), "PieceUnlocked");
  ASSERT_EQ(unlocked.size(), 1u);
  EXPECT_EQ(args_of(unlocked[0])[0]["pieceIds"], json::array({2}));
  EXPECT_EQ(unlocked[0].version, 7u);
  auto summary = json::parse(probe(s).summary_json);
  EXPECT_EQ(summary["generation"], 4);
  EXPECT_EQ(summary["leases"], 0);
  EXPECT_EQ(summary["members"], 1);
  // A new grab gets a fresh lease id, after the snapshot's.
  auto grab = ask<lock_result>(watcher, s, lock_atom::value, 2);
  ASSERT_TRUE(grab && grab->granted);
}

// -- the move while people play ---------------------------------------------

TEST_F(SessionMigration, EveryAcknowledgedMoveIsKeptOnceAndInOrderAcrossTheMove) {
  start();
  test_client a;
  test_client b;
  spawn_client(a, "u-a");
  spawn_client(b, "u-b");
  post(a, command(command_kind::join, "join-a"));
  post(b, command(command_kind::join, "join-b"));
  sched.run();
  ASSERT_TRUE(result_of(*a.port, "join-a"));
  ASSERT_TRUE(result_of(*b.port, "join-b"));
  join(watcher, session, "u-watch", "Watcher");
  // A lease that must survive the move: the watcher holds piece 15.
  ASSERT_TRUE(ask<lock_result>(watcher, session, lock_atom::value, 15)->granted);
  drain_events(watcher);
  op->monitor(session);
  auto old_addr = session.address();

  constexpr int rounds = 30;
  caf::message_id migrate_id;
  caf::message_id probe_id;
  for (int r = 0; r < rounds; ++r) {
    play_round(a, 0, r);
    play_round(b, 6, r);
    // Drops in flight when the freeze begins: their replies are held
    // until r == 14, and the snapshot must wait for them.
    if (r == 8) store_data->hold_writes = true;
    if (r == 10) migrate_id = migrate(directory);
    if (r == 12) probe_id = send_request(op, session, inspect_atom::value);
    if (r == 14) {
      store_data->hold_writes = false;
      caf::anon_send(store, flush_atom::value);
    }
    // Interleave: only part of the work runs before the next round is sent.
    for (int k = 0; k < 7; ++k)
      sched.run_once();
  }
  sched.run();

  auto reply = take_reply<std::string>(op, migrate_id);
  ASSERT_TRUE(reply && *reply) << (reply ? message_of(reply->error()) : "no reply");
  EXPECT_EQ(**reply, "inc-b");
  ASSERT_EQ(data->adopts, 1u);
  ASSERT_EQ(data->adopted.size(), 1u);
  auto moved = data->adopted[0];
  track(moved);
  // The move happened mid-stream: some drops before the snapshot, some
  // after, and the snapshot waited for the ones held in flight.
  EXPECT_GT(data->last.state.version, 0u);
  EXPECT_LT(data->last.state.version, static_cast<uint64_t>(2 * rounds));
  auto frozen = take_reply<actor_probe>(op, probe_id);
  ASSERT_TRUE(frozen && *frozen);
  auto frozen_summary = json::parse((*frozen)->summary_json);
  EXPECT_EQ(frozen_summary["mode"], "frozen");
  EXPECT_GT(frozen_summary["storeWritesInFlight"], 0);
  EXPECT_GT((*frozen)->mailbox_depth, 0u);

  // Every call answered exactly once, none failed.
  for (auto* c : {&a, &b}) {
    EXPECT_TRUE(c->port->errors.empty())
        << c->user_id << ": " << c->port->errors.front().call_id << " "
        << to_code(c->port->errors.front().code) << " " << c->port->errors.front().message;
    EXPECT_EQ(c->port->results.size(), c->calls) << c->user_id;
  }
  // Per sender: acknowledged versions strictly increase in send order.
  std::vector<uint64_t> acked;
  for (auto* c : {&a, &b}) {
    uint64_t last = 0;
    for (auto& call : c->move_calls) {
      ASSERT_EQ(answers_to(*c->port, call), 1u) << call;
      auto r = result_of(*c->port, call);
      ASSERT_TRUE(r) << call;
      auto v = json::parse(r->json);
      EXPECT_EQ(v["success"], true) << call;
      EXPECT_EQ(v["isCorrectlyPlaced"], false) << call;
      auto version = v["version"].get<uint64_t>();
      EXPECT_GT(version, last) << call;
      last = version;
      acked.push_back(version);
    }
  }
  // Across senders: versions 1..N, each once (nothing lost, nothing twice).
  std::sort(acked.begin(), acked.end());
  ASSERT_EQ(acked.size(), static_cast<size_t>(2 * rounds));
  for (size_t i = 0; i < acked.size(); ++i)
    EXPECT_EQ(acked[i], i + 1);
  // The store holds each drop once, in version order.
  ASSERT_EQ(store_data->drops.size(), acked.size());
  for (size_t i = 0; i < store_data->drops.size(); ++i)
    EXPECT_EQ(store_data->drops[i].version, i + 1);
  EXPECT_EQ(store_data->sessions[sid].version, acked.size());
  // A member sees every move once, versions strictly increasing, although
  // the events came from two actors.
  auto evs = drain_events(watcher);
  auto moves = named(evs, "PieceMoved");
  ASSERT_EQ(moves.size(), acked.size());
  for (size_t i = 0; i < moves.size(); ++i)
    EXPECT_EQ(moves[i].version, i + 1);
  // The move was not a re-join: one SessionStateUpdate per client.
  EXPECT_EQ(count_named(a.port->events, "SessionStateUpdate"), 1u);
  EXPECT_EQ(count_named(b.port->events, "SessionStateUpdate"), 1u);
  EXPECT_EQ(count_named(evs, "UserLeft"), 0u);

  // Members and the watcher's lease live on in the new session.
  auto st = state_of(op, moved);
  EXPECT_EQ(st["version"], acked.size());
  EXPECT_EQ(st["pieces"][15]["lockedBy"], "u-watch");
  for (auto& p : st["participants"])
    EXPECT_EQ(p["online"], true) << p["userId"];
  auto summary = json::parse(probe(moved).summary_json);
  EXPECT_EQ(summary["members"], 3);
  EXPECT_EQ(summary["generation"], 1);
  post(a, command(command_kind::lock, "lock-15", 15));
  sched.run();
  auto denied = json::parse(result_of(*a.port, "lock-15")->json);
  EXPECT_EQ(denied["granted"], false);
  EXPECT_EQ(denied["lockedBy"], "u-watch");

  // The forwarder quits after the grace period, with the move's reason;
  // the clients keep playing on the new session without it.
  advance(10'000ms);
  auto reason = down_reason(op, old_addr);
  ASSERT_TRUE(reason);
  EXPECT_TRUE(is_session_moved(*reason)) << caf::to_string(*reason);
  EXPECT_NE(*reason, caf::make_error(caf::exit_reason::user_shutdown));
  play_round(a, 0, rounds);
  sched.run();
  auto last = result_of(*a.port, "move-u-a-" + std::to_string(rounds));
  ASSERT_TRUE(last);
  EXPECT_EQ(json::parse(last->json)["version"], acked.size() + 1);
  EXPECT_TRUE(a.port->errors.empty());
  EXPECT_EQ(count_named(a.port->events, "SessionStateUpdate"), 1u);
}

TEST_F(SessionMigration, TheSnapshotWaitsUntilEveryDropInFlightIsDurable) {
  start();
  caf::scoped_actor alice{sys};
  caf::scoped_actor bob{sys};
  join(alice, session, "u-alice", "Alice");
  join(bob, session, "u-bob", "Bob");
  store_data->hold_writes = true;
  auto first = send_request(alice, session, move_atom::value, 0, 20.0, 20.0, 0);
  sched.run();
  auto id = migrate(directory);
  sched.run();
  // Frozen: nothing adopted while the drop is not durable; later requests
  // wait in the mailbox.
  EXPECT_EQ(data->adopts, 0u);
  auto later = send_request(bob, session, move_atom::value, 1, 40.0, 20.0, 0);
  sched.run();
  EXPECT_FALSE(take_reply<move_result>(bob, later));
  EXPECT_FALSE(take_reply<move_result>(alice, first));
  auto p = probe(session);
  EXPECT_EQ(json::parse(p.summary_json)["mode"], "frozen");
  EXPECT_EQ(json::parse(p.summary_json)["storeWritesInFlight"], 1);
  EXPECT_GE(p.mailbox_depth, 1u);
  // Durable: snapshot, adoption, then the waiting move runs on the new one.
  store_data->hold_writes = false;
  caf::anon_send(store, flush_atom::value);
  sched.run();
  auto r1 = take_reply<move_result>(alice, first);
  ASSERT_TRUE(r1 && *r1);
  EXPECT_EQ((*r1)->version, 1u);
  EXPECT_EQ(data->adopts, 1u);
  EXPECT_EQ(data->last.state.version, 1u);
  auto r2 = take_reply<move_result>(bob, later);
  ASSERT_TRUE(r2 && *r2);
  EXPECT_EQ((*r2)->version, 2u);
  ASSERT_TRUE(take_reply<std::string>(op, id));
  track(data->current);
  EXPECT_EQ(state_of(op, data->current)["version"], 2);
}

// -- failures -----------------------------------------------------------------

TEST_F(SessionMigration, AFailedAdoptionLeavesTheSessionWorkingWhereItWas) {
  start();
  data->refuse = true;
  test_client a;
  join_client(a, "u-a");
  join(watcher, session, "u-watch", "Watcher");
  ASSERT_TRUE(ask<lock_result>(watcher, session, lock_atom::value, 15)->granted);
  drain_events(watcher);
  for (int r = 0; r < 6; ++r) {
    play_round(a, 0, r);
    if (r == 2) migrate(directory);
    sched.run_once();
  }
  auto id = migrate(directory);
  sched.run();
  auto reply = take_reply<std::string>(op, id);
  ASSERT_TRUE(reply);
  ASSERT_FALSE(*reply);
  EXPECT_EQ(code_of(reply->error()), errc::conflict);
  EXPECT_EQ(data->adopts, 2u);
  EXPECT_TRUE(data->adopted.empty());
  // Every call answered here, in order, versions 1..6.
  EXPECT_TRUE(a.port->errors.empty());
  EXPECT_EQ(a.port->results.size(), a.calls);
  uint64_t expected = 0;
  for (auto& call : a.move_calls) {
    auto r = result_of(*a.port, call);
    ASSERT_TRUE(r) << call;
    EXPECT_EQ(json::parse(r->json)["version"], ++expected);
  }
  auto summary = json::parse(probe(session).summary_json);
  EXPECT_EQ(summary["mode"], "serving");
  EXPECT_EQ(summary["leases"], 1);
  EXPECT_EQ(summary["members"], 2);
  EXPECT_EQ(state_of(op, session)["pieces"][15]["lockedBy"], "u-watch");
  // The session still plays, and nobody was told it moved.
  play_round(a, 0, 6);
  sched.run();
  EXPECT_EQ(json::parse(result_of(*a.port, "move-u-a-6")->json)["version"], 7);
  EXPECT_EQ(count_named(a.port->events, "SessionStateUpdate"), 1u);
}

TEST_F(SessionMigration, AnAdoptionThatNeverAnswersTimesOutAndTheSessionCarriesOn) {
  start();
  caf::scoped_actor silent{sys}; // a target that never answers
  caf::scoped_actor alice{sys};
  join(alice, session, "u-alice", "Alice");
  auto id = migrate(caf::actor_cast<caf::actor>(silent));
  sched.run();
  auto waiting = send_request(alice, session, move_atom::value, 0, 20.0, 20.0, 0);
  sched.run();
  EXPECT_FALSE(take_reply<move_result>(alice, waiting));
  advance(5'000ms);
  auto reply = take_reply<std::string>(op, id);
  ASSERT_TRUE(reply);
  EXPECT_FALSE(*reply);
  auto r = take_reply<move_result>(alice, waiting);
  ASSERT_TRUE(r && *r);
  EXPECT_EQ((*r)->version, 1u);
  EXPECT_EQ(json::parse(probe(session).summary_json)["mode"], "serving");
}

TEST_F(SessionMigration, AForwarderWhoseSuccessorEndedGoesAtOnce) {
  start();
  caf::scoped_actor alice{sys};
  join(alice, session, "u-alice", "Alice");
  op->monitor(session);
  auto old_addr = session.address();
  auto id = migrate(directory);
  sched.run();
  auto reply = take_reply<std::string>(op, id);
  ASSERT_TRUE(reply && *reply);
  auto moved = data->current;
  ASSERT_TRUE(moved);
  EXPECT_EQ(json::parse(probe(session).summary_json)["mode"], "forwarding");
  // The session is deleted on its new node, long before the grace period
  // (10 s) is over: nothing is left to forward to.
  caf::anon_send_exit(moved, caf::exit_reason::user_shutdown);
  sched.run();
  auto reason = down_reason(op, old_addr);
  ASSERT_TRUE(reason) << "the forwarder is still there";
  EXPECT_TRUE(is_session_moved(*reason)) << caf::to_string(*reason);
}

TEST_F(SessionMigration, ARefusedMoveResumesOnlyAfterTheSessionReclaimsItsRow) {
  auto opts = migration_options();
  opts.owner_incarnation = "inc-a";
  session = spawn_session(state, opts);
  data->current = session;
  store_data->rows[sid] = {"inc-a", 0};
  data->refuse = true;
  caf::scoped_actor alice{sys};
  join(alice, session, "u-alice", "Alice");
  auto id = migrate(directory);
  sched.run();
  auto reply = take_reply<std::string>(op, id);
  ASSERT_TRUE(reply);
  ASSERT_FALSE(*reply);
  EXPECT_EQ(code_of(reply->error()), errc::conflict);
  // Re-claimed under its own incarnation: a late claim of the target (which
  // expects generation 0) can no longer win.
  EXPECT_EQ(store_data->claims, 1u);
  EXPECT_EQ(store_data->rows[sid], std::make_pair(std::string{"inc-a"}, int64_t{1}));
  auto summary = json::parse(probe(session).summary_json);
  EXPECT_EQ(summary["mode"], "serving");
  EXPECT_EQ(summary["generation"], 1);
  auto moved = ask<move_result>(alice, session, move_atom::value, 0, 20.0, 20.0, 0);
  ASSERT_TRUE(moved);
  EXPECT_EQ(moved->version, 1u);
}

TEST_F(SessionMigration, AMoveRefusedBecauseAnotherNodeTookTheSessionStepsDown) {
  auto opts = migration_options();
  opts.owner_incarnation = "inc-a";
  session = spawn_session(state, opts);
  data->current = session;
  // Another node re-activated the session meanwhile (it won generation 1).
  store_data->rows[sid] = {"inc-c", 1};
  data->refuse = true;
  caf::scoped_actor alice{sys};
  join(alice, session, "u-alice", "Alice");
  op->monitor(session);
  auto old_addr = session.address();
  auto id = migrate(directory);
  auto waiting = send_request(alice, session, move_atom::value, 0, 20.0, 20.0, 0);
  sched.run();
  auto reply = take_reply<std::string>(op, id);
  ASSERT_TRUE(reply);
  ASSERT_FALSE(*reply);
  EXPECT_EQ(code_of(reply->error()), errc::conflict);
  EXPECT_EQ(store_data->rows[sid], std::make_pair(std::string{"inc-c"}, int64_t{1}));
  // It stops serving: the move kept while frozen is not acknowledged, and
  // the members (who see it end with the move's reason) re-join wherever
  // the row says.
  auto reason = down_reason(op, old_addr);
  ASSERT_TRUE(reason);
  EXPECT_TRUE(is_session_moved(*reason)) << caf::to_string(*reason);
  auto r = take_reply<move_result>(alice, waiting);
  ASSERT_TRUE(r);
  EXPECT_FALSE(*r);
  EXPECT_TRUE(store_data->drops.empty());
}

// -- client actors ------------------------------------------------------------

TEST_F(SessionMigration, AClientRejoinsThroughTheDirectoryAfterItsSessionDied) {
  start();
  test_client a;
  join_client(a, "u-a");
  post(a, command(command_kind::move, "m1", 0, 20, 20));
  sched.run();
  ASSERT_TRUE(result_of(*a.port, "m1"));
  // The session's node "dies"; the directory re-activates it from the store
  // (but is unavailable for a moment first).
  auto replacement = sys.spawn(session_behavior, store_data->sessions[sid], store_actor{store},
                               migration_options());
  track(replacement);
  data->current = replacement;
  data->lookup_error = errc::internal;
  caf::anon_send_exit(session, caf::exit_reason::kill);
  sched.run();
  EXPECT_EQ(count_named(a.port->events, "SessionStateUpdate"), 1u);
  EXPECT_EQ(data->lookups, 2u); // the join and the first re-resolve
  data->lookup_error = errc::none;
  advance(rejoin_retry_interval);
  // Re-joined with the same identity: a full state resync.
  ASSERT_EQ(count_named(a.port->events, "SessionStateUpdate"), 2u);
  auto resync = args_of(named(a.port->events, "SessionStateUpdate").back())[0];
  EXPECT_EQ(resync["version"], 1);
  EXPECT_EQ(resync["participants"][0]["userId"], "u-a");
  EXPECT_EQ(resync["participants"][0]["online"], true);
  post(a, command(command_kind::move, "m2", 1, 40, 20));
  sched.run();
  auto r = result_of(*a.port, "m2");
  ASSERT_TRUE(r);
  EXPECT_EQ(json::parse(r->json)["version"], 2);
  EXPECT_TRUE(a.port->errors.empty());
  auto client_probe = ask<actor_probe>(op, a.handle, inspect_atom::value);
  ASSERT_TRUE(client_probe);
  EXPECT_EQ(client_probe->key, "client/u-a");
  EXPECT_EQ(json::parse(client_probe->summary_json)["sessions"], json::array({sid}));
}

TEST_F(SessionMigration, AClientKeepsLookingThroughItsRejoinWindowPastTheLostActor) {
  start();
  test_client a;
  join_client(a, "u-a");
  // The session's node dies; the directory still names the lost actor for
  // a while (it has not seen the loss yet), then nothing until a failover.
  caf::anon_send_exit(session, caf::exit_reason::kill);
  sched.run();
  // A call meanwhile is refused at once rather than sent to the lost actor.
  post(a, command(command_kind::move, "m1", 0, 20, 20));
  sched.run();
  ASSERT_EQ(a.port->errors.size(), 1u);
  EXPECT_EQ(a.port->errors[0].call_id, "m1");
  EXPECT_EQ(a.port->errors[0].code, errc::internal);
  // Three times the request timeout (2 s), within the re-join window
  // (10 s): still looking, never joined to the lost actor.
  for (int i = 0; i < 24; ++i)
    advance(rejoin_retry_interval);
  EXPECT_EQ(count_named(a.port->events, "SessionStateUpdate"), 1u);
  auto probe_json = json::parse(ask<actor_probe>(op, a.handle, inspect_atom::value)->summary_json);
  EXPECT_EQ(probe_json["rejoining"], 1);
  EXPECT_GE(data->lookups, 20u);
  // The failover is done: the next attempt joins the new actor.
  auto replacement = sys.spawn(session_behavior, store_data->sessions[sid], store_actor{store},
                               migration_options());
  track(replacement);
  data->current = replacement;
  advance(rejoin_retry_interval);
  ASSERT_EQ(count_named(a.port->events, "SessionStateUpdate"), 2u);
  post(a, command(command_kind::move, "m2", 0, 20, 20));
  sched.run();
  auto r = result_of(*a.port, "m2");
  ASSERT_TRUE(r);
  EXPECT_EQ(json::parse(r->json)["version"], 1);
}

TEST_F(SessionMigration, AClientGivesUpOnceItsRejoinWindowIsOver) {
  start();
  test_client a;
  join_client(a, "u-a");
  caf::anon_send_exit(session, caf::exit_reason::kill);
  sched.run();
  advance(9'500ms);
  EXPECT_TRUE(a.port->errors.empty());
  advance(1'000ms);
  ASSERT_EQ(a.port->errors.size(), 1u);
  EXPECT_EQ(a.port->errors[0].code, errc::session_not_found);
  post(a, command(command_kind::move, "m1", 0, 20, 20));
  sched.run();
  ASSERT_EQ(a.port->errors.size(), 2u);
  EXPECT_EQ(a.port->errors[1].code, errc::session_not_found);
}

TEST_F(SessionMigration, AClientFollowsAForwarderThatQuitBeforeItsHint) {
  // A member that missed the hint (it joined through the old handle only)
  // still ends up on the new session: the forwarder's exit makes it ask the
  // directory.
  start();
  test_client a;
  join_client(a, "u-a");
  auto id = migrate(directory);
  sched.run();
  ASSERT_TRUE(take_reply<std::string>(op, id));
  auto moved = data->current;
  track(moved);
  advance(10'000ms); // the forwarder quits
  post(a, command(command_kind::move, "m1", 0, 20, 20));
  sched.run();
  auto r = result_of(*a.port, "m1");
  ASSERT_TRUE(r);
  EXPECT_EQ(json::parse(r->json)["version"], 1);
  EXPECT_TRUE(a.port->errors.empty());
}

TEST_F(SessionMigration, AClientForgetsASessionTheDirectoryNoLongerKnows) {
  start();
  test_client a;
  join_client(a, "u-a");
  data->current = session_actor{};
  caf::anon_send_exit(session, caf::exit_reason::kill);
  sched.run();
  ASSERT_EQ(a.port->errors.size(), 1u);
  EXPECT_EQ(a.port->errors[0].call_id, "");
  EXPECT_EQ(a.port->errors[0].code, errc::session_not_found);
  post(a, command(command_kind::move, "late", 0, 20, 20));
  sched.run();
  ASSERT_EQ(a.port->errors.size(), 2u);
  EXPECT_EQ(a.port->errors[1].call_id, "late");
  EXPECT_EQ(a.port->errors[1].code, errc::session_not_found);
}

TEST_F(SessionMigration, SessionsLocksAndClientsAreInTheCensus) {
  start();
  test_client a;
  join_client(a, "u-a");
  post(a, command(command_kind::lock, "l", 5));
  sched.run();
  ASSERT_TRUE(result_of(*a.port, "l"));
  std::map<std::string, std::string> keys; // key -> kind
  for (auto& e : census::everyone())
    keys[e.key] = e.kind;
  EXPECT_EQ(keys["session/" + sid], "session");
  EXPECT_EQ(keys["client/u-a"], "client");
  EXPECT_EQ(keys["lock/" + sid + "/5"], "lock");
}

} // namespace
