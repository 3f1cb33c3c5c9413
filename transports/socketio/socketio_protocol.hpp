#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "transports/socketio/codec_result.hpp"

/// Socket.IO protocol version 5 (the default socket.io-parser encoding) as
/// pure functions: packet parsing with limits, binary attachment
/// reconstruction, and encoders.
///
/// A Socket.IO packet travels as the data of one Engine.IO `message` packet
/// (the `4` prefix is the Engine.IO layer's business, not this one's). Its
/// text form is
///
///     <type>[<attachments>-][<namespace>,][<ack id>][<JSON payload>]
///
/// and a BINARY_EVENT or BINARY_ACK is followed by one binary Engine.IO
/// message per attachment, which replaces the placeholder
/// `{"_placeholder":true,"num":n}` in the payload. Nothing here touches
/// sockets, Beast or CAF; every input is bounded by `sio_limits` and every
/// failure is an `sio_errc`. Wire facts: `protocols.md` section 2.2 and the
/// README of socketio/socket.io-protocol.
namespace puzzle::transports::socketio {

/// The main namespace; omitted on the wire.
constexpr std::string_view default_namespace = "/";

/// Largest accepted ack id: `Number.MAX_SAFE_INTEGER` (2^53 - 1), the last
/// integer a JavaScript peer can count to exactly.
constexpr uint64_t max_ack_id = 9'007'199'254'740'991;

/// Socket.IO packet types; the value is the digit on the wire.
enum class sio_packet_type : uint8_t {
  connect = 0,       ///< Join a namespace; the answer carries `{"sid":…}`.
  disconnect = 1,    ///< Leave a namespace; no payload.
  event = 2,         ///< `["name", args…]`, maybe with an ack id.
  ack = 3,           ///< The answer to an event with an ack id: `[args…]`.
  connect_error = 4, ///< Namespace refused: `{"message":…, "data"?:…}`.
  binary_event = 5,  ///< An event with binary attachments.
  binary_ack = 6,    ///< An ack with binary attachments.
};

/// The protocol's upper-case name (`"CONNECT"` ... `"BINARY_ACK"`).
std::string_view to_string(sio_packet_type type) noexcept;

/// Why a text or binary message is not a valid Socket.IO packet. Numbers
/// and names are stable: they appear in logs and tests. Every one of them
/// means the peer is broken or hostile; the reference server closes the
/// connection.
enum class sio_errc : uint8_t {
  /// Zero-length text.
  empty_packet = 1,
  /// Longer than `sio_limits::max_packet_bytes`; checked first.
  packet_too_large = 2,
  /// The first byte is not a type digit `0`..`6`.
  invalid_packet_type = 3,
  /// A binary type without `<digits>-` after the type digit.
  invalid_attachments = 4,
  /// More attachments announced than `sio_limits::max_attachments`.
  too_many_attachments = 5,
  /// A namespace with a byte outside the URL path characters, longer than
  /// the limit, or (heuristically) a namespace written without its leading
  /// `/`, as in `2admin,["x"]`.
  invalid_namespace = 6,
  /// An ack id above `max_ack_id`, or an ACK without an id.
  invalid_ack_id = 7,
  /// The payload is not one JSON value (includes invalid UTF-8), or it
  /// nests deeper than `sio_limits::max_json_depth`. (9 is retired.)
  invalid_json = 8,
  /// The payload has the wrong shape for the type: CONNECT not an object,
  /// DISCONNECT with a payload, EVENT not a non-empty array starting with a
  /// string, ACK not an array, CONNECT_ERROR without a string `message`.
  invalid_payload = 10,
  /// An EVENT named `connect`, `connect_error`, `disconnect`,
  /// `disconnecting`, `newListener` or `removeListener`.
  reserved_event_name = 11,
  /// A placeholder whose `num` is not an integer below the attachment count.
  invalid_placeholder = 12,
  /// A binary message while no packet awaits attachments.
  unexpected_attachment = 13,
  /// A text message while a packet still awaits attachments.
  missing_attachment = 14,
  /// The attachments of one packet exceed
  /// `sio_limits::max_attachment_bytes` in total.
  attachments_too_large = 15,
};

/// The stable name of an error, e.g. `"invalid_namespace"`.
std::string_view to_string(sio_errc err) noexcept;

/// Bounds applied while decoding. The defaults suit the puzzle events; the
/// endpoint fills them from config.
struct sio_limits {
  /// Longest packet text in bytes (the contract's 64 KiB per real-time
  /// message).
  size_t max_packet_bytes = 64 * 1024;
  /// Deepest array/object nesting in a payload. Puzzle events need 3
  /// (arguments array, payload object, one nested array or object).
  size_t max_json_depth = 32;
  /// Most attachments one packet may announce (socket.io-parser's default).
  size_t max_attachments = 10;
  /// Most bytes all attachments of one packet may hold together.
  size_t max_attachment_bytes = 1'000'000;
  /// Longest namespace in bytes, including the leading `/`.
  size_t max_namespace_bytes = 128;
};

/// One Socket.IO packet.
///
/// `data` is the payload; `null` means none (a valid payload is never
/// `null`). After reconstruction, binary attachments are JSON binary values
/// (`nlohmann::json::binary_t`) where the placeholders were; the encoder
/// turns binary values back into placeholders.
struct sio_packet {
  sio_packet_type type = sio_packet_type::event;
  std::string nsp{default_namespace};
  std::optional<uint64_t> id;
  nlohmann::json data;
  /// Attachments announced in the header (binary types only).
  size_t attachments = 0;

