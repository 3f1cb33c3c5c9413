#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "transports/socketio/codec_result.hpp"

/// Engine.IO protocol version 4 as pure functions: packets, HTTP
/// long-polling payloads, the open (handshake) packet and base64.
///
/// Nothing here touches sockets, Beast or CAF, so a fuzzer can feed every
/// function arbitrary bytes. Input sizes are checked before anything is
/// allocated, and malformed input comes back as an `eio_errc`, never as an
/// exception. Wire facts: `protocols.md` section 2.1 and the README of
/// socketio/engine.io-protocol.
namespace puzzle::transports::socketio {

/// Separates the packets of one long-polling payload (ASCII RS, 0x1E).
constexpr char record_separator = '\x1e';

/// Marks a base64-encoded binary packet inside a long-polling payload.
constexpr char binary_prefix = 'b';

/// The `EIO` query value this codec speaks.
constexpr int engineio_version = 4;

/// Engine.IO packet types; the value is the digit on the wire.
enum class eio_packet_type : uint8_t {
  open = 0,    ///< Server to client: handshake data (JSON).
  close = 1,   ///< Either side: the transport (and session) ends.
  ping = 2,    ///< Server heartbeat; `2probe` from the client while upgrading.
  pong = 3,    ///< Heartbeat answer; `3probe` from the server while upgrading.
  message = 4, ///< Application data, text or binary.
  upgrade = 5, ///< Client: switch the session to the probed WebSocket.
  noop = 6,    ///< Server: ends a pending poll during an upgrade or close.
};

/// Lower-case name of a packet type (`"open"` ... `"noop"`).
std::string_view to_string(eio_packet_type type) noexcept;

/// Why bytes are not a valid Engine.IO packet or payload. Numbers and names
/// are stable: they appear in logs and tests.
enum class eio_errc : uint8_t {
  /// A zero-length packet: an empty WebSocket text frame, an empty polling
  /// body, or two separators in a row.
  empty_packet = 1,
  /// The first byte is neither a type digit `0`..`6` nor `b`.
  invalid_packet_type = 2,
  /// A `b` packet whose base64 is malformed (bad alphabet, length or
  /// padding).
  invalid_base64 = 3,
  /// The payload is larger than `max_payload_bytes`; checked first.
  payload_too_large = 4,
  /// The payload holds more packets than `max_packets`; checked before any
  /// packet is decoded.
  too_many_packets = 5,
  /// An open packet whose JSON is malformed or lacks a required field.
  invalid_handshake = 6,
};

/// The stable name of an error, e.g. `"invalid_packet_type"`.
std::string_view to_string(eio_errc err) noexcept;

/// One Engine.IO packet.
///
/// `data` is text after the type digit for text packets and the raw bytes
/// for binary ones. Only `message` packets are binary: on the wire they are
/// a WebSocket binary frame (no type prefix) or `b<base64>` in a polling
/// payload.
struct eio_packet {
  eio_packet_type type = eio_packet_type::message;
  std::string data;
  bool binary = false;

  /// A text packet of `type` with optional payload, e.g. `2probe`.
  static eio_packet text(eio_packet_type type, std::string data = {}) {
    return eio_packet{type, std::move(data), false};
  }

  /// A binary message packet holding `bytes`.
  static eio_packet bytes(std::string bytes) {
    return eio_packet{eio_packet_type::message, std::move(bytes), true};
  }

  friend bool operator==(const eio_packet& x, const eio_packet& y) {
    return x.type == y.type && x.binary == y.binary && x.data == y.data;
  }

  friend bool operator!=(const eio_packet& x, const eio_packet& y) {
    return !(x == y);
  }
};

// -- packets ------------------------------------------------------------------

/// Decodes one text packet: a WebSocket text frame or one record of a
/// polling payload. `b<base64>` decodes to a binary message in both places,
/// as the reference parser does. Any data after the type digit is kept, for
/// every type (`2probe`); whether it is allowed is the session's call.
codec_result<eio_packet, eio_errc> decode_eio_packet(std::string_view text);

/// A WebSocket binary frame: always a binary message, any length (the
/// WebSocket layer enforces the message size limit).
eio_packet decode_binary_frame(std::string_view bytes);

/// The text form of a packet: `<digit><data>`, or `b<base64>` for a binary
/// message (the polling form; over WebSocket send `data` raw instead).
std::string encode_eio_packet(const eio_packet& packet);

/// `<digit><data>` without building an `eio_packet`, for hot paths such as
/// wrapping an already encoded Socket.IO packet: `encode_eio_text(message, s)`.
std::string encode_eio_text(eio_packet_type type, std::string_view data = {});

// -- long-polling payloads ----------------------------------------------------

/// Bounds for decoding a polling payload (a POST body).
struct payload_limits {
  /// Largest accepted body in bytes; advertised as `maxPayload` in the open
  /// packet, so honest clients never exceed it (they split batches).
  size_t max_payload_bytes = 1'000'000;
  /// Most packets accepted in one body. A body of separators only would
  /// otherwise cost one vector entry per byte.
  size_t max_packets = 256;
};

/// Splits a polling body at the record separator and decodes every packet.
///
/// All or nothing: the first bad record fails the whole body (the session
/// then answers 400 and closes). An empty body is `empty_packet`.
codec_result<std::vector<eio_packet>, eio_errc>
decode_payload(std::string_view body, const payload_limits& limits);

/// Appends `packet` to a polling body under construction, with a separator
/// unless `body` is empty. Binary messages are written as `b<base64>`.
void append_to_payload(std::string& body, const eio_packet& packet);

/// Appends a packet that is already in text form (`encode_eio_text` output),
/// with a separator unless `body` is empty.
void append_encoded_to_payload(std::string& body, std::string_view encoded);

/// All packets joined into one polling body.
std::string encode_payload(const std::vector<eio_packet>& packets);

// -- handshake ----------------------------------------------------------------

/// The JSON of the open packet.
///
/// `upgrades` is `["websocket"]` for a session opened by polling and empty
/// for a WebSocket-only session. The defaults are the reference server's
/// (engine.io 6.x); the endpoint fills them from config.
struct open_handshake {
  std::string sid;
  std::vector<std::string> upgrades;
  uint64_t ping_interval_ms = 25'000;
  uint64_t ping_timeout_ms = 20'000;
  uint64_t max_payload = 1'000'000;

  friend bool operator==(const open_handshake& x, const open_handshake& y) {
    return x.sid == y.sid && x.upgrades == y.upgrades
        && x.ping_interval_ms == y.ping_interval_ms
        && x.ping_timeout_ms == y.ping_timeout_ms
        && x.max_payload == y.max_payload;
  }
};

/// The complete open packet, e.g. `0{"sid":"…","upgrades":["websocket"],
/// "pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}`, keys in
/// the reference server's order. Strings are JSON-escaped.
std::string encode_open_packet(const open_handshake& handshake);

/// Parses the data of an open packet (the JSON after the `0`), as a client
/// does. Unknown keys are ignored; the five known ones are required with
/// their JSON types. Meant for our own test clients.
codec_result<open_handshake, eio_errc>
decode_open_packet(std::string_view json_text);

// -- base64 -------------------------------------------------------------------

/// Standard base64 (RFC 4648 section 4) with `=` padding.
std::string base64_encode(std::string_view bytes);

/// Strict inverse of `base64_encode`: length a multiple of 4, `=` only as
/// the last one or two characters, no whitespace, and unused bits of the
/// last group zero (so each byte string has exactly one accepted encoding).
/// The output is never longer than 3/4 of the input.
std::optional<std::string> base64_decode(std::string_view text);

} // namespace puzzle::transports::socketio
