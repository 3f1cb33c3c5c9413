#pragma once

#include <cstddef>
#include <string>
#include <variant>

#include "actors/webrtc/webrtc_interface.hpp"
#include "transports/signalr/hub_calls.hpp"
#include "transports/signalr/hub_protocol.hpp"

/// The WebRTC signalling hub `/webrtchub` (contract.md section 4): its
/// method calls as `webrtc_command`s and the rooms' events as client method
/// invocations. Pure functions, like hub_calls.hpp.
namespace puzzle::transports::signalr {

struct webrtc_call_limits {
  size_t max_room_bytes = 200;      ///< `limits.max-channel-name-bytes`
  size_t max_user_name_bytes = 400; ///< `limits.max-name-length`, in bytes
};

using webrtc_call_result = std::variant<webrtc_command, hub_call_failure>;

/// Decodes one call of `JoinRoom(roomName, userName)`, `LeaveRoom(roomName)`,
/// `SendSignal`, `SendOffer`, `SendAnswer` or `SendIceCandidate` (each
/// `(payload, targetConnectionId)`). Every argument is a string; a wrong
/// count or type fails as ASP.NET's binding does ("Failed to invoke 'X' due
/// to an error on the server."), an unknown method with "Method does not
/// exist."; an empty or too long room name, or a too long user name, is
/// `INVALID_ARGUMENT` / `LIMIT_EXCEEDED` in a HubException text.
webrtc_call_result decode_webrtc_call(const invocation& call,
                                      const webrtc_call_limits& limits);

/// The client method invocation record for `ev`: `UserJoined(connectionId,
/// userName)`, `UserLeft(connectionId)`, `ExistingParticipants([{connectionId,
/// userName}])` or `ReceiveSignal` / `ReceiveOffer` / `ReceiveAnswer` /
/// `ReceiveIceCandidate` `(payload, fromConnectionId)`.
std::string encode_webrtc_event(const webrtc_event& ev);

} // namespace puzzle::transports::signalr
