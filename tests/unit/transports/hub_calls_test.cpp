#include "transports/signalr/hub_calls.hpp"

#include <limits>
#include <optional>
#include <string>
#include <tuple>

#include <gtest/gtest.h>

using namespace puzzle;
using namespace puzzle::transports::signalr;

namespace {

invocation make_call(std::string target, std::string_view args,
                     std::optional<std::string> id = "7") {
  invocation call;
  call.invocation_id = std::move(id);
  call.target = std::move(target);
  call.arguments = nlohmann::json::parse(args);
  return call;
}

/// Every field of a command, comparable and printable by GoogleTest.
auto fields(const client_command& cmd) {
  return std::make_tuple(static_cast<int>(cmd.kind), cmd.call_id, cmd.session_id, cmd.piece_id,
                         cmd.x, cmd.y, cmd.rotation, cmd.text, cmd.user_id);
}

client_command command(command_kind kind, std::string call_id, std::string session_id) {
  client_command cmd;
  cmd.kind = kind;
  cmd.call_id = std::move(call_id);
  cmd.session_id = std::move(session_id);
  return cmd;
}

/// Decodes and returns the command, failing the test on a refusal.
client_command expect_command(const invocation& call) {
  auto res = decode_hub_call(call);
  if (auto err = std::get_if<hub_call_failure>(&res)) {
    ADD_FAILURE() << "refused: " << err->completion_error_text;
    return {};
  }
  return std::get<client_command>(res);
}

/// Decodes and returns the refusal, failing the test on success.
hub_call_failure expect_failure(const invocation& call) {
  auto res = decode_hub_call(call);
  if (auto err = std::get_if<hub_call_failure>(&res)) return *err;
  ADD_FAILURE() << "accepted " << call.target;
  return {errc::none, ""};
}

std::string bad_args(std::string_view target) {
  return "Failed to invoke '" + std::string{target} + "' due to an error on the server.";
}

std::string bad_move(std::string_view target, std::string_view what) {
  return "An unexpected error occurred invoking '" + std::string{target}
  + "' on the server. HubException: INVALID_MOVE: " + std::string{what};
}

void expect_bad_args(const std::string& target, std::string_view args) {
  auto err = expect_failure(make_call(target, args));
  EXPECT_EQ(err.code, errc::invalid_message) << args;
  EXPECT_EQ(err.completion_error_text, bad_args(target)) << args;
}

void expect_bad_move(const std::string& target, std::string_view args, std::string_view what) {
  auto err = expect_failure(make_call(target, args));
  EXPECT_EQ(err.code, errc::invalid_move) << args;
  EXPECT_EQ(err.completion_error_text, bad_move(target, what)) << args;
}

} // namespace

// -- argument mapping
// ----------------------------------------------------------

TEST(SignalrHubCalls, MapsJoinPuzzleSessionWithAndWithoutUserId) {
  auto expected = command(command_kind::join, "7", "s-1");
  EXPECT_EQ(fields(expect_command(make_call("JoinPuzzleSession", R"(["s-1"])"))), fields(expected));
  EXPECT_EQ(fields(expect_command(make_call("JoinPuzzleSession", R"(["s-1",null])"))),
            fields(expected));
  expected.user_id = "u-9";
  EXPECT_EQ(fields(expect_command(make_call("JoinPuzzleSession", R"(["s-1","u-9"])"))),
            fields(expected));
}

TEST(SignalrHubCalls, MapsLeaveSession) {
  EXPECT_EQ(fields(expect_command(make_call("LeaveSession", R"(["s-1"])"))),
            fields(command(command_kind::leave, "7", "s-1")));
}

TEST(SignalrHubCalls, MapsLockAndUnlockPiece) {
  auto lock = command(command_kind::lock, "7", "s-1");
  lock.piece_id = 3;
  EXPECT_EQ(fields(expect_command(make_call("LockPiece", R"(["s-1",3])"))), fields(lock));
  auto unlock = command(command_kind::unlock, "7", "s-1");
  unlock.piece_id = 0;
  EXPECT_EQ(fields(expect_command(make_call("UnlockPiece", R"(["s-1",0])"))), fields(unlock));
}

