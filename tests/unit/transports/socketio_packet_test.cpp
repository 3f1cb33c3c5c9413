// Socket.IO v5 codec (packets, namespaces, ack ids, binary attachments) and
// the puzzle events mapped onto client commands.

#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "transports/socketio/socketio_calls.hpp"
#include "transports/socketio/socketio_protocol.hpp"

namespace {

using namespace puzzle::transports::socketio;
using json = nlohmann::json;
using puzzle::client_command;
using puzzle::command_kind;
using puzzle::errc;

codec_result<sio_packet, sio_errc> decode(std::string_view text) {
  return decode_sio_packet(text, sio_limits{});
}

// -- decoding -----------------------------------------------------------------

TEST(SocketioPacket, DecodesConnectForms) {
  auto p = decode("0");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->type, sio_packet_type::connect);
  EXPECT_EQ(p->nsp, "/");
  EXPECT_TRUE(p->data.is_null());
  p = decode(R"(0{"token":"123"})");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->data["token"], "123");
  p = decode("0/admin,");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->nsp, "/admin");
  p = decode("0/admin");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->nsp, "/admin");
  p = decode(R"(0/admin,{"token":"abc"})");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->nsp, "/admin");
  EXPECT_EQ(p->data["token"], "abc");
}

TEST(SocketioPacket, DecodesEventsWithAckIds) {
  auto p = decode(R"(2["hey","Jude"])");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->event_name(), "hey");
  EXPECT_FALSE(p->id);
  p = decode(R"(212["foo"])");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->id, 12u);
  p = decode(R"(20["zero"])");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->id, 0u);
  p = decode(R"(2/admin,1["tellme"])");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->nsp, "/admin");
  EXPECT_EQ(p->id, 1u);
}

TEST(SocketioPacket, DecodesAcksAndDisconnect) {
  auto p = decode(R"(3/admin,13["bar"])");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->type, sio_packet_type::ack);
  EXPECT_EQ(p->id, 13u);
  EXPECT_TRUE(decode("35[]"));
  EXPECT_EQ(decode("3[]").error(), sio_errc::invalid_ack_id);
  p = decode("1/admin,");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->type, sio_packet_type::disconnect);
  EXPECT_TRUE(decode("1"));
  EXPECT_EQ(decode(R"(1{"a":1})").error(), sio_errc::invalid_payload);
}

TEST(SocketioPacket, RefusesInvalidPackets) {
  EXPECT_EQ(decode("").error(), sio_errc::empty_packet);
  EXPECT_EQ(decode("abc").error(), sio_errc::invalid_packet_type);
  EXPECT_EQ(decode("7").error(), sio_errc::invalid_packet_type);
  EXPECT_EQ(decode("2{}").error(), sio_errc::invalid_payload);
  EXPECT_EQ(decode("2[]").error(), sio_errc::invalid_payload);
  EXPECT_EQ(decode("2[1]").error(), sio_errc::invalid_payload);
  EXPECT_EQ(decode(R"(2abc["message-with-ack",1])").error(), sio_errc::invalid_json);
  EXPECT_EQ(decode(R"(2["x")").error(), sio_errc::invalid_json);
  EXPECT_EQ(decode("2null").error(), sio_errc::invalid_payload);
  EXPECT_EQ(decode(R"(0"token")").error(), sio_errc::invalid_payload);
  EXPECT_EQ(decode(R"(2["connect"])").error(), sio_errc::reserved_event_name);
  EXPECT_EQ(decode(R"(2["disconnecting"])").error(), sio_errc::reserved_event_name);
  EXPECT_EQ(decode(R"(2admin,["x"])").error(), sio_errc::invalid_namespace);
  EXPECT_EQ(decode(R"(2/a"b,["x"])").error(), sio_errc::invalid_namespace);
  EXPECT_EQ(decode(R"(299999999999999999999["x"])").error(), sio_errc::invalid_ack_id);
  EXPECT_EQ(decode(R"(4"not an object")").error(), sio_errc::invalid_payload);
}

TEST(SocketioPacket, EnforcesLimits) {
  sio_limits limits;
  limits.max_packet_bytes = 16;
  EXPECT_EQ(decode_sio_packet(R"(2["0123456789abcdef"])", limits).error(),
            sio_errc::packet_too_large);
  limits = sio_limits{};
  limits.max_json_depth = 3;
  EXPECT_TRUE(decode_sio_packet(R"(2["x",[[1]]])", limits));
  EXPECT_EQ(decode_sio_packet(R"(2["x",[[[1]]]])", limits).error(), sio_errc::invalid_json);
  limits = sio_limits{};
  limits.max_namespace_bytes = 4;
  EXPECT_EQ(decode_sio_packet("0/abcdef,", limits).error(), sio_errc::invalid_namespace);
  EXPECT_EQ(decode(R"(511-["x"])").error(), sio_errc::too_many_attachments);
  EXPECT_EQ(decode(R"(599999999999999999999-["x"])").error(), sio_errc::too_many_attachments);
}

TEST(SocketioPacket, BinaryHeaderNeedsItsCount) {
  EXPECT_EQ(decode(R"(5["x"])").error(), sio_errc::invalid_attachments);
  EXPECT_EQ(decode(R"(51["x"])").error(), sio_errc::invalid_attachments);
  auto p = decode(R"(451-/admin,7["x",{"_placeholder":true,"num":0}])");
  EXPECT_FALSE(p); // the `4` is Engine.IO's, not Socket.IO's
  p = decode(R"(51-/admin,7["x",{"_placeholder":true,"num":0}])");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->attachments, 1u);
  EXPECT_EQ(p->nsp, "/admin");
  EXPECT_EQ(p->id, 7u);
  EXPECT_EQ(decode(R"(51-["x",{"_placeholder":true,"num":1}])").error(),
            sio_errc::invalid_placeholder);
}

