#pragma once

#include <cstddef>
#include <cstdint>
#include <iterator>
#include <string>
#include <string_view>
#include <vector>

#include <caf/meta/type_name.hpp>

#include "actors/errc.hpp"
#include "actors/session/session_state.hpp"

/// What IoT devices say and what the node tells them (contract.md section
/// 7), as plain values: the MQTT codec (`transports/mqtt/`) decodes device
/// traffic into these, the device actors (`actors/device/`) act on them and
/// the MQTT bridge encodes the outbound ones. No bytes of the wire here
/// beyond normalised JSON documents that are passed on unchanged.
namespace puzzle {

/// Why a device message was dropped. The numbers are stable (they name
/// metrics and appear in logs); append only.
enum class device_drop : uint8_t {
  empty_payload = 0, ///< A message without payload.
  not_json,          ///< The payload does not parse as JSON.
  wrong_shape,       ///< Valid JSON, but not the fields and types expected.
  non_finite,        ///< A number is NaN or infinite (`1e999`, `NaN`).
  oversized,         ///< More bytes than `mqtt.max-payload-bytes`.
  bad_topic,         ///< An invalid topic name (wildcards, bad UTF-8, ...).
  unknown_topic,     ///< A topic the node does not serve.
  bad_device_id,     ///< The device id level is not a valid device id.
  unknown_session,   ///< A placement for a session that does not exist.
  unbound_device,    ///< A placement from a device not bound to its session.
  duplicate,         ///< A placement whose `msgId` was seen before.
  rate_limited,      ///< Over the device's budget (`mqtt.device-rate`).
  too_many_devices,  ///< A new device beyond `mqtt.max-devices`.
  overloaded,        ///< Over `mqtt.inbound-queue` or in-flight placements.
  stale_retained,    ///< A retained placement (replayed by the broker).
};

/// Every reason, in number order.
inline constexpr device_drop all_device_drops[] = {
    device_drop::empty_payload,    device_drop::not_json,
    device_drop::wrong_shape,      device_drop::non_finite,
    device_drop::oversized,        device_drop::bad_topic,
    device_drop::unknown_topic,    device_drop::bad_device_id,
    device_drop::unknown_session,  device_drop::unbound_device,
    device_drop::duplicate,        device_drop::rate_limited,
    device_drop::too_many_devices, device_drop::overloaded,
    device_drop::stale_retained,
};

inline constexpr size_t device_drop_count = std::size(all_device_drops);

/// The reason as it appears in logs and JSON, e.g. `not_json`.
constexpr std::string_view to_string(device_drop x) noexcept {
  switch (x) {
    case device_drop::empty_payload: return "empty_payload";
    case device_drop::not_json: return "not_json";
    case device_drop::wrong_shape: return "wrong_shape";
    case device_drop::non_finite: return "non_finite";
    case device_drop::oversized: return "oversized";
    case device_drop::bad_topic: return "bad_topic";
    case device_drop::unknown_topic: return "unknown_topic";
    case device_drop::bad_device_id: return "bad_device_id";
    case device_drop::unknown_session: return "unknown_session";
    case device_drop::unbound_device: return "unbound_device";
    case device_drop::duplicate: return "duplicate";
    case device_drop::rate_limited: return "rate_limited";
    case device_drop::too_many_devices: return "too_many_devices";
    case device_drop::overloaded: return "overloaded";
    case device_drop::stale_retained: return "stale_retained";
  }
  return "unknown";
}

/// Longest device id in bytes.
inline constexpr size_t max_device_id_bytes = 64;

/// A device id is 1 to 64 ASCII letters, digits, `.`, `_` or `-`: it is a
/// topic level (`iot/{deviceId}/...`) and a URL path segment, so it must
/// not hold `/`, wildcards, spaces or anything that needs escaping.
constexpr bool valid_device_id(std::string_view id) noexcept {
  if (id.empty() || id.size() > max_device_id_bytes) return false;
  for (char c : id) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
        || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

/// `iot/{deviceId}/status`: `online` or `offline`. `retained` is set when
/// the broker replayed a retained status on (re)subscribe rather than
/// forwarding a live publication: such a status may be stale.
struct device_status {
  std::string device_id;
  bool online = false;
  bool retained = false;
};

/// `iot/{deviceId}/sensor/{kind}` for kinds other than `placement`:
/// `json` is the reading as a normalised JSON object (re-serialised after
/// checking that every number is finite).
struct device_reading {
  std::string device_id;
  std::string kind; ///< `pressure` or `environment`.
  std::string json;
  bool retained = false;
};

/// `iot/{deviceId}/sensor/placement` from a smart puzzle box: a physical
/// piece was put down. Applied as a move in `session_id` at most once per
/// `msg_id`, and only while the device is bound to that session.
struct device_placement {
  std::string device_id;
  std::string msg_id; ///< 1..128 bytes; integers arrive as their text.
  std::string session_id;
  int32_t piece_id = 0;
  double x = 0;
  double y = 0;
  int32_t rotation = 0;
  bool retained = false;
};

/// What `puzzle/{sessionId}/progress` carries (retained).
struct session_progress {
  std::string session_id;
  int32_t completed_pieces = 0;
  int32_t piece_count = 0;
  bool is_completed = false;
};

/// A message for one device on `iot/{deviceId}/command`: `json` is a JSON
/// object with at least a `command` field.
struct device_command {
  std::string device_id;
  std::string json;
  /// Kept by the broker for devices that subscribe later: used for the
  /// binding state (`bound` / `unbound`), the one command a device needs
  /// even if it was offline when it was sent.
  bool retained = false;
};

/// A device bound to a session by the session's owner.
struct device_binding {
  std::string device_id;
  std::string session_id;
  std::string bound_by; ///< User id of the owner who bound it.
  unix_ms bound_at = 0;
};

/// The latest reading of one kind.
struct device_reading_view {
  std::string kind;
  std::string json;
  unix_ms received_at = 0;
};

/// What the APIs show about a device.
struct device_view {
  std::string device_id;
  std::string user_id;  ///< The participant id its moves carry (`movedBy`).
  std::string presence; ///< `online`, `offline` or `unknown`.
  unix_ms first_seen = 0;
  unix_ms last_seen = 0;         ///< Last live message; 0: none yet.
  unix_ms presence_since = 0;    ///< When `presence` last changed.
  double message_rate = 0;       ///< Messages per second, recent average.
  uint64_t messages = 0;         ///< Messages received in total.
  uint32_t flaps_suppressed = 0; ///< Offline blips that did not show.
  std::string session_id;        ///< Bound session; empty: none.
  std::string bound_by;
  unix_ms bound_at = 0;
  bool joined = false; ///< Its client actor has joined the bound session.
  std::vector<device_reading_view> readings;
  uint64_t placements_applied = 0;
  uint64_t placements_refused = 0; ///< Judged and refused by the session.
  uint64_t dropped = 0;            ///< Dropped by the device actor.
};

/// What a device's client actor answered (through the device's port): a
/// call result (`call_id` set) or an event aimed at the device alone.
struct device_outcome {
  std::string call_id; ///< Empty for an `Error` event.
  bool ok = false;
  errc code = errc::none;
  std::string message;
  bool is_correctly_placed = false; ///< A move's result.
  uint64_t version = 0;             ///< A move's result.
};

// -- CAF inspection -----------------------------------------------------------

template<class Inspector>
typename Inspector::result_type inspect(Inspector& f, device_status& x) {
  return f(caf::meta::type_name("device_status"), x.device_id, x.online,
           x.retained);
}

template<class Inspector>
typename Inspector::result_type inspect(Inspector& f, device_reading& x) {
  return f(caf::meta::type_name("device_reading"), x.device_id, x.kind, x.json,
           x.retained);
}

template<class Inspector>
typename Inspector::result_type inspect(Inspector& f, device_placement& x) {
  return f(caf::meta::type_name("device_placement"), x.device_id, x.msg_id,
           x.session_id, x.piece_id, x.x, x.y, x.rotation, x.retained);
}

template<class Inspector>
typename Inspector::result_type inspect(Inspector& f, session_progress& x) {
  return f(caf::meta::type_name("session_progress"), x.session_id,
           x.completed_pieces, x.piece_count, x.is_completed);
}

template<class Inspector>
typename Inspector::result_type inspect(Inspector& f, device_command& x) {
  return f(caf::meta::type_name("device_command"), x.device_id, x.json,
           x.retained);
}

template<class Inspector>
typename Inspector::result_type inspect(Inspector& f, device_binding& x) {
  return f(caf::meta::type_name("device_binding"), x.device_id, x.session_id,
           x.bound_by, x.bound_at);
}

template<class Inspector>
typename Inspector::result_type inspect(Inspector& f, device_reading_view& x) {
  return f(caf::meta::type_name("device_reading_view"), x.kind, x.json,
           x.received_at);
}

template<class Inspector>
typename Inspector::result_type inspect(Inspector& f, device_view& x) {
  return f(caf::meta::type_name("device_view"), x.device_id, x.user_id,
           x.presence, x.first_seen, x.last_seen, x.presence_since,
           x.message_rate, x.messages, x.flaps_suppressed, x.session_id,
           x.bound_by, x.bound_at, x.joined, x.readings, x.placements_applied,
           x.placements_refused, x.dropped);
}

template<class Inspector>
typename Inspector::result_type inspect(Inspector& f, device_outcome& x) {
  return f(caf::meta::type_name("device_outcome"), x.call_id, x.ok, x.code,
           x.message, x.is_correctly_placed, x.version);
}

} // namespace puzzle
