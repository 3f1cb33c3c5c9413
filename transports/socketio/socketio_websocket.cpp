#include "transports/socketio/socketio_websocket.hpp"

#include <algorithm>

#include <boost/asio/post.hpp>
#include <boost/beast/core/bind_handler.hpp>
#include <boost/beast/websocket/error.hpp>
#include <boost/beast/websocket/rfc6455.hpp>
#include <spdlog/spdlog.h>

#include "config/logging.hpp"
#include "transports/socketio/socketio_connection.hpp"
#include "transports/ws/ws_protocol.hpp"

namespace puzzle::transports::socketio {

namespace beast = boost::beast;
namespace websocket = beast::websocket;
namespace net = boost::asio;

namespace {

std::shared_ptr<spdlog::logger> log() {
  static auto logger = config::module_logger("puzzle.transport.socketio");
  return logger;
}

size_t size_of(const eio_frame& frame) {
  return frame.data ? frame.data->size() : 0;
}

/// Frames per gather write: two buffers each (header, payload), so that a
/// batch fits the 64 buffers one `sendmsg` of Asio takes.
constexpr size_t max_frames_per_write = 32;

} // namespace

socketio_websocket::socketio_websocket(
    http::net_stream&& stream, uint64_t max_message, uint64_t max_queue_bytes,
    std::chrono::milliseconds handshake,
    std::chrono::milliseconds slow_write_timeout,
    std::shared_ptr<std::atomic<size_t>> open_counter)
    : ws_(std::move(stream)), slow_write_timer_(ws_.get_executor()),
      slow_write_timeout_(slow_write_timeout), handshake_timeout_(handshake),
      max_queue_bytes_(max_queue_bytes),
      open_counter_(std::move(open_counter)) {
  ++*open_counter_;
  ws_.read_message_max(max_message);
}

socketio_websocket::~socketio_websocket() {
  --*open_counter_;
}

void socketio_websocket::start(
    beast::http::request<beast::http::string_body> req, open_handler done) {
  beast::get_lowest_layer(ws_).expires_never();
  websocket::stream_base::timeout timeouts;
  timeouts.handshake_timeout = handshake_timeout_;
  // Engine.IO has its own heartbeat (server pings, client pongs).
  timeouts.idle_timeout = websocket::stream_base::none();
  timeouts.keep_alive_pings = false;
  ws_.set_option(timeouts);
  ws_.set_option(
      websocket::stream_base::decorator([](websocket::response_type& res) {
        res.set(beast::http::field::server, "puzzle-node");
      }));
  ws_.async_accept(req,
                   beast::bind_front_handler(&socketio_websocket::on_accept,
                                             shared_from_this(),
                                             std::move(done)));
}

void socketio_websocket::on_accept(open_handler done, beast::error_code ec) {
  if (ec) {
    finish();
    done(false);
    return;
  }
  done(true);
}

void socketio_websocket::attach(std::weak_ptr<socketio_connection> owner) {
  net::post(ws_.get_executor(),
            [self = shared_from_this(), owner = std::move(owner)]() mutable {
              self->owner_ = std::move(owner);
              if (!self->closed_) self->do_read();
            });
}

void socketio_websocket::do_read() {
  ws_.async_read(buffer_,
                 beast::bind_front_handler(&socketio_websocket::on_read,
                                           shared_from_this()));
}

void socketio_websocket::on_read(beast::error_code ec, std::size_t) {
  auto owner = owner_.lock();
  if (ec) {
    // closed: the peer's orderly close; the rest (reset, 1009 for an
    // oversized message, protocol violations) end the transport the same
    // way: the session decides what that means.
    finish();
    if (owner) owner->on_ws_closed(this);
    return;
  }
  auto data = buffer_.data();
  std::string_view bytes{static_cast<const char*>(data.data()), data.size()};
  if (owner) {
    if (ws_.got_text())
      owner->on_ws_text(this, bytes);
    else
      owner->on_ws_binary(this, bytes);
  }
  buffer_.consume(buffer_.size());
  if (!closed_) do_read();
}

bool socketio_websocket::send(std::vector<eio_frame> frames) {
  if (closing_) return false;
  uint64_t bytes = 0;
  for (auto& f : frames)
    bytes += size_of(f);
  auto total = queued_bytes_.fetch_add(bytes) + bytes;
  if (total > max_queue_bytes_) {
    queued_bytes_ -= bytes;
    close(websocket::close_code::try_again_later);
    return false;
  }
  // Only the first frames of a batch cost a hand-off to the strand (an
  // allocation and a wake-up); later ones ride along with them.
  bool first = false;
  {
    std::lock_guard<std::mutex> lock{inbox_mutex_};
    first = inbox_.empty();
    if (first && inbox_.capacity() == 0) inbox_.reserve(frames.size());
    for (auto& f : frames)
      inbox_.push_back(std::move(f));
  }
  if (first)
    net::post(ws_.get_executor(), [self = shared_from_this()] {
      self->drain_inbox();
    });
  return true;
}

void socketio_websocket::drain_inbox() {
  std::vector<eio_frame> frames;
  {
    std::lock_guard<std::mutex> lock{inbox_mutex_};
    frames.swap(inbox_);
  }
  for (auto& f : frames) {
    if (closed_ || close_after_flush_) {
      queued_bytes_ -= size_of(f);
      continue;
    }
    queue_.push_back(std::move(f));
  }
  if (!writing_) do_write();
}

void socketio_websocket::do_write() {
  if (queue_.empty()) {
    if (close_after_flush_) start_close();
    return;
  }
  if (!ws_.is_open()) {
    // Beast sent a Close frame of its own: nothing may follow it.
    for (auto& f : queue_)
      queued_bytes_ -= size_of(f);
    queue_.clear();
    return;
  }
  // One WebSocket message per packet, but the whole batch in one gather
  // write: frame each packet here (header, then its shared payload).
  writing_ = true;
  auto count = std::min(queue_.size(), max_frames_per_write);
  headers_.resize(count * ws::max_frame_header_bytes);
  in_flight_.clear();
  write_buffers_.clear();
  for (size_t i = 0; i < count; ++i) {
    auto& f = queue_.front();
    char* header = headers_.data() + i * ws::max_frame_header_bytes;
    write_buffers_.emplace_back(
        header, ws::write_frame_header(header, !f.binary, size_of(f)));
    if (f.data) write_buffers_.emplace_back(f.data->data(), f.data->size());
    in_flight_.push_back(std::move(f));
    queue_.pop_front();
  }
  ws_.next_layer().async_write_some(
      write_buffers_,
      beast::bind_front_handler(&socketio_websocket::on_write,
                                shared_from_this()));
}

void socketio_websocket::on_write(beast::error_code ec, std::size_t) {
  writing_ = false;
  uint64_t sent = 0;
  for (auto& f : in_flight_)
    sent += size_of(f);
  queued_bytes_ -= sent;
  in_flight_.clear();
  if (ec) {
    auto owner = owner_.lock();
    finish();
    if (owner) owner->on_ws_closed(this);
    return;
  }
  do_write();
}

void socketio_websocket::close(websocket::close_code code) {
  closing_ = true;
  net::post(ws_.get_executor(), [self = shared_from_this(), code] {
    if (self->closed_ || self->close_after_flush_) return;
    self->close_after_flush_ = true;
    self->close_code_ = code;
    self->slow_write_timer_.expires_after(self->slow_write_timeout_);
    self->slow_write_timer_.async_wait(
        beast::bind_front_handler(&socketio_websocket::on_slow_write, self));
    if (!self->writing_) self->do_write();
  });
}

void socketio_websocket::on_slow_write(beast::error_code ec) {
  if (ec || finished_) return; // Cancelled: the socket closed in time.
  log()->warn("event=slow_client_cut transport=socket.io queued_bytes={} "
              "reason=\"queued frames not written within "
              "limits.slow-write-timeout\"",
              queued_bytes_.load());
  auto owner = owner_.lock();
  finish();
  if (owner) owner->on_ws_closed(this);
}

void socketio_websocket::start_close() {
  if (closed_) return;
  closed_ = true;
  beast::get_lowest_layer(ws_).expires_after(std::chrono::seconds(5));
  ws_.async_close(close_code_, [self = shared_from_this()](beast::error_code) {
    self->finish();
  });
}

void socketio_websocket::finish() {
  if (finished_) return;
  finished_ = true;
  closed_ = true;
  closing_ = true;
  slow_write_timer_.cancel();
  beast::error_code ignored;
  beast::get_lowest_layer(ws_).socket().close(ignored);
}

} // namespace puzzle::transports::socketio
