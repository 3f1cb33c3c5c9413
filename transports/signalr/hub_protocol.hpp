#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

/// The ASP.NET Core SignalR JSON hub protocol as pure functions: record
/// framing, handshake, message parsing and encoding, negotiate body.
///
/// Nothing here touches sockets, Beast or CAF, so every function can be fed
/// arbitrary bytes by a fuzzer. No function lets an exception escape from the
/// JSON library; malformed input comes back as an error value. Wire facts are
/// in docs `protocols.md` section 1 (HubProtocol.md of dotnet/aspnetcore).
namespace puzzle::transports::signalr {

/// Terminates every JSON hub message and the handshake (ASCII RS, 0x1E).
constexpr char record_separator = '\x1e';

/// Deepest JSON nesting accepted in a received record. Our hub methods need
/// 2 levels (message object, arguments array); the cap keeps hostile input
/// from costing memory and time out of proportion to its size.
constexpr size_t max_json_depth = 32;

// -- framing ------------------------------------------------------------------

/// Splits received text into records at the record separator.
///
/// A transport frame may end in the middle of a record (the JS client never
/// does that, other clients and long polling bodies may) and one frame may
/// hold several records, e.g. the handshake followed by the first hub
/// messages. Records are yielded without their separator. An empty record
/// (two separators in a row) is yielded as an empty view; the parser rejects
/// it as invalid JSON.
class record_reader {
public:
  enum class status {
    ok,
    /// A record would exceed the size limit. The chunk was not buffered: the
    /// caller reports `LIMIT_EXCEEDED` and closes the connection.
    limit_exceeded,
  };

  /// @param max_record_size Largest accepted record in bytes, without the
  ///        separator (the real-time message limit from the config).
  explicit record_reader(size_t max_record_size) noexcept
      : max_record_size_(max_record_size) {}

  /// Buffers `chunk`, unless any record it completes or starts would be
  /// larger than the limit. Invalidates views returned by `next()`.
  [[nodiscard]] status append(std::string_view chunk);

  /// Returns the next complete record, or nothing until more data arrives.
  /// The view stays valid until the next `append()` or `clear()`.
  std::optional<std::string_view> next() noexcept;

  /// Bytes buffered but not yet returned by `next()` (complete records and
  /// the incomplete tail).
  size_t buffered() const noexcept {
    return buf_.size() - read_pos_;
  }

  /// True when a record has started but its separator has not arrived.
  bool has_partial_record() const noexcept {
    return partial_ > 0;
  }

  /// Drops everything buffered.
  void clear() noexcept;

  size_t max_record_size() const noexcept {
    return max_record_size_;
  }

private:
  size_t max_record_size_;
  std::string buf_;
  size_t read_pos_ = 0; ///< Start of the first record not yet returned.
  size_t partial_ = 0;  ///< Bytes of buf_ after its last separator.
};

// -- handshake ----------------------------------------------------------------

/// Outcome of `parse_handshake`. On failure `error` holds the text for
/// `encode_handshake_error` and the connection must be closed afterwards.
struct handshake_result {
  std::string protocol;
  int64_t version = 0;
  std::string error;