TEST(SignalrHubCalls, MapsDragPieceAsNonBlocking) {
  auto expected = command(command_kind::drag, "", "s-1");
  expected.piece_id = 12;
  expected.x = 10.5;
  expected.y = -20;
  expected.rotation = 90;
  EXPECT_EQ(
      fields(expect_command(make_call("DragPiece", R"(["s-1",12,10.5,-20,90])", std::nullopt))),
      fields(expected));
}

TEST(SignalrHubCalls, MapsMovePiece) {
  auto expected = command(command_kind::move, "42", "s-1");
  expected.piece_id = 2147483647;
  expected.x = 0.25;
  expected.y = 1e6;
  expected.rotation = 270;
  EXPECT_EQ(
      fields(expect_command(make_call("MovePiece", R"(["s-1",2147483647,0.25,1e6,270])", "42"))),
      fields(expected));
}

TEST(SignalrHubCalls, AcceptsIntegralFloatingRotation) {
  auto expected = command(command_kind::move, "7", "s-1");
  expected.piece_id = -2147483648;
  expected.x = 1;
  expected.y = 2;
  expected.rotation = 180;
  EXPECT_EQ(fields(expect_command(make_call("MovePiece", R"(["s-1",-2147483648,1,2,180.0])"))),
            fields(expected));
}

TEST(SignalrHubCalls, MapsSendChatMessageKeepingTextUnchanged) {
  auto expected = command(command_kind::chat, "7", "s-1");
  expected.text = "  hi \xF0\x9F\xA7\xA9 \xD7\xA9\xD7\x9C\xD7\x95\xD7\x9D ";
  EXPECT_EQ(fields(expect_command(make_call("SendChatMessage",
                                            "[\"s-1\",\"  hi \xF0\x9F\xA7\xA9 "
                                            "\xD7\xA9\xD7\x9C\xD7\x95\xD7\x9D \"]"))),
            fields(expected));
}

TEST(SignalrHubCalls, MapsUpdateCursor) {
  auto expected = command(command_kind::cursor, "", "s-1");
  expected.x = 1.25;
  expected.y = 2;
  EXPECT_EQ(fields(expect_command(make_call("UpdateCursor", R"(["s-1",1.25,2])", std::nullopt))),
            fields(expected));
}

TEST(SignalrHubCalls, MapsGetSessionState) {
  EXPECT_EQ(fields(expect_command(make_call("GetSessionState", R"(["s-1"])"))),
            fields(command(command_kind::get_state, "7", "s-1")));
}

TEST(SignalrHubCalls, KeepsEmptyInvocationIdAsNonBlocking) {
  EXPECT_EQ(expect_command(make_call("GetSessionState", R"(["s"])", "")).call_id, "");
}

TEST(SignalrHubCalls, MatchesMethodNamesCaseInsensitively) {
  EXPECT_EQ(expect_command(make_call("movepiece", R"(["s",1,2,3,0])")).kind, command_kind::move);
  EXPECT_EQ(expect_command(make_call("JOINPUZZLESESSION", R"(["s"])")).kind, command_kind::join);
  EXPECT_EQ(expect_command(make_call("sendChatMessage", R"(["s","m"])")).kind, command_kind::chat);
  // Error texts echo the name as the client sent it.
  expect_bad_args("lockpiece", R"(["s"])");
  expect_bad_move("updatecursor", R"(["s",null,1])", "x must be a finite number");
}

// -- refusals -----------------------------------------------------------------

TEST(SignalrHubCalls, RefusesUnknownMethod) {
  auto err = expect_failure(make_call("FlyPiece", R"(["s"])"));
  EXPECT_EQ(err.code, errc::invalid_message);
  EXPECT_EQ(err.completion_error_text,
            "Failed to invoke 'FlyPiece' due to an error on the server. "
            "HubException: Method does not exist.");
  // A prefix or a non-ASCII look-alike is not a match.
  EXPECT_EQ(expect_failure(make_call("LockPiec", R"(["s",1])")).code, errc::invalid_message);
  EXPECT_EQ(expect_failure(make_call("Loc\xE2\x84\xAA"
                                     "Piece",
                                     R"(["s",1])"))
                .completion_error_text,
            "Failed to invoke 'Loc\xE2\x84\xAAPiece' due to an error on the "
            "server. HubException: Method does not exist.");
}

