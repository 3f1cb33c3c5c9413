#include "actors/webrtc/webrtc_room_actor.hpp"

#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <caf/all.hpp>
#include <gtest/gtest.h>

#include "actors/webrtc/webrtc_peer_actor.hpp"
#include "tests/unit/actors/support/test_fixture.hpp"

namespace {

using namespace puzzle;
using namespace puzzle::test_support;

using participants = std::vector<webrtc_participant>;

/// The rooms actor between scoped actors standing in for connections'
/// peers (they receive the rooms' events).
class WebrtcRooms : public actor_fixture {
protected:
  WebrtcRooms() : ann(sys), ben(sys), cas(sys) {
    webrtc_room_options options;
    options.max_members = 3;
    rooms = sys.spawn(webrtc_rooms, options);
    track(rooms);
    sched.run();
  }

  caf::expected<participants> join(caf::scoped_actor& who, const std::string& room,
                                   const std::string& id) {
    return ask<participants>(who, rooms, join_atom::value, room,
                             webrtc_participant{id, id + "-name"},
                             caf::actor_cast<webrtc_member_actor>(who));
  }

  caf::expected<bool> relay(caf::scoped_actor& who, const std::string& room, webrtc_relay r) {
    return ask<bool>(who, rooms, relay_atom::value, room, std::move(r));
  }

  /// Every room event waiting in `who`'s mailbox, in arrival order.
  std::vector<webrtc_event> events(caf::scoped_actor& who) {
    std::vector<webrtc_event> out;
    for (bool more = true; more;)
      who->receive(
          [&](webrtc_event& ev) {
            out.push_back(std::move(ev));
          },
          caf::after(std::chrono::seconds(0)) >>
              [&] {
                more = false;
              });
    return out;
  }

  caf::scoped_actor ann;
  caf::scoped_actor ben;
  caf::scoped_actor cas;
  webrtc_rooms_actor rooms;
};

TEST_F(WebrtcRooms, AJoinerGetsTheOthersAndTheOthersGetTheJoiner) {
  auto first = join(ann, "r", "a");
  ASSERT_TRUE(first) << message_of(first.error());
  EXPECT_TRUE(first->empty());
  auto second = join(ben, "r", "b");
  ASSERT_TRUE(second);
  ASSERT_EQ(second->size(), 1u);
  EXPECT_EQ((*second)[0].connection_id, "a");
  EXPECT_EQ((*second)[0].user_name, "a-name");
  auto seen = events(ann);
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].kind, webrtc_event_kind::user_joined);
  EXPECT_EQ(seen[0].room, "r");
  EXPECT_EQ(seen[0].connection_id, "b");
  EXPECT_EQ(seen[0].user_name, "b-name");
  EXPECT_TRUE(events(ben).empty()) << "the joiner is not told of itself";
}

TEST_F(WebrtcRooms, RelaysReachOnlyTheTargetInTheOrderSent) {
  ASSERT_TRUE(join(ann, "r", "a"));
  ASSERT_TRUE(join(ben, "r", "b"));
  ASSERT_TRUE(join(cas, "r", "c"));
  events(ann);
  events(ben);
  // ICE candidates may be sent before the offer: order is the sender's.
  const signal_kind kinds[]
      = {signal_kind::ice_candidate, signal_kind::offer, signal_kind::ice_candidate};
  int n = 0;
  for (auto kind : kinds)
    ann->send(rooms, relay_atom::value, std::string{"r"},
              webrtc_relay{kind, "a", "b", "p" + std::to_string(n++)});
  sched.run();
  auto got = events(ben);
  ASSERT_EQ(got.size(), 3u);
  for (size_t i = 0; i < got.size(); ++i) {
    EXPECT_EQ(got[i].kind, webrtc_event_kind::relayed);
    EXPECT_EQ(got[i].connection_id, "a") << "the sender";
    EXPECT_EQ(got[i].signal, kinds[i]);
    EXPECT_EQ(got[i].payload, "p" + std::to_string(i));
  }
  EXPECT_TRUE(events(cas).empty());
}

TEST_F(WebrtcRooms, RefusesRelaysFromStrangersAndToStrangers) {
  ASSERT_TRUE(join(ann, "r", "a"));
  auto from_stranger = relay(ben, "r", webrtc_relay{signal_kind::offer, "b", "a", "x"});
  ASSERT_FALSE(from_stranger);
  EXPECT_EQ(code_of(from_stranger.error()), errc::not_joined);
  auto to_stranger = relay(ann, "r", webrtc_relay{signal_kind::offer, "a", "zz", "x"});
  ASSERT_FALSE(to_stranger);
  EXPECT_EQ(code_of(to_stranger.error()), errc::invalid_argument);
  auto no_room = relay(ann, "nowhere", webrtc_relay{signal_kind::offer, "a", "b", "x"});
  ASSERT_FALSE(no_room);
  EXPECT_EQ(code_of(no_room.error()), errc::invalid_argument);
}

