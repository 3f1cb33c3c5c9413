#pragma once

#include <string>
#include <string_view>
#include <variant>

#include "actors/errc.hpp"
#include "actors/message_types.hpp"
#include "transports/signalr/hub_protocol.hpp"

/// Maps invocations of the `/puzzlehub` methods (contract.md section 3) to
/// transport-neutral `client_command`s, and renders the completion error
/// texts that ASP.NET clients already know.
namespace puzzle::transports::signalr {

/// Why an invocation could not become a command. `completion_error_text` is
/// what goes into the Completion's `error` (only when the call has an id).
struct hub_call_failure {
  errc code = errc::invalid_message;
  std::string completion_error_text;
};

/// Either the command to run or the reason it was refused.
using hub_call_result = std::variant<client_command, hub_call_failure>;

/// Decodes one hub method call.
///
/// Method names match case-insensitively, as ASP.NET's method table does;
/// the texts echo the target as the client sent it. Argument rules:
/// - unknown method: `INVALID_MESSAGE`, "Failed to invoke 'X' due to an
///   error on the server. HubException: Method does not exist.";
/// - too many arguments, too few to reach the coordinates, stream
///   arguments, or a wrong JSON type for `sessionId`, `userId`, `pieceId`
///   (an integer within int32) or `message`: `INVALID_MESSAGE`, "Failed to
///   invoke 'X' due to an error on the server." (ASP.NET's binding failure);
/// - `x`, `y` or `rotation` missing, not a number or not finite (JS sends
///   NaN and Infinity as null): `INVALID_MOVE` with `hub_exception_text`
///   "x must be a finite number" (likewise `y`, `rotation`); a fractional
///   or out-of-range rotation: "rotation must be an integral number".
///
/// Domain checks (session exists, rotation in {0, 90, 180, 270}, chat
/// length, message size) belong to the session and the transport.
hub_call_result decode_hub_call(const invocation& call);

/// Whether `target` names `method`: ASCII case-insensitive, as ASP.NET
/// matches hub method names.
bool method_name_matches(std::string_view method,
                         std::string_view target) noexcept;

/// "An unexpected error occurred invoking '<target>' on the server.
/// HubException: <CODE>: <message>": how ASP.NET shows a HubException, with
/// our stable code first so that clients can read it from the text.
std::string hub_exception_text(std::string_view target, errc code,
                               std::string_view message);

/// "Failed to invoke '<target>' due to an error on the server. HubException:
/// Method does not exist."
std::string unknown_method_text(std::string_view target);

/// "Failed to invoke '<target>' due to an error on the server.": ASP.NET's
/// text for arguments that do not bind to the method's parameters.
std::string invalid_arguments_text(std::string_view target);

} // namespace puzzle::transports::signalr
