#include "cluster/directory/directory_actor.hpp"

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include <caf/all.hpp>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "actors/caf_errors.hpp"
#include "actors/util/ids.hpp"
#include "tests/unit/actors/support/test_fixture.hpp"

namespace {

using namespace std::chrono_literals;
using namespace puzzle;
using namespace puzzle::test_support;
using nlohmann::json;

const std::string stored_id = default_session_id;
const std::string unknown_id = "2b1c0d9e-0000-4000-8000-000000000001";

create_request make_request(int32_t rows, int32_t cols) {
  create_request req;
  req.name = "Sunset 🌅";
  req.image = image_ref{"img-9", "/images/img-9.png", 1600, 1200};
  req.rows = rows;
  req.cols = cols;
  req.rotation = false;
  req.is_public = true;
  req.owner = user_identity{"u-owner", "Owner"};
  return req;
}

class DirectoryActor : public actor_fixture {
protected:
  DirectoryActor() : alice(sys), bob(sys) {
    cluster::directory_options opts;
    opts.limits.max_pieces = 5000;
    directory = sys.spawn(cluster::directory, store_actor{store}, opts);
    track(directory);
    sched.run();
  }

  /// Puts a session into the store only (not live).
  void store_session(const std::string& id, unix_ms created_at = 1'000) {
    auto st = make_state(2, 3, id);
    st.created_at = created_at;
    st.participants.push_back(participant{"u-old", "Old", "#e6194b", 5, true});
    store_data->sessions[id] = st;
  }

  int32_t live_sessions() {
    auto n = ask<int32_t>(alice, directory, stats_atom::value);
    return n ? *n : -1;
  }

  caf::expected<session_actor> lookup(caf::scoped_actor& who, const std::string& id) {
    return ask<session_actor>(who, directory, lookup_atom::value, id);
  }

