#include "transports/ws/ws_protocol.hpp"

#include <string>
#include <variant>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace {

using namespace puzzle;
using namespace puzzle::transports::ws;
using json = nlohmann::json;

protocol_limits limits_of(size_t max_channel_bytes = 200) {
  protocol_limits out;
  out.max_channel_bytes = max_channel_bytes;
  return out;
}

template<class T>
T expect_decoded(const std::string& text, const protocol_limits& limits = limits_of()) {
  auto result = decode(text, limits);
  EXPECT_TRUE(std::holds_alternative<T>(result)) << "decoding: " << text;
  if (auto typed = std::get_if<T>(&result)) return *typed;
  return T{};
}

protocol_error expect_error(const std::string& text, const protocol_limits& limits = limits_of()) {
  return expect_decoded<protocol_error>(text, limits);
}

// -- seed protocol ------------------------------------------------------------

TEST(WsProtocol, DecodesPing) {
  expect_decoded<ping_request>(R"({"type":"ping"})");
}

TEST(WsProtocol, DecodesSubscribeAndUnsubscribe) {
  auto sub = expect_decoded<subscribe_request>(R"({"type":"subscribe","channel":"lobby"})");
  EXPECT_EQ(sub.channel, "lobby");
  EXPECT_TRUE(sub.subscribe);
  auto unsub = expect_decoded<subscribe_request>(R"({"type":"unsubscribe","channel":"lobby"})");
  EXPECT_EQ(unsub.channel, "lobby");
  EXPECT_FALSE(unsub.subscribe);
}

TEST(WsProtocol, BroadcastKeepsDataAsJsonText) {
  auto req = expect_decoded<broadcast_request>(
      R"({"type":"broadcast","channel":"lobby","data":{"a":[1,2,"é"]}})");
  EXPECT_EQ(req.channel, "lobby");
  EXPECT_EQ(json::parse(req.data), json::parse(R"({"a":[1,2,"é"]})"));
}

TEST(WsProtocol, BroadcastWithoutDataSendsNull) {
  auto req = expect_decoded<broadcast_request>(R"({"type":"broadcast","channel":"lobby"})");
  EXPECT_EQ(req.data, "null");
}

TEST(WsProtocol, BroadcastToASessionChannelIsForbidden) {
  auto err = expect_error(R"({"type":"broadcast","channel":"session:abc","data":1,"id":3})");
  EXPECT_EQ(err.code, errc::forbidden);
  EXPECT_EQ(err.id, "3");
}

TEST(WsProtocol, UnknownTypeGivesTheSeedsText) {
  auto err = expect_error(R"({"type":"teleport","id":"a"})");
  EXPECT_EQ(err.code, errc::invalid_message);
  EXPECT_EQ(err.message, unknown_type_text);
  EXPECT_EQ(err.id, R"("a")");
}

TEST(WsProtocol, UndecodableMessagesGiveTheSeedsText) {
  for (const char* text : {"", "not json", "[1,2]", "42", R"({"type":1})", R"({"kind":"ping"})",
                           R"({"type":"ping")", "\xff\xfe"}) {
    auto err = expect_error(text);
    EXPECT_EQ(err.code, errc::invalid_message) << text;
    EXPECT_EQ(err.message, invalid_format_text) << text;
  }
}

TEST(WsProtocol, NestingDeeperThanTheLimitIsRefused) {
  std::string deep = R"({"type":"broadcast","channel":"c","data":)";
  for (size_t i = 0; i < max_json_depth + 1; ++i)
    deep += '[';
  for (size_t i = 0; i < max_json_depth + 1; ++i)
    deep += ']';
  deep += '}';
  auto err = expect_error(deep);
  EXPECT_EQ(err.message, invalid_format_text);
}

TEST(WsProtocol, ChannelMustBeANonEmptyString) {
  for (const char* text : {R"({"type":"subscribe"})", R"({"type":"subscribe","channel":""})",
                           R"({"type":"subscribe","channel":7})"}) {
    auto err = expect_error(text);
    EXPECT_EQ(err.code, errc::invalid_message) << text;
    EXPECT_EQ(err.message, "channel must be a non-empty string") << text;
  }
}

TEST(WsProtocol, ChannelNameLongerThanTheLimitIsRefused) {
  auto at_limit
      = expect_decoded<subscribe_request>(R"({"type":"subscribe","channel":"abcd"})", limits_of(4));
  EXPECT_EQ(at_limit.channel, "abcd");
  auto err = expect_error(R"({"type":"subscribe","channel":"abcde"})", limits_of(4));
  EXPECT_EQ(err.code, errc::limit_exceeded);
  EXPECT_NE(err.message.find("limits.max-channel-name-bytes"), std::string::npos);
}

