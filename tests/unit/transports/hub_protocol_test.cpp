#include "transports/signalr/hub_protocol.hpp"

#include <string>
#include <string_view>

#include <gtest/gtest.h>

using namespace puzzle::transports::signalr;
using namespace std::string_literals;

namespace {

const std::string rs(1, record_separator);

/// Parses `record` and returns the message of type `T`, failing the test
/// (with the parse error's reason) when it is something else.
template<class T>
T expect_message(std::string_view record) {
  auto msg = parse_message(record);
  if (auto err = std::get_if<parse_error>(&msg))
    ADD_FAILURE() << "parse error: " << err->reason;
  else if (!std::holds_alternative<T>(msg))
    ADD_FAILURE() << "unexpected message index " << msg.index();
  else
    return std::get<T>(std::move(msg));
  return T{};
}

/// The reason of the parse error for `record`, or "<parsed>" if none.
std::string parse_failure(std::string_view record) {
  auto msg = parse_message(record);
  if (auto err = std::get_if<parse_error>(&msg)) return err->reason;
  return "<parsed>";
}

std::string json_quoted(std::string_view str) {
  std::string out;
  append_json_string(out, str);
  return out;
}

std::string nested_arrays(size_t depth) {
  return std::string(depth, '[') + std::string(depth, ']');
}

} // namespace

// -- handshake ----------------------------------------------------------------

TEST(SignalrHandshake, AcceptsJsonVersion1) {
  auto res = parse_handshake(R"({"protocol":"json","version":1})");
  EXPECT_TRUE(res.ok());
  EXPECT_EQ(res.error, "");
  EXPECT_EQ(res.protocol, "json");
  EXPECT_EQ(res.version, 1);
}

TEST(SignalrHandshake, AcceptsJsonVersion2SentWithStatefulReconnect) {
  auto res = parse_handshake(R"({"protocol":"json","version":2})");
  EXPECT_EQ(res.error, "");
  EXPECT_EQ(res.protocol, "json");
  EXPECT_EQ(res.version, 2);
}

TEST(SignalrHandshake, MatchesProtocolNameCaseInsensitively) {
  auto res = parse_handshake(R"({"version":1,"protocol":"JSON","x":[1]})");
  EXPECT_EQ(res.error, "");
  EXPECT_EQ(res.protocol, "json");
  EXPECT_EQ(res.version, 1);
}

TEST(SignalrHandshake, RefusesMessagePackWithAspNetText) {
  auto res = parse_handshake(R"({"protocol":"messagepack","version":1})");
  EXPECT_FALSE(res.ok());
  EXPECT_EQ(res.error, "Requested protocol 'messagepack' is not available.");
}

TEST(SignalrHandshake, RefusesUnsupportedVersionWithAspNetText) {
  EXPECT_EQ(parse_handshake(R"({"protocol":"json","version":9001})").error,
            "The server does not support version 9001 of the 'json' protocol.");
  EXPECT_EQ(parse_handshake(R"({"protocol":"json","version":0})").error,
            "The server does not support version 0 of the 'json' protocol.");
  EXPECT_EQ(parse_handshake(R"({"protocol":"json","version":-1})").error,
            "The server does not support version -1 of the 'json' protocol.");
}

TEST(SignalrHandshake, RefusesGarbage) {
  EXPECT_EQ(parse_handshake("hello").error, "Handshake is not valid JSON: Invalid JSON at byte 1.");
  EXPECT_EQ(parse_handshake("").error, "Handshake is not valid JSON: Invalid JSON at byte 1.");
  EXPECT_EQ(parse_handshake(R"({"protocol":"json","version":1)").error,
            "Handshake is not valid JSON: Invalid JSON at byte 31.");
  EXPECT_EQ(parse_handshake(R"(["json",1])").error, "Handshake is not a JSON object.");
}

TEST(SignalrHandshake, RefusesMissingOrMistypedProperties) {
  EXPECT_EQ(parse_handshake(R"({"version":1})").error, "Missing required property 'protocol'.");
  EXPECT_EQ(parse_handshake(R"({"protocol":"json"})").error,
            "Missing required property 'version'.");
  EXPECT_EQ(parse_handshake(R"({"protocol":1,"version":1})").error,
            "Expected 'protocol' to be of type String.");
  EXPECT_EQ(parse_handshake(R"({"protocol":"json","version":"1"})").error,
            "Expected 'version' to be of type Integer.");
  EXPECT_EQ(parse_handshake(R"({"protocol":"json","version":1.0})").error,
            "Expected 'version' to be of type Integer.");
}

