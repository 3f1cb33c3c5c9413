// The device registry and device actors on CAF's deterministic test
// coordinator: presence (status, last will, keep-alive window, stale
// retained statuses, client-id takeovers), bindings (owner only), placements
// as moves through a real client actor and session (at most once per msgId,
// only for the bound session) and what goes out to MQTT. The MQTT bridge is
// a scoped actor that records the outbox messages. Time is virtual.

#include "actors/device/device_registry_actor.hpp"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include <caf/all.hpp>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "actors/caf_errors.hpp"
#include "actors/util/ids.hpp"
#include "cluster/directory/directory_actor.hpp"
#include "tests/unit/actors/support/test_fixture.hpp"

namespace {

using namespace std::chrono_literals;
using namespace puzzle;
using namespace puzzle::test_support;
using nlohmann::json;

const user_identity owner{"u-owner", "Owner"};
const user_identity stranger{"u-stranger", "Stranger"};

/// What the registry sent to the (fake) MQTT bridge.
struct outbox_log {
  std::vector<session_event> events;
  std::vector<session_progress> progress;
  std::vector<device_command> commands;

  std::vector<json> commands_named(const std::string& name) const {
    std::vector<json> out;
    for (auto& c : commands) {
      auto j = json::parse(c.json);
      if (j.value("command", "") == name) out.push_back(j);
    }
    return out;
  }
};

class DeviceRegistry : public actor_fixture {
protected:
  DeviceRegistry() : caller(sys), outbox(sys), counters(std::make_shared<device_counters>()) {
    cluster::directory_options dopts;
    directory = sys.spawn(cluster::directory, store_actor{store}, dopts);
    track(directory);
    device_registry_options opts;
    opts.device.offline_after = 60s;
    opts.device.presence_grace = 2s;
    opts.device.dedupe_window = 4;
    opts.max_devices = 3;
    registry = sys.spawn(device_registry, directory, counters, binding_saver_actor{}, opts);
    track(registry);
    sched.run();
    caf::anon_send(registry, outbox_atom::value, caf::actor_cast<device_outbox_actor>(outbox));
    sched.run();
  }

  /// Creates a 2x2 session owned by `owner`; returns its id.
  std::string create_session() {
    create_request req;
    req.name = "Box puzzle";
    req.image = image_ref{"img-1", "/images/img-1.png", 400, 300};
    req.rows = 2;
    req.cols = 2;
    req.owner = owner;
    auto created = ask<session_summary>(caller, directory, create_atom::value, req);
    EXPECT_TRUE(created) << message_of(created.error());
    return created ? created->session_id : std::string{};
  }

  json state(const std::string& session_id) {
    auto text = ask<std::string>(caller, directory, state_atom::value, session_id);
    if (!text) {
      ADD_FAILURE() << message_of(text.error());
      return json{};
    }
    return json::parse(*text);
  }

  caf::expected<device_view> bind(const std::string& session_id, const std::string& device_id,
                                  const user_identity& who = owner) {
    return ask<device_view>(caller, registry, bind_atom::value, session_id, device_id, who);
  }

  std::vector<device_view> devices() {
    auto xs = ask<std::vector<device_view>>(caller, registry, list_atom::value, device_atom::value);
    return xs ? *xs : std::vector<device_view>{};
  }

  device_view device(const std::string& id) {
    for (auto& v : devices())
      if (v.device_id == id) return v;
    ADD_FAILURE() << "no device " << id;
    return device_view{};
  }

  void send(device_status x) {
    caf::anon_send(registry, std::move(x));
    sched.run();
  }

  void send(device_placement x) {
    caf::anon_send(registry, std::move(x));
    sched.run();
  }

  void status(const std::string& id, bool online, bool retained = false) {
    send(device_status{id, online, retained});
  }

  /// A placement of piece `piece` on its correct spot.
  device_placement placement(const std::string& device_id, const std::string& msg_id,
                             const std::string& session_id, int32_t piece) {
    auto st = state(session_id);
    auto cols = st["cols"].get<int32_t>();
    device_placement p;
    p.device_id = device_id;
    p.msg_id = msg_id;
    p.session_id = session_id;
    p.piece_id = piece;
    p.x = st["board"]["x"].get<double>() + (piece % cols) * st["pieceWidth"].get<double>();
    p.y = st["board"]["y"].get<double>() + (piece / cols) * st["pieceHeight"].get<double>();
    return p;
  }