  /// True for BINARY_EVENT and BINARY_ACK.
  bool is_binary() const noexcept {
    return type == sio_packet_type::binary_event
        || type == sio_packet_type::binary_ack;
  }

  /// The event name of a decoded EVENT or BINARY_EVENT, else empty.
  std::string_view event_name() const noexcept;
};

// -- decoding -----------------------------------------------------------------

/// Parses the text of one packet.
///
/// For a binary type the result still holds the placeholders (validated
/// against the announced count) and awaits `attachments` binary messages;
/// `sio_decoder` does that bookkeeping. As in socket.io-parser, the comma
/// after a namespace may be left out when nothing follows (`40/admin`), and
/// leading zeros in ack ids are accepted. Event names must be strings (the
/// reference also allows numbers; no client of ours sends them).
codec_result<sio_packet, sio_errc> decode_sio_packet(std::string_view text,
                                                     const sio_limits& limits);

/// Turns Engine.IO messages into complete Socket.IO packets, waiting for the
/// attachments of binary packets.
///
/// One instance per Engine.IO session; messages must be fed in arrival
/// order. After an error the decoder is reset and the caller closes the
/// connection.
class sio_decoder {
public:
  /// `std::nullopt` means "valid, but waiting for more attachments".
  using step = codec_result<std::optional<sio_packet>, sio_errc>;

  explicit sio_decoder(sio_limits limits = {}) : limits_(limits) {
    // nop
  }

  /// Feeds a text message. A packet without attachments completes at once.
  step on_text(std::string_view text);

  /// Feeds a binary message: the next attachment of the pending packet.
  step on_binary(std::string_view bytes);

  /// True while a binary packet waits for attachments.
  bool awaiting_attachments() const noexcept {
    return pending_.has_value();
  }

  /// Drops a pending packet and its attachments.
  void reset() noexcept;

  const sio_limits& limits() const noexcept {
    return limits_;
  }

private:
  step finish();

  sio_limits limits_;
  std::optional<sio_packet> pending_;
  std::vector<std::string> buffers_;
  size_t buffered_bytes_ = 0;
};

// -- encoding -----------------------------------------------------------------

/// A packet ready for Engine.IO: `text` goes into one message (prefix it with
/// `4`), then each attachment into one binary message, in order.
struct sio_encoded {
  std::string text;
  std::vector<std::string> attachments;
};

/// Encodes any packet, extracting binary values from `data` into
/// attachments (depth-first, array order, object keys in sorted order) and
/// numbering the placeholders in that order. An EVENT or ACK with binary
/// values is sent as BINARY_EVENT or BINARY_ACK; a binary type without any
/// is sent with `0-`. Invalid UTF-8 in strings is replaced by U+FFFD.
/// @pre `nsp` starts with `/`.
sio_encoded encode_sio_packet(const sio_packet& packet);

// The encoders below build the text directly from pre-serialised JSON
// (`raw_*`), so a broadcast payload is serialised once and never reparsed.
// @pre Every `raw_*` argument is valid JSON of the documented shape, and
// `nsp` starts with `/`.

/// `2[<nsp>,][<id>]["<event>"(,<raw_args>)]`. `raw_args` is zero or more
/// comma-separated JSON values, e.g. `{"pieceId":3}` or `1,"2"`.
std::string encode_sio_event(std::string_view nsp, std::string_view event,
                             std::string_view raw_args,
                             std::optional<uint64_t> ack_id = std::nullopt);

/// `3[<nsp>,]<id>[<raw_args>]`: the answer to an event with ack `id`.
std::string encode_sio_ack(std::string_view nsp, uint64_t id,
                           std::string_view raw_args);

/// `0[<nsp>,]{"sid":"<sid>"}`: namespace joined. The Socket.IO sid must
/// differ from the Engine.IO sid, and socket.io-client insists on it.
std::string encode_sio_connect(std::string_view nsp, std::string_view sid);

/// `4[<nsp>,]{"message":"<message>"(,"data":<raw_data>)}`: namespace
/// refused. The client reports `message` as the error's text and `data` as
/// its `data`.
std::string encode_sio_connect_error(std::string_view nsp,
                                     std::string_view message,
                                     std::optional<std::string_view> raw_data
                                     = std::nullopt);

/// `1[<nsp>,]`: the server leaves the namespace; the client then does not
/// reconnect on its own.
std::string encode_sio_disconnect(std::string_view nsp);

} // namespace puzzle::transports::socketio