  caf::scoped_actor alice;
  caf::scoped_actor bob;
  directory_actor directory;
};

TEST_F(DirectoryActor, CreateRefusesMorePiecesThanTheLimit) {
  auto created = ask<session_summary>(alice, directory, create_atom::value,
                                      make_request(60, 100)); // 6000 pieces
  ASSERT_FALSE(created);
  EXPECT_EQ(code_of(created.error()), errc::limit_exceeded);
  EXPECT_EQ(message_of(created.error()), "pieces must be between 2 and 5000 (got 6000)");
  EXPECT_EQ(store_data->puts, 0u);
  EXPECT_TRUE(store_data->sessions.empty());
  EXPECT_EQ(live_sessions(), 0);
  auto no_rows = ask<session_summary>(alice, directory, create_atom::value, make_request(0, 4));
  ASSERT_FALSE(no_rows);
  EXPECT_EQ(code_of(no_rows.error()), errc::invalid_argument);
  EXPECT_EQ(store_data->puts, 0u);
}

TEST_F(DirectoryActor, CreateAnswersOnlyOnceTheSessionIsStored) {
  store_data->hold_writes = true;
  auto id = send_request(alice, directory, create_atom::value, make_request(3, 4));
  sched.run();
  EXPECT_FALSE(take_reply<session_summary>(alice, id)) << "answered before durable";
  ASSERT_EQ(store_data->puts, 1u);
  ASSERT_EQ(store_data->held.size(), 1u);
  EXPECT_EQ(live_sessions(), 0);
  caf::anon_send(store, flush_atom::value);
  sched.run();
  auto reply = take_reply<session_summary>(alice, id);
  ASSERT_TRUE(reply);
  ASSERT_TRUE(*reply) << message_of(reply->error());
  auto& summary = **reply;
  EXPECT_TRUE(util::is_uuid(summary.session_id)) << summary.session_id;
  EXPECT_EQ(summary.name, "Sunset 🌅");
  EXPECT_EQ(summary.owner_id, "u-owner");
  EXPECT_TRUE(summary.is_public);
  EXPECT_EQ(summary.rows, 3);
  EXPECT_EQ(summary.cols, 4);
  EXPECT_EQ(summary.piece_count, 12);
  EXPECT_EQ(summary.placed_count, 0);
  EXPECT_FALSE(summary.is_completed);
  EXPECT_EQ(summary.image.id, "img-9");
  ASSERT_EQ(store_data->sessions.count(summary.session_id), 1u);
  auto& stored = store_data->sessions[summary.session_id];
  EXPECT_EQ(stored.pieces.size(), 12u);
  EXPECT_EQ(stored.spec.image_width, 1600);
  EXPECT_EQ(live_sessions(), 1);
  // It is live: a lookup needs no load.
  auto session = lookup(bob, summary.session_id);
  ASSERT_TRUE(session) << message_of(session.error());
  EXPECT_EQ(store_data->loads, 0u);
  auto state = json::parse(join(bob, *session, "u-bob", "Bob"));
  EXPECT_EQ(state["pieceCount"], 12);
}

TEST_F(DirectoryActor, LookupOfUnknownSessionIsSessionNotFound) {
  auto unknown = lookup(alice, unknown_id);
  ASSERT_FALSE(unknown);
  EXPECT_EQ(code_of(unknown.error()), errc::session_not_found);
  EXPECT_EQ(store_data->loads, 1u);
  // Not even a UUID: refused without asking the store.
  auto garbage = lookup(alice, "../etc/passwd");
  ASSERT_FALSE(garbage);
  EXPECT_EQ(code_of(garbage.error()), errc::session_not_found);
  EXPECT_EQ(store_data->loads, 1u);
  EXPECT_EQ(live_sessions(), 0);
}

TEST_F(DirectoryActor, ConcurrentLookupsActivateAStoredSessionOnce) {
  store_session(stored_id);
  store_data->hold_loads = true;
  auto from_alice = send_request(alice, directory, lookup_atom::value, stored_id);
  auto from_bob = send_request(bob, directory, lookup_atom::value, stored_id);
  sched.run();
  EXPECT_FALSE(take_reply<session_actor>(alice, from_alice));
  EXPECT_FALSE(take_reply<session_actor>(bob, from_bob));
  EXPECT_EQ(store_data->loads, 1u);
  caf::anon_send(store, flush_atom::value);
  sched.run();
  auto a = take_reply<session_actor>(alice, from_alice);
  auto b = take_reply<session_actor>(bob, from_bob);
  ASSERT_TRUE(a && *a);
  ASSERT_TRUE(b && *b);
  EXPECT_TRUE(**a);
  EXPECT_EQ(**a, **b);
  EXPECT_EQ(store_data->loads, 1u);
  EXPECT_EQ(live_sessions(), 1);
  store_data->hold_loads = false;
  auto again = lookup(alice, stored_id);
  ASSERT_TRUE(again);
  EXPECT_EQ(*again, **a);
  EXPECT_EQ(store_data->loads, 1u);
  // The activated session starts from the stored state, participants offline.
  auto state = state_of(alice, *again);
  EXPECT_EQ(state["sessionId"], stored_id);
  EXPECT_EQ(state["pieceCount"], 6);
  ASSERT_EQ(state["participants"].size(), 1u);
  EXPECT_EQ(state["participants"][0]["online"], false);
}

TEST_F(DirectoryActor, DeleteByNonOwnerIsForbidden) {
  store_session(stored_id);
  auto session = lookup(bob, stored_id);
  ASSERT_TRUE(session);
  join(bob, *session, "u-bob", "Bob");
  drain_events(bob);
  auto denied
      = ask<bool>(alice, directory, delete_atom::value, stored_id, std::string{"u-bob"}, false);
  ASSERT_FALSE(denied);
  EXPECT_EQ(code_of(denied.error()), errc::forbidden);
  EXPECT_EQ(store_data->sessions.count(stored_id), 1u);
  EXPECT_EQ(store_data->deletes, 0u);
  EXPECT_EQ(live_sessions(), 1);
  EXPECT_TRUE(drain_events(bob).empty());
}

TEST_F(DirectoryActor, DeleteByOwnerClosesTheSessionForItsMembers) {
  store_session(stored_id);
  auto session = lookup(bob, stored_id);
  ASSERT_TRUE(session);
  join(bob, *session, "u-bob", "Bob");
  drain_events(bob);
  bob->monitor(*session);
  auto deleted
      = ask<bool>(alice, directory, delete_atom::value, stored_id, std::string{"u-owner"}, false);
  ASSERT_TRUE(deleted) << message_of(deleted.error());
  EXPECT_TRUE(*deleted);
  auto evs = drain_events(bob);
  ASSERT_EQ(names_of(evs), std::vector<std::string>{"Error"});
  EXPECT_EQ(args_of(evs[0]), json::array({"the session was deleted", "SESSION_NOT_FOUND"}));
  EXPECT_TRUE(saw_down(bob, session->address()));
  EXPECT_EQ(store_data->sessions.count(stored_id), 0u);
  EXPECT_EQ(live_sessions(), 0);
  auto gone = lookup(alice, stored_id);
  ASSERT_FALSE(gone);
  EXPECT_EQ(code_of(gone.error()), errc::session_not_found);
}

TEST_F(DirectoryActor, AdminMayDeleteAnySession) {
  store_session(stored_id);
  auto deleted
      = ask<bool>(alice, directory, delete_atom::value, stored_id, std::string{"u-admin"}, true);
  ASSERT_TRUE(deleted) << message_of(deleted.error());
  EXPECT_TRUE(*deleted);
  EXPECT_EQ(store_data->sessions.count(stored_id), 0u);
}

TEST_F(DirectoryActor, ListIsNewestFirstWithLiveParticipantCounts) {
  store_session(stored_id, 1'000);
  store_session(unknown_id, 2'000);
  auto session = lookup(bob, stored_id);
  ASSERT_TRUE(session);
  join(bob, *session, "u-bob", "Bob");
  auto list = ask<std::vector<session_summary>>(alice, directory, list_atom::value);
  ASSERT_TRUE(list) << message_of(list.error());
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].session_id, unknown_id);
  EXPECT_EQ((*list)[0].participants_online, 0); // not live
  EXPECT_EQ((*list)[1].session_id, stored_id);
  EXPECT_EQ((*list)[1].participants_online, 1); // Bob, live; u-old is offline
}

TEST_F(DirectoryActor, StateOfAStoredSessionActivatesIt) {
  store_session(stored_id);
  auto state = ask<std::string>(alice, directory, state_atom::value, stored_id);
  ASSERT_TRUE(state) << message_of(state.error());
  EXPECT_EQ(json::parse(*state)["sessionId"], stored_id);
  EXPECT_EQ(live_sessions(), 1);
  auto missing = ask<std::string>(alice, directory, state_atom::value, unknown_id);
  ASSERT_FALSE(missing);
  EXPECT_EQ(code_of(missing.error()), errc::session_not_found);
}

TEST_F(DirectoryActor, ASessionThatDiesIsForgotten) {
  store_session(stored_id);
  auto session = lookup(alice, stored_id);
  ASSERT_TRUE(session);
  EXPECT_EQ(live_sessions(), 1);
  caf::anon_send_exit(*session, caf::exit_reason::kill);
  sched.run();
  EXPECT_EQ(live_sessions(), 0);
  auto again = lookup(alice, stored_id); // activated anew from the store
  ASSERT_TRUE(again);
  EXPECT_NE(*again, *session);
  EXPECT_EQ(store_data->loads, 2u);
}

// -- private sessions ---------------------------------------------------------

constexpr uint8_t player_bits = static_cast<uint8_t>(user_role::player);
constexpr uint8_t admin_bits
    = static_cast<uint8_t>(player_bits | static_cast<uint8_t>(user_role::admin));

class PrivateSession : public DirectoryActor {
protected:
  PrivateSession() : carol(sys) {
    auto req = make_request(2, 3);
    req.is_public = false;
    auto created = ask<session_summary>(alice, directory, create_atom::value, req);
    EXPECT_TRUE(created) << message_of(created.error());
    if (created) id = created->session_id;
  }

