#include "tests/bench/load/wire.hpp"

#include <cmath>
#include <cstdlib>
#include <stdexcept>

namespace puzzle::bench {

namespace {

/// The number after `key` (which includes the quotes and colon), or NaN.
double number_after(std::string_view text, std::string_view key) {
  auto at = text.find(key);
  if (at == std::string_view::npos) return std::nan("");
  at += key.size();
  while (at < text.size() && (text[at] == ' ' || text[at] == '"'))
    ++at;
  if (at >= text.size()) return std::nan("");
  // The number ends at the next delimiter; strtod needs a terminated copy.
  char buf[40];
  size_t n = 0;
  while (at + n < text.size() && n + 1 < sizeof buf) {
    char c = text[at + n];
    if (!((c >= '0' && c <= '9') || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E'))
      break;
    buf[n] = c;
    ++n;
  }
  if (n == 0) return std::nan("");
  buf[n] = '\0';
  return std::strtod(buf, nullptr);
}

bool contains(std::string_view text, std::string_view what) {
  return text.find(what) != std::string_view::npos;
}

/// Fills piece, x, y from an event payload; false when one is missing.
bool piece_fields(std::string_view payload, inbound& in) {
  auto piece = number_after(payload, "\"pieceId\":");
  auto x = number_after(payload, "\"x\":");
  auto y = number_after(payload, "\"y\":");
  if (std::isnan(piece) || std::isnan(x) || std::isnan(y)) return false;
  in.piece = static_cast<int32_t>(piece);
  in.x = x;
  in.y = y;
  return true;
}

void classify_ws(std::string_view text, std::vector<inbound>& out) {
  inbound in;
  // The type comes first in every message of the node and of the ws peer.
  auto head = text.substr(0, 24);
  if (contains(head, "\"type\":\"event\"")) {
    if (contains(text, "\"event\":\"PieceDragged\"") || contains(text, "\"event\":\"PieceMoved\""))
      if (piece_fields(text, in)) in.kind = inbound::event;
  } else if (contains(head, "\"type\":\"ack\"")) {
    in.kind = inbound::ack;
    auto id = number_after(text, "\"id\":");
    in.id = std::isnan(id) ? -1 : static_cast<int64_t>(id);
  } else if (contains(head, "\"type\":\"error\"")) {
    in.kind = inbound::failure;
    auto id = number_after(text, "\"id\":");
    in.id = std::isnan(id) ? -1 : static_cast<int64_t>(id);
  }
  out.push_back(in);
}

void classify_signalr_record(std::string_view rec, std::vector<inbound>& out) {
  inbound in;
  if (contains(rec.substr(0, 12), "\"type\":3")) {
    auto id = number_after(rec, "\"invocationId\":");
    in.id = std::isnan(id) ? -1 : static_cast<int64_t>(id);
    in.kind = contains(rec, "\"error\":") ? inbound::failure : inbound::ack;
  } else if (contains(rec.substr(0, 12), "\"type\":1")) {
    if (contains(rec, "\"target\":\"PieceDragged\"") || contains(rec, "\"target\":\"PieceMoved\""))
      if (piece_fields(rec, in)) in.kind = inbound::event;
  }
  out.push_back(in);
}

void classify_socketio(std::string_view text, std::vector<inbound>& out) {
  inbound in;
  if (text == "2") {
    in.kind = inbound::engine_ping;
  } else if (text.size() > 2 && text[0] == '4' && text[1] == '3') {
    // 43<ackId>[{...}]
    size_t i = 2;
    int64_t id = 0;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9')
      id = id * 10 + (text[i++] - '0');
    in.id = id;
    in.kind = contains(text, "\"ok\":false") ? inbound::failure : inbound::ack;
  } else if (text.size() > 2 && text[0] == '4' && text[1] == '2') {
    if (contains(text.substr(0, 24), "\"piece_dragged\"")
        || contains(text.substr(0, 24), "\"piece_moved\""))
      if (piece_fields(text, in)) in.kind = inbound::event;
  }
  out.push_back(in);
}

void put_u16(std::string& out, uint16_t v) {
  out += static_cast<char>(v >> 8);
  out += static_cast<char>(v & 0xff);
}

void put_string(std::string& out, std::string_view s) {
  put_u16(out, static_cast<uint16_t>(s.size()));
  out.append(s.data(), s.size());
}

std::string fixed_header(uint8_t first, size_t remaining) {
  std::string out;
  out += static_cast<char>(first);
  do {
    auto byte = static_cast<uint8_t>(remaining % 128);
    remaining /= 128;
    if (remaining > 0) byte |= 0x80;
    out += static_cast<char>(byte);
  } while (remaining > 0);
  return out;
}

std::string num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", v);
  return buf;
}

} // namespace

protocol parse_protocol(std::string_view name) {
  if (name == "ws") return protocol::ws;
  if (name == "signalr") return protocol::signalr;
  if (name == "socketio") return protocol::socketio;
  if (name == "mqtt") return protocol::mqtt;
  throw std::invalid_argument("unknown protocol: " + std::string{name});
}

const char* to_string(protocol p) {
  switch (p) {
    case protocol::ws: return "ws";
    case protocol::signalr: return "signalr";
    case protocol::socketio: return "socketio";
    case protocol::mqtt: return "mqtt";
  }
  return "?";
}

void classify_signalr_frame(std::string_view frame, std::vector<inbound>& out) {
  while (!frame.empty()) {
    auto end = frame.find('\x1e');
    if (end == std::string_view::npos) end = frame.size();
    if (end > 0) classify_signalr_record(frame.substr(0, end), out);
    frame.remove_prefix(std::min(end + 1, frame.size()));
  }
}

void classify(protocol p, std::string_view text, std::vector<inbound>& out) {
  switch (p) {
    case protocol::ws: return classify_ws(text, out);
    case protocol::signalr: return classify_signalr_frame(text, out);
    case protocol::socketio: return classify_socketio(text, out);
    case protocol::mqtt: {
      inbound in;
      if (piece_fields(text, in)) in.kind = inbound::event;
      out.push_back(in);
      return;
    }
  }
}

std::string encode_join(protocol p, int64_t id, std::string_view session) {
  std::string sid{session};
  switch (p) {
    case protocol::ws:
      return "{\"type\":\"join\",\"id\":" + std::to_string(id) + ",\"sessionId\":\"" + sid + "\"}";
    case protocol::signalr:
      return "{\"type\":1,\"invocationId\":\"" + std::to_string(id)
          + "\",\"target\":\"JoinPuzzleSession\",\"arguments\":[\"" + sid + "\"]}\x1e";
    case protocol::socketio:
      return "42" + std::to_string(id) + "[\"join\",{\"sessionId\":\"" + sid + "\"}]";
    case protocol::mqtt: return {};
  }
  return {};
}

std::string encode_piece_op(protocol p, operation op, int64_t id, std::string_view session,
                            int32_t piece, double x, double y) {
  std::string sid{session};
  auto fields = "\"pieceId\":" + std::to_string(piece) + ",\"x\":" + num(x) + ",\"y\":" + num(y)
      + ",\"rotation\":0";
  switch (p) {
    case protocol::ws:
      return std::string{"{\"type\":\""} + (op == operation::drag ? "drag" : "move")
          + "\",\"id\":" + std::to_string(id) + ",\"sessionId\":\"" + sid + "\"," + fields + "}";
    case protocol::signalr:
      return "{\"type\":1,\"invocationId\":\"" + std::to_string(id) + "\",\"target\":\""
          + (op == operation::drag ? "DragPiece" : "MovePiece") + "\",\"arguments\":[\"" + sid
          + "\"," + std::to_string(piece) + "," + num(x) + "," + num(y) + ",0]}\x1e";
    case protocol::socketio:
      return "42" + std::to_string(id) + "[\""
          + (op == operation::drag ? "drag_piece" : "move_piece") + "\",{\"sessionId\":\"" + sid
          + "\"," + fields + "}]";
    case protocol::mqtt: return {};
  }
  return {};
}

std::string mqtt_payload(int32_t piece, double x, double y) {
  return "{\"pieceId\":" + std::to_string(piece) + ",\"x\":" + num(x) + ",\"y\":" + num(y)
      + ",\"rotation\":0}";
}

std::string mqtt_connect(std::string_view client_id, uint16_t keep_alive_s) {
  std::string body;
  put_string(body, "MQTT");
  body += static_cast<char>(4);    // protocol level 3.1.1
  body += static_cast<char>(0x02); // clean session
  put_u16(body, keep_alive_s);
  put_string(body, client_id);
  return fixed_header(0x10, body.size()) + body;
}

std::string mqtt_subscribe(uint16_t packet_id, std::string_view topic) {
  std::string body;
  put_u16(body, packet_id);
  put_string(body, topic);
  body += static_cast<char>(0); // QoS 0
  return fixed_header(0x82, body.size()) + body;
}

std::string mqtt_publish(std::string_view topic, std::string_view payload) {
  std::string body;
  put_string(body, topic);
  body.append(payload.data(), payload.size());
  return fixed_header(0x30, body.size()) + body;
}

std::string mqtt_pingreq() {
  return std::string{"\xc0\x00", 2};
}

bool mqtt_reader::next(packet& out) {
  if (pos_ > 0 && pos_ == buf_.size()) {
    buf_.clear();
    pos_ = 0;
  }
  if (pos_ > 65536) {
    buf_.erase(0, pos_);
    pos_ = 0;
  }
  size_t avail = buf_.size() - pos_;
  if (avail < 2) return false;
  size_t remaining = 0;
  size_t mult = 1;
  size_t i = 1;
  for (;; ++i) {
    if (i >= avail || i > 4) return false;
    auto byte = static_cast<uint8_t>(buf_[pos_ + i]);
    remaining += (byte & 0x7f) * mult;
    mult *= 128;
    if ((byte & 0x80) == 0) break;
  }
  size_t header = i + 1;
  if (avail < header + remaining) return false;
  out.type = static_cast<uint8_t>(static_cast<uint8_t>(buf_[pos_]) >> 4);
  out.body = std::string_view{buf_}.substr(pos_ + header, remaining);
  pos_ += header + remaining;
  return true;
}

std::string_view mqtt_publish_payload(std::string_view body) {
  if (body.size() < 2) return {};
  size_t len = (static_cast<uint8_t>(body[0]) << 8) | static_cast<uint8_t>(body[1]);
  if (body.size() < 2 + len) return {};
  return body.substr(2 + len); // QoS 0: no packet id
}

int64_t seq_of(double x, double y) {
  double fx = x - 10.0;
  double fy = y - 10.0;
  if (fx < 0 || fy < 0 || fx >= 256 || fy >= 256) return -1;
  if (fx != std::floor(fx) || fy != std::floor(fy)) return -1;
  return static_cast<int64_t>(fx) + static_cast<int64_t>(fy) * 256;
}

} // namespace puzzle::bench