// -- the decoder with attachments ---------------------------------------------

TEST(SocketioDecoder, CollectsAttachmentsInOrder) {
  sio_decoder dec;
  auto step = dec.on_text(R"(52-["message",{"_placeholder":true,"num":0},)"
                          R"({"_placeholder":true,"num":1}])");
  ASSERT_TRUE(step);
  EXPECT_FALSE(*step);
  EXPECT_TRUE(dec.awaiting_attachments());
  step = dec.on_binary(std::string("\x01\x02\x03", 3));
  ASSERT_TRUE(step);
  EXPECT_FALSE(*step);
  step = dec.on_binary(std::string("\x04\x05\x06", 3));
  ASSERT_TRUE(step);
  ASSERT_TRUE(*step);
  const auto& packet = **step;
  EXPECT_FALSE(dec.awaiting_attachments());
  ASSERT_TRUE(packet.data[1].is_binary());
  EXPECT_EQ(static_cast<const std::vector<uint8_t>&>(packet.data[1].get_binary()),
            (std::vector<uint8_t>{1, 2, 3}));
  EXPECT_EQ(static_cast<const std::vector<uint8_t>&>(packet.data[2].get_binary()),
            (std::vector<uint8_t>{4, 5, 6}));
}

TEST(SocketioDecoder, TextPacketsCompleteAtOnce) {
  sio_decoder dec;
  auto step = dec.on_text(R"(2["a"])");
  ASSERT_TRUE(step);
  ASSERT_TRUE(*step);
  EXPECT_EQ((*step)->event_name(), "a");
  step = dec.on_text(R"(50-["b"])");
  ASSERT_TRUE(step);
  ASSERT_TRUE(*step);
}

TEST(SocketioDecoder, RefusesOutOfOrderMessages) {
  sio_decoder dec;
  EXPECT_EQ(dec.on_binary("x").error(), sio_errc::unexpected_attachment);
  ASSERT_TRUE(dec.on_text(R"(51-["a",{"_placeholder":true,"num":0}])"));
  EXPECT_EQ(dec.on_text(R"(2["b"])").error(), sio_errc::missing_attachment);
  EXPECT_FALSE(dec.awaiting_attachments());
}

TEST(SocketioDecoder, BoundsAttachmentBytes) {
  sio_limits limits;
  limits.max_attachment_bytes = 4;
  sio_decoder dec{limits};
  ASSERT_TRUE(dec.on_text(R"(52-["a",{"_placeholder":true,"num":0},)"
                          R"({"_placeholder":true,"num":1}])"));
  ASSERT_TRUE(dec.on_binary("abc"));
  EXPECT_EQ(dec.on_binary("de").error(), sio_errc::attachments_too_large);
  EXPECT_FALSE(dec.awaiting_attachments());
}

// -- encoding -----------------------------------------------------------------

