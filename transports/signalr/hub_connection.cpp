#include "transports/signalr/hub_connection.hpp"

#include <boost/asio/post.hpp>
#include <boost/beast/core/bind_handler.hpp>
#include <boost/beast/websocket/error.hpp>
#include <boost/beast/websocket/rfc6455.hpp>
#include <spdlog/spdlog.h>

#include "actors/session/session_json.hpp"
#include "config/logging.hpp"

namespace puzzle::transports::signalr {

namespace beast = boost::beast;
namespace websocket = beast::websocket;
namespace net = boost::asio;
using clock_type = std::chrono::steady_clock;

namespace {

std::shared_ptr<spdlog::logger> log() {
  static auto logger = config::module_logger("puzzle.transport.signalr");
  return logger;
}

hub_connection::frame make_frame(std::string bytes) {
  return std::make_shared<const std::string>(std::move(bytes));
}

} // namespace

hub_connection::hub_connection(http::net_stream&& stream,
                               std::shared_ptr<signalr_endpoint> endpoint,
                               std::string connection_id, std::string token,
                               negotiated_identity identity)
    : ws_(std::move(stream)), endpoint_(std::move(endpoint)),
      connection_id_(std::move(connection_id)), token_(std::move(token)),
      identity_(std::move(identity)),
      reader_(endpoint_->settings().limits.max_message_bytes),
      max_message_bytes_(endpoint_->settings().limits.max_message_bytes),
      max_queue_bytes_(endpoint_->settings().limits.outbound_queue_bytes),
      timer_(ws_.get_executor()), slow_write_timer_(ws_.get_executor()) {}

std::string encode_error_event(std::string_view message, errc code) {
  auto args
      = session_json::args(session_json::quote(std::string{message}),
                           session_json::quote(std::string{to_code(code)}));
  return encode_invocation("Error", *args);
}

hub_connection::~hub_connection() = default;

void hub_connection::start(beast::http::request<beast::http::string_body> req) {
  auto& cfg = endpoint_->settings();
  // Beast enforces nothing on message size here: the read loop counts bytes
  // itself so that an oversized message is refused with a SignalR Close
  // message naming the limit, before the bytes are buffered.
  ws_.read_message_max(0);
  // A batch of records is one message; sent as one frame it is one gather
  // write (Beast's default cuts messages into 4 KB frames, a write each).
  ws_.auto_fragment(false);
  beast::get_lowest_layer(ws_).expires_never();
  websocket::stream_base::timeout timeouts;
  timeouts.handshake_timeout = cfg.signalr.handshake_timeout;
  timeouts.idle_timeout = websocket::stream_base::none();
  timeouts.keep_alive_pings = false;
  ws_.set_option(timeouts);
  ws_.set_option(
      websocket::stream_base::decorator([](websocket::response_type& res) {
        res.set(beast::http::field::server, "puzzle-node");
      }));
  ws_.async_accept(req,
                   beast::bind_front_handler(&hub_connection::on_accept,
                                             shared_from_this()));
}

void hub_connection::on_accept(beast::error_code ec) {
  if (ec) {
    log()->debug("event=accept_failed connection={} error={}", connection_id_,
                 ec.message());
    return finish();
  }
  opened_ = last_received_ = last_sent_ = clock_type::now();
  arm_keep_alive();
  do_read();
}

void hub_connection::do_read() {
  // Read in chunks so the size of one message is known before it is all
  // buffered (limits are enforced before allocation).
  auto chunk = std::min<uint64_t>(max_message_bytes_ + 1, 64 * 1024);
  ws_.async_read_some(
      buffer_, static_cast<std::size_t>(chunk),
      beast::bind_front_handler(&hub_connection::on_read, shared_from_this()));
}

void hub_connection::on_read(beast::error_code ec, std::size_t bytes) {
  if (ec) {
    // websocket::error::closed is the peer's orderly close: nothing to log.
    if (ec != websocket::error::closed && ec != net::error::operation_aborted)
      log()->debug("event=read_failed connection={} error={}", connection_id_,
                   ec.message());
    return finish();
  }
  last_received_ = clock_type::now();
  message_bytes_ += bytes;
  if (message_bytes_ > max_message_bytes_) {
    log()->info("event=message_too_big connection={} limit={}", connection_id_,
                max_message_bytes_);
    buffer_.consume(buffer_.size());
    close_with("LIMIT_EXCEEDED: a message has at most "
                   + std::to_string(max_message_bytes_)
                   + " bytes (limits.max-message-bytes)",
               false);
    return;
  }
  if (ws_.is_message_done()) message_bytes_ = 0;
  auto data = buffer_.data();
  std::string_view chunk{static_cast<const char*>(data.data()), data.size()};
  if (reader_.append(chunk) == record_reader::status::limit_exceeded) {
    buffer_.consume(buffer_.size());
    close_with("LIMIT_EXCEEDED: a message has at most "
                   + std::to_string(max_message_bytes_)
                   + " bytes (limits.max-message-bytes)",
               false);
    return;
  }
  buffer_.consume(buffer_.size());
  while (auto record = reader_.next()) {
    handle_record(*record);
    if (closed_ || closing_) return;
  }
  do_read();
}

void hub_connection::handle_record(std::string_view record) {
  if (!handshaken_) return handle_handshake(record);
  auto msg = parse_message(record);
  if (auto call = std::get_if<invocation>(&msg)) return binding_->invoke(*call);
  if (std::holds_alternative<ping_message>(msg))
    return; // Only resets the client timeout, done on every read.
  if (auto closing = std::get_if<close_message>(&msg)) {
    // The client ends the connection: close without a Close of our own.
    close_after_flush_ = true;
    closing_ = true;
    if (!writing_) start_close();
    (void)closing;
    return;
  }
  if (auto bad = std::get_if<parse_error>(&msg)) {
    // Unparseable: no invocation id to answer, so tell the client with the
    // contract's Error event and keep the connection.
    push_local(make_frame(encode_error_event(
        "Invalid message format: " + bad->reason, errc::invalid_message)));
    return;
  }
  if (auto stream = std::get_if<stream_invocation>(&msg)) {
    push_local(make_frame(encode_completion_error(
        stream->invocation_id,
        "Failed to invoke '" + stream->target
            + "' due to an error on the server. HubException: Method does not "
              "exist.")));
    return;
  }
  // Completions, stream items, cancels, acks and sequences need no answer
  // (no server-to-client calls expect results; no stateful reconnect).
}

void hub_connection::handle_handshake(std::string_view record) {
  auto result = parse_handshake(record);
  if (!result.ok()) {
    push_local(make_frame(encode_handshake_error(result.error)));
    close_after_flush_ = true;
    closing_ = true;
    return;
  }
  handshaken_ = true;
  // The binding holds the connection weakly; it lives until the socket
  // closes (finish()).
  binding_ = endpoint_->bind(hub_context{
      std::weak_ptr<hub_link>{shared_from_this()}, connection_id_, identity_});
  std::string first = encode_handshake_response();
  first += encode_invocation(
      "Connected", *session_json::args(session_json::quote(connection_id_)));
  push_local(make_frame(std::move(first)));
  log()->debug("event=connected connection={} user={}", connection_id_,
               identity_.user.user_id);
}

send_status hub_connection::enqueue(frame bytes) {
  if (closing_) return send_status::closing;
  auto total = queued_bytes_.fetch_add(bytes->size()) + bytes->size();
  if (total > max_queue_bytes_) {
    log()->warn("event=slow_client connection={} queued_bytes={}",
                connection_id_, total);
    close_with("the connection reads too slowly (limits.outbound-queue-bytes)",
               true);
    return send_status::closing;
  }
  // Only the first frame of a batch costs a hand-off to the strand (an
  // allocation and a wake-up); later ones ride along with it.
  bool first = false;
  {
    std::lock_guard<std::mutex> lock{inbox_mutex_};
    first = inbox_.empty();
    inbox_.push_back(std::move(bytes));
  }
  if (first)
    net::post(ws_.get_executor(), [self = shared_from_this()] {
      self->drain_inbox();
    });
  return send_status::queued;
}

void hub_connection::drain_inbox() {
  std::vector<frame> frames;
  {
    std::lock_guard<std::mutex> lock{inbox_mutex_};
    frames.swap(inbox_);
  }
  for (auto& f : frames) {
    if (closed_) {
      queued_bytes_ -= f->size();
      continue;
    }
    queue_.push_back(std::move(f));
  }
  if (!writing_) do_write();
}

void hub_connection::push_local(frame bytes) {
  // Frames made on the strand count against the queue like any other, so
  // that on_write() subtracts exactly what was added.
  queued_bytes_ += bytes->size();
  push(std::move(bytes));
}

void hub_connection::push(frame bytes) {
  if (closed_) {
    queued_bytes_ -= bytes->size();
    return;
  }
  queue_.push_back(std::move(bytes));
  if (!writing_) do_write();
}

void hub_connection::do_write() {
  if (queue_.empty()) {
    if (close_after_flush_) start_close();
    return;
  }
  writing_ = true;
  in_flight_.assign(std::make_move_iterator(queue_.begin()),
                    std::make_move_iterator(queue_.end()));
  queue_.clear();
  write_buffers_.clear();
  for (auto& f : in_flight_)
    write_buffers_.emplace_back(f->data(), f->size());
  ws_.text(true);
  last_sent_ = clock_type::now();
  ws_.async_write(
      write_buffers_,
      beast::bind_front_handler(&hub_connection::on_write, shared_from_this()));
}

void hub_connection::on_write(beast::error_code ec, std::size_t) {
  writing_ = false;
  uint64_t sent = 0;
  for (auto& f : in_flight_)
    sent += f->size();
  queued_bytes_ -= sent;
  in_flight_.clear();
  if (ec) {
    log()->debug("event=write_failed connection={} error={}", connection_id_,
                 ec.message());
    return finish();
  }
  do_write();
}

void hub_connection::close_with(std::string error, bool allow_reconnect) {
  net::post(
      ws_.get_executor(),
      [self = shared_from_this(), error = std::move(error), allow_reconnect] {
        if (self->closed_ || self->close_after_flush_) return;
        self->closing_ = true;
        self->close_after_flush_ = true;
        // A client that stopped reading never takes the write in flight
        // (nor the Close message): give the flush a deadline.
        self->slow_write_timer_.expires_after(
            self->endpoint_->settings().limits.slow_write_timeout);
        self->slow_write_timer_.async_wait(
            beast::bind_front_handler(&hub_connection::on_slow_write, self));
        self->push_local(make_frame(
            encode_close(error.empty() ? std::nullopt
                                       : std::optional<std::string_view>{error},
                         allow_reconnect)));
      });
}

void hub_connection::start_close() {
  if (closed_) return;
  closed_ = true;
  timer_.cancel();
  beast::get_lowest_layer(ws_).expires_after(std::chrono::seconds(5));
  ws_.async_close(websocket::close_code::normal,
                  [self = shared_from_this()](beast::error_code) {
                    self->finish();
                  });
}

void hub_connection::arm_keep_alive() {
  auto& cfg = endpoint_->settings().signalr;
  // Tick at the smaller interval; each tick decides what is due.
  timer_.expires_after(std::min(cfg.keep_alive, cfg.handshake_timeout));
  timer_.async_wait(beast::bind_front_handler(&hub_connection::on_keep_alive,
                                              shared_from_this()));
}

void hub_connection::on_keep_alive(beast::error_code ec) {
  if (ec || closed_) return; // Cancelled: the connection is closing.
  auto& cfg = endpoint_->settings().signalr;
  auto now = clock_type::now();
  if (!handshaken_ && now - opened_ >= cfg.handshake_timeout) {
    log()->debug("event=handshake_timeout connection={}", connection_id_);
    close_after_flush_ = true;
    closing_ = true;
    if (!writing_) start_close();
    return;
  }
  if (now - last_received_ >= cfg.client_timeout) {
    log()->info("event=client_timeout connection={}", connection_id_);
    close_with("Server timeout elapsed without receiving a message from the "
               "client.",
               true);
    return;
  }
  // ASP.NET pings only when nothing else was sent for the interval.
  if (handshaken_ && now - last_sent_ >= cfg.keep_alive)
    push_local(make_frame(encode_ping()));
  arm_keep_alive();
}

void hub_connection::on_slow_write(beast::error_code ec) {
  if (ec || finished_) return; // Cancelled: the connection closed in time.
  log()->warn("event=slow_client_cut connection={} queued_bytes={} "
              "reason=\"queued frames not written within "
              "limits.slow-write-timeout\"",
              connection_id_, queued_bytes_.load());
  finish();
}

void hub_connection::finish() {
  if (finished_) return;
  finished_ = true;
  closed_ = true;
  closing_ = true;
  timer_.cancel();
  slow_write_timer_.cancel();
  binding_.reset();
  endpoint_->connection_closed(token_);
  beast::error_code ignored;
  beast::get_lowest_layer(ws_).socket().close(ignored);
}

} // namespace puzzle::transports::signalr
