#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <variant>

#include "actors/errc.hpp"
#include "actors/message_types.hpp"

/// The raw WebSocket protocol at `/ws` (contract.md section 6): one JSON
/// object per text message, with a `type`. Pure functions on strings (no
/// sockets, no actors): fast to test and to fuzz.
///
/// Inbound types: the seed's `ping`, `subscribe`, `unsubscribe` and
/// `broadcast`, and the puzzle operations `join`, `leave`, `lock`, `drag`,
/// `move`, `unlock`, `chat`, `cursor` and `state` (an extension: the
/// session's state without joining), each with an optional `id` that the
/// answer echoes.
namespace puzzle::transports::ws {

/// Deepest JSON nesting accepted in a received message: the protocol needs
/// 1 level, `broadcast.data` gets the rest.
constexpr size_t max_json_depth = 32;

/// The prefix of the channel that carries a session's events.
constexpr std::string_view session_channel_prefix = "session:";

/// Limits of the codec, from config.
struct protocol_limits {
  size_t max_channel_bytes = 200; ///< `limits.max-channel-name-bytes`
};

struct ping_request {};

/// `subscribe`/`unsubscribe` of a channel; for `session:<id>` channels the
/// connection joins or leaves the session.
struct subscribe_request {
  std::string channel;
  bool subscribe = true;
};

/// `broadcast` of JSON `data` (verbatim text) to a channel's subscribers.
struct broadcast_request {
  std::string channel;
  std::string data;
};

/// A puzzle operation. `id` is the client's `id` as JSON text (a string
/// literal with its quotes, or an integer), empty when absent; the command's
/// `call_id` is left to the connection.
struct puzzle_request {
  std::string id;
  std::string op;
  client_command command;
};

/// A message that could not be decoded, with the answer's code and text.
/// `id` is set when the message had a usable `id`.
struct protocol_error {
  std::string id;
  errc code = errc::invalid_message;
  std::string message;
};

using inbound = std::variant<ping_request, subscribe_request, broadcast_request,
                             puzzle_request, protocol_error>;

/// Texts of the seed protocol's two error answers.
constexpr std::string_view unknown_type_text = "Unknown message type";
constexpr std::string_view invalid_format_text = "Invalid message format";

/// Decodes one text message.
///
/// - Not JSON, not an object, too deep, or no string `type`:
///   `INVALID_MESSAGE` "Invalid message format" (the seed's text).
/// - An unknown `type`: `INVALID_MESSAGE` "Unknown message type".
/// - `subscribe`, `unsubscribe`, `broadcast` need a non-empty string
///   `channel` of at most `max_channel_bytes` (else `INVALID_MESSAGE`, or
///   `LIMIT_EXCEEDED` naming `limits.max-channel-name-bytes`); `broadcast`
///   to a session channel is `FORBIDDEN` (it carries the session's events
///   only); `broadcast` without `data` sends `null`.
/// - Puzzle operations need a string `sessionId`, an int32 `pieceId` where
///   the operation has one, a string `message` for `chat` (else
///   `INVALID_MESSAGE` naming the field); `x`, `y` and, for `drag` and
///   `move`, `rotation` must be finite numbers (else `INVALID_MOVE`), and
///   the rotation an integral number. Domain rules (session exists, rotation
///   in {0, 90, 180, 270}, chat length) are the session's.
inbound decode(std::string_view text, const protocol_limits& limits);

/// The session id of a `session:<id>` channel, or empty for other channels.
std::string_view session_of_channel(std::string_view channel) noexcept;

// -- encoders -----------------------------------------------------------------
//
// Each returns one complete JSON text message. Raw JSON values (`id`,
// `data`, `result`) are spliced in verbatim: the caller guarantees they are
// valid JSON.

/// `{"type":"pong","timestamp":"<iso8601>"}`.
std::string encode_pong(int64_t unix_ms);

/// `{"type":"subscribed","channel":...}` or `"unsubscribed"`.
std::string encode_subscription(std::string_view channel, bool subscribed);

/// `{"type":"message","channel":...,"data":<data>,"timestamp":...}`: a
/// channel publication, as the seed sends it.
std::string encode_channel_message(std::string_view channel,
                                   std::string_view data, int64_t unix_ms);

/// `{"type":"event","channel":"session:<id>","event":<name>,"data":<arg>}`:
/// a session event. `args` is the event's JSON argument array with exactly
/// one element (every session event has one), which becomes `data`.
std::string encode_event(std::string_view session_id, std::string_view name,
                         std::string_view args);

/// `{"type":"ack","id":<id>,"op":<op>,"result":<result>}`; `result` null or
/// empty leaves it out. An empty `id` is sent as `null`.
std::string encode_ack(std::string_view id, std::string_view op,
                       std::string_view result);

/// `{"type":"error","id":<id>,"code":<code>,"message":<message>}`; `id`
/// left out when empty.
std::string encode_error(std::string_view id, errc code,
                         std::string_view message);

// -- server frames ------------------------------------------------------------

/// Longest header of an unmasked frame (RFC 6455 section 5.2): two bytes
/// and a 64-bit extended length.
constexpr size_t max_frame_header_bytes = 10;

/// Writes the header of one unfragmented, unmasked server-to-client data
/// frame (FIN set, opcode text or binary, 7/16/64-bit payload length) to
/// `out` (room for `max_frame_header_bytes`) and returns its length. The
/// connections frame their queued messages themselves so that a batch goes
/// out in one gather write instead of one write per message.
size_t write_frame_header(char* out, bool text,
                          uint64_t payload_bytes) noexcept;

} // namespace puzzle::transports::ws