TEST(SignalrHubCalls, RefusesWrongArgumentCount) {
  expect_bad_args("JoinPuzzleSession", "[]");
  expect_bad_args("JoinPuzzleSession", R"(["s","u","x"])");
  expect_bad_args("LeaveSession", "[]");
  expect_bad_args("LeaveSession", R"(["s","x"])");
  expect_bad_args("LockPiece", R"(["s"])");
  expect_bad_args("LockPiece", R"(["s",1,2])");
  expect_bad_args("UnlockPiece", R"(["s"])");
  expect_bad_args("DragPiece", R"(["s"])");
  expect_bad_args("MovePiece", R"(["s"])");
  expect_bad_args("MovePiece", R"(["s",1,2,3,0,9])");
  expect_bad_args("SendChatMessage", R"(["s"])");
  expect_bad_args("SendChatMessage", R"(["s","a","b"])");
  expect_bad_args("UpdateCursor", "[]");
  expect_bad_args("UpdateCursor", R"(["s",1,2,3])");
  expect_bad_args("GetSessionState", "[]");
}

TEST(SignalrHubCalls, RefusesWrongSessionIdType) {
  expect_bad_args("GetSessionState", "[42]");
  expect_bad_args("GetSessionState", "[null]");
  expect_bad_args("JoinPuzzleSession", R"([{"id":"s"}])");
  expect_bad_args("MovePiece", R"([1,1,2,3,0])");
  expect_bad_args("UpdateCursor", R"([["s"],1,2])");
}

TEST(SignalrHubCalls, RefusesWrongUserIdType) {
  expect_bad_args("JoinPuzzleSession", R"(["s",5])");
  expect_bad_args("JoinPuzzleSession", R"(["s",false])");
}

TEST(SignalrHubCalls, RefusesPieceIdThatIsNotAnInt32) {
  expect_bad_args("LockPiece", R"(["s",1.5])");
  expect_bad_args("LockPiece", R"(["s","3"])");
  expect_bad_args("LockPiece", R"(["s",3.0])");
  expect_bad_args("LockPiece", R"(["s",null])");
  expect_bad_args("UnlockPiece", R"(["s",2147483648])");
  expect_bad_args("UnlockPiece", R"(["s",-2147483649])");
  expect_bad_args("DragPiece", R"(["s",true,1,2,0])");
  // The piece id is checked before the coordinates.
  expect_bad_args("MovePiece", R"(["s","3",null,2,0])");
}

TEST(SignalrHubCalls, RefusesChatMessageThatIsNotAString) {
  expect_bad_args("SendChatMessage", R"(["s",5])");
  expect_bad_args("SendChatMessage", R"(["s",null])");
  expect_bad_args("SendChatMessage", R"(["s",["hi"]])");
}

TEST(SignalrHubCalls, RefusesInvocationWithStreams) {
  auto call = make_call("LockPiece", R"(["s",1])");
  call.stream_ids = {"1"};
  auto err = expect_failure(call);
  EXPECT_EQ(err.code, errc::invalid_message);
  EXPECT_EQ(err.completion_error_text, bad_args("LockPiece"));
}

TEST(SignalrHubCalls, RefusesCoordinatesThatAreNotFiniteNumbers) {
  // JSON.stringify turns NaN and Infinity into null.
  expect_bad_move("MovePiece", R"(["s",1,null,2,0])", "x must be a finite number");
  expect_bad_move("MovePiece", R"(["s",1,"1",2,0])", "x must be a finite number");
  expect_bad_move("MovePiece", R"(["s",1,true,2,0])", "x must be a finite number");
  expect_bad_move("MovePiece", R"(["s",1,[1],2,0])", "x must be a finite number");
  expect_bad_move("MovePiece", R"(["s",1,1,null,0])", "y must be a finite number");
  expect_bad_move("DragPiece", R"(["s",1,1,"2",0])", "y must be a finite number");
  expect_bad_move("UpdateCursor", R"(["s",null,2])", "x must be a finite number");
  expect_bad_move("UpdateCursor", R"(["s",1,{}])", "y must be a finite number");
}

