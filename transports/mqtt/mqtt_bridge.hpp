#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include <caf/fwd.hpp>
#include <caf/meta/type_name.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include "actors/device/device_counters.hpp"
#include "actors/device/device_interface.hpp"
#include "actors/device/device_registry_actor.hpp"
#include "transports/mqtt/device_codec.hpp"

namespace puzzle::config {
struct settings;
} // namespace puzzle::config

/// The MQTT bridge: the node as a client of a broker (Paho MQTT C++ 1.2,
/// MQTT 5 with No Local, or 3.1.1 when the broker refuses 5).
namespace puzzle::transports::mqtt {

/// The bridge's knobs (`mqtt.*`).
struct bridge_options {
  std::string uri;
  std::string client_id;
  std::string username;
  std::string password;
  std::string ca_file;
  std::string cert_file;
  std::string key_file;
  std::chrono::milliseconds keep_alive{30'000};
  std::chrono::milliseconds connect_timeout{10'000};
  std::chrono::milliseconds reconnect_min{1'000};
  std::chrono::milliseconds reconnect_max{30'000};
  uint32_t inbound_queue = 10'000;
  uint32_t offline_buffer = 1'000;
  device_codec_options codec;
  std::string session_prefix = "puzzle";
};

/// The options from the settings; an empty `mqtt.client-id` becomes
/// `puzzle-node-<hostname>-<http.port>`.
bridge_options bridge_options_of(const config::settings& cfg);

/// `mqtt.bindings-file`, or `device-bindings.json` in `store.data-dir`.
std::string bindings_file_of(const config::settings& cfg);

/// The device registry's and device actors' options from the settings
/// (`mqtt.*`, and the client rate limits every connection has).
device_registry_options registry_options_of(const config::settings& cfg);

/// One message from the broker, as Paho's callback thread hands it over:
/// copied once, or, when larger than `mqtt.max-payload-bytes`, not copied
/// at all (`oversized` with its `size`).
struct mqtt_inbound {
  std::string topic;
  std::string payload;
  uint64_t size = 0;
  bool retained = false;
  bool oversized = false;
};

template<class Inspector>
typename Inspector::result_type inspect(Inspector& f, mqtt_inbound& x) {
  return f(caf::meta::type_name("mqtt_inbound"), x.topic, x.payload, x.size,
           x.retained, x.oversized);
}

/// The bridge's actor (spawned detached: Paho's few blocking calls, the
/// disconnect at shutdown, stay off CAF's shared threads). Its interface
/// is the device outbox plus what Paho's callbacks report:
///
/// - `session_event` -> `puzzle/{sessionId}/events` (QoS 1).
/// - `session_progress` -> `puzzle/{sessionId}/progress` (QoS 1, retained,
///   only when it changed since the last (re)connect).
/// - `device_command` -> `iot/{deviceId}/command` (QoS 1).
/// - `(mqtt_connect_atom)`: (re)tries the first connect; Paho reconnects by
///   itself only after a first success.
/// - `(mqtt_connect_atom, rc, text)`: that attempt failed; retried with
///   backoff from `mqtt.reconnect-min` doubling to `mqtt.reconnect-max`.
/// - `(mqtt_up_atom, cause)`: connected (first or automatic reconnect):
///   subscribes again (clean start: the broker forgot), publishes the
///   node's retained `online` status and tells the registry.
/// - `(mqtt_down_atom, cause)`: connection lost.
/// - `mqtt_inbound`: decoded and routed to the registry, or counted and
///   logged (with a bound on log lines) and dropped.
/// - `(close_atom)` -> `true`: publishes the node's `offline` status,
///   disconnects (waiting at most `mqtt.connect-timeout`) and quits.
/// Publications are handed to Paho without waiting; while disconnected they
/// wait in its offline buffer (`mqtt.offline-buffer`).
using mqtt_bridge_actor = device_outbox_actor::extend<
    caf::reacts_to<mqtt_connect_atom>,
    caf::reacts_to<mqtt_connect_atom, int32_t, std::string>,
    caf::reacts_to<mqtt_up_atom, std::string>,
    caf::reacts_to<mqtt_down_atom, std::string>, caf::reacts_to<mqtt_inbound>,
    caf::replies_to<close_atom>::with<bool>>;

/// Spawns the bridge and starts connecting.
mqtt_bridge_actor
spawn_bridge(caf::actor_system& sys, device_registry_actor registry,
             bridge_options options, device_counters_ptr counters);

/// Asks the bridge to say goodbye and disconnect; returns once it did or
/// after `timeout`. Blocks the caller: for `main` at shutdown.
void stop_bridge(caf::actor_system& sys, const mqtt_bridge_actor& bridge,
                 std::chrono::milliseconds timeout);

} // namespace puzzle::transports::mqtt
