#include "transports/socketio/engineio_session.hpp"

#include <algorithm>
#include <utility>

namespace puzzle::transports::socketio {

namespace {

/// The reference server's `message` texts, indexed by `eio_request_error`.
constexpr std::string_view request_error_texts[] = {
    "Transport unknown", "Session ID unknown", "Bad handshake method",
    "Bad request",       "Forbidden",          "Unsupported protocol version",
};

eio_frame text_frame(std::string text) {
  return eio_frame{std::make_shared<const std::string>(std::move(text)), false};
}

} // namespace

// -- names --------------------------------------------------------------------

std::string_view to_string(eio_transport transport) noexcept {
  switch (transport) {
    case eio_transport::polling: return "polling";
    case eio_transport::websocket: return "websocket";
  }
  return "unknown";
}

std::string_view to_string(eio_request_error err) noexcept {
  switch (err) {
    case eio_request_error::unknown_transport: return "unknown_transport";
    case eio_request_error::unknown_sid: return "unknown_sid";
    case eio_request_error::bad_handshake_method: return "bad_handshake_method";
    case eio_request_error::bad_request: return "bad_request";
    case eio_request_error::forbidden: return "forbidden";
    case eio_request_error::unsupported_protocol_version:
      return "unsupported_protocol_version";
  }
  return "unknown";
}

unsigned http_status(eio_request_error err) noexcept {
  return err == eio_request_error::forbidden ? 403u : 400u;
}

std::string encode_request_error(eio_request_error err) {
  auto index = static_cast<size_t>(err);
  std::string out = R"({"code":)";
  out += std::to_string(index);
  out += R"(,"message":")";
  out += index < std::size(request_error_texts)
      ? request_error_texts[index]
      : std::string_view{"Bad request"};
  out += "\"}";
  return out;
}

std::string_view to_string(eio_session_state state) noexcept {
  switch (state) {
    case eio_session_state::polling: return "polling";
    case eio_session_state::upgrading: return "upgrading";
    case eio_session_state::websocket: return "websocket";
    case eio_session_state::closing: return "closing";
    case eio_session_state::closed: return "closed";
  }
  return "unknown";
}

std::string_view to_string(eio_close_reason reason) noexcept {
  switch (reason) {
    case eio_close_reason::client_close: return "client_close";
    case eio_close_reason::server_close: return "server_close";
    case eio_close_reason::ping_timeout: return "ping_timeout";
    case eio_close_reason::parse_error: return "parse_error";
    case eio_close_reason::protocol_error: return "protocol_error";
    case eio_close_reason::transport_close: return "transport_close";
    case eio_close_reason::buffer_overflow: return "buffer_overflow";
  }
  return "unknown";
}

// -- classification -----------------------------------------------------------

codec_result<eio_request, eio_request_error>
classify_request(http_method method, bool websocket_upgrade,
                 std::optional<std::string_view> eio,
                 std::optional<std::string_view> transport,
                 std::optional<std::string_view> sid) {
  if (!transport || (*transport != "polling" && *transport != "websocket"))
    return eio_request_error::unknown_transport;
  if (!eio || *eio != "4")
    return eio_request_error::unsupported_protocol_version;
  auto ws = *transport == "websocket";
  // A `websocket` request must be an upgrade and a `polling` one must not.
  if (ws != websocket_upgrade) return eio_request_error::bad_request;
  eio_request result;
  auto has_sid = sid && !sid->empty();
  if (ws) {
    if (method != http_method::get) return eio_request_error::bad_request;
    if (has_sid) {
      result.kind = eio_request_kind::websocket_upgrade;
      result.sid = std::string{*sid};
    } else {
      result.kind = eio_request_kind::websocket_handshake;
    }
    return result;
  }
  if (!has_sid) {
    if (method != http_method::get)
      return eio_request_error::bad_handshake_method;
    result.kind = eio_request_kind::polling_handshake;
    return result;
  }
  switch (method) {
    case http_method::get: result.kind = eio_request_kind::poll; break;
    case http_method::post: result.kind = eio_request_kind::post; break;
    case http_method::other: return eio_request_error::bad_request;
  }
  result.sid = std::string{*sid};
  return result;
}