TEST_F(WebrtcRooms, LeavingTellsTheOthers) {
  ASSERT_TRUE(join(ann, "r", "a"));
  ASSERT_TRUE(join(ben, "r", "b"));
  events(ann);
  auto left = ask<bool>(ben, rooms, leave_atom::value, std::string{"r"}, std::string{"b"});
  ASSERT_TRUE(left);
  EXPECT_TRUE(*left);
  auto seen = events(ann);
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].kind, webrtc_event_kind::user_left);
  EXPECT_EQ(seen[0].connection_id, "b");
  auto again = ask<bool>(ben, rooms, leave_atom::value, std::string{"r"}, std::string{"b"});
  ASSERT_TRUE(again);
  EXPECT_FALSE(*again) << "leaving twice is no error, and says so";
}

TEST_F(WebrtcRooms, AMemberThatGoesAwayLeaves) {
  ASSERT_TRUE(join(ann, "r", "a"));
  {
    caf::scoped_actor dan{sys};
    ASSERT_TRUE(join(dan, "r", "d"));
  }
  sched.run();
  auto seen = events(ann);
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0].kind, webrtc_event_kind::user_joined);
  EXPECT_EQ(seen[1].kind, webrtc_event_kind::user_left);
  EXPECT_EQ(seen[1].connection_id, "d");
}

TEST_F(WebrtcRooms, AFullRoomRefusesANewMemberButNotARejoin) {
  ASSERT_TRUE(join(ann, "r", "a"));
  ASSERT_TRUE(join(ben, "r", "b"));
  ASSERT_TRUE(join(cas, "r", "c"));
  caf::scoped_actor dan{sys};
  auto refused = join(dan, "r", "d");
  ASSERT_FALSE(refused);
  EXPECT_EQ(code_of(refused.error()), errc::limit_exceeded);
  EXPECT_NE(message_of(refused.error()).find("webrtc.max-room-size"), std::string::npos);
  auto rejoin = join(cas, "r", "c");
  ASSERT_TRUE(rejoin);
  EXPECT_EQ(rejoin->size(), 2u);
}

TEST_F(WebrtcRooms, AnEmptiedRoomStartsAfreshOnTheNextJoin) {
  ASSERT_TRUE(join(ann, "r", "a"));
  ASSERT_TRUE(ask<bool>(ann, rooms, leave_atom::value, std::string{"r"}, std::string{"a"}));
  sched.run(); // the room reports idle and is stopped
  auto fresh = join(ben, "r", "b");
  ASSERT_TRUE(fresh);
  EXPECT_TRUE(fresh->empty());
  EXPECT_TRUE(events(ann).empty());
}

TEST_F(WebrtcRooms, RoomsAreApart) {
  ASSERT_TRUE(join(ann, "r1", "a"));
  auto other = join(ben, "r2", "b");
  ASSERT_TRUE(other);
  EXPECT_TRUE(other->empty());
  EXPECT_TRUE(events(ann).empty());
}

// -- the peer actor -----------------------------------------------------------

/// A webrtc_port that records what the peer sends to its connection.
class recording_webrtc_port : public webrtc_port {
public:
  struct error_entry {
    std::string call_id;
    errc code;
    std::string message;
  };

  send_status push_event(const webrtc_event& ev) override {
    std::lock_guard<std::mutex> guard{mtx};
    events.push_back(ev);
    return send_status::queued;
  }

  send_status push_result(const std::string& call_id) override {
    std::lock_guard<std::mutex> guard{mtx};
    results.push_back(call_id);
    return send_status::queued;
  }

  send_status push_error(const std::string& call_id, errc code,
                         const std::string& message) override {
    std::lock_guard<std::mutex> guard{mtx};
    errors.push_back(error_entry{call_id, code, message});
    return send_status::queued;
  }

  std::mutex mtx;
  std::vector<webrtc_event> events;
  std::vector<std::string> results;
  std::vector<error_entry> errors;
};

class WebrtcPeer : public WebrtcRooms {
protected:
  webrtc_peer_actor spawn_peer(const std::string& id, std::shared_ptr<recording_webrtc_port> port,
                               uint32_t max_rooms = 2) {
    webrtc_peer_options options;
    options.max_rooms = max_rooms;
    auto peer = sys.spawn(webrtc_peer, webrtc_port_ptr{port}, rooms, id, options);
    track(peer);
    sched.run();
    return peer;
  }

