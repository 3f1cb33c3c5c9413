#pragma once

#include <chrono>
#include <string>

#include <caf/fwd.hpp>

#include "actors/device/device_counters.hpp"
#include "actors/device/device_interface.hpp"
#include "config/settings.hpp"
#include "transports/auth/token_service.hpp"
#include "transports/http/router.hpp"

/// The REST side of the devices (contract section 7 and the operators'
/// view), over the device registry.
namespace puzzle::transports::mqtt {

/// Everything the device endpoints use. References must outlive the server.
struct device_api_context {
  caf::actor_system& system;
  device_registry_actor registry;
  auth::token_service& tokens;
  const config::settings& settings;
  device_counters_ptr counters;
  /// The client id the bridge uses (empty when MQTT is off).
  std::string client_id;
  /// How long a handler waits for the registry before answering 503.
  std::chrono::milliseconds ask_timeout{5'000};
};

/// Registers:
///
/// - `POST /api/sessions/{id}/devices {deviceId}` (Bearer token, the
///   session's owner or an admin) -> 201 and the device (200 when it was
///   bound to this session already) with `Location`; 400
///   `INVALID_ARGUMENT` for a bad device id, 403 `FORBIDDEN`, 404
///   `SESSION_NOT_FOUND`, 409 `CONFLICT` when the device is bound to another
///   session.
/// - `GET /api/sessions/{id}/devices` -> the devices bound to the session.
/// - `DELETE /api/sessions/{id}/devices/{deviceId}` (owner, admin) -> 204;
///   404 when that device is not bound to the session.
/// - `POST /api/sessions/{id}/devices/{deviceId}/commands {command, ...}`
///   (owner, admin) -> 202: published on `iot/{deviceId}/command` with
///   `sessionId`, `issuedBy` and `issuedAt` added; 503 while MQTT is off.
/// - `GET /api/devices` -> `{mqtt: {...state and counters...}, devices:
///   [...]}`: every device the node knows (a placeholder of the operators'
///   API: it moves under the operator role when roles arrive).
///
/// A device reads `{deviceId, userId, presence, online, presenceSince,
/// firstSeen, lastSeen, messageRate, messages, flapsSuppressed, sessionId,
/// boundBy, boundAt, joined, readings: {kind: {receivedAt, data}},
/// placements: {applied, refused}, dropped}` (times ISO-8601 or null).
void register_device_api(http::router& routes, device_api_context ctx);

/// The `mqtt` entry of `/health/detailed` as a JSON object: `{status,
/// description, duration, exception, data}` with `Healthy` while connected
/// or off, `Degraded` while (re)connecting; `data` holds the counters.
std::string mqtt_health_entry(const config::settings& settings,
                              const device_counters& counters,
                              const std::string& client_id);

} // namespace puzzle::transports::mqtt
