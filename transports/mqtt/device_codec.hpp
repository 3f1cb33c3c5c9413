#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "actors/device/device_types.hpp"
#include "actors/session/session_event.hpp"

/// The MQTT side of contract section 7 as pure functions on strings:
/// device topics and payloads in, device messages out (or the reason they
/// are dropped), and the node's publications encoded. No Paho, no actors:
/// unit-tested and fuzzable.
namespace puzzle::transports::mqtt {

/// Where the device topics live and what a payload may be.
struct device_codec_options {
  /// Topic prefix of the devices (`mqtt.device-prefix`): `iot` gives
  /// `iot/{deviceId}/status` and `iot/{deviceId}/sensor/{kind}`.
  std::string device_prefix = "iot";
  /// Largest payload in bytes (`mqtt.max-payload-bytes`).
  uint64_t max_payload_bytes = 64 * 1024;
  /// Deepest JSON nesting of a reading.
  size_t max_depth = 8;
};

/// The reading kinds kept besides `placement` (the seed's table sensor and
/// environment sensor).
inline constexpr std::string_view reading_kinds[] = {"pressure", "environment"};

/// What an inbound message turned out to be.
struct device_message {
  enum class kind : uint8_t { dropped, status, reading, placement };

  kind type = kind::dropped;
  device_drop reason = device_drop::wrong_shape; ///< When dropped.
  std::string detail;    ///< When dropped: what exactly, for the log.
  std::string device_id; ///< When the topic named a valid one.
  device_status status;
  device_reading reading;
  device_placement placement;
};

/// Decodes one message of the broker. `retained` is the message's retain
/// flag (set when the broker replays a retained message on subscribe).
///
/// Topics: `{prefix}/{deviceId}/status` and `{prefix}/{deviceId}/sensor/
/// {kind}` with kind `placement`, `pressure` or `environment`; anything else
/// is `unknown_topic`, an invalid topic name (wildcards, bad UTF-8) is
/// `bad_topic`, a device id that is not `valid_device_id` `bad_device_id`.
///
/// Payloads, checked in this order: more than `max_payload_bytes` is
/// `oversized`, none `empty_payload`. A status is `online` or `offline`
/// (plain text, a JSON string, or an object `{"status": ...}`); a reading
/// a JSON object; a placement `{msgId, sessionId, pieceId, x, y,
/// rotation}` (msgId a string of 1..128 bytes or a non-negative integer,
/// pieceId an integer, x and y numbers, rotation an integral number).
/// Undecodable JSON is `not_json`, except when it holds the non-JSON
/// literals `NaN` or `Infinity` (`non_finite`); a number out of double
/// range (`1e999`) is `non_finite`; anything else unexpected `wrong_shape`.
device_message decode_device_message(const device_codec_options& opts,
                                     std::string_view topic,
                                     std::string_view payload, bool retained);

// -- topics of the node -------------------------------------------------------

/// `{device_prefix}/+/status`: what the bridge subscribes to.
std::string status_filter(std::string_view device_prefix);

/// `{device_prefix}/+/sensor/+`.
std::string sensor_filter(std::string_view device_prefix);

/// `{session_prefix}/{sessionId}/events`.
std::string events_topic(std::string_view session_prefix,
                         std::string_view session_id);

/// `{session_prefix}/{sessionId}/progress`.
std::string progress_topic(std::string_view session_prefix,
                           std::string_view session_id);

/// `{device_prefix}/{deviceId}/command`.
std::string command_topic(std::string_view device_prefix,
                          std::string_view device_id);

/// `{session_prefix}/nodes/{clientId}/status`: the node's own presence.
std::string node_status_topic(std::string_view session_prefix,
                              std::string_view client_id);

// -- payloads of the node -----------------------------------------------------

/// `{"event":"PieceMoved","sessionId":"...","version":12,"data":{...}}`: a
/// session event; `data` is the event's single argument (every event
/// published has one), `version` is left out for events that change no
/// state.
std::string encode_event(const session_event& ev);

/// `{"sessionId":"...","completedPieces":3,"pieceCount":4,
/// "completionPercentage":75.0,"isCompleted":false}`.
std::string encode_progress(const session_progress& p);

/// `{"status":"online","clientId":"...","since":"2026-...Z"}`; no
/// `since` when `since_ms` is 0 (the last will: written before the fact).
std::string encode_node_status(std::string_view client_id, bool online,
                               int64_t since_ms);

} // namespace puzzle::transports::mqtt
