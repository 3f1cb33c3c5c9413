#include "transports/socketio/socketio_websocket.hpp"

#include <boost/asio/post.hpp>
#include <boost/beast/core/bind_handler.hpp>
#include <boost/beast/websocket/error.hpp>
#include <boost/beast/websocket/rfc6455.hpp>

#include "transports/socketio/socketio_connection.hpp"

namespace puzzle::transports::socketio {

namespace beast = boost::beast;
namespace websocket = beast::websocket;
namespace net = boost::asio;

namespace {

size_t size_of(const eio_frame& frame) {
  return frame.data ? frame.data->size() : 0;
}

} // namespace

socketio_websocket::socketio_websocket(
    beast::tcp_stream&& stream, uint64_t max_message, uint64_t max_queue_bytes,
    std::chrono::milliseconds handshake,
    std::shared_ptr<std::atomic<size_t>> open_counter)
    : ws_(std::move(stream)), handshake_timeout_(handshake),
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
  net::post(ws_.get_executor(),
            [self = shared_from_this(), frames = std::move(frames)]() mutable {
              self->push(std::move(frames));
            });
  return true;
}

void socketio_websocket::push(std::vector<eio_frame> frames) {
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
  writing_ = true;
  in_flight_ = std::move(queue_.front());
  queue_.pop_front();
  ws_.binary(in_flight_.binary);
  static const std::string nothing;
  const std::string& bytes = in_flight_.data ? *in_flight_.data : nothing;
  ws_.async_write(net::buffer(bytes.data(), bytes.size()),
                  beast::bind_front_handler(&socketio_websocket::on_write,
                                            shared_from_this()));
}

void socketio_websocket::on_write(beast::error_code ec, std::size_t) {
  writing_ = false;
  queued_bytes_ -= size_of(in_flight_);
  in_flight_ = eio_frame{};
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
    if (!self->writing_) self->do_write();
  });
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
  beast::error_code ignored;
  beast::get_lowest_layer(ws_).socket().close(ignored);
}

} // namespace puzzle::transports::socketio
