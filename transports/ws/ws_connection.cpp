#include "transports/ws/ws_connection.hpp"

#include <algorithm>

#include <caf/all.hpp>

#include <boost/asio/post.hpp>
#include <boost/beast/core/bind_handler.hpp>
#include <boost/beast/websocket/error.hpp>
#include <spdlog/spdlog.h>

#include "actors/client/client_actor.hpp"
#include "actors/util/ids.hpp"
#include "config/logging.hpp"
#include "transports/ws/ws_endpoint.hpp"

namespace puzzle::transports::ws {

namespace beast = boost::beast;
namespace websocket = beast::websocket;
namespace net = boost::asio;

namespace {

std::shared_ptr<spdlog::logger> log() {
  static auto logger = config::module_logger("puzzle.transport.ws");
  return logger;
}

/// Frames per gather write: two buffers each (header, payload), so that a
/// batch fits the 64 buffers one `sendmsg` of Asio takes.
constexpr size_t max_frames_per_write = 32;

ws_connection::frame make_frame(std::string bytes) {
  return std::make_shared<const std::string>(std::move(bytes));
}

/// The client actor's view of this connection. Events and channel messages
/// are encoded once per publication (shared by every raw WebSocket
/// recipient); answers need the connection's table of calls, so they are
/// built on its strand. Holds the connection weakly so a closed socket is
/// freed at once.
class ws_port : public client_port {
public:
  explicit ws_port(std::weak_ptr<ws_connection> conn)
      : conn_(std::move(conn)) {}

  send_status push_event(const session_event& ev) override {
    auto conn = conn_.lock();
    if (!conn) return send_status::closing;
    auto bytes = ev.cache->get(wire_format::websocket, [&ev] {
      return make_frame(encode_event(ev.session_id, ev.name, *ev.payload));
    });
    return conn->enqueue(std::move(bytes));
  }

  send_status push_channel(const channel_message& msg) override {
    auto conn = conn_.lock();
    if (!conn) return send_status::closing;
    auto bytes = msg.cache->get(wire_format::websocket, [&msg] {
      return make_frame(
          encode_channel_message(msg.channel, *msg.data, msg.sent_at));
    });
    return conn->enqueue(std::move(bytes));
  }

  send_status push_result(const std::string& call_id,
                          std::shared_ptr<const std::string> json) override {
    auto conn = conn_.lock();
    if (!conn) return send_status::closing;
    conn->deliver_result(call_id, std::move(json));
    return send_status::queued;
  }

  send_status push_error(const std::string& call_id, errc code,
                         const std::string& message) override {
    auto conn = conn_.lock();
    if (!conn) return send_status::closing;
    conn->deliver_error(call_id, code, message);
    return send_status::queued;
  }

