// Engine.IO v4 codec: packets, long-polling payloads, base64, the open
// packet and the classification of requests.

#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "transports/socketio/engineio_protocol.hpp"
#include "transports/socketio/engineio_session.hpp"

namespace {

using namespace puzzle::transports::socketio;

// -- packets ------------------------------------------------------------------

TEST(EngineioPacket, DecodesEveryTypeDigitWithItsData) {
  for (char c = '0'; c <= '6'; ++c) {
    auto packet = decode_eio_packet(std::string{c} + "data");
    ASSERT_TRUE(packet) << c;
    EXPECT_EQ(static_cast<int>(packet->type), c - '0');
    EXPECT_EQ(packet->data, "data");
    EXPECT_FALSE(packet->binary);
  }
}

TEST(EngineioPacket, KeepsTheProbeSuffix) {
  auto packet = decode_eio_packet("2probe");
  ASSERT_TRUE(packet);
  EXPECT_EQ(packet->type, eio_packet_type::ping);
  EXPECT_EQ(packet->data, "probe");
}

TEST(EngineioPacket, RefusesEmptyAndUnknownTypes) {
  EXPECT_EQ(decode_eio_packet("").error(), eio_errc::empty_packet);
  EXPECT_EQ(decode_eio_packet("7").error(), eio_errc::invalid_packet_type);
  EXPECT_EQ(decode_eio_packet("abc").error(), eio_errc::invalid_packet_type);
  EXPECT_EQ(decode_eio_packet("{}").error(), eio_errc::invalid_packet_type);
}

TEST(EngineioPacket, DecodesBase64BinaryMessages) {
  auto packet = decode_eio_packet("bAQIDBA==");
  ASSERT_TRUE(packet);
  EXPECT_TRUE(packet->binary);
  EXPECT_EQ(packet->type, eio_packet_type::message);
  EXPECT_EQ(packet->data, std::string("\x01\x02\x03\x04", 4));
  EXPECT_EQ(decode_eio_packet("bAQID!A==").error(), eio_errc::invalid_base64);
}

TEST(EngineioPacket, EncodesTextAndBinary) {
  EXPECT_EQ(encode_eio_packet(eio_packet::text(eio_packet_type::message, "hello")), "4hello");
  EXPECT_EQ(encode_eio_packet(eio_packet::text(eio_packet_type::pong, "probe")), "3probe");
  EXPECT_EQ(encode_eio_packet(eio_packet::bytes(std::string("\x01\x02\x03\x04", 4))), "bAQIDBA==");
  EXPECT_EQ(encode_eio_text(eio_packet_type::noop), "6");
}

TEST(EngineioPacket, BinaryFrameIsAlwaysAMessage) {
  auto packet = decode_binary_frame(std::string("4\x00", 2));
  EXPECT_TRUE(packet.binary);
  EXPECT_EQ(packet.type, eio_packet_type::message);
  EXPECT_EQ(packet.data, std::string("4\x00", 2));
}

TEST(EngineioPacket, TypeAndErrorNamesAreStable) {
  EXPECT_EQ(to_string(eio_packet_type::open), "open");
  EXPECT_EQ(to_string(eio_packet_type::noop), "noop");
  EXPECT_EQ(to_string(eio_errc::invalid_base64), "invalid_base64");
  EXPECT_EQ(to_string(eio_errc::too_many_packets), "too_many_packets");
}

// -- payloads -----------------------------------------------------------------

TEST(EngineioPayload, SplitsAtTheRecordSeparator) {
  auto packets = decode_payload("4test1\x1e"
                                "4test2\x1e"
                                "4test3",
                                payload_limits{});
  ASSERT_TRUE(packets);
  ASSERT_EQ(packets->size(), 3u);
  EXPECT_EQ((*packets)[0].data, "test1");
  EXPECT_EQ((*packets)[2].data, "test3");
}

TEST(EngineioPayload, MixesTextAndBinary) {
  auto packets = decode_payload("4hello\x1e"
                                "bAQIDBA==",
                                payload_limits{});
  ASSERT_TRUE(packets);
  ASSERT_EQ(packets->size(), 2u);
  EXPECT_FALSE((*packets)[0].binary);
  EXPECT_TRUE((*packets)[1].binary);
  EXPECT_EQ(encode_payload(*packets),
            "4hello\x1e"
            "bAQIDBA==");
}

TEST(EngineioPayload, FailsWholeOnOneBadRecord) {
  EXPECT_EQ(decode_payload("4a\x1e"
                           "x\x1e"
                           "4b",
                           payload_limits{})
                .error(),
            eio_errc::invalid_packet_type);
  EXPECT_EQ(decode_payload("4a\x1e\x1e"
                           "4b",
                           payload_limits{})
                .error(),
            eio_errc::empty_packet);
  EXPECT_EQ(decode_payload("4a\x1e", payload_limits{}).error(), eio_errc::empty_packet);
  EXPECT_EQ(decode_payload("", payload_limits{}).error(), eio_errc::empty_packet);
}

TEST(EngineioPayload, EnforcesSizeBeforeAnything) {
  payload_limits limits;
  limits.max_payload_bytes = 8;
  EXPECT_TRUE(decode_payload("4hello", limits));
  EXPECT_EQ(decode_payload("4helloooo", limits).error(), eio_errc::payload_too_large);
}

TEST(EngineioPayload, EnforcesPacketCount) {
  payload_limits limits;
  limits.max_packets = 2;
  EXPECT_TRUE(decode_payload("4a\x1e"
                             "4b",
                             limits));
  EXPECT_EQ(decode_payload("4a\x1e"
                           "4b\x1e"
                           "4c",
                           limits)
                .error(),
            eio_errc::too_many_packets);
  EXPECT_EQ(decode_payload(std::string(100, '\x1e'), limits).error(), eio_errc::too_many_packets);
}

TEST(EngineioPayload, AppendsWithSeparatorsOnlyBetweenPackets) {
  std::string body;
  append_encoded_to_payload(body, "2");
  append_to_payload(body, eio_packet::text(eio_packet_type::message, "x"));
  append_to_payload(body, eio_packet::bytes("\xff"));
  EXPECT_EQ(body,
            "2\x1e"
            "4x\x1e"
            "b/w==");
}

// -- base64 -------------------------------------------------------------------

TEST(EngineioBase64, RoundTripsAllLengths) {
  std::string bytes;
  for (int i = 0; i < 40; ++i) {
    auto encoded = base64_encode(bytes);
    EXPECT_EQ(encoded.size() % 4, 0u);
    auto decoded = base64_decode(encoded);
    ASSERT_TRUE(decoded) << encoded;
    EXPECT_EQ(*decoded, bytes);
    bytes += static_cast<char>(i * 37 + 200);
  }
}

TEST(EngineioBase64, KnownVectors) {
  EXPECT_EQ(base64_encode(""), "");
  EXPECT_EQ(base64_encode("f"), "Zg==");
  EXPECT_EQ(base64_encode("fo"), "Zm8=");
  EXPECT_EQ(base64_encode("foo"), "Zm9v");
  EXPECT_EQ(base64_encode("foobar"), "Zm9vYmFy");
}

TEST(EngineioBase64, RefusesMalformedInput) {
  EXPECT_FALSE(base64_decode("Zg="));      // length
  EXPECT_FALSE(base64_decode("Z==="));     // too much padding
  EXPECT_FALSE(base64_decode("Zg==Zg==")); // padding inside
  EXPECT_FALSE(base64_decode("Zh=="));     // non-zero unused bits
  EXPECT_FALSE(base64_decode("Zm 9"));     // whitespace
  EXPECT_FALSE(base64_decode("Zm9-"));     // URL alphabet
}

// -- handshake ----------------------------------------------------------------

TEST(EngineioOpen, EncodesTheReferenceLayout) {
  open_handshake hs;
  hs.sid = "abc";
  hs.upgrades = {"websocket"};
  hs.ping_interval_ms = 300;
  hs.ping_timeout_ms = 200;
  hs.max_payload = 1'000'000;
  EXPECT_EQ(encode_open_packet(hs),
            R"(0{"sid":"abc","upgrades":["websocket"],"pingInterval":300,)"
            R"("pingTimeout":200,"maxPayload":1000000})");
  auto back = decode_open_packet(encode_open_packet(hs).substr(1));
  ASSERT_TRUE(back);
  EXPECT_EQ(*back, hs);
}

TEST(EngineioOpen, DecodeRequiresEveryField) {
  EXPECT_FALSE(decode_open_packet(R"({"sid":"a","upgrades":[]})"));
  EXPECT_FALSE(decode_open_packet(R"({"sid":1,"upgrades":[],"pingInterval":1,)"
                                  R"("pingTimeout":1,"maxPayload":1})"));
  EXPECT_FALSE(decode_open_packet("not json"));
  EXPECT_TRUE(decode_open_packet(R"({"sid":"a","upgrades":[],"pingInterval":1,)"
                                 R"("pingTimeout":1,"maxPayload":1,"extra":[1]})"));
}

// -- requests -----------------------------------------------------------------

TEST(EngineioRequest, ClassifiesValidRequests) {
  auto hs = classify_request(http_method::get, false, "4", "polling", std::nullopt);
  ASSERT_TRUE(hs);
  EXPECT_EQ(hs->kind, eio_request_kind::polling_handshake);
  auto poll = classify_request(http_method::get, false, "4", "polling", "s1");
  ASSERT_TRUE(poll);
  EXPECT_EQ(poll->kind, eio_request_kind::poll);
  EXPECT_EQ(poll->sid, "s1");
  auto post = classify_request(http_method::post, false, "4", "polling", "s1");
  ASSERT_TRUE(post);
  EXPECT_EQ(post->kind, eio_request_kind::post);
  auto ws = classify_request(http_method::get, true, "4", "websocket", std::nullopt);
  ASSERT_TRUE(ws);
  EXPECT_EQ(ws->kind, eio_request_kind::websocket_handshake);
  auto up = classify_request(http_method::get, true, "4", "websocket", "s1");
  ASSERT_TRUE(up);
  EXPECT_EQ(up->kind, eio_request_kind::websocket_upgrade);
}

TEST(EngineioRequest, RefusesLikeTheReferenceServer) {
  EXPECT_EQ(classify_request(http_method::get, false, "4", std::nullopt, std::nullopt).error(),
            eio_request_error::unknown_transport);
  EXPECT_EQ(classify_request(http_method::get, false, "4", "abc", std::nullopt).error(),
            eio_request_error::unknown_transport);
  EXPECT_EQ(
      classify_request(http_method::get, false, std::nullopt, "polling", std::nullopt).error(),
      eio_request_error::unsupported_protocol_version);
  EXPECT_EQ(classify_request(http_method::get, false, "abc", "polling", std::nullopt).error(),
            eio_request_error::unsupported_protocol_version);
  EXPECT_EQ(classify_request(http_method::get, false, "3", "polling", std::nullopt).error(),
            eio_request_error::unsupported_protocol_version);
  EXPECT_EQ(classify_request(http_method::post, false, "4", "polling", std::nullopt).error(),
            eio_request_error::bad_handshake_method);
  EXPECT_EQ(classify_request(http_method::other, false, "4", "polling", std::nullopt).error(),
            eio_request_error::bad_handshake_method);
  EXPECT_EQ(classify_request(http_method::other, false, "4", "polling", "s1").error(),
            eio_request_error::bad_request);
  EXPECT_EQ(classify_request(http_method::get, false, "4", "websocket", std::nullopt).error(),
            eio_request_error::bad_request);
}

TEST(EngineioRequest, ErrorBodiesAndStatuses) {
  EXPECT_EQ(encode_request_error(eio_request_error::unknown_sid),
            R"({"code":1,"message":"Session ID unknown"})");
  EXPECT_EQ(encode_request_error(eio_request_error::unknown_transport),
            R"({"code":0,"message":"Transport unknown"})");
  EXPECT_EQ(http_status(eio_request_error::bad_request), 400u);
  EXPECT_EQ(http_status(eio_request_error::forbidden), 403u);
  EXPECT_EQ(to_string(eio_request_error::unsupported_protocol_version),
            "unsupported_protocol_version");
}

} // namespace