// -- eio_session --------------------------------------------------------------

eio_session::eio_session(std::string sid, eio_transport transport,
                         eio_session_options options, time_point now)
    : sid_(std::move(sid)), transport_(transport), options_(options),
      state_(transport == eio_transport::websocket
                 ? eio_session_state::websocket
                 : eio_session_state::polling),
      next_ping_(now + options.ping_interval) {
  if (transport == eio_transport::websocket)
    effects_.ws_frames.push_back(text_frame(open_packet()));
}

std::string eio_session::open_packet() const {
  open_handshake hs;
  hs.sid = sid_;
  if (transport_ == eio_transport::polling && options_.allow_upgrades)
    hs.upgrades.emplace_back("websocket");
  hs.ping_interval_ms = static_cast<uint64_t>(options_.ping_interval.count());
  hs.ping_timeout_ms = static_cast<uint64_t>(options_.ping_timeout.count());
  hs.max_payload = options_.payload.max_payload_bytes;
  return encode_open_packet(hs);
}

// -- long polling -------------------------------------------------------------

eio_session::get_outcome eio_session::on_get(time_point now) {
  on_tick(now);
  get_outcome result;
  switch (state_) {
    case eio_session_state::closed:
    case eio_session_state::websocket: return result; // reject
    case eio_session_state::closing:
      if (transport_ != eio_transport::polling) return result;
      if (poll_held_) {
        fail(eio_close_reason::protocol_error);
        return result;
      }
      // Everything queued, then the close packet; the session is over.
      result.action = get_action::respond;
      result.body = drain_as_payload();
      append_encoded_to_payload(result.body,
                                encode_eio_text(eio_packet_type::close));
      state_ = eio_session_state::closed;
      close_reason_ = eio_close_reason::server_close;
      return result;
    case eio_session_state::upgrading:
      // The client pauses polling while it probes; a GET that still comes
      // gets what is queued, or a noop so that it returns at once.
      result.action = get_action::respond;
      result.body = queue_.empty() ? encode_eio_text(eio_packet_type::noop)
                                   : drain_as_payload();
      return result;
    case eio_session_state::polling: break;
  }
  if (poll_held_) {
    // Two concurrent GETs: the specification closes the session; the held
    // one learns it from a close packet.
    fail(eio_close_reason::protocol_error);
    return result;
  }
  if (!queue_.empty()) {
    result.action = get_action::respond;
    result.body = drain_as_payload();
    return result;
  }
  poll_held_ = true;
  result.action = get_action::hold;
  return result;
}

void eio_session::on_poll_aborted() noexcept {
  poll_held_ = false;
}

eio_session::post_action eio_session::on_post(std::string_view body,
                                              time_point now) {
  on_tick(now);
  if (state_ == eio_session_state::closed
      || transport_ != eio_transport::polling)
    return post_action::reject;
  if (body.size() > options_.payload.max_payload_bytes) {
    fail(eio_close_reason::protocol_error);
    return post_action::too_large;
  }
  auto packets = decode_payload(body, options_.payload);
  if (!packets) {
    fail(eio_close_reason::parse_error);
    return post_action::reject;
  }
  for (auto& packet : *packets) {
    handle_packet(std::move(packet), now);
    if (state_ == eio_session_state::closed) break;
  }
  return post_action::ok;
}

// -- WebSocket ----------------------------------------------------------------

bool eio_session::on_probe_open(time_point now) {
  on_tick(now);
  if (state_ != eio_session_state::polling || !options_.allow_upgrades)
    return false;
  state_ = eio_session_state::upgrading;
  probed_ = false;
  upgrade_deadline_ = now + options_.upgrade_timeout;
  return true;
}