TEST(WsProtocol, SessionOfChannel) {
  EXPECT_EQ(session_of_channel("session:abc"), "abc");
  EXPECT_EQ(session_of_channel("session:"), "");
  EXPECT_EQ(session_of_channel("lobby"), "");
  EXPECT_EQ(session_of_channel("sessions:abc"), "");
}

// -- puzzle operations --------------------------------------------------------

TEST(WsProtocol, DecodesAMoveWithItsId) {
  auto req
      = expect_decoded<puzzle_request>(R"({"type":"move","id":12,"sessionId":"s1","pieceId":4,)"
                                       R"("x":10.5,"y":-3,"rotation":90})");
  EXPECT_EQ(req.id, "12");
  EXPECT_EQ(req.op, "move");
  EXPECT_EQ(req.command.kind, command_kind::move);
  EXPECT_EQ(req.command.session_id, "s1");
  EXPECT_EQ(req.command.piece_id, 4);
  EXPECT_DOUBLE_EQ(req.command.x, 10.5);
  EXPECT_DOUBLE_EQ(req.command.y, -3);
  EXPECT_EQ(req.command.rotation, 90);
}

TEST(WsProtocol, DecodesEveryOperation) {
  struct case_t {
    const char* text;
    command_kind kind;
  };
  const case_t cases[] = {
      {R"({"type":"join","sessionId":"s","userId":"u"})", command_kind::join},
      {R"({"type":"leave","sessionId":"s"})", command_kind::leave},
      {R"({"type":"lock","sessionId":"s","pieceId":1})", command_kind::lock},
      {R"({"type":"drag","sessionId":"s","pieceId":1,"x":1,"y":2,"rotation":0})",
       command_kind::drag},
      {R"({"type":"unlock","sessionId":"s","pieceId":1})", command_kind::unlock},
      {R"({"type":"chat","sessionId":"s","message":"hi ✓"})", command_kind::chat},
      {R"({"type":"cursor","sessionId":"s","x":1,"y":2})", command_kind::cursor},
      {R"({"type":"state","sessionId":"s"})", command_kind::get_state},
  };
  for (const auto& c : cases) {
    auto req = expect_decoded<puzzle_request>(c.text);
    EXPECT_EQ(req.command.kind, c.kind) << c.text;
    EXPECT_EQ(req.command.session_id, "s") << c.text;
    EXPECT_EQ(req.id, "") << c.text;
  }
  auto join = expect_decoded<puzzle_request>(R"({"type":"join","sessionId":"s","userId":"u"})");
  EXPECT_EQ(join.command.user_id, "u");
  auto chat = expect_decoded<puzzle_request>(R"({"type":"chat","sessionId":"s","message":"hi ✓"})");
  EXPECT_EQ(chat.command.text, "hi ✓");
}

TEST(WsProtocol, MissingFieldsAreNamed) {
  struct case_t {
    const char* text;
    errc code;
    const char* message;
  };
  const case_t cases[] = {
      {R"({"type":"join","id":1})", errc::invalid_message, "sessionId must be a string"},
      {R"({"type":"join","sessionId":"s","userId":5,"id":1})", errc::invalid_message,
       "userId must be a string"},
      {R"({"type":"lock","sessionId":"s","pieceId":1.5,"id":1})", errc::invalid_message,
       "pieceId must be an integer"},
      {R"({"type":"lock","sessionId":"s","pieceId":"1","id":1})", errc::invalid_message,
       "pieceId must be an integer"},
      {R"({"type":"lock","sessionId":"s","pieceId":3000000000,"id":1})", errc::invalid_message,
       "pieceId must be an integer"},
      {R"({"type":"chat","sessionId":"s","id":1})", errc::invalid_message,
       "message must be a string"},
      {R"({"type":"move","sessionId":"s","pieceId":1,"y":1,"rotation":0,"id":1})",
       errc::invalid_move, "x must be a finite number"},
      {R"({"type":"move","sessionId":"s","pieceId":1,"x":1,"y":"1","rotation":0,"id":1})",
       errc::invalid_move, "y must be a finite number"},
      {R"({"type":"drag","sessionId":"s","pieceId":1,"x":1,"y":1,"id":1})", errc::invalid_move,
       "rotation must be a finite number"},
      {R"({"type":"drag","sessionId":"s","pieceId":1,"x":1,"y":1,"rotation":45.5,"id":1})",
       errc::invalid_move, "rotation must be an integral number"},
  };
  for (const auto& c : cases) {
    auto err = expect_error(c.text);
    EXPECT_EQ(err.code, c.code) << c.text;
    EXPECT_EQ(err.message, c.message) << c.text;
    EXPECT_EQ(err.id, "1") << c.text;
  }
}