  void close(const std::string& reason) override {
    if (auto conn = conn_.lock())
      conn->close_with(websocket::close_code::policy_error, reason);
  }

private:
  std::weak_ptr<ws_connection> conn_;
};

/// A close reason fits a control frame: at most 123 bytes of text.
std::string clip_reason(std::string reason) {
  constexpr size_t max_reason = 123;
  if (reason.size() <= max_reason) return reason;
  reason.resize(max_reason);
  // Do not cut a UTF-8 sequence: drop trailing continuation bytes and the
  // lead byte they belong to.
  while (!reason.empty()
         && (static_cast<unsigned char>(reason.back()) & 0xC0) == 0x80)
    reason.pop_back();
  if (!reason.empty() && static_cast<unsigned char>(reason.back()) >= 0xC0)
    reason.pop_back();
  return reason;
}

} // namespace

ws_connection::ws_connection(http::net_stream&& stream,
                             std::shared_ptr<ws_endpoint> endpoint,
                             auth::connection_identity identity)
    : ws_(std::move(stream)), endpoint_(std::move(endpoint)),
      identity_(std::move(identity)),
      max_queue_bytes_(endpoint_->settings().limits.outbound_queue_bytes),
      slow_write_timer_(ws_.get_executor()) {
  limits_.max_channel_bytes
      = endpoint_->settings().limits.max_channel_name_bytes;
}

ws_connection::~ws_connection() {
  if (client_) caf::anon_send(client_, close_atom::value);
}

void ws_connection::start(beast::http::request<beast::http::string_body> req) {
  auto& cfg = endpoint_->settings();
  // Beast checks each frame header against this before reading the
  // payload and fails the connection with 1009 when a message grows over it.
  ws_.read_message_max(cfg.limits.max_message_bytes);
  beast::get_lowest_layer(ws_).expires_never();
  websocket::stream_base::timeout timeouts;
  timeouts.handshake_timeout = cfg.websocket.handshake_timeout;
  timeouts.idle_timeout = cfg.websocket.idle_timeout;
  // A ping at half the idle time keeps quiet but healthy clients connected;
  // one that answers nothing for the whole idle time is dropped.
  timeouts.keep_alive_pings = true;
  ws_.set_option(timeouts);
  ws_.set_option(
      websocket::stream_base::decorator([](websocket::response_type& res) {
        res.set(beast::http::field::server, "puzzle-node");
      }));
  ws_.async_accept(
      req,
      beast::bind_front_handler(&ws_connection::on_accept, shared_from_this()));
}

void ws_connection::on_accept(beast::error_code ec) {
  if (ec) {
    log()->debug("event=accept_failed user={} error={}", identity_.user.user_id,
                 ec.message());
    return finish();
  }
  auto port = std::make_shared<ws_port>(weak_from_this());
  auto options = client_options_of(endpoint_->settings());
  client_ = endpoint_->system().spawn(client_behavior, port,
                                      endpoint_->directory(), identity_.user,
                                      identity_.authenticated, options);
  log()->debug("event=connected user={}", identity_.user.user_id);
  do_read();
}

void ws_connection::do_read() {
  ws_.async_read(
      buffer_,
      beast::bind_front_handler(&ws_connection::on_read, shared_from_this()));
}

void ws_connection::on_read(beast::error_code ec, std::size_t) {
  if (ec) {
    // closed: the peer's orderly close. Protocol violations (bad masking,
    // reserved bits, invalid UTF-8, oversized messages) were answered by
    // Beast with the right close code already; log them for operators.
    if (ec != websocket::error::closed && ec != net::error::operation_aborted)
      log()->info("event=connection_failed user={} error={}",
                  identity_.user.user_id, ec.message());
    return finish();
  }
  auto data = buffer_.data();
  std::string_view text{static_cast<const char*>(data.data()), data.size()};
  if (ws_.got_text()) {
    handle_message(text);
  } else {
    // Binary messages are not part of the protocol; say so and go on.
    push_local(encode_error({}, errc::invalid_message, invalid_format_text));
  }
  buffer_.consume(buffer_.size());
  if (!closed_ && !closing_) do_read();
}

void ws_connection::handle_message(std::string_view text) {
  auto msg = decode(text, limits_);
  if (std::holds_alternative<ping_request>(msg))
    return push_local(encode_pong(util::now_ms()));
  if (auto bad = std::get_if<protocol_error>(&msg))
    return push_local(encode_error(bad->id, bad->code, bad->message));
  if (auto sub = std::get_if<subscribe_request>(&msg))
    return handle_subscription(*sub);
  if (auto cast = std::get_if<broadcast_request>(&msg))
    return handle_broadcast(*cast, {});
  auto& req = std::get<puzzle_request>(msg);
  send_command(std::move(req.command),
               pending_call{std::move(req.id), std::move(req.op), {}});
}

void ws_connection::handle_subscription(subscribe_request& req) {
  if (auto session = session_of_channel(req.channel); !session.empty()) {
    // A session channel is the session itself: subscribing joins it.
    client_command cmd;
    cmd.kind = req.subscribe ? command_kind::join : command_kind::leave;
    cmd.session_id = std::string{session};
    return send_command(
        std::move(cmd),
        pending_call{{},
                     req.subscribe ? "subscribe" : "unsubscribe",
                     std::move(req.channel)});
  }
  auto& registry = endpoint_->channels();
  channel_subscriber_actor subscriber = client_;
  if (!req.subscribe) {
    if (channels_.erase(req.channel) > 0)
      caf::anon_send(registry, unsubscribe_atom::value, req.channel,
                     subscriber);
    return push_local(encode_subscription(req.channel, false));
  }
  auto max = endpoint_->settings().limits.max_channels_per_connection;
  if (channels_.count(req.channel) == 0 && channels_.size() >= max)
    return push_local(
        encode_error({}, errc::limit_exceeded,
                     "a connection subscribes to at most " + std::to_string(max)
                         + " channels (limits.max-channels-per-connection)"));
  channels_.insert(req.channel);
  // Sent from this strand in order: a publication sent after this
  // subscription reaches this connection too.
  caf::anon_send(registry, subscribe_atom::value, req.channel, subscriber);
  push_local(encode_subscription(req.channel, true));
}

void ws_connection::handle_broadcast(broadcast_request& req,
                                     const std::string&) {
  channel_message msg;
  msg.channel = std::move(req.channel);
  msg.data = std::make_shared<const std::string>(std::move(req.data));
  caf::anon_send(endpoint_->channels(), publish_atom::value, std::move(msg));
}

void ws_connection::send_command(client_command cmd, pending_call call) {
  // Every call gets an answer through the table (ids chosen here, so a
  // client reusing its own ids cannot mix two answers up); calls without
  // a client id and without a channel are fire-and-forget, as SignalR's
  // non-blocking invocations.
  if (!call.id.empty() || !call.channel.empty()) {
    cmd.call_id = std::to_string(++next_call_);
    pending_.emplace(cmd.call_id, std::move(call));
  }
  caf::anon_send(client_, std::move(cmd));
}

void ws_connection::deliver_result(std::string call_id,
                                   std::shared_ptr<const std::string> json) {
  outbound item;
  item.what = outbound::kind::result;
  item.bytes = std::move(json);
  item.call_id = std::move(call_id);
  post_outbound(std::move(item));
}

void ws_connection::deliver_error(std::string call_id, errc code,
                                  std::string message) {
  outbound item;
  item.what = outbound::kind::error;
  item.call_id = std::move(call_id);
  item.code = code;
  item.message = std::move(message);
  post_outbound(std::move(item));
}

send_status ws_connection::enqueue(frame bytes) {
  if (closing_) return send_status::closing;
  auto total = queued_bytes_.fetch_add(bytes->size()) + bytes->size();
  if (total > max_queue_bytes_) {
    log()->warn("event=slow_client user={} queued_bytes={}",
                identity_.user.user_id, total);
    close_with(websocket::close_code::try_again_later,
               "the connection reads too slowly "
               "(limits.outbound-queue-bytes)");
    return send_status::closing;
  }
  outbound item;
  item.bytes = std::move(bytes);
  post_outbound(std::move(item));
  return send_status::queued;
}

void ws_connection::post_outbound(outbound item) {
  // One inbox for frames and answers keeps the order in which the client
  // actor handed them over; only the first item of a batch costs a
  // hand-off to the strand (an allocation and a wake-up), the rest ride
  // along with it.
  bool first = false;
  {
    std::lock_guard<std::mutex> lock{inbox_mutex_};
    first = inbox_.empty();
    inbox_.push_back(std::move(item));
  }
  if (first)
    net::post(ws_.get_executor(), [self = shared_from_this()] {
      self->drain_inbox();
    });
}

void ws_connection::drain_inbox() {
  std::vector<outbound> items;
  {
    std::lock_guard<std::mutex> lock{inbox_mutex_};
    items.swap(inbox_);
  }
  // Answers made here count against the queue like any other frame, so
  // that on_write() subtracts exactly what was added.
  auto answer = [this](std::string text) {
    if (closed_ || close_after_flush_) return;
    queued_bytes_ += text.size();
    queue_.push_back(make_frame(std::move(text)));
  };
  for (auto& item : items) {
    switch (item.what) {
      case outbound::kind::frame:
        if (closed_ || close_after_flush_) {
          queued_bytes_ -= item.bytes->size();
          break;
        }
        queue_.push_back(std::move(item.bytes));
        break;
      case outbound::kind::result: {
        auto i = pending_.find(item.call_id);
        if (i == pending_.end()) break;
        auto call = std::move(i->second);
        pending_.erase(i);
        if (!call.channel.empty())
          answer(encode_subscription(call.channel, call.op == "subscribe"));
        else
          answer(
              encode_ack(call.id, call.op, item.bytes ? *item.bytes : "null"));
        break;
      }
      case outbound::kind::error: {
        std::string id;
        if (!item.call_id.empty()) {
          auto i = pending_.find(item.call_id);
          if (i != pending_.end()) {
            id = std::move(i->second.id);
            pending_.erase(i);
          }
        }
        answer(encode_error(id, item.code, item.message));
        break;
      }
    }
  }
  if (!writing_) do_write();
}

void ws_connection::push_local(std::string text) {
  // Answers made on the strand count against the queue like any other, so
  // that on_write() subtracts exactly what was added.
  queued_bytes_ += text.size();
  push(make_frame(std::move(text)));
}

void ws_connection::push(frame bytes) {
  if (closed_ || close_after_flush_) {
    queued_bytes_ -= bytes->size();
    return;
  }
  queue_.push_back(std::move(bytes));
  if (!writing_) do_write();
}

void ws_connection::do_write() {
  if (queue_.empty()) {
    if (close_after_flush_) start_close();
    return;
  }
  if (!ws_.is_open()) {
    // Beast sent a Close frame of its own (a protocol error, the peer's
    // close): nothing may follow it; the read side finishes the rest.
    for (auto& f : queue_)
      queued_bytes_ -= f->size();
    queue_.clear();
    return;
  }
  // Raw WebSocket messages cannot be merged into one message, but their
  // frames can share one write: frame them here (header, then the shared
  // payload as it is) and send the whole batch with one gather write.
  writing_ = true;
  auto count = std::min(queue_.size(), max_frames_per_write);
  headers_.resize(count * max_frame_header_bytes);
  in_flight_.clear();
  write_buffers_.clear();
  for (size_t i = 0; i < count; ++i) {
    auto& f = queue_.front();
    char* header = headers_.data() + i * max_frame_header_bytes;
    write_buffers_.emplace_back(header,
                                write_frame_header(header, true, f->size()));
    write_buffers_.emplace_back(f->data(), f->size());
    in_flight_.push_back(std::move(f));
    queue_.pop_front();
  }
  ws_.next_layer().async_write_some(
      write_buffers_,
      beast::bind_front_handler(&ws_connection::on_write, shared_from_this()));
}

void ws_connection::on_write(beast::error_code ec, std::size_t) {
  writing_ = false;
  uint64_t sent = 0;
  for (auto& f : in_flight_)
    sent += f->size();
  queued_bytes_ -= sent;
  in_flight_.clear();
  if (ec) {
    log()->debug("event=write_failed user={} error={}", identity_.user.user_id,
                 ec.message());
    return finish();
  }
  do_write();
}

void ws_connection::close_with(websocket::close_code code, std::string reason) {
  net::post(ws_.get_executor(),
            [self = shared_from_this(), code,
             reason = clip_reason(std::move(reason))] {
              if (self->closed_ || self->close_after_flush_) return;
              self->closing_ = true;
              self->close_after_flush_ = true;
              self->close_reason_ = websocket::close_reason{code, reason};
              // A client that stopped reading never takes the write in
              // flight (nor the Close frame): give the flush a deadline.
              self->slow_write_timer_.expires_after(
                  self->endpoint_->settings().limits.slow_write_timeout);
              self->slow_write_timer_.async_wait(beast::bind_front_handler(
                  &ws_connection::on_slow_write, self));
              if (!self->writing_) self->do_write();
            });
}

void ws_connection::on_slow_write(beast::error_code ec) {
  if (ec || finished_) return; // Cancelled: the connection closed in time.
  log()->warn("event=slow_client_cut user={} queued_bytes={} reason=\"queued "
              "frames not written within limits.slow-write-timeout\"",
              identity_.user.user_id, queued_bytes_.load());
  finish();
}

void ws_connection::start_close() {
  if (closed_) return;
  closed_ = true;
  beast::get_lowest_layer(ws_).expires_after(std::chrono::seconds(5));
  ws_.async_close(close_reason_,
                  [self = shared_from_this()](beast::error_code) {
                    self->finish();
                  });
}

void ws_connection::finish() {
  if (finished_) return;
  finished_ = true;
  closed_ = true;
  closing_ = true;
  if (client_) {
    caf::anon_send(client_, close_atom::value);
    client_ = nullptr;
  }
  endpoint_->connection_closed(this);
  slow_write_timer_.cancel();
  beast::error_code ignored;
  beast::get_lowest_layer(ws_).socket().close(ignored);
}

} // namespace puzzle::transports::ws