eio_session::probe_outcome eio_session::on_probe_text(std::string_view frame,
                                                      time_point now) {
  on_tick(now);
  probe_outcome result;
  if (state_ != eio_session_state::upgrading) return result; // reject
  auto packet = decode_eio_packet(frame);
  if (packet && !packet->binary && packet->type == eio_packet_type::ping
      && packet->data == "probe" && !probed_) {
    probed_ = true;
    // Release the held GET so that the client can finish pausing.
    if (poll_held_) {
      poll_held_ = false;
      effects_.poll_response = encode_eio_text(eio_packet_type::noop);
    }
    result.action = probe_action::reply;
    result.reply = encode_eio_text(eio_packet_type::pong, "probe");
    return result;
  }
  if (packet && !packet->binary && packet->type == eio_packet_type::upgrade
      && probed_) {
    state_ = eio_session_state::websocket;
    transport_ = eio_transport::websocket;
    if (poll_held_) {
      poll_held_ = false;
      effects_.poll_response = encode_eio_text(eio_packet_type::noop);
    }
    // What waited for the next poll now goes over the WebSocket, in order.
    for (auto& frame_out : queue_)
      effects_.ws_frames.push_back(std::move(frame_out));
    queue_.clear();
    buffered_bytes_ = 0;
    result.action = probe_action::upgraded;
    return result;
  }
  abort_upgrade();
  return result;
}

eio_session::probe_outcome eio_session::on_probe_binary(time_point now) {
  on_tick(now);
  if (state_ == eio_session_state::upgrading) abort_upgrade();
  return {};
}

void eio_session::on_probe_closed(time_point now) {
  on_tick(now);
  if (state_ == eio_session_state::upgrading) {
    state_ = eio_session_state::polling;
    probed_ = false;
  }
}

void eio_session::on_ws_text(std::string_view frame, time_point now) {
  on_tick(now);
  if (state_ == eio_session_state::closed) return;
  auto packet = decode_eio_packet(frame);
  if (!packet) return fail(eio_close_reason::parse_error);
  handle_packet(std::move(*packet), now);
}

void eio_session::on_ws_binary(std::string_view frame, time_point now) {
  on_tick(now);
  if (state_ == eio_session_state::closed) return;
  effects_.messages.push_back(decode_binary_frame(frame));
}

void eio_session::on_ws_closed(time_point now) {
  on_tick(now);
  if (state_ == eio_session_state::closed) return;
  fail(eio_close_reason::transport_close);
}

// -- output, time, close ------------------------------------------------------

eio_send_status eio_session::send(eio_frame frame) {
  if (state_ == eio_session_state::closed
      || state_ == eio_session_state::closing)
    return eio_send_status::closing;
  if (transport_ == eio_transport::websocket) {
    // The WebSocket writer keeps (and bounds) its own queue.
    effects_.ws_frames.push_back(std::move(frame));
    return eio_send_status::queued;
  }
  auto size = frame.data ? frame.data->size() : size_t{0};
  if (buffered_bytes_ + size > options_.max_buffered_bytes) {
    fail(eio_close_reason::buffer_overflow);
    return eio_send_status::closing;
  }
  buffered_bytes_ += size;
  queue_.push_back(std::move(frame));
  if (poll_held_ && state_ == eio_session_state::polling) {
    poll_held_ = false;
    effects_.poll_response = drain_as_payload();
  }
  return eio_send_status::queued;
}

eio_send_status eio_session::send_message(std::string_view sio_text) {
  return send(text_frame(encode_eio_text(eio_packet_type::message, sio_text)));
}

eio_send_status eio_session::send_binary(std::string_view bytes) {
  return send(eio_frame{std::make_shared<const std::string>(bytes), true});
}

void eio_session::on_tick(time_point now) {
  switch (state_) {
    case eio_session_state::closed: return;
    case eio_session_state::closing:
      if (now >= close_deadline_) fail(eio_close_reason::server_close);
      return;
    default: break;
  }
  if (state_ == eio_session_state::upgrading && now >= upgrade_deadline_)
    abort_upgrade();
  if (awaiting_pong_) {
    if (now >= pong_deadline_) fail(eio_close_reason::ping_timeout);
    return;
  }
  if (now >= next_ping_) {
    awaiting_pong_ = true;
    pong_deadline_ = now + options_.ping_timeout;
    queue_control(eio_packet_type::ping);
  }
}

