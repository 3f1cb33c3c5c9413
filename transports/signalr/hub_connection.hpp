#pragma once

#include <atomic>
#include <chrono>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/websocket/stream.hpp>

#include "transports/http/net_stream.hpp"
#include "transports/signalr/hub_binding.hpp"
#include "transports/signalr/hub_protocol.hpp"
#include "transports/signalr/signalr_endpoint.hpp"

namespace puzzle::transports::signalr {

/// One SignalR connection over WebSocket (JSON hub protocol).
///
/// Reads run on the connection's strand; frames to send arrive from any
/// thread through `enqueue()` and are posted to the strand. At most one
/// write is in flight; everything queued meanwhile goes out in the next
/// gather write as one WebSocket message (SignalR allows several records per
/// frame). The queue is bounded by `limits.outbound-queue-bytes`: a client
/// that reads too slowly is closed with a Close message saying so. What the
/// hub's methods do is up to the endpoint's `hub_binding`, created after
/// the handshake.
class hub_connection : public hub_link,
                       public std::enable_shared_from_this<hub_connection> {
public:
  hub_connection(http::net_stream&& stream,
                 std::shared_ptr<signalr_endpoint> endpoint,
                 std::string connection_id, std::string token,
                 negotiated_identity identity);

  ~hub_connection() override;

  /// Accepts the WebSocket upgrade of `req` and starts reading.
  void start(boost::beast::http::request<boost::beast::http::string_body> req);

  /// Queues a frame; thread-safe, never blocks.
  send_status enqueue(frame bytes) override;

  /// Sends a Close message (with `error`, if any) after what is queued, then
  /// closes the socket. Thread-safe.
  void close_with(std::string error, bool allow_reconnect) override;

private:
  void on_accept(boost::beast::error_code ec);
  void do_read();
  void on_read(boost::beast::error_code ec, std::size_t bytes);
  void handle_record(std::string_view record);
  void handle_handshake(std::string_view record);
  void push(frame bytes);
  void push_local(frame bytes);
  void drain_inbox();
  void do_write();
  void on_write(boost::beast::error_code ec, std::size_t bytes);
  void start_close();
  void arm_keep_alive();
  void on_keep_alive(boost::beast::error_code ec);
  void on_slow_write(boost::beast::error_code ec);
  void finish();

  boost::beast::websocket::stream<http::net_stream> ws_;
  boost::beast::flat_buffer buffer_;
  std::shared_ptr<signalr_endpoint> endpoint_;
  std::string connection_id_;
  std::string token_;
  negotiated_identity identity_;
  record_reader reader_;
  uint64_t max_message_bytes_;
  uint64_t max_queue_bytes_;
  uint64_t message_bytes_ = 0; ///< Of the WebSocket message being read.
  bool handshaken_ = false;
  bool finished_ = false;

  // Write side (strand only, except the atomics).
  std::deque<frame> queue_;
  std::vector<frame> in_flight_;
  std::vector<boost::asio::const_buffer> write_buffers_;
  bool writing_ = false;
  bool close_after_flush_ = false;
  bool closed_ = false;
  std::atomic<uint64_t> queued_bytes_{0};
  std::atomic<bool> closing_{false};
  // Any thread: filled by enqueue(), emptied on the strand.
  std::mutex inbox_mutex_;
  std::vector<frame> inbox_;

  // Keep-alive (strand only).
  boost::asio::steady_timer timer_;
  /// Deadline of a closing connection's flush (`limits.slow-write-timeout`).
  boost::asio::steady_timer slow_write_timer_;
  std::chrono::steady_clock::time_point last_sent_;
  std::chrono::steady_clock::time_point last_received_;
  std::chrono::steady_clock::time_point opened_;

  std::unique_ptr<hub_binding> binding_; ///< Strand only.
};

} // namespace puzzle::transports::signalr
