#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include <boost/asio/buffer.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/websocket/rfc6455.hpp>
#include <boost/beast/websocket/stream.hpp>

#include "actors/client/client_interface.hpp"
#include "actors/client/client_port.hpp"
#include "transports/auth/connection_identity.hpp"
#include "transports/http/net_stream.hpp"
#include "transports/ws/write_gate.hpp"
#include "transports/ws/ws_protocol.hpp"

namespace puzzle::transports::ws {

class ws_endpoint;

/// One raw WebSocket connection (RFC 6455 by Beast, JSON text messages).
///
/// Beast enforces the framing rules (masking, control frames,
/// fragmentation, UTF-8 of text messages, close codes) and the message size
/// (`limits.max-message-bytes`, checked from the frame header before the
/// payload is read; over it the connection is closed with 1009). Reads and
/// all bookkeeping run on the connection's strand; frames to send arrive
/// from any thread through `enqueue()`, collected in an inbox that costs
/// one hand-off to the strand per batch, not per frame. The connection
/// frames its data messages itself and writes everything queued with one
/// gather write (one syscall for many messages) through a `write_gate`,
/// which keeps Beast's own frames (pongs, pings, Close) whole between
/// ours. At most one write is in flight; the queue is bounded by
/// `limits.outbound-queue-bytes`, and a client that reads too slowly is
/// closed with 1013 (try again later); a closing connection that cannot
/// flush within `limits.slow-write-timeout` has its socket cut.
class ws_connection : public std::enable_shared_from_this<ws_connection> {
public:
  using frame = std::shared_ptr<const std::string>;

  ws_connection(http::net_stream&& stream,
                std::shared_ptr<ws_endpoint> endpoint,
                auth::connection_identity identity);

  ~ws_connection();

  /// Accepts the WebSocket upgrade of `req` and starts reading.
  void start(boost::beast::http::request<boost::beast::http::string_body> req);

  /// Queues one text message; thread-safe, never blocks.
  send_status enqueue(frame bytes);

  /// The answer to call `call_id` (from the client actor): an `ack`, or
  /// `subscribed`/`unsubscribed` for a session channel. Thread-safe.
  void deliver_result(std::string call_id,
                      std::shared_ptr<const std::string> json);

  /// A failed call (`call_id` empty: a call without `id`). Thread-safe.
  void deliver_error(std::string call_id, errc code, std::string message);

  /// Sends what is queued, then a Close frame with `code` and `reason`.
  /// Thread-safe; later calls are ignored.
  void close_with(boost::beast::websocket::close_code code, std::string reason);

private:
  /// What an answer needs to know about its call.
  struct pending_call {
    std::string id; ///< The client's id as JSON text (may be empty).
    std::string op;
    std::string channel; ///< Set when the call is a session (un)subscribe.
  };

  void on_accept(boost::beast::error_code ec);
  void do_read();
  void on_read(boost::beast::error_code ec, std::size_t bytes);
  /// Something for the strand, in the order the producers handed it over.
  struct outbound {
    enum class kind { frame, result, error } what = kind::frame;
    frame bytes; ///< kind::frame, or the result's JSON.
    std::string call_id;
    errc code{};
    std::string message;
  };

  void post_outbound(outbound item);
  void drain_inbox();
  void handle_message(std::string_view text);
  void handle_subscription(subscribe_request& req);
  void handle_broadcast(broadcast_request& req, const std::string& id);
  void send_command(client_command cmd, pending_call call);
  void push_local(std::string text);
  void push(frame bytes);
  void do_write();
  void on_write(boost::beast::error_code ec, std::size_t bytes);
  void on_slow_write(boost::beast::error_code ec);
  void start_close();
  void finish();

  boost::beast::websocket::stream<write_gate<http::net_stream>> ws_;
  boost::beast::flat_buffer buffer_;
  std::shared_ptr<ws_endpoint> endpoint_;
  auth::connection_identity identity_;
  protocol_limits limits_;
  uint64_t max_queue_bytes_;
  client_actor client_;

  // Strand only.
  std::unordered_map<std::string, pending_call> pending_;
  uint64_t next_call_ = 0;
  std::set<std::string> channels_; ///< Subscribed non-session channels.
  std::deque<frame> queue_;
  std::vector<frame> in_flight_;
  std::string headers_; ///< Frame headers of the write in flight.
  std::vector<boost::asio::const_buffer> write_buffers_;
  boost::asio::steady_timer slow_write_timer_;
  bool writing_ = false;
  bool closed_ = false; ///< The Close frame is sent or the socket is gone.
  bool finished_ = false;
  boost::beast::websocket::close_reason close_reason_;
  bool close_after_flush_ = false;

  // Any thread: filled by enqueue()/deliver_*(), emptied on the strand.
  std::mutex inbox_mutex_;
  std::vector<outbound> inbox_;

  std::atomic<uint64_t> queued_bytes_{0};
  std::atomic<bool> closing_{false};
};

} // namespace puzzle::transports::ws
