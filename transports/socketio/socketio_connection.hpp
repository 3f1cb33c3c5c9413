#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/io_context.hpp>

#include "actors/client/client_interface.hpp"
#include "actors/client/client_port.hpp"
#include "transports/auth/connection_identity.hpp"
#include "transports/http/router.hpp"
#include "transports/socketio/engineio_session.hpp"
#include "transports/socketio/socketio_protocol.hpp"

namespace puzzle::transports::socketio {

class socketio_endpoint;
class socketio_websocket;

/// What runs on top of an Engine.IO session.
enum class app_mode : uint8_t {
  /// The puzzle events of contract.md section 5 (the normal case).
  puzzle,
  /// The reference Socket.IO echo app of the official test suite
  /// (`socketio.conformance`): namespaces `/` and `/custom`, `auth` echo,
  /// `message` -> `message-back`, `message-with-ack` acked.
  socketio_echo,
  /// The reference Engine.IO echo app (`/engine.io/`, conformance only):
  /// every message is sent back as it came.
  engineio_echo,
};

/// One Engine.IO session with the Socket.IO layer above it: the adapter
/// between the wire (held polling GETs, POST bodies, WebSocket frames) and
/// the connection's `client` actor.
///
/// The protocol rules live in `eio_session` (Engine.IO) and the codecs; this
/// class feeds them what happened, with the current time, and carries out
/// their effects: answering the held GET, writing frames, closing sockets,
/// dispatching Socket.IO packets. All state is guarded by one mutex; the
/// callers are HTTP handlers (connection strands), WebSocket reads (socket
/// strands), the heartbeat timer (this session's strand) and the client
/// actor (scheduler threads). Nothing blocks while the mutex is held: I/O is
/// posted to strands, actors get asynchronous messages.
class socketio_connection
    : public std::enable_shared_from_this<socketio_connection> {
public:
  using clock = eio_session::clock;

  socketio_connection(std::shared_ptr<socketio_endpoint> endpoint,
                      std::string sid, eio_transport transport, app_mode mode,
                      std::optional<std::string> request_token);

  ~socketio_connection();

  socketio_connection(const socketio_connection&) = delete;
  socketio_connection& operator=(const socketio_connection&) = delete;

  const std::string& sid() const noexcept {
    return sid_;
  }

  /// The open packet (the body of the polling handshake).
  std::string open_packet();

  /// Starts the heartbeat; for a WebSocket session `ws` is its transport
  /// and receives the open packet.
  void start(std::shared_ptr<socketio_websocket> ws);

  // -- polling ----------------------------------------------------------------

  /// A GET with this sid: answered now, or held until there is something.
  void on_get(http::responder respond);

  /// A POST with this sid and its body.
  void on_post(std::string_view body, http::responder respond);

  // -- WebSocket --------------------------------------------------------------

  /// A WebSocket opened with this sid (an upgrade probe). False: refused,
  /// close it.
  bool attach_probe(std::shared_ptr<socketio_websocket> ws);

  void on_ws_text(socketio_websocket* ws, std::string_view text);
  void on_ws_binary(socketio_websocket* ws, std::string_view bytes);
  void on_ws_closed(socketio_websocket* ws);

  // -- from the client actor (any thread)
  // --------------------------------------

  /// Queues a complete Engine.IO text packet (`42[...]`), shared between
  /// recipients.
  send_status send_shared(std::shared_ptr<const std::string> eio_text);

  /// The answer to call `call_id`: an ack `{ok: true, ...}` if the event
  /// had one.
  void deliver_result(const std::string& call_id,
                      std::shared_ptr<const std::string> json);

  /// A failed call: an ack `{ok: false, code, message}`, or an `error`
  /// event for an event without ack.
  void deliver_error(const std::string& call_id, errc code,
                     const std::string& message);

  /// Ends the session (node shutdown, the client actor's port closing).
  /// `reason` non-empty: an `error` event with it goes first.
  void close(const std::string& reason);

  /// Ends the session at once, without waiting for a polling client to
  /// fetch its close packet; the client actor leaves its sessions. For the
  /// node's shutdown, after `close`.
  void terminate();

private:
  struct pending_call {
    std::optional<uint64_t> ack;
    command_kind kind = command_kind::get_state;
    std::string session_id;
  };

  // All of these run with `mtx_` held.
  void apply_effects();
  void handle_message(const eio_packet& packet);
  void handle_packet(sio_packet& packet);
  void handle_connect(sio_packet& packet);
  void handle_event(sio_packet& packet);
  void handle_puzzle_event(sio_packet& packet);
  void send_text(std::string sio_text);
  void send_encoded(const sio_encoded& encoded);
  void send_ack(uint64_t id, const std::string& payload);
  void fail_connection(std::string_view why);
  void leave_namespace_root();
  void reschedule();
  void on_timer(boost::system::error_code ec);
  void finish();

  std::shared_ptr<socketio_endpoint> endpoint_;
  std::string sid_;
  app_mode mode_;
  std::optional<std::string> request_token_;
  boost::asio::strand<boost::asio::io_context::executor_type> strand_;
  boost::asio::steady_timer timer_;

  std::mutex mtx_;
  eio_session eio_;
  sio_decoder decoder_;
  std::optional<http::responder> held_;
  std::shared_ptr<socketio_websocket> ws_;
  std::shared_ptr<socketio_websocket> probe_;
  clock::time_point armed_ = clock::time_point::max();
  clock::time_point connect_deadline_;
  bool finished_ = false;

  // Socket.IO layer.
  std::map<std::string, std::string> namespaces_; ///< Joined: nsp -> sid.
  client_actor client_;
  std::unordered_map<std::string, pending_call> pending_;
  uint64_t next_call_ = 0;
  std::set<std::string> joined_sessions_;
};

} // namespace puzzle::transports::socketio
