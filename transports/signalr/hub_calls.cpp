#include "transports/signalr/hub_calls.hpp"

#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>

#include "transports/codec/json_input.hpp"

namespace puzzle::transports::signalr {

namespace {

using json = nlohmann::json;

/// The shape of a hub method's parameter list. Coordinates come last in
/// every method, so "fewer arguments than required" splits cleanly into a
/// binding failure (an id is missing) and INVALID_MOVE (a coordinate is).
struct method_spec {
  std::string_view name;
  command_kind kind;
  size_t required; ///< Arguments before the coordinates, all mandatory.
  size_t max;      ///< Most arguments accepted.
};

constexpr method_spec methods[] = {
    {"JoinPuzzleSession", command_kind::join, 1, 2},
    {"LeaveSession", command_kind::leave, 1, 1},
    {"LockPiece", command_kind::lock, 2, 2},
    {"DragPiece", command_kind::drag, 2, 5},
    {"MovePiece", command_kind::move, 2, 5},
    {"UnlockPiece", command_kind::unlock, 2, 2},
    {"SendChatMessage", command_kind::chat, 2, 2},
    {"UpdateCursor", command_kind::cursor, 1, 3},
    {"GetSessionState", command_kind::get_state, 1, 1},
};

const method_spec* find_method(std::string_view target) noexcept {
  for (const auto& spec : methods)
    if (method_name_matches(spec.name, target)) return &spec;
  return nullptr;
}

/// Argument `index`, or null when the client sent fewer.
const json* arg(const json& args, size_t index) {
  return index < args.size() ? &args[index] : nullptr;
}

using codec::read_finite;
using codec::read_int32;
using codec::read_string;

hub_call_failure invalid_arguments(std::string_view target) {
  return {errc::invalid_message, invalid_arguments_text(target)};
}

hub_call_failure invalid_move(std::string_view target,
                              std::string_view message) {
  return {errc::invalid_move,
          hub_exception_text(target, errc::invalid_move, message)};
}

/// Reads `x` and `y` starting at argument `first`.
std::optional<hub_call_failure>
read_position(const invocation& call, size_t first, client_command& cmd) {
  if (!read_finite(arg(call.arguments, first), cmd.x))
    return invalid_move(call.target, "x must be a finite number");
  if (!read_finite(arg(call.arguments, first + 1), cmd.y))
    return invalid_move(call.target, "y must be a finite number");
  return std::nullopt;
}

std::optional<hub_call_failure>
read_rotation(const invocation& call, size_t index, client_command& cmd) {
  double num = 0;
  if (!read_finite(arg(call.arguments, index), num))
    return invalid_move(call.target, "rotation must be a finite number");
  // Accept 90.0 as 90: a client may compute the angle in floating point.
  if (std::trunc(num) != num
      || num < static_cast<double>(std::numeric_limits<int32_t>::min())
      || num > static_cast<double>(std::numeric_limits<int32_t>::max()))
    return invalid_move(call.target, "rotation must be an integral number");
  cmd.rotation = static_cast<int32_t>(num);
  return std::nullopt;
}

} // namespace

bool method_name_matches(std::string_view method,
                         std::string_view target) noexcept {
  if (method.size() != target.size()) return false;
  auto lower = [](char c) {
    return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
  };
  for (size_t i = 0; i < method.size(); ++i)
    if (lower(method[i]) != lower(target[i])) return false;
  return true;
}

hub_call_result decode_hub_call(const invocation& call) {
  auto spec = find_method(call.target);
  if (spec == nullptr)
    return hub_call_failure{errc::invalid_message,
                            unknown_method_text(call.target)};
  const auto& args = call.arguments;
  // None of our methods takes a stream parameter; ASP.NET refuses streams
  // sent to such a method as a binding failure too.
  if (!args.is_array() || args.size() < spec->required
      || args.size() > spec->max || !call.stream_ids.empty())
    return invalid_arguments(call.target);
  client_command cmd;
  cmd.kind = spec->kind;
  cmd.call_id = call.invocation_id.value_or(std::string{});
  if (!read_string(arg(args, 0), cmd.session_id))
    return invalid_arguments(call.target);
  switch (spec->kind) {
    case command_kind::join:
      // `userId` is optional and nullable, like a C# `string?` parameter.
      if (auto user = arg(args, 1); user != nullptr && !user->is_null()
          && !read_string(user, cmd.user_id))
        return invalid_arguments(call.target);
      break;
    case command_kind::leave:
    case command_kind::get_state: break;
    case command_kind::lock:
    case command_kind::unlock:
      if (!read_int32(arg(args, 1), cmd.piece_id))
        return invalid_arguments(call.target);
      break;
    case command_kind::drag:
    case command_kind::move:
      if (!read_int32(arg(args, 1), cmd.piece_id))
        return invalid_arguments(call.target);
      if (auto err = read_position(call, 2, cmd)) return std::move(*err);
      if (auto err = read_rotation(call, 4, cmd)) return std::move(*err);
      break;
    case command_kind::chat:
      if (!read_string(arg(args, 1), cmd.text))
        return invalid_arguments(call.target);
      break;
    case command_kind::cursor:
      if (auto err = read_position(call, 1, cmd)) return std::move(*err);
      break;
  }
  return cmd;
}

std::string hub_exception_text(std::string_view target, errc code,
                               std::string_view message) {
  auto code_str = to_code(code);
  std::string out;
  out.reserve(target.size() + code_str.size() + message.size() + 80);
  out += "An unexpected error occurred invoking '";
  out += target;
  out += "' on the server. HubException: ";
  out += code_str;
  out += ": ";
  out += message;
  return out;
}

std::string unknown_method_text(std::string_view target) {
  std::string out = invalid_arguments_text(target);
  out += " HubException: Method does not exist.";
  return out;
}

std::string invalid_arguments_text(std::string_view target) {
  std::string out;
  out.reserve(target.size() + 56);
  out += "Failed to invoke '";
  out += target;
  out += "' due to an error on the server.";
  return out;
}

} // namespace puzzle::transports::signalr