TEST(SignalrHandshake, HandshakeAndFirstMessageMayShareOneFrame) {
  record_reader reader{1024};
  ASSERT_EQ(reader.append(R"({"protocol":"json","version":1})" + rs + R"({"type":6})" + rs),
            record_reader::status::ok);
  auto first = reader.next();
  ASSERT_TRUE(first.has_value());
  auto res = parse_handshake(*first);
  EXPECT_EQ(res.error, "");
  EXPECT_EQ(res.version, 1);
  auto second = reader.next();
  ASSERT_TRUE(second.has_value());
  EXPECT_EQ(*second, R"({"type":6})");
  EXPECT_TRUE(std::holds_alternative<ping_message>(parse_message(*second)));
  EXPECT_EQ(reader.next(), std::nullopt);
}

TEST(SignalrHandshake, EncodesResponseAndError) {
  EXPECT_EQ(encode_handshake_response(), "{}\x1e");
  EXPECT_EQ(encode_handshake_error("Requested protocol 'messagepack' is not available."),
            "{\"error\":\"Requested protocol 'messagepack' is not available.\"}\x1e");
  EXPECT_EQ(encode_handshake_error("say \"hi\""), "{\"error\":\"say \\\"hi\\\"\"}\x1e");
}

// -- record_reader ------------------------------------------------------------