TEST(SocketioEncode, DirectEncoders) {
  EXPECT_EQ(encode_sio_connect("/", "abc"), R"(0{"sid":"abc"})");
  EXPECT_EQ(encode_sio_connect("/custom", "abc"), R"(0/custom,{"sid":"abc"})");
  EXPECT_EQ(encode_sio_connect_error("/random", "Invalid namespace"),
            R"(4/random,{"message":"Invalid namespace"})");
  EXPECT_EQ(encode_sio_connect_error("/", "no", std::string_view{R"({"code":"X"})"}),
            R"(4{"message":"no","data":{"code":"X"}})");
  EXPECT_EQ(encode_sio_event("/", "auth", "{}"), R"(2["auth",{}])");
  EXPECT_EQ(encode_sio_event("/custom", "auth", R"({"token":"abc"})"),
            R"(2/custom,["auth",{"token":"abc"}])");
  EXPECT_EQ(encode_sio_event("/", "ping", ""), R"(2["ping"])");
  EXPECT_EQ(encode_sio_event("/", "q", "1", 7), R"(27["q",1])");
  EXPECT_EQ(encode_sio_ack("/", 456, R"(1,"2")"), R"(3456[1,"2"])");
  EXPECT_EQ(encode_sio_ack("/a", 0, ""), "3/a,0[]");
  EXPECT_EQ(encode_sio_disconnect("/"), "1");
  EXPECT_EQ(encode_sio_disconnect("/admin"), "1/admin,");
}

TEST(SocketioEncode, BinaryValuesBecomeAttachments) {
  sio_packet packet;
  packet.type = sio_packet_type::event;
  packet.data = json::array({"message-back", json::binary({1, 2, 3}), json::binary({4, 5, 6})});
  auto out = encode_sio_packet(packet);
  EXPECT_EQ(out.text,
            R"(52-["message-back",{"_placeholder":true,"num":0},)"
            R"({"_placeholder":true,"num":1}])");
  ASSERT_EQ(out.attachments.size(), 2u);
  EXPECT_EQ(out.attachments[0], "\x01\x02\x03");
  packet.type = sio_packet_type::ack;
  packet.id = 789;
  packet.data = json::array({json::binary({1})});
  out = encode_sio_packet(packet);
  EXPECT_EQ(out.text, R"(61-789[{"_placeholder":true,"num":0}])");
}

TEST(SocketioEncode, RoundTripsThroughTheDecoder) {
  sio_packet packet;
  packet.type = sio_packet_type::event;
  packet.nsp = "/custom";
  packet.id = 42;
  packet.data = json::array(
      {"m", 1, "2", json::object({{"3", json::array({true})}}), json::binary({9, 8})});
  auto out = encode_sio_packet(packet);
  sio_decoder dec;
  auto step = dec.on_text(out.text);
  ASSERT_TRUE(step);
  for (auto& bytes : out.attachments)
    step = dec.on_binary(bytes);
  ASSERT_TRUE(step);
  ASSERT_TRUE(*step);
  EXPECT_EQ((*step)->nsp, "/custom");
  EXPECT_EQ((*step)->id, 42u);
  EXPECT_EQ((*step)->data, packet.data);
}

TEST(SocketioEncode, NamesAreStable) {
  EXPECT_EQ(to_string(sio_packet_type::binary_ack), "BINARY_ACK");
  EXPECT_EQ(to_string(sio_errc::invalid_namespace), "invalid_namespace");
  EXPECT_EQ(to_string(sio_errc::attachments_too_large), "attachments_too_large");
}

// -- puzzle events --------------------------------------------------------------

sio_call_result call(std::string_view text) {
  return decode_puzzle_event(json::parse(text));
}

