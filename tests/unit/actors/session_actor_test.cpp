#include "actors/session/session_actor.hpp"

#include <chrono>
#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include <caf/all.hpp>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "actors/caf_errors.hpp"
#include "tests/unit/actors/support/test_fixture.hpp"

namespace {

using namespace std::chrono_literals;
using namespace puzzle;
using namespace puzzle::test_support;
using nlohmann::json;

constexpr double k_nan = std::numeric_limits<double>::quiet_NaN();
constexpr double k_inf = std::numeric_limits<double>::infinity();

/// The options of these tests: short, round virtual times.
session_options test_options() {
  session_options opts;
  opts.lock_lease = 1'000ms;
  opts.cursor_interval = 50ms;
  opts.chat_history = 3;
  return opts;
}

class SessionActor : public actor_fixture {
protected:
  SessionActor()
      : alice(sys), bob(sys), state(make_state(2, 2)), geo(model::make_geometry(state.spec)) {
    // nop
  }

  /// Spawns the 2x2 session and joins Alice and Bob; clears their events.
  void start(session_options opts = test_options()) {
    session = spawn_session(state, opts);
    join(alice, session, "u-alice", "Alice");
    join(bob, session, "u-bob", "Bob");
    drain_events(alice);
    drain_events(bob);
  }

  caf::expected<lock_result> lock(caf::scoped_actor& who, int32_t piece) {
    return ask<lock_result>(who, session, lock_atom::value, piece);
  }

  caf::expected<move_result> move(caf::scoped_actor& who, int32_t piece, double x, double y,
                                  int32_t rotation = 0) {
    return ask<move_result>(who, session, move_atom::value, piece, x, y, rotation);
  }

  caf::expected<uint64_t> drag(caf::scoped_actor& who, int32_t piece, double x, double y) {
    return ask<uint64_t>(who, session, drag_atom::value, piece, x, y, int32_t{0});
  }

  caf::expected<bool> chat(caf::scoped_actor& who, const std::string& text) {
    return ask<bool>(who, session, chat_atom::value, text);
  }

  /// `lockedBy` of piece `id` in the current state (null when free).
  json locked_by(int32_t id) {
    return state_of(alice, session)["pieces"][static_cast<size_t>(id)]["lockedBy"];
  }

