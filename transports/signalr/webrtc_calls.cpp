#include "transports/signalr/webrtc_calls.hpp"

#include <nlohmann/json.hpp>

namespace puzzle::transports::signalr {

namespace {

using json = nlohmann::json;

struct relay_method {
  std::string_view name;
  signal_kind kind;
};

constexpr relay_method relay_methods[] = {
    {"SendSignal", signal_kind::signal},
    {"SendOffer", signal_kind::offer},
    {"SendAnswer", signal_kind::answer},
    {"SendIceCandidate", signal_kind::ice_candidate},
};

hub_call_failure binding_failure(const invocation& call) {
  return {errc::invalid_message, invalid_arguments_text(call.target)};
}

hub_call_failure hub_failure(const invocation& call, errc code,
                             std::string_view message) {
  return {code, hub_exception_text(call.target, code, message)};
}

/// Exactly `count` string arguments into `out`.
bool read_strings(const invocation& call, size_t count, std::string* out) {
  const auto& args = call.arguments;
  if (args.size() != count || !call.stream_ids.empty()) return false;
  for (size_t i = 0; i < count; ++i) {
    if (!args[i].is_string()) return false;
    out[i] = args[i].get<std::string>();
  }
  return true;
}

std::string quote(std::string_view text) {
  return json(std::string{text})
      .dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string_view receive_method(signal_kind kind) noexcept {
  switch (kind) {
    case signal_kind::offer: return "ReceiveOffer";
    case signal_kind::answer: return "ReceiveAnswer";
    case signal_kind::ice_candidate: return "ReceiveIceCandidate";
    case signal_kind::signal: break;
  }
  return "ReceiveSignal";
}

} // namespace

webrtc_call_result decode_webrtc_call(const invocation& call,
                                      const webrtc_call_limits& limits) {
  webrtc_command cmd;
  if (call.invocation_id) cmd.call_id = *call.invocation_id;
  std::string args[2];
  auto check_room = [&]() -> std::optional<hub_call_failure> {
    if (cmd.room.empty())
      return hub_failure(call, errc::invalid_argument,
                         "roomName must not be empty");
    if (cmd.room.size() > limits.max_room_bytes)
      return hub_failure(call, errc::limit_exceeded,
                         "a room name has at most "
                             + std::to_string(limits.max_room_bytes)
                             + " bytes (limits.max-channel-name-bytes)");
    return std::nullopt;
  };
  if (method_name_matches("JoinRoom", call.target)) {
    if (!read_strings(call, 2, args)) return binding_failure(call);
    cmd.kind = webrtc_command_kind::join;
    cmd.room = std::move(args[0]);
    cmd.user_name = std::move(args[1]);
    if (auto bad = check_room()) return *bad;
    if (cmd.user_name.size() > limits.max_user_name_bytes)
      return hub_failure(call, errc::limit_exceeded,
                         "userName is too long (limits.max-name-length)");
    return cmd;
  }
  if (method_name_matches("LeaveRoom", call.target)) {
    if (!read_strings(call, 1, args)) return binding_failure(call);
    cmd.kind = webrtc_command_kind::leave;
    cmd.room = std::move(args[0]);
    if (auto bad = check_room()) return *bad;
    return cmd;
  }
  for (const auto& method : relay_methods) {
    if (!method_name_matches(method.name, call.target)) continue;
    if (!read_strings(call, 2, args)) return binding_failure(call);
    cmd.kind = webrtc_command_kind::relay;
    cmd.signal = method.kind;
    cmd.payload = std::move(args[0]);
    cmd.target = std::move(args[1]);
    return cmd;
  }
  return hub_call_failure{errc::invalid_message,
                          unknown_method_text(call.target)};
}

std::string encode_webrtc_event(const webrtc_event& ev) {
  std::string args;
  switch (ev.kind) {
    case webrtc_event_kind::user_joined:
      args = "[" + quote(ev.connection_id) + "," + quote(ev.user_name) + "]";
      return encode_invocation("UserJoined", args);
    case webrtc_event_kind::user_left:
      args = "[" + quote(ev.connection_id) + "]";
      return encode_invocation("UserLeft", args);
    case webrtc_event_kind::existing_participants: {
      args = "[[";
      for (size_t i = 0; i < ev.participants.size(); ++i) {
        if (i > 0) args += ',';
        args += R"({"connectionId":)" + quote(ev.participants[i].connection_id)
            + R"(,"userName":)" + quote(ev.participants[i].user_name) + "}";
      }
      args += "]]";
      return encode_invocation("ExistingParticipants", args);
    }
    case webrtc_event_kind::relayed: break;
  }
  args = "[" + quote(ev.payload) + "," + quote(ev.connection_id) + "]";
  return encode_invocation(receive_method(ev.signal), args);
}

} // namespace puzzle::transports::signalr
