#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "transports/socketio/codec_result.hpp"
#include "transports/socketio/engineio_protocol.hpp"

/// The Engine.IO v4 server-side session rules as a state machine without
/// I/O: request classification, long-polling (one held GET, POST routing),
/// the polling-to-WebSocket upgrade and the heartbeat schedule.
///
/// The endpoint owns sockets and timers; it feeds this class what happened
/// (a request, a frame, a closed socket, the current time) and carries out
/// what the class decides: answer a request, write frames, close a socket.
/// Time is always passed in, so tests step through timeouts without
/// sleeping. Wire facts: `protocols.md` section 2.1 and the engine.io
/// reference server's behaviour as checked by the official test suite.
namespace puzzle::transports::socketio {

// -- request classification ---------------------------------------------------

/// The two transports of Engine.IO v4.
enum class eio_transport : uint8_t {
  polling = 0,
  websocket = 1,
};

/// `"polling"` or `"websocket"`, as in the `transport` query parameter.
std::string_view to_string(eio_transport transport) noexcept;

/// Why a request to the Engine.IO path is refused. The numbers are the
/// reference server's `code` values in its JSON error body; see
/// `encode_request_error` and `http_status`.
enum class eio_request_error : uint8_t {
  unknown_transport = 0,
  unknown_sid = 1,
  bad_handshake_method = 2,
  bad_request = 3,
  forbidden = 4,
  unsupported_protocol_version = 5,
};

/// The stable name, e.g. `"unknown_sid"`.
std::string_view to_string(eio_request_error err) noexcept;

/// The HTTP status for a refused request: 403 for `forbidden`, else 400.
unsigned http_status(eio_request_error err) noexcept;

/// The reference server's error body, e.g.
/// `{"code":1,"message":"Session ID unknown"}`.
std::string encode_request_error(eio_request_error err);

/// The request methods the classification distinguishes.
enum class http_method : uint8_t {
  get,
  post,
  other,
};

/// What a valid request to the Engine.IO path asks for.
enum class eio_request_kind : uint8_t {
  /// GET, polling, no sid: create a session; answer with its open packet.
  polling_handshake,
  /// GET, polling, sid: receive (long poll).
  poll,
  /// POST, polling, sid: send a payload.
  post,
  /// WebSocket upgrade, no sid: create a WebSocket-only session.
  websocket_handshake,
  /// WebSocket upgrade with the sid of a polling session: probe and upgrade.
  websocket_upgrade,
};

/// A classified request. `sid` is empty for the handshakes.
struct eio_request {
  eio_request_kind kind = eio_request_kind::polling_handshake;
  std::string sid;
};

/// Classifies a request from its method, whether it asks for a WebSocket
/// upgrade, and the raw (already percent-decoded) query values; `nullopt`
/// means absent. Checks, in the reference server's order: `transport` is
/// `polling` or `websocket`, `EIO` is `4`, a handshake is a GET, a
/// `websocket` request is an upgrade and a `polling` one is not. Whether a
/// sid exists is the caller's lookup (`unknown_sid`).
codec_result<eio_request, eio_request_error>
classify_request(http_method method, bool websocket_upgrade,
                 std::optional<std::string_view> eio,
                 std::optional<std::string_view> transport,
                 std::optional<std::string_view> sid);

// -- session ------------------------------------------------------------------

/// Tunables of one session; the endpoint fills them from config. The
/// defaults are the reference server's.
struct eio_session_options {
  /// Time between the end of one heartbeat and the next server ping.
  std::chrono::milliseconds ping_interval{25'000};
  /// Time the client has to answer a ping with a pong. Also bounds how long
  /// a closing polling session waits for a GET to deliver its close packet.
  std::chrono::milliseconds ping_timeout{20'000};
  /// Time from opening a probe WebSocket to the `5` (upgrade) packet.
  std::chrono::milliseconds upgrade_timeout{10'000};
  /// Offer the WebSocket upgrade to polling sessions.
  bool allow_upgrades = true;
  /// Bounds of POST bodies; `max_payload_bytes` is advertised to clients.
  payload_limits payload;
  /// Most bytes queued for the client. Beyond it the client is too slow to
  /// keep up and the session closes (`buffer_overflow`) rather than grow.
  size_t max_buffered_bytes = 4 * 1024 * 1024;
};

/// The state of a session.
enum class eio_session_state : uint8_t {
  /// Polling transport, no upgrade under way.
  polling,
  /// Polling transport, and a probe WebSocket is attached.
  upgrading,
  /// WebSocket transport (from the start or after an upgrade).
  websocket,
  /// `close()` was called; queued packets are still delivered.
  closing,
  /// Over; see `close_reason()`. Every request with this sid gets 400.
  closed,
};

/// `"polling"` ... `"closed"`.
std::string_view to_string(eio_session_state state) noexcept;

/// Why a session ended. Stable names for logs and metrics.
enum class eio_close_reason : uint8_t {
  /// The client sent a close packet (`1`).
  client_close = 1,
  /// `close()` was called.
  server_close = 2,
  /// No pong within `ping_timeout` of a ping.
  ping_timeout = 3,
  /// A packet or payload from the client could not be decoded.
  parse_error = 4,
  /// The client broke a rule: a second concurrent GET, an oversized POST,
  /// an open packet.
  protocol_error = 5,
  /// The WebSocket of a WebSocket session closed or failed.
  transport_close = 6,
  /// More than `max_buffered_bytes` waited for the client.
  buffer_overflow = 7,
};

/// `"client_close"` ... `"buffer_overflow"`.
std::string_view to_string(eio_close_reason reason) noexcept;

/// One outbound packet, encoded once and shareable between sessions (a
/// broadcast is serialised once). Text frames hold the full Engine.IO text
/// (`42[...]`); binary frames hold the raw bytes of a binary message.
struct eio_frame {
  std::shared_ptr<const std::string> data;
  bool binary = false;
};

/// Result of `eio_session::send`.
enum class eio_send_status : uint8_t {
  /// Accepted for delivery.
  queued,
  /// Not accepted: the session is closing or closed (possibly because this
  /// frame overflowed the queue).
  closing,
};

/// What the endpoint must do after feeding the session an input. Collected
/// by `take_effects()`; each field is empty or false when there is nothing
/// to do.
struct eio_effects {
  /// Answer the held GET with 200 and this body (`text/plain;
  /// charset=UTF-8`).
  std::optional<std::string> poll_response;
  /// Write these frames on the active WebSocket, in order, then
  /// `close_websocket` if set.
  std::vector<eio_frame> ws_frames;
  /// Close the active WebSocket (after writing `ws_frames`).
  bool close_websocket = false;
  /// Close the probe WebSocket: the upgrade failed or timed out, or the
  /// session ended during it.
  bool close_probe = false;
  /// Received message packets for the Socket.IO layer, in order.
  std::vector<eio_packet> messages;
};

/// One Engine.IO session on the server side.
///
/// Not thread-safe: the endpoint calls it from one strand or actor. After
/// every input it calls `take_effects()` and carries them out; when
/// `state()` is `closed` it drops the session (after the effects), and
/// every later request with the sid is answered `unknown_sid`.
///
/// Long polling: at most one GET is held. A second GET while one is held
/// closes the session (the held one gets `1`, the new one 400), as the
/// specification requires. POST bodies are processed whole and at once, so
/// two POSTs never overlap here; an endpoint that streams bodies must
/// refuse a second concurrent POST itself.
class eio_session {
public:
  using clock = std::chrono::steady_clock;
  using time_point = clock::time_point;

  /// Outcome of a GET on the polling transport.
  enum class get_action : uint8_t {
    /// Answer 200 with `body` now.
    respond,
    /// Hold the request; `take_effects().poll_response` answers it later.
    hold,
    /// Answer 400 with `encode_request_error(bad_request)`.
    reject,
  };

  struct get_outcome {
    get_action action = get_action::reject;
    std::string body;
  };

  /// Outcome of a POST on the polling transport.
  enum class post_action : uint8_t {
    /// Answer 200 with the body `ok`.
    ok,
    /// Answer 400 with `encode_request_error(bad_request)`.
    reject,
    /// Answer 413: the body exceeded `max_payload_bytes`.
    too_large,
  };

  /// Outcome of a frame on the probe WebSocket.
  enum class probe_action : uint8_t {
    /// Write `reply` on the probe WebSocket (`3probe`).
    reply,
    /// The probe WebSocket is now the session's transport.
    upgraded,
    /// Close the probe WebSocket; the session stays on polling.
    reject,
  };

  struct probe_outcome {
    probe_action action = probe_action::reject;
    std::string reply;
  };

  /// Creates a session that was opened on `transport` at `now`. A WebSocket
  /// session queues its open packet as the first frame; a polling session's
  /// open packet is the body of the handshake GET (`open_packet()`).
  eio_session(std::string sid, eio_transport transport,
              eio_session_options options, time_point now);

  eio_session(const eio_session&) = delete;
  eio_session& operator=(const eio_session&) = delete;
  eio_session(eio_session&&) noexcept = default;
  eio_session& operator=(eio_session&&) noexcept = default;

  const std::string& sid() const noexcept {
    return sid_;
  }

  eio_session_state state() const noexcept {
    return state_;
  }

  /// The transport that carries the session's packets now.
  eio_transport transport() const noexcept {
    return transport_;
  }

  /// Why the session closed; empty unless `state()` is `closed`.
  std::optional<eio_close_reason> close_reason() const noexcept {
    return close_reason_;
  }

  /// The open packet with this session's sid, upgrades and options.
  std::string open_packet() const;

  /// Bytes queued for the client.
  size_t buffered_bytes() const noexcept {
    return buffered_bytes_;
  }

  // -- long polling -----------------------------------------------------------

  /// A GET with this sid arrived.
  get_outcome on_get(time_point now);

  /// The held GET's connection went away before it was answered.
  void on_poll_aborted() noexcept;

  /// A POST with this sid arrived, with its whole body. Message packets go
  /// to `take_effects().messages`.
  post_action on_post(std::string_view body, time_point now);

  // -- WebSocket --------------------------------------------------------------

  /// A WebSocket with this sid opened (an upgrade attempt). False: close
  /// the new socket; the session is unaffected (only a polling session
  /// without a probe under way accepts one).
  bool on_probe_open(time_point now);

  /// A text frame on the probe WebSocket.
  probe_outcome on_probe_text(std::string_view frame, time_point now);

  /// A binary frame on the probe WebSocket: never valid before the upgrade.
  probe_outcome on_probe_binary(time_point now);

  /// The probe WebSocket closed before the upgrade completed.
  void on_probe_closed(time_point now);

  /// A text frame on the session's WebSocket.
  void on_ws_text(std::string_view frame, time_point now);

  /// A binary frame on the session's WebSocket: a binary message.
  void on_ws_binary(std::string_view frame, time_point now);

  /// The session's WebSocket closed or failed.
  void on_ws_closed(time_point now);

  // -- output, time, close ----------------------------------------------------

  /// Queues a frame for the client.
  eio_send_status send(eio_frame frame);

  /// Queues `sio_text` as a message packet (`4` + text).
  eio_send_status send_message(std::string_view sio_text);

  /// Queues raw bytes as a binary message packet.
  eio_send_status send_binary(std::string_view bytes);

  /// Advances the heartbeat and the upgrade and close timeouts to `now`.
  void on_tick(time_point now);

  /// When `on_tick` must be called next; `time_point::max()` once closed.
  time_point next_deadline() const noexcept;

  /// Ends the session from the server side. Queued packets are still
  /// delivered: on polling with a close packet `1` to the next GET (waiting
  /// at most `ping_timeout` for it), on WebSocket before the socket closes.
  void close(time_point now);

  /// Everything the endpoint must do now; clears it.
  eio_effects take_effects();

private:
  /// Ends the session now; the held GET gets `1`, or `6` when the client
  /// closed it (as the reference server answers).
  void fail(eio_close_reason reason);

  /// Applies one packet received on the session's transport.
  void handle_packet(eio_packet packet, time_point now);

  /// Queues a text packet the session itself generates (ping).
  void queue_control(eio_packet_type type);

  /// Joins and clears the queue as a polling body.
  std::string drain_as_payload();

  void abort_upgrade();

  std::string sid_;
  eio_transport transport_;
  eio_session_options options_;
  eio_session_state state_;
  std::optional<eio_close_reason> close_reason_;
  std::deque<eio_frame> queue_;
  size_t buffered_bytes_ = 0;
  eio_effects effects_;
  // Long polling.
  bool poll_held_ = false;
  // Upgrade.
  bool probed_ = false;
  time_point upgrade_deadline_;
  // Heartbeat.
  bool awaiting_pong_ = false;
  time_point next_ping_;
  time_point pong_deadline_;
  // Closing.
  time_point close_deadline_;
};

} // namespace puzzle::transports::socketio