  void call(const webrtc_peer_actor& peer, webrtc_command cmd) {
    caf::anon_send(peer, std::move(cmd));
    sched.run();
  }

  static webrtc_command join_cmd(std::string call_id, std::string room) {
    webrtc_command cmd;
    cmd.kind = webrtc_command_kind::join;
    cmd.call_id = std::move(call_id);
    cmd.room = std::move(room);
    cmd.user_name = "someone";
    return cmd;
  }

  static webrtc_command relay_cmd(std::string call_id, std::string target) {
    webrtc_command cmd;
    cmd.kind = webrtc_command_kind::relay;
    cmd.call_id = std::move(call_id);
    cmd.signal = signal_kind::answer;
    cmd.payload = "sdp";
    cmd.target = std::move(target);
    return cmd;
  }
};

TEST_F(WebrtcPeer, JoinSendsExistingParticipantsBeforeTheCompletion) {
  ASSERT_TRUE(join(ann, "r", "a"));
  auto port = std::make_shared<recording_webrtc_port>();
  auto peer = spawn_peer("p", port);
  call(peer, join_cmd("1", "r"));
  ASSERT_EQ(port->events.size(), 1u);
  EXPECT_EQ(port->events[0].kind, webrtc_event_kind::existing_participants);
  ASSERT_EQ(port->events[0].participants.size(), 1u);
  EXPECT_EQ(port->events[0].participants[0].connection_id, "a");
  EXPECT_EQ(port->results, std::vector<std::string>{"1"});
}

TEST_F(WebrtcPeer, RelaysOnlyToPeersOfItsRooms) {
  ASSERT_TRUE(join(ann, "r", "a"));
  auto port = std::make_shared<recording_webrtc_port>();
  auto peer = spawn_peer("p", port);
  call(peer, relay_cmd("1", "a"));
  ASSERT_EQ(port->errors.size(), 1u) << "not in a shared room yet";
  EXPECT_EQ(port->errors[0].code, errc::invalid_argument);
  call(peer, join_cmd("2", "r"));
  call(peer, relay_cmd("3", "a"));
  EXPECT_EQ(port->results, (std::vector<std::string>{"2", "3"}));
  auto got = events(ann);
  ASSERT_EQ(got.size(), 2u); // p joined, then its answer
  EXPECT_EQ(got[1].kind, webrtc_event_kind::relayed);
  EXPECT_EQ(got[1].connection_id, "p");
  EXPECT_EQ(got[1].signal, signal_kind::answer);
}

TEST_F(WebrtcPeer, LearnsOfLaterJoinersAndForgetsLeavers) {
  auto port = std::make_shared<recording_webrtc_port>();
  auto peer = spawn_peer("p", port);
  call(peer, join_cmd("1", "r"));
  ASSERT_TRUE(join(ann, "r", "a"));
  call(peer, relay_cmd("2", "a"));
  EXPECT_EQ(port->results, (std::vector<std::string>{"1", "2"}));
  ASSERT_TRUE(ask<bool>(ann, rooms, leave_atom::value, std::string{"r"}, std::string{"a"}));
  call(peer, relay_cmd("3", "a"));
  ASSERT_EQ(port->errors.size(), 1u);
  EXPECT_EQ(port->errors[0].call_id, "3");
  ASSERT_EQ(port->events.size(), 3u);
  EXPECT_EQ(port->events[1].kind, webrtc_event_kind::user_joined);
  EXPECT_EQ(port->events[2].kind, webrtc_event_kind::user_left);
}

TEST_F(WebrtcPeer, JoinsAtMostTheConfiguredNumberOfRooms) {
  auto port = std::make_shared<recording_webrtc_port>();
  auto peer = spawn_peer("p", port, 1);
  call(peer, join_cmd("1", "r1"));
  call(peer, join_cmd("2", "r2"));
  ASSERT_EQ(port->errors.size(), 1u);
  EXPECT_EQ(port->errors[0].code, errc::limit_exceeded);
  EXPECT_NE(port->errors[0].message.find("webrtc.max-rooms-per-connection"), std::string::npos);
  call(peer, join_cmd("3", "r1"));
  EXPECT_EQ(port->results, (std::vector<std::string>{"1", "3"}))
      << "joining a room again is no new room";
}

TEST_F(WebrtcPeer, ClosingLeavesEveryRoom) {
  ASSERT_TRUE(join(ann, "r", "a"));
  auto port = std::make_shared<recording_webrtc_port>();
  auto peer = spawn_peer("p", port);
  call(peer, join_cmd("1", "r"));
  events(ann);
  caf::anon_send(peer, close_atom::value);
  sched.run();
  auto got = events(ann);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].kind, webrtc_event_kind::user_left);
  EXPECT_EQ(got[0].connection_id, "p");
}

} // namespace
