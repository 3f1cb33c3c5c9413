// Device messages in and the node's publications out
// (transports/mqtt/device_codec.hpp): topics, each refusal reason, and the
// JSON shapes of events, progress and the node's status.

#include "transports/mqtt/device_codec.hpp"

#include <memory>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace {

using namespace puzzle;
using namespace puzzle::transports::mqtt;
using json = nlohmann::json;
using kind = device_message::kind;

const std::string sid = "0b6e5f2c-6d1a-4c1e-9a51-3f1d2e4c5b6a";

device_message decode(const std::string& topic, const std::string& payload, bool retained = false) {
  device_codec_options opts;
  opts.max_payload_bytes = 1024;
  return decode_device_message(opts, topic, payload, retained);
}

std::string placement_json(const std::string& fields) {
  return R"({"msgId":"m-1","sessionId":")" + sid + R"(","pieceId":3,)" + fields + "}";
}

device_drop reason_of(const device_message& m) {
  EXPECT_EQ(m.type, kind::dropped) << m.detail;
  return m.reason;
}

// -- topics -------------------------------------------------------------------

TEST(MqttDeviceTopics, StatusAndSensorTopicsAreRecognised) {
  auto s = decode("iot/box-1/status", "online");
  ASSERT_EQ(s.type, kind::status);
  EXPECT_EQ(s.status.device_id, "box-1");
  auto r = decode("iot/env.01/sensor/environment", R"({"temperature":21.5})");
  ASSERT_EQ(r.type, kind::reading);
  EXPECT_EQ(r.reading.device_id, "env.01");
  EXPECT_EQ(r.reading.kind, "environment");
  auto p = decode("iot/box_1/sensor/placement", placement_json(R"("x":1,"y":2,"rotation":0)"));
  ASSERT_EQ(p.type, kind::placement);
  EXPECT_EQ(p.placement.device_id, "box_1");
}

TEST(MqttDeviceTopics, OtherTopicsAreUnknown) {
  EXPECT_EQ(reason_of(decode("iot/box-1", "online")), device_drop::unknown_topic);
  EXPECT_EQ(reason_of(decode("iot/box-1/status/x", "online")), device_drop::unknown_topic);
  EXPECT_EQ(reason_of(decode("iot/box-1/sensor", "{}")), device_drop::unknown_topic);
  EXPECT_EQ(reason_of(decode("iot/box-1/sensor/smell", "{}")), device_drop::unknown_topic);
  EXPECT_EQ(reason_of(decode("iot/box-1/command", "{}")), device_drop::unknown_topic);
  EXPECT_EQ(reason_of(decode("iotx/box-1/status", "online")), device_drop::unknown_topic);
  EXPECT_EQ(reason_of(decode("puzzle/x/events", "{}")), device_drop::unknown_topic);
}

TEST(MqttDeviceTopics, WildcardsInTheTopicAreRefused) {
  EXPECT_EQ(reason_of(decode("iot/+/status", "online")), device_drop::bad_topic);
  EXPECT_EQ(reason_of(decode("iot/box#1/status", "online")), device_drop::bad_topic);
  EXPECT_EQ(reason_of(decode("iot/#", "online")), device_drop::bad_topic);
  EXPECT_EQ(reason_of(decode("iot/box\xff/status", "online")), device_drop::bad_topic);
}

TEST(MqttDeviceTopics, DeviceIdsAreChecked) {
  EXPECT_EQ(reason_of(decode("iot//status", "online")), device_drop::bad_device_id);
  EXPECT_EQ(reason_of(decode("iot/a b/status", "online")), device_drop::bad_device_id);
  EXPECT_EQ(reason_of(decode("iot/" + std::string(65, 'a') + "/status", "online")),
            device_drop::bad_device_id);
  EXPECT_EQ(decode("iot/" + std::string(64, 'a') + "/status", "online").type, kind::status);
}

TEST(MqttDeviceTopics, PrefixIsConfigurable) {
  device_codec_options opts;
  opts.device_prefix = "site-1/iot";
  auto m = decode_device_message(opts, "site-1/iot/box-1/status", "offline", false);
  ASSERT_EQ(m.type, kind::status);
  EXPECT_FALSE(m.status.online);
  EXPECT_EQ(decode_device_message(opts, "iot/box-1/status", "offline", false).reason,
            device_drop::unknown_topic);
}

// -- status -------------------------------------------------------------------

TEST(MqttDeviceStatus, TextStringAndObjectFormsAreAccepted) {
  for (auto text : {"online", " ONLINE\n", "\"online\"", R"({"status":"online","v":1})"}) {
    auto m = decode("iot/d/status", text);
    ASSERT_EQ(m.type, kind::status) << text;
    EXPECT_TRUE(m.status.online) << text;
  }
  auto off = decode("iot/d/status", R"({"status":"offline"})", true);
  ASSERT_EQ(off.type, kind::status);
  EXPECT_FALSE(off.status.online);
  EXPECT_TRUE(off.status.retained);
}

