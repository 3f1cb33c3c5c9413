#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/buffer.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/websocket/rfc6455.hpp>
#include <boost/beast/websocket/stream.hpp>

#include "transports/http/net_stream.hpp"
#include "transports/socketio/engineio_session.hpp"
#include "transports/ws/write_gate.hpp"

namespace puzzle::transports::socketio {

class socketio_connection;

/// One WebSocket carrying an Engine.IO session: a WebSocket-only session
/// from the start, or the probe of a polling session that may become its
/// transport (`socketio_connection` decides which).
///
/// One Engine.IO packet per WebSocket message: text packets as text frames,
/// binary messages as binary frames without a type prefix. Beast enforces
/// the framing rules and the message size (`socketio.max-payload`, checked
/// from the frame header, 1009 when exceeded). Reads and writes run on the
/// socket's strand; frames to send arrive from any thread through `send()`
/// into an inbox that costs one hand-off to the strand per batch. The
/// socket frames its messages itself and writes what is queued with one
/// gather write through a `ws::write_gate` (Beast's own control frames stay
/// whole between ours). At most one write is in flight, and the queue is
/// bounded by
/// `limits.outbound-queue-bytes`: a client that reads too slowly is closed
/// (1013, try again later) instead of making us buffer without bound.
class socketio_websocket
    : public std::enable_shared_from_this<socketio_websocket> {
public:
  /// Called once the WebSocket handshake is done (`true`) or failed.
  using open_handler = std::function<void(bool)>;

  socketio_websocket(http::net_stream&& stream, uint64_t max_message,
                     uint64_t max_queue_bytes,
                     std::chrono::milliseconds handshake_timeout,
                     std::chrono::milliseconds slow_write_timeout,
                     std::shared_ptr<std::atomic<size_t>> open_counter);

  ~socketio_websocket();

  socketio_websocket(const socketio_websocket&) = delete;
  socketio_websocket& operator=(const socketio_websocket&) = delete;

  /// Accepts the upgrade of `req`; `done` runs on the socket's strand.
  void start(boost::beast::http::request<boost::beast::http::string_body> req,
             open_handler done);

  /// Starts reading; every frame goes to `owner` (held weakly).
  /// @pre `start` reported success.
  void attach(std::weak_ptr<socketio_connection> owner);

  /// Queues frames, in order; thread-safe, never blocks. False when the
  /// socket is closing (or just closed because the queue overflowed).
  bool send(std::vector<eio_frame> frames);

  /// Sends what is queued, then closes with `code`. Thread-safe;
  /// idempotent.
  void close(boost::beast::websocket::close_code code
             = boost::beast::websocket::close_code::normal);

private:
  void on_accept(open_handler done, boost::beast::error_code ec);
  void do_read();
  void on_read(boost::beast::error_code ec, std::size_t bytes);
  void drain_inbox();
  void do_write();
  void on_write(boost::beast::error_code ec, std::size_t bytes);
  void start_close();
  void on_slow_write(boost::beast::error_code ec);
  void finish();

  boost::beast::websocket::stream<ws::write_gate<http::net_stream>> ws_;
  /// Deadline of a closing socket's flush (`limits.slow-write-timeout`): a
  /// client that stopped reading never takes the write in flight.
  boost::asio::steady_timer slow_write_timer_;
  std::chrono::milliseconds slow_write_timeout_;
  boost::beast::flat_buffer buffer_;
  std::weak_ptr<socketio_connection> owner_;
  std::chrono::milliseconds handshake_timeout_;
  uint64_t max_queue_bytes_;
  std::shared_ptr<std::atomic<size_t>> open_counter_;

  // Strand only.
  std::deque<eio_frame> queue_;
  std::vector<eio_frame> in_flight_;
  std::string headers_; ///< Frame headers of the write in flight.
  std::vector<boost::asio::const_buffer> write_buffers_;
  bool writing_ = false;
  bool close_after_flush_ = false;
  bool closed_ = false;
  bool finished_ = false;
  boost::beast::websocket::close_code close_code_
      = boost::beast::websocket::close_code::normal;

  // Any thread: filled by send(), emptied on the strand.
  std::mutex inbox_mutex_;
  std::vector<eio_frame> inbox_;

  std::atomic<uint64_t> queued_bytes_{0};
  std::atomic<bool> closing_{false};
};

} // namespace puzzle::transports::socketio