eio_session::time_point eio_session::next_deadline() const noexcept {
  switch (state_) {
    case eio_session_state::closed: return time_point::max();
    case eio_session_state::closing: return close_deadline_;
    default: break;
  }
  auto next = awaiting_pong_ ? pong_deadline_ : next_ping_;
  if (state_ == eio_session_state::upgrading)
    next = std::min(next, upgrade_deadline_);
  return next;
}

void eio_session::close(time_point now) {
  if (state_ == eio_session_state::closed
      || state_ == eio_session_state::closing)
    return;
  if (state_ == eio_session_state::upgrading) abort_upgrade();
  if (transport_ == eio_transport::websocket) {
    // Queued frames are in `effects_.ws_frames` already; the writer sends
    // them before it closes the socket.
    state_ = eio_session_state::closed;
    close_reason_ = eio_close_reason::server_close;
    effects_.close_websocket = true;
    return;
  }
  if (poll_held_) {
    poll_held_ = false;
    auto body = drain_as_payload();
    append_encoded_to_payload(body, encode_eio_text(eio_packet_type::close));
    effects_.poll_response = std::move(body);
    state_ = eio_session_state::closed;
    close_reason_ = eio_close_reason::server_close;
    return;
  }
  // Wait for the next GET to deliver what is queued and the close packet,
  // but not longer than a client that is alive takes to poll again.
  state_ = eio_session_state::closing;
  close_deadline_ = now + options_.ping_timeout;
}

eio_effects eio_session::take_effects() {
  return std::exchange(effects_, eio_effects{});
}

// -- private ------------------------------------------------------------------

void eio_session::fail(eio_close_reason reason) {
  if (state_ == eio_session_state::closed) return;
  if (poll_held_) {
    poll_held_ = false;
    effects_.poll_response = encode_eio_text(
        reason == eio_close_reason::client_close ? eio_packet_type::noop
                                                 : eio_packet_type::close);
  }
  if (state_ == eio_session_state::upgrading) effects_.close_probe = true;
  if (transport_ == eio_transport::websocket) effects_.close_websocket = true;
  state_ = eio_session_state::closed;
  close_reason_ = reason;
  queue_.clear();
  buffered_bytes_ = 0;
}

void eio_session::handle_packet(eio_packet packet, time_point now) {
  if (packet.binary) {
    effects_.messages.push_back(std::move(packet));
    return;
  }
  switch (packet.type) {
    case eio_packet_type::message:
      effects_.messages.push_back(std::move(packet));
      return;
    case eio_packet_type::pong:
      if (awaiting_pong_) {
        awaiting_pong_ = false;
        next_ping_ = now + options_.ping_interval;
      }
      return;
    case eio_packet_type::close: return fail(eio_close_reason::client_close);
    case eio_packet_type::open: return fail(eio_close_reason::protocol_error);
    case eio_packet_type::ping:
    case eio_packet_type::upgrade:
    case eio_packet_type::noop:
      // v4 clients do not send these on an established transport; they are
      // harmless, so they are ignored rather than fatal.
      return;
  }
}

void eio_session::queue_control(eio_packet_type type) {
  send(text_frame(encode_eio_text(type)));
}

std::string eio_session::drain_as_payload() {
  std::string body;
  for (auto& frame : queue_) {
    if (!frame.data) continue;
    if (frame.binary) {
      append_to_payload(body, eio_packet::bytes(*frame.data));
    } else {
      append_encoded_to_payload(body, *frame.data);
    }
  }
  queue_.clear();
  buffered_bytes_ = 0;
  return body;
}

void eio_session::abort_upgrade() {
  if (state_ != eio_session_state::upgrading) return;
  state_ = eio_session_state::polling;
  probed_ = false;
  effects_.close_probe = true;
}

} // namespace puzzle::transports::socketio