TEST(MqttDeviceStatus, AnythingElseIsRefused) {
  EXPECT_EQ(reason_of(decode("iot/d/status", "")), device_drop::empty_payload);
  EXPECT_EQ(reason_of(decode("iot/d/status", "onlin")), device_drop::not_json);
  EXPECT_EQ(reason_of(decode("iot/d/status", "1")), device_drop::wrong_shape);
  EXPECT_EQ(reason_of(decode("iot/d/status", R"({"state":"online"})")), device_drop::wrong_shape);
}

// -- placements -----------------------------------------------------------------

TEST(MqttDevicePlacement, AllFieldsAreRead) {
  auto m = decode("iot/box/sensor/placement", placement_json(R"("x":120.5,"y":-3,"rotation":90.0)"),
                  true);
  ASSERT_EQ(m.type, kind::placement) << m.detail;
  auto& p = m.placement;
  EXPECT_EQ(p.msg_id, "m-1");
  EXPECT_EQ(p.session_id, sid);
  EXPECT_EQ(p.piece_id, 3);
  EXPECT_DOUBLE_EQ(p.x, 120.5);
  EXPECT_DOUBLE_EQ(p.y, -3);
  EXPECT_EQ(p.rotation, 90);
  EXPECT_TRUE(p.retained);
}

TEST(MqttDevicePlacement, IntegerMsgIdIsItsText) {
  auto m
      = decode("iot/box/sensor/placement",
               R"({"msgId":42,"sessionId":")" + sid + R"(","pieceId":0,"x":1,"y":2,"rotation":0})");
  ASSERT_EQ(m.type, kind::placement) << m.detail;
  EXPECT_EQ(m.placement.msg_id, "42");
}

TEST(MqttDevicePlacement, EmptyPayloadIsRefused) {
  EXPECT_EQ(reason_of(decode("iot/box/sensor/placement", "")), device_drop::empty_payload);
}

TEST(MqttDevicePlacement, NotJsonIsRefused) {
  EXPECT_EQ(reason_of(decode("iot/box/sensor/placement", "not json")), device_drop::not_json);
  EXPECT_EQ(reason_of(decode("iot/box/sensor/placement", "{\"msgId\":")), device_drop::not_json);
  EXPECT_EQ(reason_of(decode("iot/box/sensor/placement", "\xff\xfe")), device_drop::not_json);
}

TEST(MqttDevicePlacement, WrongShapeIsRefused) {
  auto topic = "iot/box/sensor/placement";
  EXPECT_EQ(reason_of(decode(topic, "[1,2,3]")), device_drop::wrong_shape);
  EXPECT_EQ(reason_of(decode(topic, "{}")), device_drop::wrong_shape);
  EXPECT_EQ(reason_of(decode(topic, placement_json(R"("x":"1","y":2,"rotation":0)"))),
            device_drop::wrong_shape);
  EXPECT_EQ(reason_of(decode(topic, placement_json(R"("y":2,"rotation":0)"))),
            device_drop::wrong_shape);
  EXPECT_EQ(reason_of(decode(topic, placement_json(R"("x":1,"y":2)"))), device_drop::wrong_shape);
  EXPECT_EQ(reason_of(decode(topic, placement_json(R"("x":1,"y":2,"rotation":45.5)"))),
            device_drop::wrong_shape);
  EXPECT_EQ(reason_of(decode(topic,
                             R"({"msgId":"","sessionId":")" + sid
                                 + R"(","pieceId":0,"x":1,"y":2,"rotation":0})")),
            device_drop::wrong_shape);
  EXPECT_EQ(reason_of(decode(topic,
                             R"({"msgId":"m","sessionId":7,"pieceId":0,"x":1,"y":2,)"
                             R"("rotation":0})")),
            device_drop::wrong_shape);
  EXPECT_EQ(reason_of(decode(topic,
                             R"({"msgId":"m","sessionId":")" + sid
                                 + R"(","pieceId":1.5,"x":1,"y":2,"rotation":0})")),
            device_drop::wrong_shape);
  EXPECT_EQ(reason_of(decode(topic,
                             R"({"msgId":"m","sessionId":")" + sid
                                 + R"(","pieceId":1e10,"x":1,"y":2,"rotation":0})")),
            device_drop::wrong_shape);
  EXPECT_EQ(reason_of(decode(topic, std::string(10, '[') + std::string(10, ']'))),
            device_drop::wrong_shape); // nested deeper than the limit
}

TEST(MqttDevicePlacement, NonFiniteNumbersAreRefused) {
  auto topic = "iot/box/sensor/placement";
  EXPECT_EQ(reason_of(decode(topic, placement_json(R"("x":1e999,"y":2,"rotation":0)"))),
            device_drop::non_finite);
  EXPECT_EQ(reason_of(decode(topic, placement_json(R"("x":1,"y":-1e400,"rotation":0)"))),
            device_drop::non_finite);
  EXPECT_EQ(reason_of(decode(topic, placement_json(R"("x":NaN,"y":2,"rotation":0)"))),
            device_drop::non_finite);
  EXPECT_EQ(reason_of(decode(topic, placement_json(R"("x":1,"y":Infinity,"rotation":0)"))),
            device_drop::non_finite);
  EXPECT_EQ(reason_of(decode(topic, placement_json(R"("x":1,"y":-Infinity,"rotation":0)"))),
            device_drop::non_finite);
  // The words inside strings are just text.
  EXPECT_EQ(reason_of(decode(topic, R"({"note":"NaN Infinity 1e999",)")), device_drop::not_json);
}

