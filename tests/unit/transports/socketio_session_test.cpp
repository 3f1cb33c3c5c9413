// The Engine.IO session state machine: long polling, heartbeat, upgrade and
// close, with time passed in (no sleeps, no sockets).

#include <chrono>
#include <string>

#include <gtest/gtest.h>

#include "transports/socketio/engineio_session.hpp"

namespace {

using namespace puzzle::transports::socketio;
using namespace std::chrono_literals;
using get_action = eio_session::get_action;
using post_action = eio_session::post_action;
using probe_action = eio_session::probe_action;

struct fixture : ::testing::Test {
  eio_session::time_point t0 = eio_session::clock::now();

  eio_session_options options() {
    eio_session_options opts;
    opts.ping_interval = 300ms;
    opts.ping_timeout = 200ms;
    opts.upgrade_timeout = 1000ms;
    opts.max_buffered_bytes = 1000;
    return opts;
  }

  eio_session polling() {
    return eio_session{"sid1", eio_transport::polling, options(), t0};
  }

  eio_session websocket() {
    return eio_session{"sid2", eio_transport::websocket, options(), t0};
  }

  static std::string text_of(const eio_frame& frame) {
    return frame.data ? *frame.data : std::string{};
  }
};

using EngineioSession = fixture;

TEST_F(EngineioSession, PollingOpenPacketOffersTheUpgrade) {
  auto s = polling();
  EXPECT_EQ(s.open_packet(),
            R"(0{"sid":"sid1","upgrades":["websocket"],"pingInterval":300,)"
            R"("pingTimeout":200,"maxPayload":1000000})");
  EXPECT_EQ(s.state(), eio_session_state::polling);
  EXPECT_TRUE(s.take_effects().ws_frames.empty());
}

TEST_F(EngineioSession, WebSocketSessionSendsItsOpenPacketFirst) {
  auto s = websocket();
  auto fx = s.take_effects();
  ASSERT_EQ(fx.ws_frames.size(), 1u);
  EXPECT_EQ(text_of(fx.ws_frames[0]),
            R"(0{"sid":"sid2","upgrades":[],"pingInterval":300,)"
            R"("pingTimeout":200,"maxPayload":1000000})");
}

TEST_F(EngineioSession, GetWithQueuedPacketsAnswersAtOnceInOneBatch) {
  auto s = polling();
  s.send_message("0{\"sid\":\"x\"}");
  s.send_message("2[\"a\"]");
  s.send_binary(std::string("\x01\x02\x03\x04", 4));
  auto get = s.on_get(t0 + 1ms);
  EXPECT_EQ(get.action, get_action::respond);
  EXPECT_EQ(get.body,
            "40{\"sid\":\"x\"}\x1e"
            "42[\"a\"]\x1e"
            "bAQIDBA==");
  EXPECT_EQ(s.buffered_bytes(), 0u);
}

TEST_F(EngineioSession, EmptyGetIsHeldUntilSomethingIsSent) {
  auto s = polling();
  EXPECT_EQ(s.on_get(t0).action, get_action::hold);
  EXPECT_FALSE(s.take_effects().poll_response);
  s.send_message("2[\"x\"]");
  auto fx = s.take_effects();
  ASSERT_TRUE(fx.poll_response);
  EXPECT_EQ(*fx.poll_response, "42[\"x\"]");
}

TEST_F(EngineioSession, PostDeliversMessagesInOrder) {
  auto s = polling();
  EXPECT_EQ(s.on_post("4hello\x1e"
                      "bAQIDBA==\x1e"
                      "4world",
                      t0),
            post_action::ok);
  auto fx = s.take_effects();
  ASSERT_EQ(fx.messages.size(), 3u);
  EXPECT_EQ(fx.messages[0].data, "hello");
  EXPECT_TRUE(fx.messages[1].binary);
  EXPECT_EQ(fx.messages[2].data, "world");
}

TEST_F(EngineioSession, InvalidPostClosesTheSession) {
  auto s = polling();
  EXPECT_EQ(s.on_post("abc", t0), post_action::reject);
  EXPECT_EQ(s.state(), eio_session_state::closed);
  EXPECT_EQ(s.close_reason(), eio_close_reason::parse_error);
  EXPECT_EQ(s.on_get(t0).action, get_action::reject);
}

TEST_F(EngineioSession, OversizedPostIsTooLarge) {
  auto opts = options();
  opts.payload.max_payload_bytes = 10;
  eio_session s{"s", eio_transport::polling, opts, t0};
  EXPECT_EQ(s.on_post("4" + std::string(10, 'x'), t0), post_action::too_large);
  EXPECT_EQ(s.state(), eio_session_state::closed);
}

TEST_F(EngineioSession, SecondConcurrentGetClosesTheSession) {
  auto s = polling();
  EXPECT_EQ(s.on_get(t0).action, get_action::hold);
  EXPECT_EQ(s.on_get(t0 + 5ms).action, get_action::reject);
  auto fx = s.take_effects();
  ASSERT_TRUE(fx.poll_response);
  EXPECT_EQ(*fx.poll_response, "1");
  EXPECT_EQ(s.state(), eio_session_state::closed);
  EXPECT_EQ(s.close_reason(), eio_close_reason::protocol_error);
}

TEST_F(EngineioSession, ClientCloseAnswersTheHeldGetWithNoop) {
  auto s = polling();
  EXPECT_EQ(s.on_get(t0).action, get_action::hold);
  EXPECT_EQ(s.on_post("1", t0), post_action::ok);
  auto fx = s.take_effects();
  ASSERT_TRUE(fx.poll_response);
  EXPECT_EQ(*fx.poll_response, "6");
  EXPECT_EQ(s.close_reason(), eio_close_reason::client_close);
  EXPECT_EQ(s.on_get(t0).action, get_action::reject);
}

TEST_F(EngineioSession, PingsAtTheIntervalAndClosesWithoutPong) {
  auto s = polling();
  EXPECT_EQ(s.next_deadline(), t0 + 300ms);
  s.on_tick(t0 + 299ms);
  EXPECT_EQ(s.on_get(t0 + 299ms).action, get_action::hold);
  s.on_tick(t0 + 300ms);
  auto fx = s.take_effects();
  ASSERT_TRUE(fx.poll_response);
  EXPECT_EQ(*fx.poll_response, "2");
  EXPECT_EQ(s.next_deadline(), t0 + 500ms);
  s.on_tick(t0 + 499ms);
  EXPECT_NE(s.state(), eio_session_state::closed);
  s.on_tick(t0 + 500ms);
  EXPECT_EQ(s.state(), eio_session_state::closed);
  EXPECT_EQ(s.close_reason(), eio_close_reason::ping_timeout);
}

TEST_F(EngineioSession, PongSchedulesTheNextPing) {
  auto s = polling();
  s.on_tick(t0 + 300ms);
  EXPECT_EQ(s.on_get(t0 + 310ms).body, "2");
  EXPECT_EQ(s.on_post("3", t0 + 320ms), post_action::ok);
  EXPECT_EQ(s.next_deadline(), t0 + 620ms);
  s.on_tick(t0 + 700ms);
  EXPECT_EQ(s.state(), eio_session_state::polling);
  EXPECT_EQ(s.on_get(t0 + 701ms).body, "2");
}

TEST_F(EngineioSession, WebSocketPingPong) {
  auto s = websocket();
  s.take_effects();
  s.on_tick(t0 + 300ms);
  auto fx = s.take_effects();
  ASSERT_EQ(fx.ws_frames.size(), 1u);
  EXPECT_EQ(text_of(fx.ws_frames[0]), "2");
  s.on_ws_text("3", t0 + 350ms);
  s.on_tick(t0 + 600ms);
  EXPECT_EQ(s.state(), eio_session_state::websocket);
  s.on_tick(t0 + 650ms);
  s.on_tick(t0 + 850ms);
  EXPECT_EQ(s.state(), eio_session_state::closed);
  EXPECT_TRUE(s.take_effects().close_websocket);
}

TEST_F(EngineioSession, WebSocketMessagesAndGarbage) {
  auto s = websocket();
  s.take_effects();
  s.on_ws_text("4hello", t0);
  s.on_ws_binary(std::string("\x01\x02", 2), t0);
  auto fx = s.take_effects();
  ASSERT_EQ(fx.messages.size(), 2u);
  EXPECT_EQ(fx.messages[0].data, "hello");
  EXPECT_TRUE(fx.messages[1].binary);
  s.on_ws_text("abc", t0);
  EXPECT_EQ(s.state(), eio_session_state::closed);
  EXPECT_EQ(s.close_reason(), eio_close_reason::parse_error);
  EXPECT_TRUE(s.take_effects().close_websocket);
}

TEST_F(EngineioSession, WebSocketClosePacketEndsTheSession) {
  auto s = websocket();
  s.on_ws_text("1", t0);
  EXPECT_EQ(s.close_reason(), eio_close_reason::client_close);
  EXPECT_TRUE(s.take_effects().close_websocket);
}

TEST_F(EngineioSession, UpgradeProbeNoopAndSwitch) {
  auto s = polling();
  EXPECT_EQ(s.on_get(t0).action, get_action::hold);
  ASSERT_TRUE(s.on_probe_open(t0 + 1ms));
  EXPECT_EQ(s.state(), eio_session_state::upgrading);
  auto probe = s.on_probe_text("2probe", t0 + 2ms);
  EXPECT_EQ(probe.action, probe_action::reply);
  EXPECT_EQ(probe.reply, "3probe");
  auto fx = s.take_effects();
  ASSERT_TRUE(fx.poll_response);
  EXPECT_EQ(*fx.poll_response, "6");
  // Sent while upgrading: waits, then goes over the WebSocket.
  s.send_message("2[\"queued\"]");
  EXPECT_EQ(s.on_probe_text("5", t0 + 3ms).action, probe_action::upgraded);
  EXPECT_EQ(s.state(), eio_session_state::websocket);
  EXPECT_EQ(s.transport(), eio_transport::websocket);
  fx = s.take_effects();
  ASSERT_EQ(fx.ws_frames.size(), 1u);
  EXPECT_EQ(text_of(fx.ws_frames[0]), "42[\"queued\"]");
  // Polling is over for this sid; so is a second WebSocket.
  EXPECT_EQ(s.on_get(t0 + 4ms).action, get_action::reject);
  EXPECT_EQ(s.on_post("4x", t0 + 4ms), post_action::reject);
  EXPECT_FALSE(s.on_probe_open(t0 + 4ms));
}

TEST_F(EngineioSession, GetDuringUpgradeGetsNoop) {
  auto s = polling();
  ASSERT_TRUE(s.on_probe_open(t0));
  EXPECT_EQ(s.on_probe_text("2probe", t0).action, probe_action::reply);
  auto get = s.on_get(t0 + 1ms);
  EXPECT_EQ(get.action, get_action::respond);
  EXPECT_EQ(get.body, "6");
}

TEST_F(EngineioSession, UpgradeWithoutProbeOrWithGarbageIsRefused) {
  auto s = polling();
  ASSERT_TRUE(s.on_probe_open(t0));
  EXPECT_FALSE(s.on_probe_open(t0)); // one probe at a time
  EXPECT_EQ(s.on_probe_text("5", t0).action, probe_action::reject);
  EXPECT_TRUE(s.take_effects().close_probe);
  EXPECT_EQ(s.state(), eio_session_state::polling);
  ASSERT_TRUE(s.on_probe_open(t0));
  EXPECT_EQ(s.on_probe_binary(t0).action, probe_action::reject);
  EXPECT_EQ(s.state(), eio_session_state::polling);
}

TEST_F(EngineioSession, UpgradeTimesOut) {
  auto s = polling();
  ASSERT_TRUE(s.on_probe_open(t0));
  EXPECT_LE(s.next_deadline(), t0 + 1000ms);
  // Keep the heartbeat alive meanwhile.
  s.on_tick(t0 + 300ms);
  s.on_post("3", t0 + 301ms);
  s.on_tick(t0 + 1000ms);
  EXPECT_EQ(s.state(), eio_session_state::polling);
  EXPECT_TRUE(s.take_effects().close_probe);
}

TEST_F(EngineioSession, ProbeClosedFallsBackToPolling) {
  auto s = polling();
  ASSERT_TRUE(s.on_probe_open(t0));
  s.on_probe_closed(t0);
  EXPECT_EQ(s.state(), eio_session_state::polling);
  EXPECT_EQ(s.on_get(t0).action, get_action::hold);
}

TEST_F(EngineioSession, ServerCloseOnPollingDeliversQueueThenClose) {
  auto s = polling();
  s.send_message("41");
  s.close(t0);
  EXPECT_EQ(s.state(), eio_session_state::closing);
  EXPECT_EQ(s.send_message("42[\"late\"]"), eio_send_status::closing);
  auto get = s.on_get(t0 + 1ms);
  EXPECT_EQ(get.action, get_action::respond);
  EXPECT_EQ(get.body,
            "441\x1e"
            "1");
  EXPECT_EQ(s.state(), eio_session_state::closed);
}

TEST_F(EngineioSession, ServerCloseWithHeldGetAnswersAtOnce) {
  auto s = polling();
  EXPECT_EQ(s.on_get(t0).action, get_action::hold);
  s.close(t0);
  auto fx = s.take_effects();
  ASSERT_TRUE(fx.poll_response);
  EXPECT_EQ(*fx.poll_response, "1");
  EXPECT_EQ(s.state(), eio_session_state::closed);
}

TEST_F(EngineioSession, ClosingGivesUpAfterPingTimeout) {
  auto s = polling();
  s.close(t0);
  EXPECT_EQ(s.next_deadline(), t0 + 200ms);
  s.on_tick(t0 + 200ms);
  EXPECT_EQ(s.state(), eio_session_state::closed);
  EXPECT_EQ(s.next_deadline(), eio_session::time_point::max());
}

TEST_F(EngineioSession, SlowPollingClientOverflowsAndCloses) {
  auto s = polling();
  EXPECT_EQ(s.send_message(std::string(600, 'x')), eio_send_status::queued);
  EXPECT_EQ(s.send_message(std::string(600, 'x')), eio_send_status::closing);
  EXPECT_EQ(s.state(), eio_session_state::closed);
  EXPECT_EQ(s.close_reason(), eio_close_reason::buffer_overflow);
}

TEST_F(EngineioSession, NamesAreStable) {
  EXPECT_EQ(to_string(eio_session_state::upgrading), "upgrading");
  EXPECT_EQ(to_string(eio_close_reason::ping_timeout), "ping_timeout");
  EXPECT_EQ(to_string(eio_transport::websocket), "websocket");
}

} // namespace
