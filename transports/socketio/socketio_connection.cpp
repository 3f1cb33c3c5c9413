#include "transports/socketio/socketio_connection.hpp"

#include <caf/all.hpp>

#include <boost/asio/post.hpp>
#include <boost/beast/http/field.hpp>
#include <spdlog/spdlog.h>

#include "actors/client/client_actor.hpp"
#include "config/logging.hpp"
#include "transports/http/http_util.hpp"
#include "transports/socketio/socketio_calls.hpp"
#include "transports/socketio/socketio_endpoint.hpp"
#include "transports/socketio/socketio_websocket.hpp"

namespace puzzle::transports::socketio {

namespace net = boost::asio;
namespace bhttp = boost::beast::http;
using json = nlohmann::json;

namespace {

std::shared_ptr<spdlog::logger> log() {
  static auto logger = config::module_logger("puzzle.transport.socketio");
  return logger;
}

std::shared_ptr<const std::string> shared(std::string text) {
  return std::make_shared<const std::string>(std::move(text));
}

/// A polling answer: Engine.IO packets as `text/plain; charset=UTF-8`.
http::response text_response(std::string body,
                             std::string_view type
                             = "text/plain; charset=UTF-8") {
  http::response res{bhttp::status::ok, 11};
  res.set(bhttp::field::content_type, http::to_beast(type));
  res.set(bhttp::field::cache_control, "no-store");
  res.body() = std::move(body);
  return res;
}

http::response request_error(eio_request_error err) {
  return http::make_json(static_cast<bhttp::status>(http_status(err)),
                         encode_request_error(err));
}

/// The client actor's view of this connection: session events become
/// Socket.IO events (encoded once per event for every Socket.IO recipient),
/// results and errors become acks. Holds the connection weakly so a closed
/// session is freed at once.
class sio_port : public client_port {
public:
  explicit sio_port(std::weak_ptr<socketio_connection> conn)
      : conn_(std::move(conn)) {
    // nop
  }