  outbox_log drain_outbox() {
    outbox_log out;
    for (bool more = true; more;)
      outbox->receive(
          [&](session_event& ev) {
            out.events.push_back(std::move(ev));
          },
          [&](session_progress& p) {
            out.progress.push_back(std::move(p));
          },
          [&](device_command& c) {
            out.commands.push_back(std::move(c));
          },
          caf::after(std::chrono::seconds(0)) >>
              [&] {
                more = false;
              });
    return out;
  }

  uint64_t dropped(device_drop reason) {
    return counters->dropped[static_cast<size_t>(reason)].load();
  }

  caf::scoped_actor caller;
  caf::scoped_actor outbox;
  device_counters_ptr counters;
  directory_actor directory;
  device_registry_actor registry;
};

// -- presence -------------------------------------------------------------------

TEST_F(DeviceRegistry, DeviceAppearsWithItsFirstMessage) {
  EXPECT_TRUE(devices().empty());
  status("table-01", true);
  auto v = device("table-01");
  EXPECT_EQ(v.presence, "online");
  EXPECT_EQ(v.messages, 1u);
  EXPECT_GT(v.last_seen, 0);
  EXPECT_EQ(counters->devices.load(), 1u);
}

TEST_F(DeviceRegistry, LastWillMarksDeviceOfflineAfterTheGracePeriod) {
  status("box-1", true);
  status("box-1", false); // the broker publishes the will
  EXPECT_EQ(device("box-1").presence, "online");
  advance(1999ms);
  EXPECT_EQ(device("box-1").presence, "online");
  advance(1ms);
  EXPECT_EQ(device("box-1").presence, "offline");
}

TEST_F(DeviceRegistry, ExplicitOfflineMarksDeviceOffline) {
  status("box-1", true);
  send(device_status{"box-1", false, false});
  advance(2s);
  EXPECT_EQ(device("box-1").presence, "offline");
  EXPECT_EQ(device("box-1").flaps_suppressed, 0u);
}

TEST_F(DeviceRegistry, DuplicateClientIdDoesNotMakeTheDeviceFlap) {
  status("box-1", true);
  // Each connection of one of two devices sharing a client id: the old
  // connection's will, then the new one's online.
  for (int i = 0; i < 4; ++i) {
    status("box-1", false);
    advance(300ms);
    status("box-1", true);
    advance(700ms);
    EXPECT_EQ(device("box-1").presence, "online") << "round " << i;
  }
  advance(10s);
  auto v = device("box-1");
  EXPECT_EQ(v.presence, "online");
  EXPECT_EQ(v.flaps_suppressed, 4u);
}

TEST_F(DeviceRegistry, StaleRetainedOnlineExpiresAfterTheKeepAliveWindow) {
  status("env-1", true, true); // replayed by the broker on subscribe
  EXPECT_EQ(device("env-1").presence, "online");
  EXPECT_EQ(device("env-1").last_seen, 0);
  advance(59s);
  EXPECT_EQ(device("env-1").presence, "online");
  advance(1s);
  EXPECT_EQ(device("env-1").presence, "offline");
}

TEST_F(DeviceRegistry, StaleRetainedOfflineDoesNotFlapALiveDevice) {
  status("env-1", true);
  caf::anon_send(registry, device_reading{"env-1", "environment", R"({"temperature":21})", false});
  sched.run();
  status("env-1", false, true); // an old retained offline, replayed
  advance(500ms);
  caf::anon_send(registry, device_reading{"env-1", "environment", R"({"temperature":22})", false});
  sched.run();
  advance(5s);
  EXPECT_EQ(device("env-1").presence, "online");
}

TEST_F(DeviceRegistry, ReadingsAreKeptByKindWithTheirTime) {
  caf::anon_send(registry, device_reading{"table-01", "pressure", R"({"totalWeight":120})", false});
  caf::anon_send(registry, device_reading{"table-01", "pressure", R"({"totalWeight":130})", false});
  sched.run();
  auto v = device("table-01");
  ASSERT_EQ(v.readings.size(), 1u);
  EXPECT_EQ(v.readings[0].kind, "pressure");
  EXPECT_EQ(v.readings[0].json, R"({"totalWeight":130})");
  EXPECT_GT(v.readings[0].received_at, 0);
  EXPECT_EQ(v.presence, "online");
  EXPECT_GT(v.message_rate, 0.0);
}

TEST_F(DeviceRegistry, DevicesBeyondTheLimitAreDropped) {
  for (auto id : {"a", "b", "c", "d"})
    status(id, true);
  EXPECT_EQ(devices().size(), 3u);
  EXPECT_EQ(dropped(device_drop::too_many_devices), 1u);
}

// -- bindings -------------------------------------------------------------------

TEST_F(DeviceRegistry, OnlyTheOwnerBindsADevice) {
  auto sid = create_session();
  auto refused = bind(sid, "box-1", stranger);
  ASSERT_FALSE(refused);
  EXPECT_EQ(code_of(refused.error()), errc::forbidden);
  auto missing = bind("2b1c0d9e-0000-4000-8000-000000000001", "box-1");
  ASSERT_FALSE(missing);
  EXPECT_EQ(code_of(missing.error()), errc::session_not_found);
  auto bad_id = bind(sid, "box/+");
  ASSERT_FALSE(bad_id);
  EXPECT_EQ(code_of(bad_id.error()), errc::invalid_argument);
  auto v = bind(sid, "box-1");
  ASSERT_TRUE(v) << message_of(v.error());
  EXPECT_EQ(v->session_id, sid);
  EXPECT_TRUE(v->joined);
  EXPECT_EQ(v->bound_by, owner.user_id);
  EXPECT_EQ(v->user_id, device_user_id("box-1"));
  // The device joined as a participant under its own id.
  auto st = state(sid);
  ASSERT_EQ(st["participants"].size(), 1u);
  EXPECT_EQ(st["participants"][0]["userId"], device_user_id("box-1"));
  EXPECT_EQ(st["participants"][0]["username"], "box-1");
  // It learns its binding (retained) and the session's progress goes out.
  auto out = drain_outbox();
  auto bound = out.commands_named("bound");
  ASSERT_EQ(bound.size(), 1u);
  EXPECT_EQ(bound[0]["sessionId"], sid);
  ASSERT_FALSE(out.progress.empty());
  EXPECT_EQ(out.progress.back().piece_count, 4);
  EXPECT_EQ(out.progress.back().completed_pieces, 0);
}

TEST_F(DeviceRegistry, ADeviceIsBoundToOneSessionAtATime) {
  auto a = create_session();
  auto b = create_session();
  ASSERT_TRUE(bind(a, "box-1"));
  EXPECT_TRUE(bind(a, "box-1")); // again: no-op
  auto other = bind(b, "box-1");
  ASSERT_FALSE(other);
  EXPECT_EQ(code_of(other.error()), errc::conflict);
  auto listed
      = ask<std::vector<device_view>>(caller, registry, list_atom::value, device_atom::value, a);
  ASSERT_TRUE(listed);
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ((*listed)[0].device_id, "box-1");
  auto none
      = ask<std::vector<device_view>>(caller, registry, list_atom::value, device_atom::value, b);
  ASSERT_TRUE(none);
  EXPECT_TRUE(none->empty());
}

TEST_F(DeviceRegistry, DeviceIdIsAStableVersion8Uuid) {
  auto id = device_user_id("puzzle-box-01");
  EXPECT_TRUE(util::is_uuid(id)) << id;
  EXPECT_EQ(id[14], '8');
  EXPECT_EQ(id, device_user_id("puzzle-box-01"));
  EXPECT_NE(id, device_user_id("puzzle-box-02"));
}

// -- placements -----------------------------------------------------------------

TEST_F(DeviceRegistry, PlacementOfABoundBoxMovesThePieceOnce) {
  auto sid = create_session();
  ASSERT_TRUE(bind(sid, "box-1"));
  drain_outbox();
  auto p = placement("box-1", "m-1", sid, 0);
  send(p);
  send(p); // the same msgId again (a QoS 1 redelivery)
  auto st = state(sid);
  EXPECT_TRUE(st["pieces"][0]["isPlaced"].get<bool>());
  EXPECT_EQ(st["version"], 1);
  EXPECT_EQ(store_data->saves, 1u);
  EXPECT_EQ(dropped(device_drop::duplicate), 1u);
  auto v = device("box-1");
  EXPECT_EQ(v.placements_applied, 1u);
  EXPECT_EQ(v.dropped, 1u);
  auto out = drain_outbox();
  auto results = out.commands_named("placementResult");
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0]["msgId"], "m-1");
  EXPECT_EQ(results[0]["success"], true);
  EXPECT_EQ(results[0]["isCorrectlyPlaced"], true);
  // The session's events go out, once each, and the progress follows.
  ASSERT_EQ(count_named(out.events, "PieceMoved"), 1u);
  ASSERT_FALSE(out.progress.empty());
  EXPECT_EQ(out.progress.back().completed_pieces, 1);
}