  bool ok() const noexcept {
    return error.empty();
  }
};

/// Parses the handshake request `{"protocol":"json","version":1}`, given
/// without its separator. Accepts protocol `json` with version 1 or 2 (the JS
/// client sends 2 only with stateful reconnect; accepting it anyway costs
/// nothing because version 2 only adds Ack/Sequence messages). MessagePack
/// is not served yet and is refused with the text ASP.NET uses.
handshake_result parse_handshake(std::string_view record);

/// `{}` plus separator: the handshake succeeded.
std::string encode_handshake_response();

/// `{"error":"..."}` plus separator. The JS client rejects `start()` with
/// "Server returned handshake error: <text>".
std::string encode_handshake_error(std::string_view text);

// -- received messages
// ---------------------------------------------------------

/// Numeric `type` of each hub message (HubProtocol.md).
enum class message_type : uint8_t {
  invocation = 1,
  stream_item = 2,
  completion = 3,
  stream_invocation = 4,
  cancel_invocation = 5,
  ping = 6,
  close = 7,
  ack = 8,
  sequence = 9,
};

/// Type 1: a method call. Without `invocation_id` it is non-blocking and the
/// callee must not answer. An empty id is treated the same way by ASP.NET.
struct invocation {
  std::optional<std::string> invocation_id;
  std::string target;
  nlohmann::json arguments = nlohmann::json::array(); ///< Always an array.
  std::vector<std::string> stream_ids;
};

/// Type 4: a call whose result is a stream. Always has an id.
struct stream_invocation {
  std::string invocation_id;
  std::string target;
  nlohmann::json arguments = nlohmann::json::array(); ///< Always an array.
  std::vector<std::string> stream_ids;
};

/// Type 2: one item of a stream (or of an upload stream, id = stream id).
struct stream_item {
  std::string invocation_id;
  nlohmann::json item;
};

/// Type 3: the end of a call. Neither `result` nor `error` means void.
struct completion {
  std::string invocation_id;
  std::optional<nlohmann::json> result;
  std::optional<std::string> error;
};

/// Type 5: the caller no longer wants a stream.
struct cancel_invocation {
  std::string invocation_id;
};

/// Type 6: keep-alive; any received message resets the client timeout.
struct ping_message {};

/// Type 7: the peer closes the connection.
struct close_message {
  std::optional<std::string> error;
  bool allow_reconnect = false;
};

/// Type 8 (stateful reconnect): highest sequence id the peer processed.
struct ack_message {
  uint64_t sequence_id = 0;
};

/// Type 9 (stateful reconnect): id of the next message the peer sends.
struct sequence_message {
  uint64_t sequence_id = 0;
};

/// A record that is not a valid hub message. `reason` is meant for logs and
/// for the `error` of a Close message; it never contains input bytes other
/// than already validated UTF-8 strings.
struct parse_error {
  std::string reason;
};

using hub_message
    = std::variant<parse_error, invocation, stream_invocation, stream_item,
                   completion, cancel_invocation, ping_message, close_message,
                   ack_message, sequence_message>;

/// Parses one record (without its separator). Unknown properties and
/// `headers` are ignored, as the spec requires of receivers; JSON nested
/// deeper than `max_json_depth` is refused while parsing.
hub_message parse_message(std::string_view record);

// -- encoders -----------------------------------------------------------------
//
// Each returns one complete record including the separator. Raw JSON
// arguments are spliced in verbatim: the caller guarantees they are valid
// JSON (they come from our own serializers), so they are never reparsed.

/// Appends `str` to `out` as a quoted JSON string. Escapes `"`, `\` and the
/// control characters below U+0020 (as `\u00XX`); keeps valid UTF-8 as is
/// and replaces each invalid byte with U+FFFD, because a browser closes a
/// WebSocket on invalid UTF-8 in a text frame.
void append_json_string(std::string& out, std::string_view str);

/// A non-blocking call of a client method, e.g. `PieceMoved`:
/// `{"type":1,"target":"...","arguments":<raw_arguments>}`.
/// @pre `raw_arguments` is a JSON array.
std::string encode_invocation(std::string_view target,
                              std::string_view raw_arguments);

/// `{"type":3,"invocationId":"...","result":<raw_result>}`.
/// @pre `raw_result` is valid JSON.
std::string encode_completion_result(std::string_view invocation_id,
                                     std::string_view raw_result);

/// `{"type":3,"invocationId":"..."}`: a call that returns nothing.
std::string encode_completion_void(std::string_view invocation_id);

/// `{"type":3,"invocationId":"...","error":"..."}`.
/// @pre `error_text` is not empty: the JS client rejects an empty error as
///      "Invalid payload for Completion message.".
std::string encode_completion_error(std::string_view invocation_id,
                                    std::string_view error_text);

/// `{"type":6}`. Never send it before the handshake response.
std::string encode_ping();

/// `{"type":7}` with an optional `error`; `allowReconnect` is written only
/// when true (as ASP.NET does). Without it the JS client stops for good.
std::string encode_close(std::optional<std::string_view> error,
                         bool allow_reconnect);

/// The body of the `POST .../negotiate` answer (no separator: plain HTTP).
///
/// `negotiate_version` is the client's query value (missing means 0); we
/// answer 1 for anything >= 1. Version 0 has no `connectionToken`: the client
/// then uses `connectionId` as the `id` query. Only WebSockets with the Text
/// format is offered for now; Server-Sent Events, Long Polling and the Binary
/// format (MessagePack) are added here when their transports exist, because
/// the client picks the first listed transport it supports.
std::string encode_negotiate_response(std::string_view connection_id,
                                      std::string_view connection_token,
                                      int negotiate_version);

} // namespace puzzle::transports::signalr
