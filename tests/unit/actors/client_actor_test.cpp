#include "actors/client/client_actor.hpp"

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <caf/all.hpp>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "actors/caf_errors.hpp"
#include "cluster/directory/directory_actor.hpp"
#include "tests/unit/actors/support/test_fixture.hpp"

namespace {

using namespace std::chrono_literals;
using namespace puzzle;
using namespace puzzle::test_support;
using nlohmann::json;

const std::string sid = default_session_id;

client_command command(command_kind kind, std::string call_id, std::string session_id = sid) {
  client_command cmd;
  cmd.kind = kind;
  cmd.call_id = std::move(call_id);
  cmd.session_id = std::move(session_id);
  return cmd;
}

client_command join_command(std::string call_id, std::string user_id = {}) {
  auto cmd = command(command_kind::join, std::move(call_id));
  cmd.user_id = std::move(user_id);
  return cmd;
}

client_command piece_command(command_kind kind, std::string call_id, int32_t piece, double x = 0,
                             double y = 0) {
  auto cmd = command(kind, std::move(call_id));
  cmd.piece_id = piece;
  cmd.x = x;
  cmd.y = y;
  return cmd;
}

/// A client actor (with a recording port) and the real directory over the
/// in-memory store, which holds one stored, not yet live, 2x2 session.
class ClientActor : public actor_fixture {
protected:
  ClientActor() : bob(sys), port(std::make_shared<recording_port>()) {
    store_data->sessions[sid] = make_state(2, 2);
    cluster::directory_options opts;
    opts.session.lock_lease = 1'000ms;
    directory = sys.spawn(cluster::directory, store_actor{store}, opts);
    track(directory);
    sched.run();
  }

  void spawn_client(bool authenticated = false, client_options options = {}) {
    client = sys.spawn(client_behavior, client_port_ptr{port}, directory,
                       user_identity{"u-client", "Client"}, authenticated, options);
    track(client);
    sched.run();
  }

  void send(client_command cmd) {
    caf::anon_send(client, std::move(cmd));
    sched.run();
  }

  /// Bob joins the session directly (looked up through the directory).
  session_actor bob_joins() {
    auto session = ask<session_actor>(bob, directory, lookup_atom::value, sid);
    if (!session) {
      ADD_FAILURE() << message_of(session.error());
      return {};
    }
    join(bob, *session, "u-bob", "Bob");
    drain_events(bob);
    return *session;
  }

  /// The client joins through the directory; returns the parsed result.
  json client_joins() {
    send(join_command("join-1"));
    if (port->results.empty() || port->results.back().call_id != "join-1") {
      ADD_FAILURE() << "no result for join-1";
      return json{};
    }
    return json::parse(port->results.back().json);
  }

