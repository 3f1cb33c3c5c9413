#include "transports/signalr/webrtc_calls.hpp"

#include <string>
#include <variant>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace {

using namespace puzzle;
using namespace puzzle::transports::signalr;
using json = nlohmann::json;

invocation call(std::string target, json args, bool with_id = true) {
  invocation out;
  if (with_id) out.invocation_id = "7";
  out.target = std::move(target);
  out.arguments = std::move(args);
  return out;
}

webrtc_command expect_command(const invocation& c, webrtc_call_limits limits = {}) {
  auto result = decode_webrtc_call(c, limits);
  EXPECT_TRUE(std::holds_alternative<webrtc_command>(result)) << c.target;
  if (auto cmd = std::get_if<webrtc_command>(&result)) return *cmd;
  return {};
}

hub_call_failure expect_failure(const invocation& c, webrtc_call_limits limits = {}) {
  auto result = decode_webrtc_call(c, limits);
  EXPECT_TRUE(std::holds_alternative<hub_call_failure>(result)) << c.target;
  if (auto failure = std::get_if<hub_call_failure>(&result)) return *failure;
  return {};
}

TEST(WebrtcCalls, DecodesJoinRoomCaseInsensitively) {
  auto cmd = expect_command(call("joinroom", json::array({"room 1", "Ann"})));
  EXPECT_EQ(cmd.kind, webrtc_command_kind::join);
  EXPECT_EQ(cmd.call_id, "7");
  EXPECT_EQ(cmd.room, "room 1");
  EXPECT_EQ(cmd.user_name, "Ann");
}

TEST(WebrtcCalls, DecodesLeaveRoom) {
  auto cmd = expect_command(call("LeaveRoom", json::array({"r"}), false));
  EXPECT_EQ(cmd.kind, webrtc_command_kind::leave);
  EXPECT_EQ(cmd.call_id, "");
  EXPECT_EQ(cmd.room, "r");
}

TEST(WebrtcCalls, DecodesTheFourRelays) {
  struct case_t {
    const char* method;
    signal_kind kind;
  };
  const case_t cases[] = {{"SendSignal", signal_kind::signal},
                          {"SendOffer", signal_kind::offer},
                          {"SendAnswer", signal_kind::answer},
                          {"SendIceCandidate", signal_kind::ice_candidate}};
  for (const auto& c : cases) {
    auto cmd = expect_command(call(c.method, json::array({"{\"sdp\":1}", "t"})));
    EXPECT_EQ(cmd.kind, webrtc_command_kind::relay) << c.method;
    EXPECT_EQ(cmd.signal, c.kind) << c.method;
    EXPECT_EQ(cmd.payload, "{\"sdp\":1}") << c.method;
    EXPECT_EQ(cmd.target, "t") << c.method;
  }
}

TEST(WebrtcCalls, WrongArgumentsFailAsAspNetBindingDoes) {
  for (auto args : {json::array({"r"}), json::array({"r", "n", "x"}), json::array({"r", 5}),
                    json::array({json::object(), "n"})}) {
    auto failure = expect_failure(call("JoinRoom", args));
    EXPECT_EQ(failure.code, errc::invalid_message) << args;
    EXPECT_EQ(failure.completion_error_text,
              "Failed to invoke 'JoinRoom' due to an error on the server.")
        << args;
  }
  auto relay = expect_failure(call("SendOffer", json::array({json::object(), "t"})));
  EXPECT_EQ(relay.code, errc::invalid_message);
}

TEST(WebrtcCalls, RoomNamesAreCheckedAndUserNamesLimited) {
  auto empty = expect_failure(call("JoinRoom", json::array({"", "Ann"})));
  EXPECT_EQ(empty.code, errc::invalid_argument);
  EXPECT_NE(empty.completion_error_text.find("INVALID_ARGUMENT"), std::string::npos);
  webrtc_call_limits limits;
  limits.max_room_bytes = 3;
  limits.max_user_name_bytes = 4;
  EXPECT_EQ(expect_command(call("JoinRoom", json::array({"abc", "Anna"})), limits).room, "abc");
  auto long_room = expect_failure(call("JoinRoom", json::array({"abcd", "A"})), limits);
  EXPECT_EQ(long_room.code, errc::limit_exceeded);
  EXPECT_NE(long_room.completion_error_text.find("limits.max-channel-name-bytes"),
            std::string::npos);
  auto long_name = expect_failure(call("JoinRoom", json::array({"abc", "Annas"})), limits);
  EXPECT_EQ(long_name.code, errc::limit_exceeded);
}

TEST(WebrtcCalls, UnknownMethodsSaySo) {
  auto failure = expect_failure(call("SendVideo", json::array({"x", "y"})));
  EXPECT_EQ(failure.completion_error_text,
            "Failed to invoke 'SendVideo' due to an error on the server. "
            "HubException: Method does not exist.");
}

json parsed(const std::string& record) {
  // One record, terminated by the record separator.
  EXPECT_FALSE(record.empty());
  EXPECT_EQ(record.back(), '\x1e');
  return json::parse(record.substr(0, record.size() - 1));
}

TEST(WebrtcCalls, EncodesTheClientMethods) {
  webrtc_event joined;
  joined.kind = webrtc_event_kind::user_joined;
  joined.connection_id = "c1";
  joined.user_name = "Ann ✓";
  EXPECT_EQ(parsed(encode_webrtc_event(joined)),
            json::parse(R"({"type":1,"target":"UserJoined","arguments":["c1","Ann ✓"]})"));

  webrtc_event left;
  left.kind = webrtc_event_kind::user_left;
  left.connection_id = "c1";
  EXPECT_EQ(parsed(encode_webrtc_event(left)),
            json::parse(R"({"type":1,"target":"UserLeft","arguments":["c1"]})"));

  webrtc_event existing;
  existing.kind = webrtc_event_kind::existing_participants;
  existing.participants = {{"c1", "Ann"}, {"c2", "Ben"}};
  EXPECT_EQ(parsed(encode_webrtc_event(existing)),
            json::parse(R"({"type":1,"target":"ExistingParticipants","arguments":)"
                        R"([[{"connectionId":"c1","userName":"Ann"},)"
                        R"({"connectionId":"c2","userName":"Ben"}]]})"));
  existing.participants.clear();
  EXPECT_EQ(parsed(encode_webrtc_event(existing))["arguments"], json::parse("[[]]"));

  webrtc_event offer;
  offer.kind = webrtc_event_kind::relayed;
  offer.signal = signal_kind::ice_candidate;
  offer.connection_id = "c2";
  offer.payload = R"({"candidate":"a=x"})";
  EXPECT_EQ(parsed(encode_webrtc_event(offer)),
            json::parse(R"({"type":1,"target":"ReceiveIceCandidate",)"
                        R"("arguments":["{\"candidate\":\"a=x\"}","c2"]})"));
}

} // namespace