TEST(SignalrHubCalls, RefusesMissingCoordinatesAsInvalidMove) {
  expect_bad_move("MovePiece", R"(["s",1])", "x must be a finite number");
  expect_bad_move("MovePiece", R"(["s",1,2])", "y must be a finite number");
  expect_bad_move("MovePiece", R"(["s",1,2,3])", "rotation must be a finite number");
  expect_bad_move("DragPiece", R"(["s",1,2,3])", "rotation must be a finite number");
  expect_bad_move("UpdateCursor", R"(["s"])", "x must be a finite number");
  expect_bad_move("UpdateCursor", R"(["s",1])", "y must be a finite number");
}

TEST(SignalrHubCalls, RefusesRotationThatIsNotAnIntegralNumber) {
  expect_bad_move("MovePiece", R"(["s",1,2,3,null])", "rotation must be a finite number");
  expect_bad_move("MovePiece", R"(["s",1,2,3,"90"])", "rotation must be a finite number");
  expect_bad_move("MovePiece", R"(["s",1,2,3,45.5])", "rotation must be an integral number");
  expect_bad_move("MovePiece", R"(["s",1,2,3,1e10])", "rotation must be an integral number");
  expect_bad_move("MovePiece", R"(["s",1,2,3,-3000000000])", "rotation must be an integral number");
}

TEST(SignalrHubCalls, RefusesNonFiniteNumbersBuiltInMemory) {
  // The JSON parser refuses 1e999 already; a DOM built by other code (a
  // MessagePack decoder later) can still hold infinities and NaN.
  constexpr auto inf = std::numeric_limits<double>::infinity();
  constexpr auto nan = std::numeric_limits<double>::quiet_NaN();
  auto expect_refused = [](invocation call, std::string_view what) {
    auto err = expect_failure(call);
    EXPECT_EQ(err.code, errc::invalid_move);
    EXPECT_EQ(err.completion_error_text, bad_move(call.target, what));
  };
  auto call = make_call("MovePiece", R"(["s",1,1,2,0])");
  call.arguments[2] = inf;
  expect_refused(call, "x must be a finite number");
  call = make_call("DragPiece", R"(["s",1,1,2,0])");
  call.arguments[3] = -inf;
  expect_refused(call, "y must be a finite number");
  call = make_call("MovePiece", R"(["s",1,1,2,0])");
  call.arguments[4] = nan;
  expect_refused(call, "rotation must be a finite number");
  call = make_call("UpdateCursor", R"(["s",1,2])");
  call.arguments[1] = nan;
  expect_refused(call, "x must be a finite number");
}

// -- error texts --------------------------------------------------------------

TEST(SignalrHubCalls, RendersHubExceptionText) {
  EXPECT_EQ(hub_exception_text("LockPiece", errc::piece_locked, "Piece 3 is held by another user"),
            "An unexpected error occurred invoking 'LockPiece' on the server. "
            "HubException: PIECE_LOCKED: Piece 3 is held by another user");
  EXPECT_EQ(hub_exception_text("JoinPuzzleSession", errc::session_not_found, "Session not found"),
            "An unexpected error occurred invoking 'JoinPuzzleSession' on the "
            "server. HubException: SESSION_NOT_FOUND: Session not found");
}

TEST(SignalrHubCalls, RendersBindingFailureTexts) {
  EXPECT_EQ(invalid_arguments_text("MovePiece"),
            "Failed to invoke 'MovePiece' due to an error on the server.");
  EXPECT_EQ(unknown_method_text("Nope"),
            "Failed to invoke 'Nope' due to an error on the server. "
            "HubException: Method does not exist.");
}
