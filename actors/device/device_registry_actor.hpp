#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "actors/device/binding_file.hpp"
#include "actors/device/device_actor.hpp"
#include "actors/device/device_counters.hpp"
#include "actors/device/device_interface.hpp"
#include "actors/directory_interface.hpp"
#include "actors/util/rate_limiter.hpp"

namespace puzzle {

/// The knobs of the device registry, from config (`mqtt.*`).
struct device_registry_options {
  device_options device;
  uint32_t max_devices = 10'000; ///< `mqtt.max-devices`
  std::chrono::milliseconds request_timeout{10'000};
  /// Bindings to restore at start (from the bindings file).
  std::vector<device_binding> restore;
};

/// Session events that are not published on `puzzle/{sessionId}/events`:
/// the ones aimed at one connection (`SessionStateUpdate`, `Error`) and the
/// transient high-rate previews (`PieceDragged`, `CursorMoved`).
bool published_on_mqtt(const std::string& event_name);

/// A session with bound devices.
struct device_session_link {
  /// Bound devices; the first one's client actor feeds the session's events
  /// to MQTT (so each event is published once).
  std::set<std::string> devices;
  session_actor session;       ///< Cached; refreshed through the directory.
  bool progress_busy = false;  ///< A progress read is under way.
  bool progress_dirty = false; ///< Another one is wanted after it.
};

struct device_registry_state {
  static inline const char* name = "puzzle.device.registry";

  directory_actor directory;
  device_registry_options options;
  device_counters_ptr counters;
  device_outbox_actor outbox;
  binding_saver_actor saver;
  std::unordered_map<std::string, device_actor> devices;
  std::map<std::string, device_binding> bindings; ///< By device id.
  std::map<std::string, device_session_link> sessions;
  std::set<std::string> binding_in_progress; ///< Device ids.
  util::rate_limiter drop_log{util::limiter_spec{}};
};

/// The behaviour of the registry. `saver` (may be invalid) receives the
/// whole list of bindings after each change.
device_registry_actor::behavior_type device_registry(
    device_registry_actor::stateful_pointer<device_registry_state> self,
    directory_actor directory, device_counters_ptr counters,
    binding_saver_actor saver, device_registry_options options);

} // namespace puzzle