TEST_F(DeviceRegistry, PlacementsCompleteThePuzzle) {
  auto sid = create_session();
  ASSERT_TRUE(bind(sid, "box-1"));
  for (int32_t i = 0; i < 4; ++i)
    send(placement("box-1", "m-" + std::to_string(i), sid, i));
  auto st = state(sid);
  EXPECT_TRUE(st["isCompleted"].get<bool>());
  auto out = drain_outbox();
  EXPECT_EQ(count_named(out.events, "PuzzleCompleted"), 1u);
  ASSERT_FALSE(out.progress.empty());
  EXPECT_TRUE(out.progress.back().is_completed);
  EXPECT_EQ(out.progress.back().completed_pieces, 4);
  EXPECT_EQ(counters->placements_applied.load(), 4u);
}

TEST_F(DeviceRegistry, EventsOfABoundSessionArePublishedOncePerSession) {
  auto sid = create_session();
  ASSERT_TRUE(bind(sid, "box-1"));
  ASSERT_TRUE(bind(sid, "box-2"));
  drain_outbox();
  send(placement("box-2", "m-1", sid, 1));
  auto out = drain_outbox();
  EXPECT_EQ(count_named(out.events, "PieceMoved"), 1u);
  for (auto& ev : out.events)
    EXPECT_TRUE(published_on_mqtt(ev.name)) << ev.name;
}

