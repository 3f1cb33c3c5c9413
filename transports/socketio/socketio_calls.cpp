#include "transports/socketio/socketio_calls.hpp"

#include <cmath>
#include <limits>

#include "transports/codec/json_input.hpp"
#include "transports/socketio/socketio_protocol.hpp"

namespace puzzle::transports::socketio {

namespace {

using json = nlohmann::json;

struct event_spec {
  std::string_view name;
  command_kind kind;
  bool session; ///< Needs `sessionId` (only `leave` may omit it).
  bool piece;   ///< Needs `pieceId`.
  bool coords;  ///< Needs `x` and `y`.
  bool turn;    ///< Needs `rotation`.
};

constexpr event_spec events[] = {
    {"join", command_kind::join, true, false, false, false},
    {"leave", command_kind::leave, false, false, false, false},
    {"lock_piece", command_kind::lock, true, true, false, false},
    {"drag_piece", command_kind::drag, true, true, true, true},
    {"move_piece", command_kind::move, true, true, true, true},
    {"unlock_piece", command_kind::unlock, true, true, false, false},
    {"chat_message", command_kind::chat, true, false, false, false},
    {"cursor", command_kind::cursor, true, false, true, false},
    {"get_state", command_kind::get_state, true, false, false, false},
};

const event_spec* find_event(std::string_view name) noexcept {
  for (const auto& spec : events)
    if (spec.name == name) return &spec;
  return nullptr;
}

const json* field(const json& obj, const char* name) {
  auto i = obj.find(name);
  return i == obj.end() ? nullptr : &*i;
}

sio_call_failure failure(errc code, std::string message) {
  return sio_call_failure{code, std::move(message)};
}

std::string quote(std::string_view text) {
  return json(std::string{text})
      .dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string error_object(errc code, std::string_view message) {
  std::string out = R"({"code":)";
  out += quote(to_code(code));
  out += R"(,"message":)";
  out += quote(message);
  out += '}';
  return out;
}

} // namespace

bool is_puzzle_event(std::string_view name) noexcept {
  return find_event(name) != nullptr;
}

sio_call_result decode_puzzle_event(const json& event) {
  if (!event.is_array() || event.empty() || !event.front().is_string())
    return failure(errc::invalid_message,
                   "an event is an array that starts with its name");
  const auto& name = event.front().get_ref<const std::string&>();
  auto spec = find_event(name);
  if (spec == nullptr)
    return failure(errc::invalid_message, "unknown event '" + name + "'");
  static const json empty_object = json::object();
  const json* args = &empty_object;
  if (event.size() >= 2 && !(event[1].is_null() && !spec->session)) {
    args = &event[1];
  } else if (spec->session) {
    return failure(errc::invalid_message,
                   name + " needs an object argument {sessionId, ...}");
  }
  if (!args->is_object())
    return failure(errc::invalid_message,
                   name + " needs an object argument {sessionId, ...}");
  client_command cmd;
  cmd.kind = spec->kind;
  auto session = field(*args, "sessionId");
  if (spec->session || (session != nullptr && !session->is_null())) {
    if (!codec::read_string(session, cmd.session_id) || cmd.session_id.empty())
      return failure(errc::invalid_message, "sessionId must be a string");
  }
  if (spec->kind == command_kind::join) {
    if (auto user = field(*args, "userId"); user != nullptr && !user->is_null()
        && !codec::read_string(user, cmd.user_id))
      return failure(errc::invalid_message, "userId must be a string");
  }
  if (spec->piece && !codec::read_int32(field(*args, "pieceId"), cmd.piece_id))
    return failure(errc::invalid_message, "pieceId must be an integer");
  if (spec->kind == command_kind::chat
      && !codec::read_string(field(*args, "message"), cmd.text))
    return failure(errc::invalid_message, "message must be a string");
  if (spec->coords) {
    if (!codec::read_finite(field(*args, "x"), cmd.x))
      return failure(errc::invalid_move, "x must be a finite number");
    if (!codec::read_finite(field(*args, "y"), cmd.y))
      return failure(errc::invalid_move, "y must be a finite number");
  }
  if (spec->turn) {
    double turn = 0;
    if (!codec::read_finite(field(*args, "rotation"), turn))
      return failure(errc::invalid_move, "rotation must be a finite number");
    if (turn != std::floor(turn)
        || turn < static_cast<double>(std::numeric_limits<int32_t>::min())
        || turn > static_cast<double>(std::numeric_limits<int32_t>::max()))
      return failure(errc::invalid_move, "rotation must be an integral number");
    cmd.rotation = static_cast<int32_t>(turn);
  }
  return cmd;
}

std::string server_event_name(std::string_view signalr_name) {
  if (signalr_name == "SessionStateUpdate") return "session_state";
  if (signalr_name == "ChatMessageReceived") return "chat_message";
  std::string out;
  out.reserve(signalr_name.size() + 4);
  for (size_t i = 0; i < signalr_name.size(); ++i) {
    auto c = signalr_name[i];
    if (c >= 'A' && c <= 'Z') {
      if (i > 0) out += '_';
      out += static_cast<char>(c - 'A' + 'a');
    } else {
      out += c;
    }
  }
  return out;
}

std::string encode_session_event(std::string_view signalr_name,
                                 std::string_view args) {
  if (signalr_name == "Error") {
    // SignalR's Error(message, code) becomes error {code, message}.
    json parsed;
    std::string message;
    std::string code{to_code(errc::internal)};
    if (codec::parse_json(args, parsed, 4).empty() && parsed.is_array()) {
      if (parsed.size() > 0 && parsed[0].is_string())
        message = parsed[0].get<std::string>();
      if (parsed.size() > 1 && parsed[1].is_string())
        code = parsed[1].get<std::string>();
    }
    std::string obj
        = R"({"code":)" + quote(code) + R"(,"message":)" + quote(message) + '}';
    return encode_sio_event(default_namespace, "error", obj);
  }
  // `args` is a JSON array: splice its elements in after the name.
  std::string_view inner;
  if (args.size() >= 2 && args.front() == '[' && args.back() == ']')
    inner = args.substr(1, args.size() - 2);
  return encode_sio_event(default_namespace, server_event_name(signalr_name),
                          inner);
}

std::string ack_ok(std::string_view result) {
  auto first = result.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos || result.substr(first) == "null")
    return R"({"ok":true})";
  auto body = result.substr(first);
  if (body.front() == '{') {
    auto rest = body.substr(1);
    auto next = rest.find_first_not_of(" \t\r\n");
    if (next != std::string_view::npos && rest[next] == '}')
      return R"({"ok":true})";
    std::string out = R"({"ok":true,)";
    out += rest;
    return out;
  }
  std::string out = R"({"ok":true,"result":)";
  out += body;
  out += '}';
  return out;
}

std::string ack_error(errc code, std::string_view message) {
  std::string out = R"({"ok":false,"code":)";
  out += quote(to_code(code));
  out += R"(,"message":)";
  out += quote(message);
  out += '}';
  return out;
}

std::string encode_error_event(errc code, std::string_view message) {
  return encode_sio_event(default_namespace, "error",
                          error_object(code, message));
}

} // namespace puzzle::transports::socketio