  caf::scoped_actor alice;
  caf::scoped_actor bob;
  session_state state;
  model::geometry geo;
  session_actor session;
};

// -- join ---------------------------------------------------------------------

TEST_F(SessionActor, JoinReturnsStateAndTellsOnlyTheOthers) {
  session = spawn_session(state, test_options());
  auto first = json::parse(join(alice, session, "u-alice", "Alice"));
  EXPECT_EQ(first["sessionId"], default_session_id);
  EXPECT_EQ(first["pieceCount"], 4);
  ASSERT_EQ(first["pieces"].size(), 4u);
  ASSERT_EQ(first["participants"].size(), 1u);
  EXPECT_EQ(first["participants"][0]["userId"], "u-alice");
  EXPECT_EQ(first["participants"][0]["username"], "Alice");
  EXPECT_EQ(first["participants"][0]["online"], true);
  auto alice_events = drain_events(alice);
  ASSERT_EQ(names_of(alice_events), std::vector<std::string>{"SessionStateUpdate"});
  EXPECT_EQ(args_of(alice_events[0])[0], first);
  EXPECT_EQ(alice_events[0].session_id, default_session_id);

  auto second = json::parse(join(bob, session, "u-bob", "Bob"));
  ASSERT_EQ(second["participants"].size(), 2u);
  EXPECT_EQ(second["participants"][0]["userId"], "u-alice");
  EXPECT_EQ(second["participants"][0]["online"], true);
  EXPECT_EQ(second["participants"][1]["userId"], "u-bob");
  EXPECT_EQ(second["participants"][1]["online"], true);
  auto bob_events = drain_events(bob);
  ASSERT_EQ(names_of(bob_events), std::vector<std::string>{"SessionStateUpdate"});
  EXPECT_EQ(args_of(bob_events[0])[0], second);
  alice_events = drain_events(alice);
  ASSERT_EQ(names_of(alice_events), std::vector<std::string>{"UserJoined"});
  auto joined = args_of(alice_events[0])[0];
  EXPECT_EQ(joined["userId"], "u-bob");
  EXPECT_EQ(joined["username"], "Bob");
  EXPECT_EQ(joined["color"], second["participants"][1]["color"]);
  // The participant is made durable (without the join waiting for it).
  ASSERT_EQ(store_data->joins, 2u);
  ASSERT_EQ(store_data->sessions[default_session_id].participants.size(), 2u);
  EXPECT_EQ(store_data->sessions[default_session_id].participants[1].user_id, "u-bob");
}

TEST_F(SessionActor, SecondConnectionOfSameUserDoesNotRepeatUserJoined) {
  start();
  caf::scoped_actor alice2{sys};
  auto snapshot = json::parse(join(alice2, session, "u-alice", "Alice"));
  ASSERT_EQ(snapshot["participants"].size(), 2u);
  EXPECT_EQ(names_of(drain_events(alice2)), std::vector<std::string>{"SessionStateUpdate"});
  EXPECT_TRUE(drain_events(bob).empty());
  EXPECT_TRUE(drain_events(alice).empty());
}

TEST_F(SessionActor, RequestsFromNonMemberAreNotJoined) {
  start();
  caf::scoped_actor eve{sys};
  auto expect_not_joined = [](const auto& reply, const char* what) {
    ASSERT_FALSE(reply) << what;
    EXPECT_EQ(code_of(reply.error()), errc::not_joined) << what;
  };
  expect_not_joined(ask<bool>(eve, session, leave_atom::value), "leave");
  expect_not_joined(ask<lock_result>(eve, session, lock_atom::value, 0), "lock");
  expect_not_joined(ask<uint64_t>(eve, session, drag_atom::value, 0, 1.0, 1.0, 0), "drag");
  expect_not_joined(ask<move_result>(eve, session, move_atom::value, 0, 1.0, 1.0, 0), "move");
  expect_not_joined(ask<bool>(eve, session, unlock_atom::value, 0), "unlock");
  expect_not_joined(ask<bool>(eve, session, chat_atom::value, std::string{"hi"}), "chat");
  expect_not_joined(ask<bool>(eve, session, cursor_atom::value, 1.0, 2.0), "cursor");
  EXPECT_TRUE(drain_events(alice).empty());
  EXPECT_TRUE(drain_events(bob).empty());
  EXPECT_EQ(state_of(alice, session)["version"], 0);
}

// -- locks --------------------------------------------------------------------

TEST_F(SessionActor, LockIsGrantedAndBroadcastToEveryone) {
  start();
  auto granted = lock(alice, 2);
  ASSERT_TRUE(granted) << message_of(granted.error());
  EXPECT_TRUE(granted->granted);
  EXPECT_EQ(granted->locked_by, "u-alice");
  EXPECT_EQ(granted->piece_ids, std::vector<int32_t>{2});
  EXPECT_GT(granted->expires_at, 0);
  for (auto* who : {&alice, &bob}) {
    auto evs = drain_events(*who);
    ASSERT_EQ(names_of(evs), std::vector<std::string>{"PieceLocked"});
    auto payload = args_of(evs[0])[0];
    EXPECT_EQ(payload["pieceId"], 2);
    EXPECT_EQ(payload["pieceIds"], json::array({2}));
    EXPECT_EQ(payload["userId"], "u-alice");
    EXPECT_EQ(payload["username"], "Alice");
  }
  EXPECT_EQ(locked_by(2), "u-alice");
  EXPECT_TRUE(locked_by(1).is_null());
}

TEST_F(SessionActor, LockHeldByAnotherConnectionIsRefusedNamingTheHolder) {
  start();
  ASSERT_TRUE(lock(alice, 0));
  drain_events(alice);
  drain_events(bob);
  auto refused = lock(bob, 0);
  ASSERT_TRUE(refused) << message_of(refused.error());
  EXPECT_FALSE(refused->granted);
  EXPECT_EQ(refused->locked_by, "u-alice");
  EXPECT_EQ(refused->piece_ids, std::vector<int32_t>{0});
  // A lock belongs to a connection: the same user's other tab is refused too.
  caf::scoped_actor alice2{sys};
  join(alice2, session, "u-alice", "Alice");
  auto refused_too = lock(alice2, 0);
  ASSERT_TRUE(refused_too);
  EXPECT_FALSE(refused_too->granted);
  EXPECT_EQ(refused_too->locked_by, "u-alice");
  // Refusals change nothing and tell nobody.
  EXPECT_TRUE(drain_events(alice).empty());
  EXPECT_TRUE(drain_events(bob).empty());
}

TEST_F(SessionActor, OfTwoGrabsEnqueuedTogetherExactlyOneWins) {
  start();
  auto from_alice = send_request(alice, session, lock_atom::value, int32_t{3});
  auto from_bob = send_request(bob, session, lock_atom::value, int32_t{3});
  sched.run();
  auto a = take_reply<lock_result>(alice, from_alice);
  auto b = take_reply<lock_result>(bob, from_bob);
  ASSERT_TRUE(a && *a);
  ASSERT_TRUE(b && *b);
  EXPECT_EQ(int{(*a)->granted} + int{(*b)->granted}, 1);
  auto winner = (*a)->granted ? "u-alice" : "u-bob";
  EXPECT_EQ((*a)->locked_by, winner);
  EXPECT_EQ((*b)->locked_by, winner);
  EXPECT_EQ(count_named(drain_events(alice), "PieceLocked"), 1u);
  EXPECT_EQ(count_named(drain_events(bob), "PieceLocked"), 1u);
  EXPECT_EQ(locked_by(3), winner);
}

TEST_F(SessionActor, LockingOneMemberOfAGroupLocksTheWholeGroup) {
  // Pieces 0 and 1 (neighbours in row 0) joined earlier into group 0.
  state.pieces[0].x = 10;
  state.pieces[0].y = 10;
  state.pieces[1].x = 10 + geo.piece_width;
  state.pieces[1].y = 10;
  state.pieces[1].group_id = 0;
  start();
  auto granted = lock(alice, 1);
  ASSERT_TRUE(granted);
  EXPECT_TRUE(granted->granted);
  EXPECT_EQ(granted->piece_ids, (std::vector<int32_t>{0, 1}));
  auto evs = drain_events(bob);
  ASSERT_EQ(names_of(evs), std::vector<std::string>{"PieceLocked"});
  EXPECT_EQ(args_of(evs[0])[0]["pieceId"], 1);
  EXPECT_EQ(args_of(evs[0])[0]["pieceIds"], json::array({0, 1}));
  auto refused = lock(bob, 0);
  ASSERT_TRUE(refused);
  EXPECT_FALSE(refused->granted);
  EXPECT_EQ(refused->locked_by, "u-alice");
  EXPECT_EQ(refused->piece_ids, (std::vector<int32_t>{0, 1}));
  EXPECT_EQ(locked_by(0), "u-alice");
  EXPECT_EQ(locked_by(1), "u-alice");
  EXPECT_TRUE(locked_by(2).is_null());
  auto dragged = drag(bob, 0, 50, 50);
  ASSERT_FALSE(dragged);
  EXPECT_EQ(code_of(dragged.error()), errc::piece_locked);
}

TEST_F(SessionActor, LeaseExpiresAfterTheLockLeaseInVirtualTime) {
  start();
  ASSERT_TRUE(lock(alice, 1));
  drain_events(alice);
  drain_events(bob);
  advance(999ms);
  EXPECT_TRUE(drain_events(bob).empty());
  EXPECT_EQ(locked_by(1), "u-alice");
  advance(1ms);
  for (auto* who : {&alice, &bob}) {
    auto evs = drain_events(*who);
    ASSERT_EQ(names_of(evs), std::vector<std::string>{"PieceUnlocked"});
    auto payload = args_of(evs[0])[0];
    EXPECT_EQ(payload["pieceId"], 1);
    EXPECT_EQ(payload["pieceIds"], json::array({1}));
    EXPECT_EQ(payload["userId"], "u-alice");
  }
  EXPECT_TRUE(locked_by(1).is_null());
  auto granted = lock(bob, 1);
  ASSERT_TRUE(granted);
  EXPECT_TRUE(granted->granted);
  EXPECT_EQ(granted->locked_by, "u-bob");
}

TEST_F(SessionActor, DragByTheHolderRenewsTheLease) {
  start();
  ASSERT_TRUE(lock(alice, 1));
  advance(900ms);
  ASSERT_TRUE(drag(alice, 1, 20, 30));
  drain_events(alice);
  drain_events(bob);
  advance(200ms); // t = 1100: past the original expiry
  EXPECT_EQ(count_named(drain_events(bob), "PieceUnlocked"), 0u);
  EXPECT_EQ(locked_by(1), "u-alice");
  advance(799ms); // t = 1899: just before the renewed expiry
  EXPECT_EQ(count_named(drain_events(bob), "PieceUnlocked"), 0u);
  advance(1ms); // t = 1900
  EXPECT_EQ(count_named(drain_events(bob), "PieceUnlocked"), 1u);
  EXPECT_TRUE(locked_by(1).is_null());
}

TEST_F(SessionActor, HolderConnectionExitReleasesItsLocksAndTellsOthers) {
  start();
  std::optional<caf::scoped_actor> carol;
  carol.emplace(sys);
  join(*carol, session, "u-carol", "Carol");
  ASSERT_TRUE(lock(*carol, 2));
  ASSERT_TRUE(lock(*carol, 3));
  drain_events(alice);
  drain_events(bob);
  carol.reset(); // the connection's actor quits without leaving
  sched.run();
  auto evs = drain_events(bob);
  ASSERT_EQ(names_of(evs),
            (std::vector<std::string>{"PieceUnlocked", "PieceUnlocked", "UserLeft"}));
  EXPECT_EQ(args_of(evs[0])[0]["pieceId"], 2);
  EXPECT_EQ(args_of(evs[1])[0]["pieceId"], 3);
  EXPECT_EQ(args_of(evs[2])[0]["userId"], "u-carol");
  EXPECT_EQ(drain_events(alice).size(), 3u);
  auto st = state_of(alice, session);
  EXPECT_TRUE(st["pieces"][2]["lockedBy"].is_null());
  EXPECT_TRUE(st["pieces"][3]["lockedBy"].is_null());
  EXPECT_EQ(st["participants"][2]["userId"], "u-carol");
  EXPECT_EQ(st["participants"][2]["online"], false);
  // The lease timers died with the leases: nothing more happens later.
  advance(5'000ms);
  EXPECT_TRUE(drain_events(bob).empty());
}

TEST_F(SessionActor, LeaveReleasesLocksAndTellsOthers) {
  start();
  ASSERT_TRUE(lock(alice, 0));
  drain_events(bob);
  auto left = ask<bool>(alice, session, leave_atom::value);
  ASSERT_TRUE(left);
  EXPECT_TRUE(*left);
  EXPECT_EQ(names_of(drain_events(bob)), (std::vector<std::string>{"PieceUnlocked", "UserLeft"}));
  auto again = lock(alice, 0);
  ASSERT_FALSE(again);
  EXPECT_EQ(code_of(again.error()), errc::not_joined);
}

TEST_F(SessionActor, UnlockByNonHolderIsPieceNotHeld) {
  start();
  ASSERT_TRUE(lock(alice, 0));
  drain_events(bob);
  auto by_bob = ask<bool>(bob, session, unlock_atom::value, int32_t{0});
  ASSERT_FALSE(by_bob);
  EXPECT_EQ(code_of(by_bob.error()), errc::piece_not_held);
  auto free_piece = ask<bool>(bob, session, unlock_atom::value, int32_t{1});
  ASSERT_FALSE(free_piece);
  EXPECT_EQ(code_of(free_piece.error()), errc::piece_not_held);
  EXPECT_TRUE(drain_events(bob).empty());
  EXPECT_EQ(locked_by(0), "u-alice");
  auto by_alice = ask<bool>(alice, session, unlock_atom::value, int32_t{0});
  ASSERT_TRUE(by_alice);
  EXPECT_TRUE(*by_alice);
  EXPECT_EQ(names_of(drain_events(bob)), std::vector<std::string>{"PieceUnlocked"});
  EXPECT_TRUE(locked_by(0).is_null());
}

// -- drag ---------------------------------------------------------------------

TEST_F(SessionActor, DragOfPieceLockedBySomeoneElseIsPieceLocked) {
  start();
  ASSERT_TRUE(lock(alice, 0));
  drain_events(alice);
  auto dragged = drag(bob, 0, 40, 40);
  ASSERT_FALSE(dragged);
  EXPECT_EQ(code_of(dragged.error()), errc::piece_locked);
  EXPECT_TRUE(drain_events(alice).empty());
  auto moved = move(bob, 0, 40, 40);
  ASSERT_FALSE(moved);
  EXPECT_EQ(code_of(moved.error()), errc::piece_locked);
}

// The drag path answers "is any piece of this group held by someone else"
// from the leases, not from a scan of the puzzle: a lease on a group mate
// (not on the dragged piece itself) must still refuse it, and a lease on a
// piece of another group must not.
TEST_F(SessionActor, DragOfAPieceWhoseGroupMateIsHeldBySomeoneElseIsPieceLocked) {
  start();
  ASSERT_TRUE(move(alice, 0, 10, 10));
  ASSERT_TRUE(move(alice, 1, 10 + geo.piece_width, 10)); // joins piece 0
  ASSERT_TRUE(lock(alice, 0));                           // the group {0, 1}
  ASSERT_TRUE(lock(alice, 3));                           // another group
  drain_events(bob);
  auto dragged = drag(bob, 1, 40, 40);
  ASSERT_FALSE(dragged);
  EXPECT_EQ(code_of(dragged.error()), errc::piece_locked);
  auto moved = move(bob, 1, 40, 40);
  ASSERT_FALSE(moved);
  EXPECT_EQ(code_of(moved.error()), errc::piece_locked);
  EXPECT_TRUE(drag(bob, 2, 40, 40)) << "piece 2 is in no held group";
  EXPECT_TRUE(drag(alice, 1, 40, 40)) << "the holder drags its own group";
}

TEST_F(SessionActor, DragIsShownToOthersOnlyAndChangesNoState) {
  start();
  auto before = state_of(alice, session);
  auto version = drag(alice, 3, 12.5, 20.25);
  ASSERT_TRUE(version) << message_of(version.error());
  EXPECT_EQ(*version, 0u);
  EXPECT_TRUE(drain_events(alice).empty());
  auto evs = drain_events(bob);
  ASSERT_EQ(names_of(evs), std::vector<std::string>{"PieceDragged"});
  auto payload = args_of(evs[0])[0];
  EXPECT_EQ(payload["pieceId"], 3);
  EXPECT_EQ(payload["x"], 12.5);
  EXPECT_EQ(payload["y"], 20.25);
  EXPECT_EQ(payload["rotation"], 0);
  EXPECT_EQ(payload["userId"], "u-alice");
  EXPECT_EQ(state_of(alice, session), before);
  EXPECT_EQ(store_data->saves, 0u);
}

// -- move ---------------------------------------------------------------------

TEST_F(SessionActor, NonFiniteMoveIsInvalidAndChangesNothing) {
  start();
  auto before = state_of(alice, session);
  for (auto [x, y] : {std::pair{k_nan, 10.0}, std::pair{10.0, k_inf}, std::pair{-k_inf, 0.0}}) {
    auto moved = move(alice, 0, x, y);
    ASSERT_FALSE(moved);
    EXPECT_EQ(code_of(moved.error()), errc::invalid_move);
  }
  auto bad_rotation = move(alice, 0, 10, 10, 45);
  ASSERT_FALSE(bad_rotation);
  EXPECT_EQ(code_of(bad_rotation.error()), errc::invalid_move);
  auto dragged = drag(alice, 0, k_nan, 1);
  ASSERT_FALSE(dragged);
  EXPECT_EQ(code_of(dragged.error()), errc::invalid_move);
  EXPECT_EQ(state_of(alice, session), before);
  EXPECT_EQ(before["version"], 0);
  EXPECT_TRUE(drain_events(bob).empty());
  EXPECT_EQ(store_data->saves, 0u);
}

TEST_F(SessionActor, OutOfRangePieceIdIsInvalidMove) {
  start();
  for (int32_t id : {-1, 4, std::numeric_limits<int32_t>::max()}) {
    auto moved = move(alice, id, 10, 10);
    ASSERT_FALSE(moved) << id;
    EXPECT_EQ(code_of(moved.error()), errc::invalid_move) << id;
    auto locked = lock(alice, id);
    ASSERT_FALSE(locked) << id;
    EXPECT_EQ(code_of(locked.error()), errc::invalid_move) << id;
    auto dragged = drag(alice, id, 10, 10);
    ASSERT_FALSE(dragged) << id;
    EXPECT_EQ(code_of(dragged.error()), errc::invalid_move) << id;
  }
  EXPECT_EQ(state_of(alice, session)["version"], 0);
}

TEST_F(SessionActor, MoveIsAcknowledgedOnlyOnceTheStoreReplied) {
  start();
  store_data->hold_writes = true;
  auto id = send_request(alice, session, move_atom::value, int32_t{0}, 10.0, 20.0, int32_t{0});
  sched.run();
  EXPECT_FALSE(take_reply<move_result>(alice, id)) << "acknowledged before durable";
  ASSERT_EQ(store_data->held.size(), 1u);
  ASSERT_EQ(store_data->drops.size(), 1u);
  EXPECT_EQ(store_data->drops[0].version, 1u);
  ASSERT_EQ(store_data->drops[0].pieces.size(), 1u);
  EXPECT_EQ(store_data->drops[0].pieces[0].x, 10.0);
  EXPECT_EQ(store_data->drops[0].pieces[0].y, 20.0);
  caf::anon_send(store, flush_atom::value);
  sched.run();
  auto reply = take_reply<move_result>(alice, id);
  ASSERT_TRUE(reply);
  ASSERT_TRUE(*reply) << message_of(reply->error());
  EXPECT_TRUE((*reply)->success);
  EXPECT_FALSE((*reply)->is_correctly_placed);
  EXPECT_EQ((*reply)->version, 1u);
  EXPECT_FALSE(take_reply<move_result>(alice, id)) << "acknowledged twice";
}

TEST_F(SessionActor, EachAcceptedMoveIncrementsTheVersionByOne) {
  start();
  for (uint64_t n = 1; n <= 3; ++n) {
    auto x = 10.0 * static_cast<double>(n);
    auto moved = move(n % 2 == 0 ? bob : alice, 0, x, 5.0);
    ASSERT_TRUE(moved) << message_of(moved.error());
    EXPECT_TRUE(moved->success);
    EXPECT_EQ(moved->version, n);
    for (auto* who : {&alice, &bob}) {
      auto evs = drain_events(*who);
      ASSERT_EQ(names_of(evs), std::vector<std::string>{"PieceMoved"});
      EXPECT_EQ(evs[0].version, n);
      auto payload = args_of(evs[0])[0];
      EXPECT_EQ(payload["version"], n);
      EXPECT_EQ(payload["pieceId"], 0);
      EXPECT_EQ(payload["x"], x);
      EXPECT_EQ(payload["y"], 5.0);
      EXPECT_EQ(payload["movedBy"], n % 2 == 0 ? "u-bob" : "u-alice");
      EXPECT_EQ(payload["isCorrectlyPlaced"], false);
    }
  }
  auto st = state_of(alice, session);
  EXPECT_EQ(st["version"], 3);
  EXPECT_EQ(st["pieces"][0]["x"], 30.0);
  EXPECT_EQ(store_data->sessions[default_session_id].version, 3u);
}

TEST_F(SessionActor, MoveReleasesTheMoversLock) {
  start();
  ASSERT_TRUE(lock(alice, 0));
  drain_events(bob);
  ASSERT_TRUE(move(alice, 0, 10, 10));
  // The move first, then the release: others never see the piece let go at
  // its old place (it would jump back, then forward).
  EXPECT_EQ(names_of(drain_events(bob)), (std::vector<std::string>{"PieceMoved", "PieceUnlocked"}));
  EXPECT_TRUE(locked_by(0).is_null());
}

TEST_F(SessionActor, DropOnTheCorrectSpotIsCorrectlyPlaced) {
  start();
  auto spot = model::correct_position(geo, 3);
  // Within the snap tolerance (2% of 150 px = 3 px) of the spot.
  auto moved = move(alice, 3, spot.x + 1.5, spot.y - 1.0);
  ASSERT_TRUE(moved) << message_of(moved.error());
  EXPECT_TRUE(moved->is_correctly_placed);
  EXPECT_EQ(moved->version, 1u);
  auto evs = drain_events(bob);
  ASSERT_GE(evs.size(), 1u);
  auto payload = args_of(evs[0])[0];
  EXPECT_EQ(payload["isCorrectlyPlaced"], true);
  EXPECT_EQ(payload["x"], spot.x);
  EXPECT_EQ(payload["y"], spot.y);
  auto st = state_of(alice, session);
  EXPECT_EQ(st["pieces"][3]["isPlaced"], true);
  EXPECT_EQ(st["completedPieces"], 1);
  // A placed piece is fixed from then on.
  auto again = move(bob, 3, 10, 10);
  ASSERT_FALSE(again);
  EXPECT_EQ(code_of(again.error()), errc::invalid_move);
}

TEST_F(SessionActor, SolvingAnnouncesCompletionExactlyOnceToEveryMember) {
  start();
  for (int32_t id = 0; id < 4; ++id) {
    auto spot = model::correct_position(geo, id);
    auto moved = move(id % 2 == 0 ? alice : bob, id, spot.x, spot.y);
    ASSERT_TRUE(moved) << message_of(moved.error());
    EXPECT_TRUE(moved->is_correctly_placed) << id;
  }
  auto alice_events = drain_events(alice);
  auto bob_events = drain_events(bob);
  EXPECT_EQ(count_named(alice_events, "PuzzleCompleted"), 1u);
  EXPECT_EQ(count_named(bob_events, "PuzzleCompleted"), 1u);
  auto done = args_of(named(bob_events, "PuzzleCompleted")[0])[0];
  EXPECT_EQ(done["participants"].size(), 2u);
  EXPECT_TRUE(done["completedAt"].is_string());
  EXPECT_TRUE(done["totalTime"].is_string());
  EXPECT_NE(store_data->sessions[default_session_id].completed_at, 0);

  caf::scoped_actor carol{sys};
  auto later = json::parse(join(carol, session, "u-carol", "Carol"));
  EXPECT_EQ(later["isCompleted"], true);
  EXPECT_EQ(later["completedPieces"], 4);
  EXPECT_TRUE(later["completedAt"].is_string());

  // Completed: nothing moves any more, and completion is never re-announced.
  auto after = move(alice, 0, 10, 10);
  ASSERT_FALSE(after);
  EXPECT_EQ(code_of(after.error()), errc::invalid_move);
  EXPECT_EQ(state_of(alice, session)["version"], 4);
  EXPECT_EQ(count_named(drain_events(alice), "PuzzleCompleted"), 0u);
  EXPECT_EQ(count_named(drain_events(carol), "PuzzleCompleted"), 0u);
}

// -- chat ---------------------------------------------------------------------

TEST_F(SessionActor, ChatKeepsEmojiAndRightToLeftTextUnchanged) {
  start();
  const std::string text = "Hello 👋🏽 שלום مرحبا 🧩";
  auto sent = chat(alice, "  " + text + "\n");
  ASSERT_TRUE(sent) << message_of(sent.error());
  EXPECT_TRUE(*sent);
  for (auto* who : {&alice, &bob}) {
    auto evs = drain_events(*who);
    ASSERT_EQ(names_of(evs), std::vector<std::string>{"ChatMessageReceived"});
    auto payload = args_of(evs[0])[0];
    EXPECT_EQ(payload["message"], text);
    EXPECT_EQ(payload["userId"], "u-alice");
    EXPECT_EQ(payload["username"], "Alice");
    EXPECT_EQ(payload["sessionId"], default_session_id);
  }
  auto st = state_of(alice, session);
  ASSERT_EQ(st["chat"].size(), 1u);
  EXPECT_EQ(st["chat"][0]["message"], text);
  ASSERT_EQ(store_data->sessions[default_session_id].chat.size(), 1u);
  EXPECT_EQ(store_data->sessions[default_session_id].chat[0].message, text);
}

TEST_F(SessionActor, ChatOfWhitespaceOnlyIsInvalidMessage) {
  start();
  for (std::string text :
       {std::string{}, std::string{" \t\n "}, std::string{"\u00a0\u3000 \u2028"}}) {
    auto sent = chat(alice, text);
    ASSERT_FALSE(sent);
    EXPECT_EQ(code_of(sent.error()), errc::invalid_message);
  }
  EXPECT_TRUE(drain_events(bob).empty());
  EXPECT_EQ(store_data->chats, 0u);
}

TEST_F(SessionActor, ChatAllowsFiveHundredCodePointsAndRefusesMore) {
  start();
  std::string longest;
  for (int i = 0; i < 500; ++i)
    longest += "🧩"; // one code point, four bytes
  auto ok = chat(alice, longest);
  ASSERT_TRUE(ok) << message_of(ok.error());
  auto too_long = chat(alice, longest + "a");
  ASSERT_FALSE(too_long);
  EXPECT_EQ(code_of(too_long.error()), errc::invalid_message);
  EXPECT_EQ(message_of(too_long.error()), "a chat message has 1 to 500 characters (got 501)");
  auto st = state_of(alice, session);
  ASSERT_EQ(st["chat"].size(), 1u);
  EXPECT_EQ(st["chat"][0]["message"], longest);
}

TEST_F(SessionActor, ChatOfInvalidUtf8IsInvalidMessage) {
  start();
  for (std::string text : {std::string{"abc\xff"}, std::string{"\xc0\xaf"},
                           std::string{"\xed\xa0\x80"}, std::string{"\xe2\x82"}}) {
    auto sent = chat(alice, text);
    ASSERT_FALSE(sent);
    EXPECT_EQ(code_of(sent.error()), errc::invalid_message);
  }
  EXPECT_TRUE(drain_events(bob).empty());
  EXPECT_TRUE(state_of(alice, session)["chat"].empty());
}

TEST_F(SessionActor, ChatHistoryKeepsOnlyTheNewestMessages) {
  start();
  for (int i = 1; i <= 5; ++i)
    ASSERT_TRUE(chat(i % 2 == 0 ? bob : alice, "message " + std::to_string(i)));
  auto chat_of = state_of(alice, session)["chat"];
  ASSERT_EQ(chat_of.size(), 3u);
  EXPECT_EQ(chat_of[0]["message"], "message 3");
  EXPECT_EQ(chat_of[1]["message"], "message 4");
  EXPECT_EQ(chat_of[2]["message"], "message 5");
  EXPECT_EQ(chat_of[1]["userId"], "u-bob");
  EXPECT_EQ(count_named(drain_events(bob), "ChatMessageReceived"), 5u);
}

// -- cursor -------------------------------------------------------------------

TEST_F(SessionActor, CursorUpdatesAreThrottledPerConnection) {
  start();
  // Leave the clock's origin behind (see FirstCursorUpdateAtClockStartIsShown).
  advance(1'000ms);
  auto first = ask<bool>(alice, session, cursor_atom::value, 1.0, 2.0);
  auto second = ask<bool>(alice, session, cursor_atom::value, 3.0, 4.0);
  ASSERT_TRUE(first && *first);
  ASSERT_TRUE(second && *second);
  auto evs = drain_events(bob);
  ASSERT_EQ(names_of(evs), std::vector<std::string>{"CursorMoved"});
  auto payload = args_of(evs[0])[0];
  EXPECT_EQ(payload["userId"], "u-alice");
  EXPECT_EQ(payload["x"], 1.0);
  EXPECT_EQ(payload["y"], 2.0);
  EXPECT_TRUE(drain_events(alice).empty());
  advance(49ms);
  ASSERT_TRUE(ask<bool>(alice, session, cursor_atom::value, 5.0, 6.0));
  EXPECT_TRUE(drain_events(bob).empty());
  advance(1ms);
  ASSERT_TRUE(ask<bool>(alice, session, cursor_atom::value, 7.0, 8.0));
  evs = drain_events(bob);
  ASSERT_EQ(names_of(evs), std::vector<std::string>{"CursorMoved"});
  EXPECT_EQ(args_of(evs[0])[0]["x"], 7.0);
  // Throttling is per connection: Bob's cursor is not held back by Alice's.
  ASSERT_TRUE(ask<bool>(bob, session, cursor_atom::value, 9.0, 9.5));
  EXPECT_EQ(count_named(drain_events(alice), "CursorMoved"), 1u);
}

// -- close --------------------------------------------------------------------

TEST_F(SessionActor, CloseSendsErrorToEveryMemberAndQuits) {
  start();
  ASSERT_TRUE(lock(alice, 0));
  drain_events(alice);
  drain_events(bob);
  alice->monitor(session);
  caf::anon_send(session, close_atom::value, std::string{"the session was deleted"});
  sched.run();
  for (auto* who : {&alice, &bob}) {
    auto evs = drain_events(*who);
    ASSERT_EQ(names_of(evs), std::vector<std::string>{"Error"});
    EXPECT_EQ(args_of(evs[0]), json::array({"the session was deleted", "SESSION_NOT_FOUND"}));
  }
  EXPECT_TRUE(saw_down(alice, session.address()));
}

// -- known bugs: these tests fail until the actors are fixed -----------------

// Regression: session_member::last_cursor starts at the clock's epoch, so a
// connection's first cursor update within `cursor_interval` of the clock's
// origin is dropped. CAF's test clock starts there (1 ns), so in a
// deterministic test the first update of every connection is lost.
TEST_F(SessionActor, FirstCursorUpdateAtClockStartIsShown) {
  start();
  ASSERT_TRUE(ask<bool>(alice, session, cursor_atom::value, 1.0, 2.0));
  EXPECT_EQ(names_of(drain_events(bob)), std::vector<std::string>{"CursorMoved"});
}

// Regression: the lock actors are linked to their session, but a session that quits
// normally (close_atom) sends a *normal* exit, which CAF's default exit
// handler ignores: the lock actors live on until their lease runs out.
TEST_F(SessionActor, LockActorsEndWithTheClosedSession) {
  start();
  ASSERT_TRUE(lock(alice, 0));
  ASSERT_TRUE(lock(bob, 1));
  auto running = sys.registry().running();
  caf::anon_send(session, close_atom::value, std::string{"bye"});
  sched.run();
  // The session and its two lock actors are gone.
  EXPECT_EQ(sys.registry().running(), running - 3);
  // (Today the lock actors only end when their lease runs out.)
  advance(1'000ms);
  EXPECT_EQ(sys.registry().running(), running - 3);
}

// Regression: re-grabbing a group that grew (a loose piece was dropped onto it) while
// the caller already held a lease on part of it creates a second lease and
// leaves the first one behind; when the first runs out it broadcasts
// PieceUnlocked for pieces that are still locked by the second.
TEST_F(SessionActor, RegrabbingAGrownGroupLeavesNoStaleLease) {
  start();
  ASSERT_TRUE(move(alice, 0, 10, 10));
  ASSERT_TRUE(lock(alice, 0)); // lease A on {0}, ends at t = 1000
  advance(500ms);
  auto joined = move(alice, 1, 10 + geo.piece_width, 10); // snaps onto piece 0
  ASSERT_TRUE(joined);
  auto evs = drain_events(bob);
  ASSERT_EQ(count_named(evs, "PiecesJoined"), 1u);
  auto regrab = lock(alice, 1); // the group {0, 1}, ends at t = 1500
  ASSERT_TRUE(regrab);
  EXPECT_TRUE(regrab->granted);
  EXPECT_EQ(regrab->piece_ids, (std::vector<int32_t>{0, 1}));
  drain_events(bob);
  advance(500ms); // t = 1000: lease A would end here
  EXPECT_EQ(count_named(drain_events(bob), "PieceUnlocked"), 0u)
      << "piece 0 announced free while still locked";
  EXPECT_EQ(locked_by(0), "u-alice");
  advance(500ms); // t = 1500: the group's lease ends
  evs = named(drain_events(bob), "PieceUnlocked");
  ASSERT_EQ(evs.size(), 1u);
  EXPECT_EQ(args_of(evs[0])[0]["pieceIds"], json::array({0, 1}));
}

// Regression (was a crash): a grab immediately followed by the connection going away.
// The session spawns the lock actor with the holder's weak `actor_addr`; if
// the session handles the holder's down message (dropping the last strong
// reference to it) before the lock actor starts, the lock actor's
// `monitor(actor_addr)` calls into the destroyed actor: "pure virtual method
// called", the node aborts. Run in a child process so that the suite goes on.
TEST_F(SessionActor, GrabFollowedByDisconnectDoesNotCrashTheNode) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  start();
  EXPECT_EXIT(
      {
        std::optional<caf::scoped_actor> carol;
        carol.emplace(sys);
        join(*carol, session, "u-carol", "Carol");
        drain_events(bob);
        send_request(*carol, session, lock_atom::value, int32_t{0});
        carol.reset(); // the tab closes right after the grab
        sched.run();
        auto evs = drain_events(bob);
        bool released = count_named(evs, "UserLeft") == 1 && locked_by(0).is_null();
        std::exit(released ? 0 : 1);
      },
      ::testing::ExitedWithCode(0), "");
}

} // namespace
