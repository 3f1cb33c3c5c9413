#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <caf/actor_clock.hpp>
#include <caf/typed_response_promise.hpp>

#include "actors/client/client_actor.hpp"
#include "actors/device/device_counters.hpp"
#include "actors/device/device_interface.hpp"
#include "actors/device/message_rate.hpp"
#include "actors/device/presence_tracker.hpp"
#include "actors/device/recent_ids.hpp"
#include "actors/directory_interface.hpp"
#include "actors/util/rate_limiter.hpp"

namespace puzzle {

/// The knobs of a device actor, from config (`mqtt.*`).
struct device_options {
  /// Live silence after which an online device shows offline
  /// (`mqtt.device-offline-after`; 0: never).
  std::chrono::milliseconds offline_after{600'000};
  /// How long an offline status waits for live traffic before it shows
  /// (`mqtt.presence-grace`).
  std::chrono::milliseconds presence_grace{2'000};
  /// The window of the message rate, in seconds.
  uint32_t rate_window_seconds = 10;
  /// `msgId`s remembered per device (`mqtt.dedupe-window`).
  uint32_t dedupe_window = 1024;
  /// Placements waiting for their session's answer, or for the join, at
  /// most; more are dropped as `overloaded`.
  uint32_t max_in_flight = 32;
  /// Messages of one device (`mqtt.device-rate`).
  util::limiter_spec budget{util::limiter_spec::algorithm::token_bucket, 50,
                            std::chrono::milliseconds{1000}, 1, 20};
  /// Log lines about dropped messages per device and minute, at most.
  uint32_t drop_log_per_minute = 10;
  /// Directory lookups (the reason of a refused placement).
  std::chrono::milliseconds request_timeout{10'000};
  /// The options of the device's client actor (its rate limits are those
  /// of any player's connection).
  client_options client;
};

/// The participant id of a device: a UUID derived from the device id, so
/// that a device is the same participant after every join and restart.
/// Version 8 (RFC 9562, "custom"), so it never equals a random (version 4)
/// user id.
std::string device_user_id(const std::string& device_id);

struct device_actor_state {
  static inline const char* name = "puzzle.device";

  std::string device_id;
  user_identity identity;
  directory_actor directory;
  device_registry_actor registry;
  device_counters_ptr counters;
  device_options options;

  presence_tracker presence;
  message_rate rate;
  recent_ids seen;
  util::rate_limiter budget{util::limiter_spec{}};
  util::rate_limiter drop_log{util::limiter_spec{}};
  /// When a `tick_atom` is due; none when none is scheduled.
  std::optional<caf::actor_clock::time_point> tick_at;

  unix_ms first_seen = 0;
  unix_ms last_seen = 0;
  unix_ms presence_since = 0;
  uint64_t messages = 0;
  uint64_t applied = 0;
  uint64_t refused = 0;
  uint64_t dropped = 0;
  std::map<std::string, device_reading_view> readings; ///< By kind.

  std::optional<device_binding> binding;
  client_actor client; ///< Valid while bound.
  bool joined = false;
  /// The answer to the bind request in progress.
  std::optional<caf::typed_response_promise<device_view>> pending_bind;
  /// Placements that came while the join was in progress.
  std::vector<device_placement> waiting;
  /// Placements sent to the session, by call number.
  std::map<uint64_t, device_placement> in_flight;
  uint64_t next_call = 1;
};

/// The behaviour of the device `device_id`.
device_actor::behavior_type
device_behavior(device_actor::stateful_pointer<device_actor_state> self,
                std::string device_id, directory_actor directory,
                device_registry_actor registry, device_counters_ptr counters,
                device_options options);

} // namespace puzzle
