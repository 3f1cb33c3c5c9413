#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include <nlohmann/json.hpp>

#include "actors/errc.hpp"
#include "actors/message_types.hpp"

/// The puzzle application on top of Socket.IO (contract.md section 5): which
/// client events exist, how their arguments become transport-neutral
/// `client_command`s, and how results, errors and session events are
/// written as Socket.IO payloads. Pure functions on JSON and strings.
///
/// Client events (each with an optional ack): `join {sessionId, userId?}`,
/// `leave {sessionId?}`, `lock_piece {sessionId, pieceId}`, `drag_piece
/// {sessionId, pieceId, x, y, rotation}`, `move_piece {...same}`,
/// `unlock_piece {sessionId, pieceId}`, `chat_message {sessionId,
/// message}`, `cursor {sessionId, x, y}` and, as an extension,
/// `get_state {sessionId}`. Acks carry `{ok: true, ...result}` or `{ok:
/// false, code, message}`.
namespace puzzle::transports::socketio {

/// Why an event could not become a command; answered through the ack (or
/// an `error` event when the event has none).
struct sio_call_failure {
  errc code = errc::invalid_message;
  std::string message;
};

/// The command to run, or why not.
using sio_call_result = std::variant<client_command, sio_call_failure>;

/// True for the names of the client events above.
bool is_puzzle_event(std::string_view name) noexcept;

/// Decodes a puzzle event from the EVENT payload `["name", {args}, ...]`
/// (the array of a decoded `sio_packet`).
///
/// - unknown event name: `INVALID_MESSAGE`;
/// - the second element is not an object (only `leave` may omit it):
///   `INVALID_MESSAGE`;
/// - `sessionId` not a string (`leave` may omit it; the connection then
///   picks its only joined session), `pieceId` not an int32, `message` not
///   a string, `userId` neither a string nor null: `INVALID_MESSAGE` naming
///   the field;
/// - `x`, `y`, `rotation` missing or not finite numbers, or a fractional
///   rotation: `INVALID_MOVE` naming the field.
/// Domain rules (rotation in {0, 90, 180, 270}, chat length) are the
/// session's. The command's `call_id` is left to the connection.
sio_call_result decode_puzzle_event(const nlohmann::json& event);

/// The Socket.IO name of a session event: the contract's SignalR client
/// method (`PieceMoved`) in snake case (`piece_moved`), with the contract's
/// two renames: `SessionStateUpdate` is `session_state` and
/// `ChatMessageReceived` is `chat_message`.
std::string server_event_name(std::string_view signalr_name);

/// The Socket.IO text (without the Engine.IO `4`) of a session event in the
/// main namespace: `2["piece_moved",{...}]`. `args` is the event's JSON
/// argument array; the SignalR `Error(message, code)` becomes `error
/// {code, message}`.
std::string encode_session_event(std::string_view signalr_name,
                                 std::string_view args);

/// `{"ok":true, ...result}`: the members of a result object are spread in;
/// `null` (or nothing) gives `{"ok":true}`, any other JSON value is put
/// under `result`. @pre `result` is valid JSON or empty.
std::string ack_ok(std::string_view result);

/// `{"ok":false,"code":"<CODE>","message":"<message>"}`.
std::string ack_error(errc code, std::string_view message);

/// `2["error",{"code":"<CODE>","message":"<message>"}]`: an error without an
/// ack to carry it.
std::string encode_error_event(errc code, std::string_view message);

} // namespace puzzle::transports::socketio