  caf::scoped_actor bob;
  std::shared_ptr<recording_port> port;
  directory_actor directory;
  client_actor client;
};

TEST_F(ClientActor, CommandsForASessionNotJoinedAreNotJoinedWithTheCallId) {
  spawn_client();
  send(piece_command(command_kind::lock, "c-lock", 0));
  send(piece_command(command_kind::drag, "c-drag", 0, 1, 1));
  send(piece_command(command_kind::move, "c-move", 0, 1, 1));
  send(piece_command(command_kind::unlock, "c-unlock", 0));
  auto chat = command(command_kind::chat, "c-chat");
  chat.text = "hello";
  send(chat);
  send(command(command_kind::cursor, "c-cursor"));
  send(command(command_kind::leave, "c-leave"));
  send(piece_command(command_kind::drag, "", 0, 1, 1)); // non-blocking
  std::vector<std::string> call_ids{"c-lock", "c-drag",   "c-move",  "c-unlock",
                                    "c-chat", "c-cursor", "c-leave", ""};
  ASSERT_EQ(port->errors.size(), call_ids.size());
  for (size_t i = 0; i < call_ids.size(); ++i) {
    EXPECT_EQ(port->errors[i].call_id, call_ids[i]);
    EXPECT_EQ(port->errors[i].code, errc::not_joined) << call_ids[i];
    EXPECT_EQ(port->errors[i].message, "join session " + sid + " first");
  }
  EXPECT_TRUE(port->results.empty());
  EXPECT_TRUE(port->events.empty());
  // Nothing reached the directory or the store.
  EXPECT_EQ(store_data->loads, 0u);
}

TEST_F(ClientActor, JoinGoesThroughTheDirectoryAndPushesTheResult) {
  spawn_client();
  auto state = client_joins();
  ASSERT_EQ(port->results.size(), 1u);
  EXPECT_EQ(state["sessionId"], sid);
  EXPECT_EQ(state["pieceCount"], 4);
  ASSERT_EQ(state["participants"].size(), 1u);
  EXPECT_EQ(state["participants"][0]["userId"], "u-client");
  EXPECT_EQ(state["participants"][0]["username"], "Client");
  EXPECT_EQ(state["participants"][0]["online"], true);
  ASSERT_EQ(names_of(port->events), std::vector<std::string>{"SessionStateUpdate"});
  EXPECT_EQ(args_of(port->events[0])[0], state);
  EXPECT_TRUE(port->errors.empty());
  EXPECT_EQ(store_data->loads, 1u); // activated from the store
  // Joined: commands now reach the session.
  send(piece_command(command_kind::lock, "lock-1", 2));
  ASSERT_EQ(port->results.size(), 2u);
  EXPECT_EQ(port->results[1].call_id, "lock-1");
  auto lock = json::parse(port->results[1].json);
  EXPECT_EQ(lock["granted"], true);
  EXPECT_EQ(lock["lockedBy"], "u-client");
  EXPECT_EQ(lock["pieceIds"], json::array({2}));
  send(piece_command(command_kind::move, "move-1", 2, 10, 20));
  ASSERT_EQ(port->results.size(), 3u);
  EXPECT_EQ(json::parse(port->results[2].json),
            json::parse(R"({"success":true,"isCorrectlyPlaced":false,"version":1})"));
  send(piece_command(command_kind::drag, "drag-1", 3, 5, 5));
  ASSERT_EQ(port->results.size(), 4u);
  EXPECT_EQ(port->results[3].call_id, "drag-1");
  EXPECT_EQ(port->results[3].json, "null");
  EXPECT_TRUE(port->errors.empty());
}

TEST_F(ClientActor, JoinOfUnknownSessionIsSessionNotFound) {
  spawn_client();
  send(command(command_kind::join, "j", "2b1c0d9e-0000-4000-8000-000000000001"));
  ASSERT_EQ(port->errors.size(), 1u);
  EXPECT_EQ(port->errors[0].call_id, "j");
  EXPECT_EQ(port->errors[0].code, errc::session_not_found);
  EXPECT_TRUE(port->results.empty());
}

TEST_F(ClientActor, AuthenticatedClientNamingAnotherUserIsForbidden) {
  spawn_client(true);
  send(join_command("j-other", "u-someone-else"));
  ASSERT_EQ(port->errors.size(), 1u);
  EXPECT_EQ(port->errors[0].call_id, "j-other");
  EXPECT_EQ(port->errors[0].code, errc::forbidden);
  EXPECT_TRUE(port->results.empty());
  EXPECT_EQ(store_data->loads, 0u);
  // Naming itself is fine.
  send(join_command("j-self", "u-client"));
  ASSERT_EQ(port->results.size(), 1u);
  EXPECT_EQ(port->results[0].call_id, "j-self");
}

TEST_F(ClientActor, AnonymousClientMayPickItsUserId) {
  spawn_client(false);
  send(join_command("j", "guest-7"));
  ASSERT_EQ(port->results.size(), 1u);
  auto state = json::parse(port->results[0].json);
  ASSERT_EQ(state["participants"].size(), 1u);
  EXPECT_EQ(state["participants"][0]["userId"], "guest-7");
}

TEST_F(ClientActor, SessionEventsArePassedToThePort) {
  spawn_client();
  client_joins();
  auto session = bob_joins();
  ASSERT_TRUE(session);
  ASSERT_TRUE(ask<bool>(bob, session, chat_atom::value, std::string{"hi there"}));
  ASSERT_EQ(names_of(port->events),
            (std::vector<std::string>{"SessionStateUpdate", "UserJoined", "ChatMessageReceived"}));
  EXPECT_EQ(args_of(port->events[1])[0]["userId"], "u-bob");
  EXPECT_EQ(args_of(port->events[2])[0]["message"], "hi there");
}

TEST_F(ClientActor, CloseLeavesEverySessionAndQuits) {
  spawn_client();
  client_joins();
  auto session = bob_joins();
  ASSERT_TRUE(session);
  send(piece_command(command_kind::lock, "l", 1));
  drain_events(bob);
  bob->monitor(client);
  caf::anon_send(client, close_atom::value);
  sched.run();
  auto evs = drain_events(bob);
  ASSERT_EQ(names_of(evs), (std::vector<std::string>{"PieceUnlocked", "UserLeft"}));
  EXPECT_EQ(args_of(evs[0])[0]["pieceId"], 1);
  EXPECT_EQ(args_of(evs[1])[0]["userId"], "u-client");
  EXPECT_TRUE(saw_down(bob, client.address()));
  auto st = state_of(bob, session);
  EXPECT_EQ(st["participants"][0]["userId"], "u-client");
  EXPECT_EQ(st["participants"][0]["online"], false);
}

TEST_F(ClientActor, ExitOfTheClientActorReleasesItsLocks) {
  spawn_client();
  client_joins();
  auto session = bob_joins();
  ASSERT_TRUE(session);
  send(piece_command(command_kind::lock, "l", 3));
  drain_events(bob);
  caf::anon_send_exit(client, caf::exit_reason::kill);
  sched.run();
  auto evs = drain_events(bob);
  ASSERT_EQ(names_of(evs), (std::vector<std::string>{"PieceUnlocked", "UserLeft"}));
  EXPECT_EQ(args_of(evs[0])[0]["pieceId"], 3);
  EXPECT_EQ(args_of(evs[1])[0]["userId"], "u-client");
  auto grab = ask<lock_result>(bob, session, lock_atom::value, int32_t{3});
  ASSERT_TRUE(grab);
  EXPECT_TRUE(grab->granted);
}

TEST_F(ClientActor, NonBlockingDragErrorIsPushedWithEmptyCallId) {
  spawn_client();
  client_joins();
  auto session = bob_joins();
  ASSERT_TRUE(session);
  ASSERT_TRUE(ask<lock_result>(bob, session, lock_atom::value, int32_t{0}));
  auto before = port->results.size();
  send(piece_command(command_kind::drag, "", 0, 5, 5));
  ASSERT_EQ(port->errors.size(), 1u);
  EXPECT_EQ(port->errors[0].call_id, "");
  EXPECT_EQ(port->errors[0].code, errc::piece_locked);
  EXPECT_EQ(port->errors[0].message, "piece 0 is held by Bob");
  // A successful non-blocking call pushes nothing.
  send(piece_command(command_kind::drag, "", 1, 5, 5));
  EXPECT_EQ(port->errors.size(), 1u);
  EXPECT_EQ(port->results.size(), before);
  EXPECT_EQ(count_named(drain_events(bob), "PieceDragged"), 1u);
}

TEST_F(ClientActor, GetStateNeedsNoJoin) {
  spawn_client();
  send(command(command_kind::get_state, "s"));
  ASSERT_EQ(port->results.size(), 1u);
  EXPECT_EQ(port->results[0].call_id, "s");
  auto state = json::parse(port->results[0].json);
  EXPECT_EQ(state["sessionId"], sid);
  EXPECT_TRUE(state["participants"].empty());
  EXPECT_TRUE(port->events.empty());
}

TEST_F(ClientActor, LeaveCommandLeavesAndForgetsTheSession) {
  spawn_client();
  client_joins();
  bob_joins();
  send(command(command_kind::leave, "bye"));
  ASSERT_EQ(port->results.back().call_id, "bye");
  EXPECT_EQ(port->results.back().json, "null");
  EXPECT_EQ(names_of(drain_events(bob)), std::vector<std::string>{"UserLeft"});
  send(piece_command(command_kind::lock, "after", 0));
  ASSERT_EQ(port->errors.size(), 1u);
  EXPECT_EQ(port->errors[0].call_id, "after");
  EXPECT_EQ(port->errors[0].code, errc::not_joined);
}

// -- known bugs: these tests fail until the actors are fixed -----------------

// Regression: on close_atom the client actor tells its sessions `leave` with
// `caf::anon_send`, i.e. without a sender; a session identifies the caller
// by the sender, so the explicit leave is refused (NOT_JOINED, to nobody) and
// only the session's monitor cleans up. Here the session is a test double
// that records who is leaving.
TEST_F(ClientActor, CloseLeavesEachSessionAsItself) {
  caf::scoped_actor fake_directory{sys};
  caf::scoped_actor fake_session{sys};
  client = sys.spawn(client_behavior, client_port_ptr{port},
                     caf::actor_cast<directory_actor>(fake_directory),
                     user_identity{"u-client", "Client"}, false, client_options{});
  track(client);
  sched.run();
  caf::anon_send(client, join_command("j"));
  sched.run();
  fake_directory->receive(
      [&](lookup_atom, std::string&) {
        return caf::actor_cast<session_actor>(fake_session);
      },
      caf::after(std::chrono::seconds(0)) >>
          [] {
            ADD_FAILURE() << "no lookup";
          });
  sched.run();
  fake_session->receive(
      [&](join_atom, user_identity&, client_events_actor&) {
        return std::string{"{}"};
      },
      caf::after(std::chrono::seconds(0)) >>
          [] {
            ADD_FAILURE() << "no join";
          });
  sched.run();
  ASSERT_EQ(port->results.size(), 1u);
  caf::anon_send(client, close_atom::value);
  sched.run();
  caf::actor_addr leaving;
  bool got_leave = false;
  fake_session->receive(
      [&](leave_atom) {
        got_leave = true;
        leaving = caf::actor_cast<caf::actor_addr>(fake_session->current_sender());
        return true;
      },
      caf::after(std::chrono::seconds(0)) >> [] {});
  ASSERT_TRUE(got_leave);
  EXPECT_EQ(leaving, client.address()) << "the leave came without a sender";
}

// Regression: after the session is deleted (members get Error SESSION_NOT_FOUND) the
// client actor still maps the session id to the dead session actor, so every
// later command fails with INTERNAL (request_receiver_down) instead of a
// contract code.
TEST_F(ClientActor, CommandsOnADeletedSessionAreSessionNotFound) {
  spawn_client();
  client_joins();
  auto deleted = ask<bool>(bob, directory, delete_atom::value, sid, std::string{"u-owner"}, false);
  ASSERT_TRUE(deleted && *deleted);
  ASSERT_EQ(names_of(port->events), (std::vector<std::string>{"SessionStateUpdate", "Error"}));
  send(piece_command(command_kind::lock, "late", 0));
  ASSERT_EQ(port->errors.size(), 1u);
  EXPECT_EQ(port->errors[0].call_id, "late");
  EXPECT_EQ(port->errors[0].code, errc::session_not_found)
      << "got " << to_code(port->errors[0].code) << ": " << port->errors[0].message;
}

// -- rate limits --------------------------------------------------------------

util::limiter_spec bucket(uint32_t size, uint32_t refill, std::chrono::milliseconds period) {
  util::limiter_spec spec;
  spec.kind = util::limiter_spec::algorithm::token_bucket;
  spec.permits = size;
  spec.refill = refill;
  spec.window = period;
  return spec;
}

size_t count_code(const std::vector<recording_port::error_entry>& errors, errc code) {
  return static_cast<size_t>(std::count_if(errors.begin(), errors.end(), [code](auto& e) {
    return e.code == code;
  }));
}

TEST_F(ClientActor, AnsweredCallsOverTheirBudgetGetRateLimitedWithTheKeyNamed) {
  client_options options;
  options.budgets[static_cast<size_t>(call_budget::chat)] = bucket(2, 1, 1'000ms);
  spawn_client(false, options);
  send(join_command("j"));
  for (int i = 0; i < 3; ++i) {
    auto cmd = command(command_kind::chat, "c" + std::to_string(i));
    cmd.text = "hello";
    send(cmd);
  }
  ASSERT_EQ(count_code(port->errors, errc::rate_limited), 1u);
  auto& refused = port->errors.back();
  EXPECT_EQ(refused.call_id, "c2");
  EXPECT_NE(refused.message.find("rate-limits.chats"), std::string::npos) << refused.message;
  EXPECT_NE(refused.message.find("retry in 1000 ms"), std::string::npos) << refused.message;
  advance(1'000ms);
  auto again = command(command_kind::chat, "c3");
  again.text = "hello again";
  send(again);
  EXPECT_EQ(count_code(port->errors, errc::rate_limited), 1u) << "refilled";
}

TEST_F(ClientActor, AFloodOfUnansweredDragsIsReportedOnceASecond) {
  client_options options;
  options.budgets[static_cast<size_t>(call_budget::drag)] = bucket(5, 5, 1'000ms);
  options.close_after_refusals = 0;
  spawn_client(false, options);
  send(join_command("j"));
  send(piece_command(command_kind::lock, "l", 0));
  for (int i = 0; i < 50; ++i)
    send(piece_command(command_kind::drag, "", 0, 10, 10));
  EXPECT_EQ(count_code(port->errors, errc::rate_limited), 1u);
  advance(1'000ms);
  for (int i = 0; i < 50; ++i)
    send(piece_command(command_kind::drag, "", 0, 10, 10));
  EXPECT_EQ(count_code(port->errors, errc::rate_limited), 2u);
  EXPECT_TRUE(port->closed.empty());
}

TEST_F(ClientActor, BudgetsAreKeptApartByKind) {
  client_options options;
  options.budgets[static_cast<size_t>(call_budget::cursor)] = bucket(1, 1, 1'000ms);
  spawn_client(false, options);
  send(join_command("j"));
  auto cursor = command(command_kind::cursor, "");
  send(cursor);
  send(cursor); // refused: the cursor budget is spent
  send(piece_command(command_kind::lock, "l", 0));
  ASSERT_FALSE(port->results.empty());
  EXPECT_EQ(port->results.back().call_id, "l") << "moves have a budget of their own";
  EXPECT_EQ(count_code(port->errors, errc::rate_limited), 1u);
}

TEST_F(ClientActor, SustainedAbuseClosesTheConnectionWithAReason) {
  client_options options;
  options.budgets[static_cast<size_t>(call_budget::cursor)] = bucket(1, 1, 60'000ms);
  options.close_after_refusals = 10;
  spawn_client(false, options);
  send(join_command("j"));
  for (int i = 0; i < 11; ++i)
    send(command(command_kind::cursor, ""));
  EXPECT_TRUE(port->closed.empty()) << "10 refusals are tolerated";
  send(command(command_kind::cursor, ""));
  ASSERT_EQ(port->closed.size(), 1u);
  EXPECT_NE(port->closed[0].find("rate-limits.close-after-refusals"), std::string::npos);
}

} // namespace