TEST(WsProtocol, OnlyStringAndIntegerIdsAreEchoed) {
  EXPECT_EQ(expect_decoded<puzzle_request>(R"({"type":"leave","sessionId":"s","id":"x\"y"})").id,
            R"("x\"y")");
  EXPECT_EQ(expect_decoded<puzzle_request>(R"({"type":"leave","sessionId":"s","id":-7})").id, "-7");
  EXPECT_EQ(expect_decoded<puzzle_request>(R"({"type":"leave","sessionId":"s","id":{"a":1}})").id,
            "");
  EXPECT_EQ(expect_decoded<puzzle_request>(R"({"type":"leave","sessionId":"s","id":1.5})").id, "");
  auto long_id = R"({"type":"leave","sessionId":"s","id":")" + std::string(129, 'x') + R"("})";
  EXPECT_EQ(expect_decoded<puzzle_request>(long_id).id, "");
}

// -- encoders -----------------------------------------------------------------

TEST(WsProtocol, EncodesPong) {
  auto out = json::parse(encode_pong(0));
  EXPECT_EQ(out["type"], "pong");
  EXPECT_EQ(out["timestamp"], "1970-01-01T00:00:00.000Z");
}

TEST(WsProtocol, EncodesSubscriptions) {
  EXPECT_EQ(encode_subscription("a\"b", true), R"({"type":"subscribed","channel":"a\"b"})");
  EXPECT_EQ(encode_subscription("a", false), R"({"type":"unsubscribed","channel":"a"})");
}

TEST(WsProtocol, EncodesChannelMessagesWithVerbatimData) {
  auto out = json::parse(encode_channel_message("lobby", R"({"k":[1]})", 1000));
  EXPECT_EQ(out["type"], "message");
  EXPECT_EQ(out["channel"], "lobby");
  EXPECT_EQ(out["data"], json::parse(R"({"k":[1]})"));
  EXPECT_EQ(out["timestamp"], "1970-01-01T00:00:01.000Z");
}

TEST(WsProtocol, EncodesSessionEventsWithTheSingleArgumentAsData) {
  auto out = json::parse(encode_event("s1", "PieceMoved", R"([{"pieceId":3}])"));
  EXPECT_EQ(out["type"], "event");
  EXPECT_EQ(out["channel"], "session:s1");
  EXPECT_EQ(out["event"], "PieceMoved");
  EXPECT_EQ(out["data"], json::parse(R"({"pieceId":3})"));
  EXPECT_TRUE(json::parse(encode_event("s1", "X", "[]"))["data"].is_null());
}

TEST(WsProtocol, EncodesAcksAndErrors) {
  EXPECT_EQ(encode_ack("5", "lock", "true"), R"({"type":"ack","id":5,"op":"lock","result":true})");
  EXPECT_EQ(encode_ack("", "leave", "null"), R"({"type":"ack","id":null,"op":"leave"})");
  EXPECT_EQ(encode_error("", errc::invalid_message, "Unknown message type"),
            R"({"type":"error","code":"INVALID_MESSAGE",)"
            R"("message":"Unknown message type"})");
  auto with_id = json::parse(encode_error(R"("a")", errc::piece_locked, "held by someone"));
  EXPECT_EQ(with_id["id"], "a");
  EXPECT_EQ(with_id["code"], to_code(errc::piece_locked));
}

TEST(WsProtocol, EncodersNeverEmitInvalidUtf8) {
  auto out = encode_subscription(std::string{"bad\xff"}, true);
  EXPECT_TRUE(json::accept(out)) << out;
}

// Server frames written by the connections themselves (RFC 6455 5.2): FIN
// set, no mask bit, the shortest length encoding that fits.
std::string header_of(bool text, uint64_t size) {
  char out[max_frame_header_bytes];
  auto n = write_frame_header(out, text, size);
  return std::string(out, n);
}

TEST(WsFrameHeader, ShortPayloadUsesTheSevenBitLength) {
  EXPECT_EQ(header_of(true, 0), std::string("\x81\x00", 2));
  EXPECT_EQ(header_of(true, 5), "\x81\x05");
  EXPECT_EQ(header_of(false, 125), "\x82\x7d");
}

TEST(WsFrameHeader, MediumPayloadUsesTheSixteenBitLength) {
  EXPECT_EQ(header_of(true, 126), std::string("\x81\x7e\x00\x7e", 4));
  EXPECT_EQ(header_of(true, 65535), "\x81\x7e\xff\xff");
}

TEST(WsFrameHeader, LargePayloadUsesTheSixtyFourBitLength) {
  EXPECT_EQ(header_of(false, 65536), std::string("\x82\x7f\x00\x00\x00\x00\x00\x01\x00\x00", 10));
  EXPECT_EQ(header_of(true, 0x0102030405ULL),
            std::string("\x81\x7f\x00\x00\x00\x01\x02\x03\x04\x05", 10));
}

} // namespace