  send_status push_event(const session_event& ev) override {
    auto conn = conn_.lock();
    if (!conn) return send_status::closing;
    auto frame = ev.cache->get(wire_format::socketio, [&ev] {
      return shared(
          encode_eio_text(eio_packet_type::message,
                          encode_session_event(ev.name, *ev.payload)));
    });
    return conn->send_shared(std::move(frame));
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
    if (auto conn = conn_.lock()) conn->close(reason);
  }

private:
  std::weak_ptr<socketio_connection> conn_;
};

std::string dump(const json& value) {
  return value.dump(-1, ' ', false, json::error_handler_t::replace);
}

} // namespace

socketio_connection::socketio_connection(
    std::shared_ptr<socketio_endpoint> endpoint, std::string sid,
    eio_transport transport, app_mode mode,
    std::optional<std::string> request_token)
    : endpoint_(std::move(endpoint)), sid_(std::move(sid)), mode_(mode),
      request_token_(std::move(request_token)),
      strand_(net::make_strand(endpoint_->io_context())), timer_(strand_),
      eio_(sid_, transport, endpoint_->session_options(), clock::now()),
      decoder_(endpoint_->packet_limits()) {
  connect_deadline_ = mode_ == app_mode::engineio_echo
      ? clock::time_point::max()
      : clock::now() + endpoint_->settings().socketio.connect_timeout;
}

socketio_connection::~socketio_connection() {
  if (client_) caf::anon_send(client_, close_atom::value);
}

std::string socketio_connection::open_packet() {
  std::lock_guard<std::mutex> guard{mtx_};
  return eio_.open_packet();
}

void socketio_connection::start(std::shared_ptr<socketio_websocket> ws) {
  std::lock_guard<std::mutex> guard{mtx_};
  if (ws) {
    ws_ = ws;
    ws->attach(weak_from_this());
  }
  log()->debug("event=session_open sid={} transport={}", sid_,
               to_string(eio_.transport()));
  apply_effects();
  reschedule();
}

// -- polling ------------------------------------------------------------------

void socketio_connection::on_get(http::responder respond) {
  std::lock_guard<std::mutex> guard{mtx_};
  auto out = eio_.on_get(clock::now());
  switch (out.action) {
    case eio_session::get_action::respond:
      respond(text_response(std::move(out.body)));
      break;
    case eio_session::get_action::hold: held_ = std::move(respond); break;
    case eio_session::get_action::reject:
      respond(request_error(eio_request_error::bad_request));
      break;
  }
  apply_effects();
  reschedule();
}

void socketio_connection::on_post(std::string_view body,
                                  http::responder respond) {
  std::lock_guard<std::mutex> guard{mtx_};
  auto action = eio_.on_post(body, clock::now());
  apply_effects();
  reschedule();
  switch (action) {
    case eio_session::post_action::ok:
      respond(text_response("ok", "text/html"));
      break;
    case eio_session::post_action::reject:
      respond(request_error(eio_request_error::bad_request));
      break;
    case eio_session::post_action::too_large:
      respond(http::make_error(
          bhttp::status::payload_too_large, to_code(errc::limit_exceeded),
          "request body exceeds socketio.max-payload ("
              + std::to_string(endpoint_->settings().socketio.max_payload)
              + " bytes)"));
      break;
  }
}

// -- WebSocket ----------------------------------------------------------------

bool socketio_connection::attach_probe(std::shared_ptr<socketio_websocket> ws) {
  std::lock_guard<std::mutex> guard{mtx_};
  if (finished_ || !eio_.on_probe_open(clock::now())) return false;
  probe_ = ws;
  ws->attach(weak_from_this());
  apply_effects();
  reschedule();
  return true;
}

void socketio_connection::on_ws_text(socketio_websocket* ws,
                                     std::string_view text) {
  std::lock_guard<std::mutex> guard{mtx_};
  auto now = clock::now();
  if (probe_ && ws == probe_.get()) {
    auto out = eio_.on_probe_text(text, now);
    switch (out.action) {
      case eio_session::probe_action::reply:
        probe_->send({eio_frame{shared(std::move(out.reply)), false}});
        break;
      case eio_session::probe_action::upgraded:
        ws_ = std::move(probe_);
        probe_.reset();
        log()->debug("event=upgraded sid={}", sid_);
        break;
      case eio_session::probe_action::reject:
        if (probe_) {
          probe_->close();
          probe_.reset();
        }
        break;
    }
  } else if (ws_ && ws == ws_.get()) {
    eio_.on_ws_text(text, now);
  } else {
    return;
  }
  apply_effects();
  reschedule();
}

void socketio_connection::on_ws_binary(socketio_websocket* ws,
                                       std::string_view bytes) {
  std::lock_guard<std::mutex> guard{mtx_};
  auto now = clock::now();
  if (probe_ && ws == probe_.get()) {
    eio_.on_probe_binary(now);
    if (probe_) {
      probe_->close();
      probe_.reset();
    }
  } else if (ws_ && ws == ws_.get()) {
    eio_.on_ws_binary(bytes, now);
  } else {
    return;
  }
  apply_effects();
  reschedule();
}

void socketio_connection::on_ws_closed(socketio_websocket* ws) {
  std::lock_guard<std::mutex> guard{mtx_};
  auto now = clock::now();
  if (probe_ && ws == probe_.get()) {
    probe_.reset();
    eio_.on_probe_closed(now);
  } else if (ws_ && ws == ws_.get()) {
    eio_.on_ws_closed(now);
  } else {
    return;
  }
  apply_effects();
  reschedule();
}

// -- from the client actor ----------------------------------------------------

send_status
socketio_connection::send_shared(std::shared_ptr<const std::string> eio_text) {
  std::lock_guard<std::mutex> guard{mtx_};
  if (finished_) return send_status::closing;
  auto status = eio_.send(eio_frame{std::move(eio_text), false});
  apply_effects();
  return status == eio_send_status::queued ? send_status::queued
                                           : send_status::closing;
}

void socketio_connection::deliver_result(
    const std::string& call_id, std::shared_ptr<const std::string> json_text) {
  std::lock_guard<std::mutex> guard{mtx_};
  auto i = pending_.find(call_id);
  if (i == pending_.end() || finished_) return;
  auto call = std::move(i->second);
  pending_.erase(i);
  if (call.kind == command_kind::join)
    joined_sessions_.insert(call.session_id);
  else if (call.kind == command_kind::leave)
    joined_sessions_.erase(call.session_id);
  if (call.ack) send_ack(*call.ack, ack_ok(json_text ? *json_text : "null"));
  apply_effects();
}

void socketio_connection::deliver_error(const std::string& call_id, errc code,
                                        const std::string& message) {
  std::lock_guard<std::mutex> guard{mtx_};
  if (finished_) return;
  std::optional<uint64_t> ack;
  if (auto i = pending_.find(call_id); i != pending_.end()) {
    ack = i->second.ack;
    if (i->second.kind == command_kind::leave)
      joined_sessions_.erase(i->second.session_id);
    pending_.erase(i);
  }
  if (ack)
    send_ack(*ack, ack_error(code, message));
  else
    send_text(encode_error_event(code, message));
  apply_effects();
}

void socketio_connection::close(const std::string& reason) {
  std::lock_guard<std::mutex> guard{mtx_};
  if (finished_) return;
  log()->debug("event=session_close sid={} reason=\"{}\"", sid_, reason);
  eio_.close(clock::now());
  apply_effects();
  reschedule();
}

void socketio_connection::terminate() {
  std::lock_guard<std::mutex> guard{mtx_};
  if (!finished_) finish();
}

// -- effects ------------------------------------------------------------------

void socketio_connection::apply_effects() {
  for (;;) {
    auto fx = eio_.take_effects();
    auto any = false;
    if (fx.poll_response) {
      any = true;
      if (held_) {
        auto respond = std::move(*held_);
        held_.reset();
        respond(text_response(std::move(*fx.poll_response)));
      }
    }
    if (!fx.ws_frames.empty()) {
      any = true;
      // On overflow the socket closes and its read loop reports it.
      if (ws_) ws_->send(std::move(fx.ws_frames));
    }
    if (fx.close_websocket && ws_) ws_->close();
    if (fx.close_probe && probe_) {
      probe_->close();
      probe_.reset();
    }
    for (auto& msg : fx.messages) {
      any = true;
      auto state = eio_.state();
      if (state == eio_session_state::closed
          || state == eio_session_state::closing)
        break;
      handle_message(msg);
    }
    if (!any) break;
  }
  if (eio_.state() == eio_session_state::closed && !finished_) finish();
}

// -- Socket.IO ----------------------------------------------------------------

void socketio_connection::handle_message(const eio_packet& msg) {
  if (mode_ == app_mode::engineio_echo) {
    if (msg.binary)
      eio_.send_binary(msg.data);
    else
      eio_.send_message(msg.data);
    return;
  }
  auto step
      = msg.binary ? decoder_.on_binary(msg.data) : decoder_.on_text(msg.data);
  if (!step) {
    if (step.error() == sio_errc::packet_too_large) {
      // Over the contract's per-message limit: say so, keep the connection.
      send_text(encode_error_event(
          errc::limit_exceeded,
          "a message has at most "
              + std::to_string(endpoint_->settings().limits.max_message_bytes)
              + " bytes (limits.max-message-bytes)"));
      return;
    }
    return fail_connection(to_string(step.error()));
  }
  if (!*step) return; // waiting for attachments
  handle_packet(**step);
}

void socketio_connection::handle_packet(sio_packet& packet) {
  switch (packet.type) {
    case sio_packet_type::connect: return handle_connect(packet);
    case sio_packet_type::disconnect:
      if (namespaces_.erase(packet.nsp) > 0 && packet.nsp == default_namespace)
        leave_namespace_root();
      return;
    case sio_packet_type::event:
    case sio_packet_type::binary_event:
      // The specification: a packet for a namespace the client has not
      // joined (e.g. an event before CONNECT) closes the connection.
      if (namespaces_.count(packet.nsp) == 0)
        return fail_connection("event before CONNECT");
      return handle_event(packet);
    case sio_packet_type::ack:
    case sio_packet_type::binary_ack:
      // The server never asks for acks; a stray one is harmless.
      return;
    case sio_packet_type::connect_error:
      return fail_connection("CONNECT_ERROR from a client");
  }
}

void socketio_connection::handle_connect(sio_packet& packet) {
  if (auto i = namespaces_.find(packet.nsp); i != namespaces_.end())
    return send_text(encode_sio_connect(packet.nsp, i->second));
  if (mode_ == app_mode::socketio_echo) {
    if (packet.nsp != "/" && packet.nsp != "/custom")
      return send_text(
          encode_sio_connect_error(packet.nsp, "Invalid namespace"));
    auto sid = new_session_id();
    namespaces_.emplace(packet.nsp, sid);
    connect_deadline_ = clock::time_point::max();
    send_text(encode_sio_connect(packet.nsp, sid));
    auto auth = packet.data.is_object() ? packet.data : json::object();
    send_text(encode_sio_event(packet.nsp, "auth", dump(auth)));
    return;
  }
  if (packet.nsp != default_namespace)
    return send_text(encode_sio_connect_error(packet.nsp, "Invalid namespace"));
  // The token comes in the CONNECT payload ({token}); the handshake
  // request's Authorization header or access_token query also count.
  auto token = request_token_;
  if (packet.data.is_object()) {
    if (auto t = packet.data.find("token"); t != packet.data.end()) {
      if (t->is_string()) {
        token = t->get<std::string>();
      } else if (!t->is_null()) {
        return send_text(
            encode_sio_connect_error(packet.nsp, "token must be a string",
                                     R"({"code":"UNAUTHORIZED"})"));
      }
    }
  }
  auth::connection_identity identity;
  auto error = auth::identify_connection(
      token, endpoint_->tokens(), endpoint_->settings().auth.allow_anonymous,
      identity);
  if (!error.empty()) {
    log()->debug("event=connect_refused sid={} reason=\"{}\"", sid_, error);
    return send_text(encode_sio_connect_error(packet.nsp, error,
                                              R"({"code":"UNAUTHORIZED"})"));
  }
  auto port = std::make_shared<sio_port>(weak_from_this());
  auto options = client_options_of(endpoint_->settings());
  client_ = endpoint_->system().spawn(client_behavior, port,
                                      endpoint_->directory(), identity.user,
                                      identity.authenticated, options);
  auto sid = new_session_id();
  namespaces_.emplace(packet.nsp, sid);
  connect_deadline_ = clock::time_point::max();
  send_text(encode_sio_connect(packet.nsp, sid));
  log()->debug("event=connected sid={} user={}", sid_, identity.user.user_id);
}

void socketio_connection::handle_event(sio_packet& packet) {
  if (mode_ == app_mode::socketio_echo) {
    auto name = packet.event_name();
    if (name == "message") {
      sio_packet out;
      out.type = sio_packet_type::event;
      out.nsp = packet.nsp;
      out.data = std::move(packet.data);
      out.data[0] = "message-back";
      send_encoded(encode_sio_packet(out));
    } else if (name == "message-with-ack" && packet.id) {
      sio_packet out;
      out.type = sio_packet_type::ack;
      out.nsp = packet.nsp;
      out.id = packet.id;
      out.data = json::array();
      for (size_t i = 1; i < packet.data.size(); ++i)
        out.data.push_back(std::move(packet.data[i]));
      send_encoded(encode_sio_packet(out));
    }
    return;
  }
  handle_puzzle_event(packet);
}

void socketio_connection::handle_puzzle_event(sio_packet& packet) {
  auto refuse = [this, &packet](errc code, const std::string& message) {
    if (packet.id)
      send_ack(*packet.id, ack_error(code, message));
    else
      send_text(encode_error_event(code, message));
  };
  if (packet.is_binary())
    return refuse(errc::invalid_message,
                  "the puzzle events take no binary arguments");
  auto decoded = decode_puzzle_event(packet.data);
  if (auto bad = std::get_if<sio_call_failure>(&decoded))
    return refuse(bad->code, bad->message);
  auto& cmd = std::get<client_command>(decoded);
  if (cmd.kind == command_kind::leave && cmd.session_id.empty()) {
    if (joined_sessions_.size() != 1)
      return refuse(errc::invalid_message,
                    joined_sessions_.empty()
                        ? "join a session first"
                        : "sessionId must be a string (several sessions are "
                          "joined)");
    cmd.session_id = *joined_sessions_.begin();
  }
  if (!client_) return refuse(errc::unauthorized, "connect first");
  // Every call gets an answer through this table (ids chosen here): an
  // ack when the event has one, the bookkeeping of joined sessions always.
  cmd.call_id = std::to_string(++next_call_);
  pending_.emplace(cmd.call_id,
                   pending_call{packet.id, cmd.kind, cmd.session_id});
  caf::anon_send(client_, std::move(cmd));
}

void socketio_connection::send_text(std::string sio_text) {
  eio_.send_message(sio_text);
}

void socketio_connection::send_encoded(const sio_encoded& encoded) {
  eio_.send_message(encoded.text);
  for (const auto& bytes : encoded.attachments)
    eio_.send_binary(bytes);
}

void socketio_connection::send_ack(uint64_t id, const std::string& payload) {
  send_text(encode_sio_ack(default_namespace, id, payload));
}

void socketio_connection::fail_connection(std::string_view why) {
  log()->info("event=protocol_error sid={} reason=\"{}\"", sid_, why);
  decoder_.reset();
  eio_.close(clock::now());
}

void socketio_connection::leave_namespace_root() {
  if (client_) {
    caf::anon_send(client_, close_atom::value);
    client_ = nullptr;
  }
  pending_.clear();
  joined_sessions_.clear();
}

// -- time ---------------------------------------------------------------------

void socketio_connection::reschedule() {
  if (finished_) return;
  auto next = std::min(eio_.next_deadline(), connect_deadline_);
  if (next == clock::time_point::max() || next >= armed_) return;
  armed_ = next;
  net::post(strand_, [self = shared_from_this(), next] {
    self->timer_.expires_at(next);
    self->timer_.async_wait([self](boost::system::error_code ec) {
      self->on_timer(ec);
    });
  });
}

void socketio_connection::on_timer(boost::system::error_code ec) {
  if (ec == net::error::operation_aborted) return;
  std::lock_guard<std::mutex> guard{mtx_};
  if (finished_) return;
  armed_ = clock::time_point::max();
  auto now = clock::now();
  eio_.on_tick(now);
  if (now >= connect_deadline_ && namespaces_.empty()) {
    connect_deadline_ = clock::time_point::max();
    fail_connection("no CONNECT within socketio.connect-timeout");
  }
  apply_effects();
  reschedule();
}

void socketio_connection::finish() {
  finished_ = true;
  auto reason = eio_.close_reason();
  log()->debug("event=session_closed sid={} reason={}", sid_,
               reason ? to_string(*reason) : std::string_view{"unknown"});
  if (held_) {
    auto respond = std::move(*held_);
    held_.reset();
    respond(text_response(encode_eio_text(eio_packet_type::close)));
  }
  leave_namespace_root();
  namespaces_.clear();
  if (ws_) ws_->close();
  if (probe_) probe_->close();
  net::post(strand_, [self = shared_from_this()] {
    self->timer_.cancel();
  });
  endpoint_->connection_closed(sid_);
}

} // namespace puzzle::transports::socketio