TEST_F(DeviceRegistry, PlacementOfAnUnboundDeviceIsDropped) {
  auto sid = create_session();
  send(placement("box-9", "m-1", sid, 0));
  EXPECT_EQ(dropped(device_drop::unbound_device), 1u);
  EXPECT_FALSE(state(sid)["pieces"][0]["isPlaced"].get<bool>());
  // An id that never was a session is unknown rather than unbound.
  auto p = placement("box-9", "m-2", sid, 0);
  p.session_id = "2b1c0d9e-0000-4000-8000-000000000001";
  send(p);
  p.session_id = "not-a-session";
  p.msg_id = "m-3";
  send(p);
  EXPECT_EQ(dropped(device_drop::unknown_session), 2u);
}

TEST_F(DeviceRegistry, PlacementForAnotherSessionThanTheBoundOneIsDropped) {
  auto a = create_session();
  auto b = create_session();
  ASSERT_TRUE(bind(a, "box-1"));
  send(placement("box-1", "m-1", b, 0));
  EXPECT_EQ(dropped(device_drop::unbound_device), 1u);
  EXPECT_FALSE(state(b)["pieces"][0]["isPlaced"].get<bool>());
  // The next good message works.
  send(placement("box-1", "m-2", a, 0));
  EXPECT_TRUE(state(a)["pieces"][0]["isPlaced"].get<bool>());
}