TEST(MqttDevicePlacement, OversizedPayloadIsRefusedBeforeParsing) {
  auto big = placement_json(R"("x":1,"y":2,"rotation":0,"pad":")" + std::string(2000, 'x') + "\"");
  EXPECT_EQ(reason_of(decode("iot/box/sensor/placement", big)), device_drop::oversized);
  auto m = decode("iot/box/status", std::string(1025, ' '));
  EXPECT_EQ(m.reason, device_drop::oversized);
  EXPECT_EQ(m.device_id, "box");
}

// -- readings -----------------------------------------------------------------

TEST(MqttDeviceReading, ObjectIsNormalised) {
  auto m = decode("iot/table-01/sensor/pressure",
                  R"( { "pressure": {"zones": [1, 2.5], "totalWeight": 120 } } )");
  ASSERT_EQ(m.type, kind::reading) << m.detail;
  EXPECT_EQ(m.reading.json, R"({"pressure":{"totalWeight":120,"zones":[1,2.5]}})");
}

TEST(MqttDeviceReading, NonObjectsAndNonFiniteNumbersAreRefused) {
  auto topic = "iot/env/sensor/environment";
  EXPECT_EQ(reason_of(decode(topic, "21.5")), device_drop::wrong_shape);
  EXPECT_EQ(reason_of(decode(topic, R"({"t":[1,2,1e999]})")), device_drop::non_finite);
  EXPECT_EQ(reason_of(decode(topic, R"({"t":NaN})")), device_drop::non_finite);
  EXPECT_EQ(reason_of(decode(topic, "{")), device_drop::not_json);
}

// -- outbound -------------------------------------------------------------------

TEST(MqttOutbound, TopicsOfTheNode) {
  EXPECT_EQ(status_filter("iot"), "iot/+/status");
  EXPECT_EQ(sensor_filter("iot"), "iot/+/sensor/+");
  EXPECT_EQ(events_topic("puzzle", sid), "puzzle/" + sid + "/events");
  EXPECT_EQ(progress_topic("puzzle", sid), "puzzle/" + sid + "/progress");
  EXPECT_EQ(command_topic("iot", "box-1"), "iot/box-1/command");
  EXPECT_EQ(node_status_topic("puzzle", "node-a"), "puzzle/nodes/node-a/status");
}

TEST(MqttOutbound, EventCarriesItsSingleArgumentAsData) {
  session_event ev;
  ev.session_id = sid;
  ev.name = "PieceMoved";
  ev.version = 7;
  ev.payload = std::make_shared<const std::string>(R"([{"pieceId":3,"x":1.5}])");
  auto j = json::parse(encode_event(ev));
  EXPECT_EQ(j["event"], "PieceMoved");
  EXPECT_EQ(j["sessionId"], sid);
  EXPECT_EQ(j["version"], 7);
  EXPECT_EQ(j["data"]["pieceId"], 3);
  ev.version = 0;
  ev.name = "UserJoined";
  EXPECT_FALSE(json::parse(encode_event(ev)).contains("version"));
}

TEST(MqttOutbound, ProgressHasTheContractsFields) {
  auto j = json::parse(encode_progress(session_progress{sid, 3, 4, false}));
  EXPECT_EQ(j["completedPieces"], 3);
  EXPECT_EQ(j["pieceCount"], 4);
  EXPECT_DOUBLE_EQ(j["completionPercentage"].get<double>(), 75.0);
  EXPECT_EQ(j["isCompleted"], false);
  EXPECT_EQ(j["sessionId"], sid);
  auto none = json::parse(encode_progress(session_progress{sid, 0, 0, false}));
  EXPECT_DOUBLE_EQ(none["completionPercentage"].get<double>(), 0.0);
}

TEST(MqttOutbound, NodeStatus) {
  auto on = json::parse(encode_node_status("node-a", true, 1'000));
  EXPECT_EQ(on["status"], "online");
  EXPECT_EQ(on["clientId"], "node-a");
  EXPECT_EQ(on["since"], "1970-01-01T00:00:01.000Z");
  auto off = json::parse(encode_node_status("node-a", false, 0));
  EXPECT_EQ(off["status"], "offline");
  EXPECT_FALSE(off.contains("since"));
}

TEST(MqttDeviceDrop, EveryReasonHasAName) {
  for (auto reason : all_device_drops)
    EXPECT_NE(to_string(reason), "unknown");
  EXPECT_EQ(device_drop_count, 15u);
}

} // namespace
