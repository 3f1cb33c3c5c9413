#include "transports/ws/ws_protocol.hpp"

#include <cmath>
#include <limits>

#include "actors/util/ids.hpp"
#include "transports/codec/json_input.hpp"
#include "transports/signalr/hub_protocol.hpp"

namespace puzzle::transports::ws {

namespace {

using codec::json;

/// Appends a JSON string literal (quotes included) without building a
/// JSON value: the encoders run per message. Invalid UTF-8 is replaced, not
/// thrown about (decoded input is valid already, this is a second fence).
void append_quoted(std::string& out, std::string_view text) {
  signalr::append_json_string(out, text);
}

const json* field(const json& obj, const char* name) {
  auto i = obj.find(name);
  return i == obj.end() ? nullptr : &*i;
}

struct operation {
  std::string_view name;
  command_kind kind;
  bool piece;  ///< Needs `pieceId`.
  bool coords; ///< Needs `x` and `y`.
  bool turn;   ///< Needs `rotation`.
};

constexpr operation operations[] = {
    {"join", command_kind::join, false, false, false},
    {"leave", command_kind::leave, false, false, false},
    {"lock", command_kind::lock, true, false, false},
    {"drag", command_kind::drag, true, true, true},
    {"move", command_kind::move, true, true, true},
    {"unlock", command_kind::unlock, true, false, false},
    {"chat", command_kind::chat, false, false, false},
    {"cursor", command_kind::cursor, false, true, false},
    {"state", command_kind::get_state, false, false, false},
};

const operation* find_operation(std::string_view type) noexcept {
  for (const auto& op : operations)
    if (op.name == type) return &op;
  return nullptr;
}

protocol_error error(std::string id, errc code, std::string message) {
  return protocol_error{std::move(id), code, std::move(message)};
}

/// The client's `id` as JSON text: a string or an integer is echoed; other
/// types (or absence) give an empty id.
std::string read_id(const json& obj) {
  auto id = field(obj, "id");
  if (id == nullptr) return {};
  if (id->is_string() && id->get_ref<const std::string&>().size() <= 128)
    return id->dump(-1, ' ', false, json::error_handler_t::replace);
  if (id->is_number_integer()) return id->dump();
  return {};
}

inbound decode_channel(const json& obj, std::string_view type,
                       const protocol_limits& limits) {
  auto id = read_id(obj);
  std::string channel;
  if (!codec::read_string(field(obj, "channel"), channel) || channel.empty())
    return error(std::move(id), errc::invalid_message,
                 "channel must be a non-empty string");
  if (channel.size() > limits.max_channel_bytes)
    return error(std::move(id), errc::limit_exceeded,
                 "a channel name has at most "
                     + std::to_string(limits.max_channel_bytes)
                     + " bytes (limits.max-channel-name-bytes)");
  if (type == "broadcast") {
    if (channel.compare(0, session_channel_prefix.size(),
                        session_channel_prefix)
        == 0)
      return error(std::move(id), errc::forbidden,
                   "session channels carry only their session's events");
    auto data = field(obj, "data");
    return broadcast_request{
        std::move(channel),
        data ? data->dump(-1, ' ', false, json::error_handler_t::replace)
             : std::string{"null"}};
  }
  return subscribe_request{std::move(channel), type == "subscribe"};
}

inbound decode_operation(const json& obj, const operation& op) {
  puzzle_request req;
  req.id = read_id(obj);
  req.op = std::string{op.name};
  auto& cmd = req.command;
  cmd.kind = op.kind;
  if (!codec::read_string(field(obj, "sessionId"), cmd.session_id))
    return error(std::move(req.id), errc::invalid_message,
                 "sessionId must be a string");
  if (op.kind == command_kind::join) {
    if (auto user = field(obj, "userId"); user != nullptr && !user->is_null()
        && !codec::read_string(user, cmd.user_id))
      return error(std::move(req.id), errc::invalid_message,
                   "userId must be a string");
  }
  if (op.piece && !codec::read_int32(field(obj, "pieceId"), cmd.piece_id))
    return error(std::move(req.id), errc::invalid_message,
                 "pieceId must be an integer");
  if (op.kind == command_kind::chat
      && !codec::read_string(field(obj, "message"), cmd.text))
    return error(std::move(req.id), errc::invalid_message,
                 "message must be a string");
  if (op.coords) {
    if (!codec::read_finite(field(obj, "x"), cmd.x))
      return error(std::move(req.id), errc::invalid_move,
                   "x must be a finite number");
    if (!codec::read_finite(field(obj, "y"), cmd.y))
      return error(std::move(req.id), errc::invalid_move,
                   "y must be a finite number");
  }
  if (op.turn) {
    double turn = 0;
    if (!codec::read_finite(field(obj, "rotation"), turn))
      return error(std::move(req.id), errc::invalid_move,
                   "rotation must be a finite number");
    if (turn != std::floor(turn)
        || turn < static_cast<double>(std::numeric_limits<int32_t>::min())
        || turn > static_cast<double>(std::numeric_limits<int32_t>::max()))
      return error(std::move(req.id), errc::invalid_move,
                   "rotation must be an integral number");
    cmd.rotation = static_cast<int32_t>(turn);
  }
  return req;
}

} // namespace

inbound decode(std::string_view text, const protocol_limits& limits) {
  json obj;
  if (!codec::parse_json(text, obj, max_json_depth).empty() || !obj.is_object())
    return error({}, errc::invalid_message, std::string{invalid_format_text});
  std::string type;
  if (!codec::read_string(field(obj, "type"), type))
    return error(read_id(obj), errc::invalid_message,
                 std::string{invalid_format_text});
  if (type == "ping") return ping_request{};
  if (type == "subscribe" || type == "unsubscribe" || type == "broadcast")
    return decode_channel(obj, type, limits);
  if (auto op = find_operation(type)) return decode_operation(obj, *op);
  return error(read_id(obj), errc::invalid_message,
               std::string{unknown_type_text});
}

std::string_view session_of_channel(std::string_view channel) noexcept {
  if (channel.size() <= session_channel_prefix.size()
      || channel.compare(0, session_channel_prefix.size(),
                         session_channel_prefix)
          != 0)
    return {};
  return channel.substr(session_channel_prefix.size());
}

std::string encode_pong(int64_t unix_ms) {
  std::string out = R"({"type":"pong","timestamp":)";
  append_quoted(out, util::iso8601(unix_ms));
  out += '}';
  return out;
}

std::string encode_subscription(std::string_view channel, bool subscribed) {
  std::string out = subscribed ? R"({"type":"subscribed","channel":)"
                               : R"({"type":"unsubscribed","channel":)";
  append_quoted(out, channel);
  out += '}';
  return out;
}

std::string encode_channel_message(std::string_view channel,
                                   std::string_view data, int64_t unix_ms) {
  std::string out = R"({"type":"message","channel":)";
  append_quoted(out, channel);
  out += R"(,"data":)";
  out += data;
  out += R"(,"timestamp":)";
  append_quoted(out, util::iso8601(unix_ms));
  out += '}';
  return out;
}

std::string encode_event(std::string_view session_id, std::string_view name,
                         std::string_view args) {
  // `[x]` -> `x`: the session builds the argument array once for every
  // transport; its single element is this protocol's `data`.
  std::string_view data = "null";
  if (args.size() >= 2 && args.front() == '[' && args.back() == ']')
    data = args.substr(1, args.size() - 2);
  std::string out;
  out.reserve(64 + session_id.size() + name.size() + data.size());
  out += R"({"type":"event","channel":)";
  // "session:<id>" without a temporary: quote the id, then put the prefix
  // (plain ASCII) after the opening quote.
  auto channel_at = out.size();
  append_quoted(out, session_id);
  out.insert(channel_at + 1, session_channel_prefix);
  out += R"(,"event":)";
  append_quoted(out, name);
  out += R"(,"data":)";
  out += data.empty() ? std::string_view{"null"} : data;
  out += '}';
  return out;
}

std::string encode_ack(std::string_view id, std::string_view op,
                       std::string_view result) {
  std::string out = R"({"type":"ack","id":)";
  out += id.empty() ? std::string_view{"null"} : id;
  out += R"(,"op":)";
  append_quoted(out, op);
  if (!result.empty() && result != "null") {
    out += R"(,"result":)";
    out += result;
  }
  out += '}';
  return out;
}

std::string encode_error(std::string_view id, errc code,
                         std::string_view message) {
  std::string out = R"({"type":"error",)";
  if (!id.empty()) {
    out += R"("id":)";
    out += id;
    out += ',';
  }
  out += R"("code":)";
  append_quoted(out, to_code(code));
  out += R"(,"message":)";
  append_quoted(out, message);
  out += '}';
  return out;
}

size_t write_frame_header(char* out, bool text,
                          uint64_t payload_bytes) noexcept {
  constexpr unsigned char fin = 0x80;
  constexpr unsigned char opcode_text = 0x1;
  constexpr unsigned char opcode_binary = 0x2;
  out[0] = static_cast<char>(fin | (text ? opcode_text : opcode_binary));
  // No mask bit: servers never mask (RFC 6455 section 5.1).
  if (payload_bytes <= 125) {
    out[1] = static_cast<char>(payload_bytes);
    return 2;
  }
  if (payload_bytes <= 0xFFFF) {
    out[1] = static_cast<char>(126);
    out[2] = static_cast<char>((payload_bytes >> 8) & 0xFF);
    out[3] = static_cast<char>(payload_bytes & 0xFF);
    return 4;
  }
  out[1] = static_cast<char>(127);
  // Network byte order; the top bit stays 0 (payloads are far below 2^63).
  for (int i = 0; i < 8; ++i)
    out[2 + i] = static_cast<char>((payload_bytes >> (8 * (7 - i))) & 0xFF);
  return 10;
}

} // namespace puzzle::transports::ws