TEST_F(DeviceRegistry, RetainedPlacementIsNeverApplied) {
  auto sid = create_session();
  ASSERT_TRUE(bind(sid, "box-1"));
  auto p = placement("box-1", "m-1", sid, 0);
  p.retained = true;
  send(p);
  EXPECT_EQ(dropped(device_drop::stale_retained), 1u);
  EXPECT_FALSE(state(sid)["pieces"][0]["isPlaced"].get<bool>());
}

TEST_F(DeviceRegistry, RefusedMoveIsReportedToTheDevice) {
  auto sid = create_session();
  ASSERT_TRUE(bind(sid, "box-1"));
  send(placement("box-1", "m-1", sid, 0));
  drain_outbox();
  send(placement("box-1", "m-2", sid, 0)); // already placed: fixed
  auto results = drain_outbox().commands_named("placementResult");
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0]["success"], false);
  EXPECT_EQ(results[0]["code"], "INVALID_MOVE");
  EXPECT_EQ(device("box-1").placements_refused, 1u);
}

TEST_F(DeviceRegistry, MsgIdMemoryIsBounded) {
  auto sid = create_session();
  ASSERT_TRUE(bind(sid, "box-1"));
  // dedupe-window is 4 here: m-0 is forgotten after four newer ids.
  for (int i = 0; i < 5; ++i) {
    auto p = placement("box-1", "m-" + std::to_string(i), sid, 3);
    p.x = 10 + i; // somewhere off the board
    p.y = 10;
    send(p);
  }
  EXPECT_EQ(dropped(device_drop::duplicate), 0u);
  EXPECT_EQ(device("box-1").placements_applied, 5u);
  auto again = placement("box-1", "m-0", sid, 3);
  again.x = 40;
  again.y = 10;
  send(again);
  EXPECT_EQ(device("box-1").placements_applied, 6u);
  send(again); // m-0 is among the last four again
  EXPECT_EQ(dropped(device_drop::duplicate), 1u);
}

TEST_F(DeviceRegistry, UnboundDeviceNoLongerMoves) {
  auto sid = create_session();
  ASSERT_TRUE(bind(sid, "box-1"));
  auto refused
      = ask<bool>(caller, registry, unbind_atom::value, sid, std::string{"box-1"}, stranger);
  ASSERT_FALSE(refused);
  EXPECT_EQ(code_of(refused.error()), errc::forbidden);
  auto removed = ask<bool>(caller, registry, unbind_atom::value, sid, std::string{"box-1"}, owner);
  ASSERT_TRUE(removed);
  EXPECT_TRUE(*removed);
  send(placement("box-1", "m-1", sid, 0));
  EXPECT_EQ(dropped(device_drop::unbound_device), 1u);
  auto unbound = drain_outbox().commands_named("unbound");
  ASSERT_EQ(unbound.size(), 1u);
  EXPECT_TRUE(unbound[0]["sessionId"].is_null());
  EXPECT_EQ(device("box-1").session_id, "");
  EXPECT_EQ(counters->bindings.load(), 0u);
}

TEST_F(DeviceRegistry, ReconnectRepublishesProgressAndBindings) {
  auto sid = create_session();
  ASSERT_TRUE(bind(sid, "box-1"));
  drain_outbox();
  caf::anon_send(registry, mqtt_up_atom::value);
  sched.run();
  auto out = drain_outbox();
  ASSERT_EQ(out.progress.size(), 1u);
  EXPECT_EQ(out.progress[0].session_id, sid);
  EXPECT_EQ(out.commands_named("bound").size(), 1u);
}

TEST_F(DeviceRegistry, BindingsAreRestoredAtStart) {
  auto sid = create_session();
  device_registry_options opts;
  opts.restore.push_back(device_binding{"box-7", sid, owner.user_id, 5});
  auto restored = sys.spawn(device_registry, directory, counters, binding_saver_actor{}, opts);
  track(restored);
  sched.run();
  auto listed
      = ask<std::vector<device_view>>(caller, restored, list_atom::value, device_atom::value, sid);
  ASSERT_TRUE(listed);
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ((*listed)[0].device_id, "box-7");
  EXPECT_TRUE((*listed)[0].joined);
  EXPECT_EQ((*listed)[0].bound_at, 5);
}

} // namespace