  caf::expected<std::string> join_as(caf::scoped_actor& who, const user_identity& user) {
    auto session = lookup(who, id);
    if (!session) return session.error();
    return ask<std::string>(who, *session, join_atom::value, user,
                            caf::actor_cast<client_events_actor>(who));
  }

  const user_identity owner{"u-owner", "Owner", player_bits};
  const user_identity bob_user{"u-bob", "Bob", player_bits};
  const user_identity carol_user{"u-carol", "Carol", player_bits};
  const user_identity admin{"u-admin", "Admin", admin_bits};
  caf::scoped_actor carol;
  std::string id;
};

TEST_F(PrivateSession, CreationStoresAFreshInviteCode) {
  ASSERT_EQ(store_data->access.count(id), 1u);
  auto& code = store_data->access[id].invite_code;
  EXPECT_EQ(code.size(), 32u);
  EXPECT_TRUE(store_data->access[id].allowed.empty());
  auto seen = ask<std::string>(alice, directory, invite_atom::value, id, owner);
  ASSERT_TRUE(seen) << message_of(seen.error());
  EXPECT_EQ(*seen, code);
  auto by_admin = ask<std::string>(alice, directory, invite_atom::value, id, admin);
  ASSERT_TRUE(by_admin);
  EXPECT_EQ(*by_admin, code);
  auto by_bob = ask<std::string>(bob, directory, invite_atom::value, id, bob_user);
  ASSERT_FALSE(by_bob);
  EXPECT_EQ(code_of(by_bob.error()), errc::forbidden);
}

TEST_F(PrivateSession, OnlyTheOwnerAndAdminsEnterWithoutAnInvite) {
  auto refused = join_as(bob, bob_user);
  ASSERT_FALSE(refused);
  EXPECT_EQ(code_of(refused.error()), errc::forbidden);
  // An anonymous connection claiming the owner's id has no roles.
  auto spoofed = join_as(carol, user_identity{"u-owner", "Owner", 0});
  ASSERT_FALSE(spoofed);
  EXPECT_EQ(code_of(spoofed.error()), errc::forbidden);
  EXPECT_TRUE(join_as(alice, owner)) << "the owner enters";
  EXPECT_TRUE(join_as(carol, admin)) << "an admin enters";
}

TEST_F(PrivateSession, StateIsHiddenFromOthersAndCarriesTheInviteForTheOwner) {
  auto hidden = ask<std::string>(bob, directory, state_atom::value, id, bob_user);
  ASSERT_FALSE(hidden);
  EXPECT_EQ(code_of(hidden.error()), errc::session_not_found);
  auto own = ask<std::string>(alice, directory, state_atom::value, id, owner);
  ASSERT_TRUE(own) << message_of(own.error());
  auto state = json::parse(*own);
  EXPECT_EQ(state["isPublic"], false);
  EXPECT_EQ(state["inviteCode"], store_data->access[id].invite_code);
  EXPECT_EQ(state["inviteUrl"],
            "/?session=" + id + "&invite=" + store_data->access[id].invite_code);
}

TEST_F(PrivateSession, RedeemingTheInviteLetsAUserInAndIsStored) {
  auto code = store_data->access[id].invite_code;
  auto wrong = code;
  wrong.back() = wrong.back() == '0' ? '1' : '0';
  auto denied = ask<bool>(bob, directory, invite_atom::value, id, bob_user, wrong);
  ASSERT_FALSE(denied);
  EXPECT_EQ(code_of(denied.error()), errc::forbidden);
  auto anonymous
      = ask<bool>(bob, directory, invite_atom::value, id, user_identity{"u-bob", "Bob", 0}, code);
  ASSERT_FALSE(anonymous);
  EXPECT_EQ(code_of(anonymous.error()), errc::forbidden);
  EXPECT_TRUE(store_data->access[id].allowed.empty());
  auto granted = ask<bool>(bob, directory, invite_atom::value, id, bob_user, code);
  ASSERT_TRUE(granted) << message_of(granted.error());
  EXPECT_EQ(store_data->access[id].allowed, std::vector<std::string>{"u-bob"});
  auto joined = join_as(bob, bob_user);
  ASSERT_TRUE(joined) << message_of(joined.error());
  EXPECT_FALSE(json::parse(*joined).contains("inviteCode"));
  auto state = ask<std::string>(bob, directory, state_atom::value, id, bob_user);
  ASSERT_TRUE(state);
  EXPECT_FALSE(json::parse(*state).contains("inviteCode"));
  auto still_out = join_as(carol, carol_user);
  ASSERT_FALSE(still_out);
  EXPECT_EQ(code_of(still_out.error()), errc::forbidden);
}

TEST_F(PrivateSession, AReactivatedSessionRemembersWhoWasLetIn) {
  auto code = store_data->access[id].invite_code;
  ASSERT_TRUE(ask<bool>(bob, directory, invite_atom::value, id, bob_user, code));
  auto session = lookup(alice, id);
  ASSERT_TRUE(session);
  caf::anon_send_exit(*session, caf::exit_reason::kill);
  sched.run();
  EXPECT_EQ(live_sessions(), 0);
  auto loads = store_data->loads;
  auto joined = join_as(bob, bob_user);
  ASSERT_TRUE(joined) << message_of(joined.error());
  EXPECT_EQ(store_data->loads, loads + 1);
  auto refused = join_as(carol, carol_user);
  ASSERT_FALSE(refused);
  EXPECT_EQ(code_of(refused.error()), errc::forbidden);
  auto seen = ask<std::string>(alice, directory, invite_atom::value, id, owner);
  ASSERT_TRUE(seen);
  EXPECT_EQ(*seen, code);
}

} // namespace