TEST(SignalrRecordReader, JoinsARecordSplitAcrossSeveralReads) {
  record_reader reader{1024};
  ASSERT_EQ(reader.append(R"({"ty)"), record_reader::status::ok);
  EXPECT_EQ(reader.next(), std::nullopt);
  ASSERT_EQ(reader.append(R"(pe":)"), record_reader::status::ok);
  EXPECT_EQ(reader.next(), std::nullopt);
  ASSERT_EQ(reader.append("6}" + rs), record_reader::status::ok);
  EXPECT_EQ(reader.next(), std::optional<std::string_view>{R"({"type":6})"});
  EXPECT_EQ(reader.next(), std::nullopt);
  EXPECT_EQ(reader.buffered(), 0u);
}

TEST(SignalrRecordReader, YieldsSeveralRecordsFromOneRead) {
  record_reader reader{1024};
  ASSERT_EQ(reader.append("a" + rs + "bb" + rs + "ccc" + rs), record_reader::status::ok);
  EXPECT_EQ(reader.next(), std::optional<std::string_view>{"a"});
  EXPECT_EQ(reader.next(), std::optional<std::string_view>{"bb"});
  EXPECT_EQ(reader.next(), std::optional<std::string_view>{"ccc"});
  EXPECT_EQ(reader.next(), std::nullopt);
  EXPECT_FALSE(reader.has_partial_record());
}

TEST(SignalrRecordReader, KeepsAFrameWithoutSeparatorPendingUntilCompleted) {
  record_reader reader{1024};
  ASSERT_EQ(reader.append("a" + rs + "b"), record_reader::status::ok);
  EXPECT_EQ(reader.next(), std::optional<std::string_view>{"a"});
  EXPECT_EQ(reader.next(), std::nullopt);
  EXPECT_TRUE(reader.has_partial_record());
  EXPECT_EQ(reader.buffered(), 1u);
  ASSERT_EQ(reader.append("c" + rs + "d"), record_reader::status::ok);
  EXPECT_EQ(reader.next(), std::optional<std::string_view>{"bc"});
  EXPECT_EQ(reader.next(), std::nullopt);
  EXPECT_TRUE(reader.has_partial_record());
  ASSERT_EQ(reader.append(rs), record_reader::status::ok);
  EXPECT_EQ(reader.next(), std::optional<std::string_view>{"d"});
  EXPECT_FALSE(reader.has_partial_record());
  EXPECT_EQ(reader.buffered(), 0u);
}

TEST(SignalrRecordReader, YieldsEmptyRecordBetweenTwoSeparators) {
  record_reader reader{16};
  ASSERT_EQ(reader.append(rs + rs), record_reader::status::ok);
  EXPECT_EQ(reader.next(), std::optional<std::string_view>{""});
  EXPECT_EQ(reader.next(), std::optional<std::string_view>{""});
  EXPECT_EQ(reader.next(), std::nullopt);
}

TEST(SignalrRecordReader, AcceptsRecordOfExactlyTheLimit) {
  record_reader reader{8};
  EXPECT_EQ(reader.max_record_size(), 8u);
  ASSERT_EQ(reader.append("12345678" + rs + "abcdefgh"), record_reader::status::ok);
  EXPECT_EQ(reader.next(), std::optional<std::string_view>{"12345678"});
  ASSERT_EQ(reader.append(rs), record_reader::status::ok);
  EXPECT_EQ(reader.next(), std::optional<std::string_view>{"abcdefgh"});
}

TEST(SignalrRecordReader, RefusesOversizedRecordBeforeBufferingIt) {
  record_reader reader{8};
  EXPECT_EQ(reader.append("123456789"), record_reader::status::limit_exceeded);
  EXPECT_EQ(reader.buffered(), 0u);
  EXPECT_EQ(reader.append("123456789" + rs), record_reader::status::limit_exceeded);
  EXPECT_EQ(reader.buffered(), 0u);
  // The chunk is refused as a whole, even its good first record.
  EXPECT_EQ(reader.append("ok" + rs + "123456789"), record_reader::status::limit_exceeded);
  EXPECT_EQ(reader.buffered(), 0u);
  EXPECT_EQ(reader.next(), std::nullopt);
}

TEST(SignalrRecordReader, RefusesPartialRecordGrowingPastTheLimit) {
  record_reader reader{8};
  ASSERT_EQ(reader.append("12345"), record_reader::status::ok);
  EXPECT_EQ(reader.append("6789"), record_reader::status::limit_exceeded);
  EXPECT_EQ(reader.buffered(), 5u);
  EXPECT_EQ(reader.append("6789" + rs), record_reader::status::limit_exceeded);
  EXPECT_EQ(reader.buffered(), 5u);
  ASSERT_EQ(reader.append("678" + rs), record_reader::status::ok);
  EXPECT_EQ(reader.next(), std::optional<std::string_view>{"12345678"});
}

TEST(SignalrRecordReader, ClearDropsEverything) {
  record_reader reader{8};
  ASSERT_EQ(reader.append("a" + rs + "bcdefgh"), record_reader::status::ok);
  reader.clear();
  EXPECT_EQ(reader.buffered(), 0u);
  EXPECT_FALSE(reader.has_partial_record());
  EXPECT_EQ(reader.next(), std::nullopt);
  ASSERT_EQ(reader.append("12345678" + rs), record_reader::status::ok);
  EXPECT_EQ(reader.next(), std::optional<std::string_view>{"12345678"});
}

// -- parse_message: valid messages
// ---------------------------------------------

TEST(SignalrParseMessage, ReadsBlockingInvocation) {
  auto msg = expect_message<invocation>(R"({"type":1,"invocationId":"0","target":"MovePiece",)"
                                        R"("arguments":["s",1,2.5,3,90]})");
  EXPECT_EQ(msg.invocation_id, std::optional<std::string>{"0"});
  EXPECT_EQ(msg.target, "MovePiece");
  EXPECT_EQ(msg.arguments.dump(), R"(["s",1,2.5,3,90])");
  EXPECT_EQ(msg.stream_ids, std::vector<std::string>{});
}

TEST(SignalrParseMessage, ReadsNonBlockingInvocationWithHeaders) {
  auto msg = expect_message<invocation>(R"({"type":1,"headers":{"a":"b"},"target":"DragPiece",)"
                                        R"("arguments":[],"extra":null})");
  EXPECT_EQ(msg.invocation_id, std::nullopt);
  EXPECT_EQ(msg.target, "DragPiece");
  EXPECT_EQ(msg.arguments.dump(), "[]");
}

TEST(SignalrParseMessage, ReadsStreamIds) {
  auto msg
      = expect_message<invocation>(R"({"type":1,"invocationId":"3","target":"Up","arguments":[],)"
                                   R"("streamIds":["1","2"]})");
  EXPECT_EQ(msg.stream_ids, (std::vector<std::string>{"1", "2"}));
}

TEST(SignalrParseMessage, ReadsStreamInvocation) {
  auto msg = expect_message<stream_invocation>(
      R"({"type":4,"invocationId":"9","target":"Counter","arguments":[10]})");
  EXPECT_EQ(msg.invocation_id, "9");
  EXPECT_EQ(msg.target, "Counter");
  EXPECT_EQ(msg.arguments.dump(), "[10]");
}

TEST(SignalrParseMessage, ReadsStreamItem) {
  auto msg = expect_message<stream_item>(R"({"type":2,"invocationId":"1","item":{"a":[1,null]}})");
  EXPECT_EQ(msg.invocation_id, "1");
  EXPECT_EQ(msg.item.dump(), R"({"a":[1,null]})");
}

TEST(SignalrParseMessage, ReadsCompletions) {
  auto with_result
      = expect_message<completion>(R"({"type":3,"invocationId":"1","result":{"ok":true}})");
  EXPECT_EQ(with_result.invocation_id, "1");
  ASSERT_TRUE(with_result.result.has_value());
  EXPECT_EQ(with_result.result->dump(), R"({"ok":true})");
  EXPECT_EQ(with_result.error, std::nullopt);

  auto null_result = expect_message<completion>(R"({"type":3,"invocationId":"2","result":null})");
  ASSERT_TRUE(null_result.result.has_value());
  EXPECT_EQ(null_result.result->dump(), "null");

  auto with_void = expect_message<completion>(R"({"type":3,"invocationId":"3"})");
  EXPECT_EQ(with_void.invocation_id, "3");
  EXPECT_EQ(with_void.result, std::nullopt);
  EXPECT_EQ(with_void.error, std::nullopt);

  auto with_error = expect_message<completion>(
      R"({"type":3,"invocationId":"4","error":"Client didn't provide a result."})");
  EXPECT_EQ(with_error.result, std::nullopt);
  EXPECT_EQ(with_error.error, std::optional<std::string>{"Client didn't provide a result."});
}

TEST(SignalrParseMessage, ReadsCancelPingCloseAckAndSequence) {
  EXPECT_EQ(expect_message<cancel_invocation>(R"({"type":5,"invocationId":"7"})").invocation_id,
            "7");
  EXPECT_TRUE(std::holds_alternative<ping_message>(parse_message(R"({"type":6})")));

  auto bare_close = expect_message<close_message>(R"({"type":7})");
  EXPECT_EQ(bare_close.error, std::nullopt);
  EXPECT_FALSE(bare_close.allow_reconnect);

  auto close = expect_message<close_message>(R"({"type":7,"error":"bye","allowReconnect":true})");
  EXPECT_EQ(close.error, std::optional<std::string>{"bye"});
  EXPECT_TRUE(close.allow_reconnect);

  EXPECT_EQ(expect_message<ack_message>(R"({"type":8,"sequenceId":5})").sequence_id, 5u);
  EXPECT_EQ(expect_message<sequence_message>(R"({"type":9,"sequenceId":1})").sequence_id, 1u);
}

// -- parse_message: errors
// -----------------------------------------------------

TEST(SignalrParseMessage, RefusesInvalidJson) {
  EXPECT_EQ(parse_failure(""), "Invalid JSON at byte 1.");
  EXPECT_EQ(parse_failure(R"({"type":)"), "Invalid JSON at byte 9.");
  EXPECT_EQ(parse_failure(R"({"type":6}x)"), "Invalid JSON at byte 11.");
  EXPECT_EQ(parse_failure("{\"type\":1,\"target\":\"\xff\",\"arguments\":[]}"),
            "Invalid JSON at byte 21.");
  // Numbers beyond double are refused, so no infinity reaches the DOM.
  EXPECT_EQ(parse_failure(R"({"type":1,"target":"X","arguments":[1e999]})"),
            "Invalid JSON at byte 41.");
}

TEST(SignalrParseMessage, RefusesEveryProperPrefixOfAMessage) {
  const std::string full = R"({"type":1,"invocationId":"1","target":"X",)"
                           R"("arguments":["a\u00e9",{"b":[1.5,-2,true]}]})";
  for (size_t len = 0; len < full.size(); ++len) {
    auto msg = parse_message(std::string_view{full}.substr(0, len));
    EXPECT_TRUE(std::holds_alternative<parse_error>(msg)) << len;
  }
  EXPECT_EQ(expect_message<invocation>(full).arguments.dump(),
            "[\"a\xC3\xA9\",{\"b\":[1.5,-2,true]}]");
}

TEST(SignalrParseMessage, RefusesNonObjects) {
  EXPECT_EQ(parse_failure("[1]"), "Message is not a JSON object.");
  EXPECT_EQ(parse_failure("6"), "Message is not a JSON object.");
  EXPECT_EQ(parse_failure("null"), "Message is not a JSON object.");
}

TEST(SignalrParseMessage, RefusesMissingOrInvalidType) {
  EXPECT_EQ(parse_failure(R"({"target":"X","arguments":[]})"), "Missing required property 'type'.");
  EXPECT_EQ(parse_failure(R"({"type":"1"})"), "Expected 'type' to be of type Integer.");
  EXPECT_EQ(parse_failure(R"({"type":1.0})"), "Expected 'type' to be of type Integer.");
}

TEST(SignalrParseMessage, RefusesUnknownMessageType) {
  EXPECT_EQ(parse_failure(R"({"type":42})"), "Unknown message type: 42.");
  EXPECT_EQ(parse_failure(R"({"type":0})"), "Unknown message type: 0.");
  EXPECT_EQ(parse_failure(R"({"type":-1})"), "Unknown message type: -1.");
  EXPECT_EQ(parse_failure(R"({"type":18446744073709551615})"),
            "Unknown message type: 18446744073709551615.");
}

TEST(SignalrParseMessage, RefusesInvalidInvocationIdType) {
  EXPECT_EQ(parse_failure(R"({"type":1,"invocationId":1,"target":"X","arguments":[]})"),
            "Expected 'invocationId' to be of type String.");
  EXPECT_EQ(parse_failure(R"({"type":1,"invocationId":null,"target":"X","arguments":[]})"),
            "Expected 'invocationId' to be of type String.");
  EXPECT_EQ(parse_failure(R"({"type":3,"invocationId":4})"),
            "Expected 'invocationId' to be of type String.");
}

TEST(SignalrParseMessage, RefusesInvocationWithoutTargetOrArguments) {
  EXPECT_EQ(parse_failure(R"({"type":1,"invocationId":"1","arguments":[]})"),
            "Missing required property 'target'.");
  EXPECT_EQ(parse_failure(R"({"type":1,"target":7,"arguments":[]})"),
            "Expected 'target' to be of type String.");
  EXPECT_EQ(parse_failure(R"({"type":1,"target":"X"})"), "Missing required property 'arguments'.");
  EXPECT_EQ(parse_failure(R"({"type":1,"target":"X","arguments":{}})"),
            "Expected 'arguments' to be of type Array.");
  EXPECT_EQ(parse_failure(R"({"type":1,"target":"X","arguments":[],"streamIds":"1"})"),
            "Expected 'streamIds' to be of type Array.");
  EXPECT_EQ(parse_failure(R"({"type":1,"target":"X","arguments":[],"streamIds":[1]})"),
            "Expected 'streamIds' to contain only strings.");
}

TEST(SignalrParseMessage, RefusesIncompleteOtherMessages) {
  EXPECT_EQ(parse_failure(R"({"type":4,"target":"X","arguments":[]})"),
            "Missing required property 'invocationId'.");
  EXPECT_EQ(parse_failure(R"({"type":2,"invocationId":"1"})"), "Missing required property 'item'.");
  EXPECT_EQ(parse_failure(R"({"type":3})"), "Missing required property 'invocationId'.");
  EXPECT_EQ(parse_failure(R"({"type":3,"invocationId":"1","error":5})"),
            "Expected 'error' to be of type String.");
  EXPECT_EQ(parse_failure(R"({"type":3,"invocationId":"1","result":1,"error":"e"})"),
            "The 'error' and 'result' properties are mutually exclusive.");
  EXPECT_EQ(parse_failure(R"({"type":5})"), "Missing required property 'invocationId'.");
  EXPECT_EQ(parse_failure(R"({"type":7,"error":false})"), "Expected 'error' to be of type String.");
  EXPECT_EQ(parse_failure(R"({"type":7,"allowReconnect":"yes"})"),
            "Expected 'allowReconnect' to be of type Boolean.");
  EXPECT_EQ(parse_failure(R"({"type":8})"), "Missing required property 'sequenceId'.");
  EXPECT_EQ(parse_failure(R"({"type":9,"sequenceId":-1})"),
            "Expected 'sequenceId' to be a non-negative integer.");
  EXPECT_EQ(parse_failure(R"({"type":9,"sequenceId":1.5})"),
            "Expected 'sequenceId' to be a non-negative integer.");
}

TEST(SignalrParseMessage, RefusesJsonDeeperThanTheLimit) {
  // 32 levels parse (and then fail the shape check), 33 do not.
  EXPECT_EQ(parse_failure(nested_arrays(max_json_depth)), "Message is not a JSON object.");
  EXPECT_EQ(parse_failure(nested_arrays(max_json_depth + 1)), "JSON nests deeper than 32 levels.");
  // The object and its arguments array count as two levels.
  auto deep_args
      = R"({"type":1,"target":"X","arguments":)" + nested_arrays(max_json_depth - 1) + "}";
  EXPECT_EQ(expect_message<invocation>(deep_args).target, "X");
  auto too_deep_args
      = R"({"type":1,"target":"X","arguments":[{"a":)" + nested_arrays(max_json_depth - 2) + "}]}";
  EXPECT_EQ(parse_failure(too_deep_args), "JSON nests deeper than 32 levels.");
  // Stops early instead of walking a megabyte of brackets.
  EXPECT_EQ(parse_failure(std::string(1 << 20, '[')), "JSON nests deeper than 32 levels.");
}

// -- encoders -----------------------------------------------------------------

TEST(SignalrEncode, EscapesQuotesBackslashesAndControlCharacters) {
  EXPECT_EQ(json_quoted(""), R"("")");
  EXPECT_EQ(json_quoted("plain"), R"("plain")");
  EXPECT_EQ(json_quoted(R"(a"b\c)"), R"("a\"b\\c")");
  EXPECT_EQ(json_quoted("\n\r\t\b\f"), R"("\u000a\u000d\u0009\u0008\u000c")");
  EXPECT_EQ(json_quoted("x\x01\x1e\x1fy"s), R"("x\u0001\u001e\u001fy")");
  EXPECT_EQ(json_quoted("nul\0!"s), R"("nul\u0000!")");
  EXPECT_EQ(json_quoted("del\x7f"), "\"del\x7f\"");
  EXPECT_EQ(json_quoted("</script>"), R"("</script>")");
}

TEST(SignalrEncode, KeepsValidUtf8AsIs) {
  EXPECT_EQ(json_quoted("\xF0\x9F\xA7\xA9 puzzle"), "\"\xF0\x9F\xA7\xA9 puzzle\"");
  EXPECT_EQ(json_quoted("caf\xC3\xA9 \xD7\xA9\xD7\x9C\xD7\x95\xD7\x9D"),
            "\"caf\xC3\xA9 \xD7\xA9\xD7\x9C\xD7\x95\xD7\x9D\"");
  EXPECT_EQ(json_quoted("\xE2\x80\xA8\xEF\xBF\xBF\xF4\x8F\xBF\xBF"),
            "\"\xE2\x80\xA8\xEF\xBF\xBF\xF4\x8F\xBF\xBF\"");
}

TEST(SignalrEncode, ReplacesInvalidUtf8BytesWithReplacementCharacter) {
  const std::string fffd = "\xEF\xBF\xBD";
  EXPECT_EQ(json_quoted("a\xFF"
                        "b"),
            "\"a" + fffd + "b\"");
  // A truncated emoji: each of its bytes is replaced.
  EXPECT_EQ(json_quoted("\xF0\x9F"), "\"" + fffd + fffd + "\"");
  // Overlong '/', an encoded surrogate, and a code point above U+10FFFF.
  EXPECT_EQ(json_quoted("\xC0\xAF"), "\"" + fffd + fffd + "\"");
  EXPECT_EQ(json_quoted("\xED\xA0\x80"), "\"" + fffd + fffd + fffd + "\"");
  EXPECT_EQ(json_quoted("\xF4\x90\x80\x80"), "\"" + fffd + fffd + fffd + fffd + "\"");
}

TEST(SignalrEncode, AppendsToExistingText) {
  std::string out = "x=";
  append_json_string(out, "1");
  EXPECT_EQ(out, R"(x="1")");
}

TEST(SignalrEncode, EncodesInvocationWithRawArguments) {
  EXPECT_EQ(encode_invocation("PieceMoved", R"([{"pieceId":1,"x":2.5}])"),
            "{\"type\":1,\"target\":\"PieceMoved\","
            "\"arguments\":[{\"pieceId\":1,\"x\":2.5}]}\x1e");
  EXPECT_EQ(encode_invocation("Error", R"(["Piece is locked","PIECE_LOCKED"])"),
            "{\"type\":1,\"target\":\"Error\","
            "\"arguments\":[\"Piece is locked\",\"PIECE_LOCKED\"]}\x1e");
}

TEST(SignalrEncode, EncodesCompletions) {
  EXPECT_EQ(encode_completion_result("0", R"({"granted":true})"),
            "{\"type\":3,\"invocationId\":\"0\","
            "\"result\":{\"granted\":true}}\x1e");
  EXPECT_EQ(encode_completion_void("12"), "{\"type\":3,\"invocationId\":\"12\"}\x1e");
  EXPECT_EQ(encode_completion_error("3",
                                    "Failed to invoke 'X' due to an "
                                    "error on the server."),
            "{\"type\":3,\"invocationId\":\"3\",\"error\":\"Failed to "
            "invoke 'X' due to an error on the server.\"}\x1e");
}

TEST(SignalrEncode, EchoesInvocationIdVerbatimButEscaped) {
  EXPECT_EQ(encode_completion_void("a\"b\\c\n"),
            "{\"type\":3,\"invocationId\":\"a\\\"b\\\\c\\u000a\"}\x1e");
  EXPECT_EQ(encode_completion_void("\xF0\x9F\xA7\xA9"),
            "{\"type\":3,\"invocationId\":\"\xF0\x9F\xA7\xA9\"}\x1e");
}

TEST(SignalrEncode, EncodedErrorRoundTripsThroughAJsonParser) {
  auto text = "quote \" slash \\ tab \t emoji \xF0\x9F\xA7\xA9 end"s;
  auto record = encode_completion_error("1", text);
  ASSERT_EQ(record.back(), record_separator);
  auto msg = expect_message<completion>(std::string_view{record}.substr(0, record.size() - 1));
  EXPECT_EQ(msg.error, std::optional<std::string>{text});
}

TEST(SignalrEncode, EncodesPing) {
  EXPECT_EQ(encode_ping(), "{\"type\":6}\x1e");
}

TEST(SignalrEncode, EncodesCloseVariants) {
  EXPECT_EQ(encode_close(std::nullopt, false), "{\"type\":7}\x1e");
  EXPECT_EQ(encode_close(std::nullopt, true), "{\"type\":7,\"allowReconnect\":true}\x1e");
  EXPECT_EQ(encode_close("Server is shutting down.", false),
            "{\"type\":7,\"error\":\"Server is shutting down.\"}\x1e");
  EXPECT_EQ(encode_close("Node \"a\" drains.", true),
            "{\"type\":7,\"error\":\"Node \\\"a\\\" drains.\","
            "\"allowReconnect\":true}\x1e");
}

TEST(SignalrEncode, EncodesNegotiateVersion1) {
  auto expected
      = std::string{R"({"connectionToken":"tok-1","connectionId":"id-1","negotiateVersion":1,)"
                    R"("availableTransports":[{"transport":"WebSockets",)"
                    R"("transferFormats":["Text"]}]})"};
  EXPECT_EQ(encode_negotiate_response("id-1", "tok-1", 1), expected);
  // A newer client gets our highest version.
  EXPECT_EQ(encode_negotiate_response("id-1", "tok-1", 2), expected);
}

TEST(SignalrEncode, EncodesNegotiateVersion0WithoutToken) {
  auto expected = std::string{R"({"connectionId":"id-1","negotiateVersion":0,)"
                              R"("availableTransports":[{"transport":"WebSockets",)"
                              R"("transferFormats":["Text"]}]})"};
  EXPECT_EQ(encode_negotiate_response("id-1", "tok-1", 0), expected);
  EXPECT_EQ(encode_negotiate_response("id-1", "tok-1", -3), expected);
}