TEST(SocketioCalls, DecodesEveryEvent) {
  auto r = call(R"(["join",{"sessionId":"s1"}])");
  ASSERT_TRUE(std::holds_alternative<client_command>(r));
  EXPECT_EQ(std::get<client_command>(r).kind, command_kind::join);
  EXPECT_EQ(std::get<client_command>(r).session_id, "s1");
  r = call(R"(["move_piece",{"sessionId":"s1","pieceId":3,"x":1.5,"y":2,"rotation":90}])");
  ASSERT_TRUE(std::holds_alternative<client_command>(r));
  auto& move = std::get<client_command>(r);
  EXPECT_EQ(move.kind, command_kind::move);
  EXPECT_EQ(move.piece_id, 3);
  EXPECT_DOUBLE_EQ(move.x, 1.5);
  EXPECT_EQ(move.rotation, 90);
  r = call(R"(["chat_message",{"sessionId":"s1","message":"hi"}])");
  EXPECT_EQ(std::get<client_command>(r).text, "hi");
  r = call(R"(["cursor",{"sessionId":"s1","x":1,"y":2}])");
  EXPECT_EQ(std::get<client_command>(r).kind, command_kind::cursor);
  r = call(R"(["leave"])");
  ASSERT_TRUE(std::holds_alternative<client_command>(r));
  EXPECT_EQ(std::get<client_command>(r).session_id, "");
  r = call(R"(["leave",null])");
  ASSERT_TRUE(std::holds_alternative<client_command>(r));
  r = call(R"(["leave",{"sessionId":"s9"}])");
  EXPECT_EQ(std::get<client_command>(r).session_id, "s9");
  for (auto name : {"lock_piece", "unlock_piece", "drag_piece", "get_state"})
    EXPECT_TRUE(is_puzzle_event(name)) << name;
  EXPECT_FALSE(is_puzzle_event("message"));
}

TEST(SocketioCalls, RefusesBadArguments) {
  auto code = [](std::string_view text) {
    auto r = call(text);
    return std::holds_alternative<sio_call_failure>(r) ? std::get<sio_call_failure>(r).code
                                                       : errc::none;
  };
  EXPECT_EQ(code(R"(["nope",{}])"), errc::invalid_message);
  EXPECT_EQ(code(R"(["join"])"), errc::invalid_message);
  EXPECT_EQ(code(R"(["join","s1"])"), errc::invalid_message);
  EXPECT_EQ(code(R"(["join",{"sessionId":5}])"), errc::invalid_message);
  EXPECT_EQ(code(R"(["lock_piece",{"sessionId":"s","pieceId":1.5}])"), errc::invalid_message);
  EXPECT_EQ(code(R"(["move_piece",{"sessionId":"s","pieceId":1,"y":0,"rotation":0}])"),
            errc::invalid_move);
  EXPECT_EQ(code(R"(["move_piece",{"sessionId":"s","pieceId":1,"x":"1","y":0,"rotation":0}])"),
            errc::invalid_move);
  EXPECT_EQ(code(R"(["move_piece",{"sessionId":"s","pieceId":1,"x":1,"y":0,"rotation":0.5}])"),
            errc::invalid_move);
  EXPECT_EQ(code(R"(["chat_message",{"sessionId":"s"}])"), errc::invalid_message);
}

TEST(SocketioCalls, AckPayloads) {
  EXPECT_EQ(ack_ok("null"), R"({"ok":true})");
  EXPECT_EQ(ack_ok(""), R"({"ok":true})");
  EXPECT_EQ(ack_ok("{}"), R"({"ok":true})");
  EXPECT_EQ(ack_ok(R"({"granted":true})"), R"({"ok":true,"granted":true})");
  EXPECT_EQ(ack_ok("[1]"), R"({"ok":true,"result":[1]})");
  EXPECT_EQ(ack_error(errc::piece_locked, "held"),
            R"({"ok":false,"code":"PIECE_LOCKED","message":"held"})");
  EXPECT_EQ(encode_error_event(errc::invalid_message, "bad"),
            R"(2["error",{"code":"INVALID_MESSAGE","message":"bad"}])");
}

TEST(SocketioCalls, SessionEventsInSnakeCase) {
  EXPECT_EQ(server_event_name("PieceMoved"), "piece_moved");
  EXPECT_EQ(server_event_name("PiecesJoined"), "pieces_joined");
  EXPECT_EQ(server_event_name("SessionStateUpdate"), "session_state");
  EXPECT_EQ(server_event_name("ChatMessageReceived"), "chat_message");
  EXPECT_EQ(server_event_name("CursorMoved"), "cursor_moved");
  EXPECT_EQ(encode_session_event("PieceMoved", R"([{"pieceId":1}])"),
            R"(2["piece_moved",{"pieceId":1}])");
  EXPECT_EQ(encode_session_event("Error", R"(["lease lost","PIECE_NOT_HELD"])"),
            R"(2["error",{"code":"PIECE_NOT_HELD","message":"lease lost"}])");
}

} // namespace
