#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include "actors/device/device_types.hpp"

namespace puzzle {

/// The counters of the MQTT bridge and the device actors, shown by
/// `GET /api/devices` and `/health/detailed` (and later `/metrics`).
///
/// Written from the bridge's thread, Paho's callback thread and the device
/// actors, read by HTTP handlers: plain relaxed atomics, since each counter
/// is independent and only ever grows (except `connected`). Shared through a
/// `std::shared_ptr`; nothing else in here is shared between threads.
struct device_counters {
  /// Dropped device messages by reason (`device_drop`).
  std::array<std::atomic<uint64_t>, device_drop_count> dropped{};
  std::atomic<uint64_t> received{0};  ///< Messages from the broker.
  std::atomic<uint64_t> published{0}; ///< Publications handed to Paho.
  std::atomic<uint64_t> publish_failures{0};
  std::atomic<uint64_t> placements_applied{0};
  std::atomic<uint64_t> placements_refused{0}; ///< Refused by a session.
  std::atomic<uint64_t> connects{0};           ///< Connections established.
  std::atomic<uint64_t> connection_losses{0};
  std::atomic<uint64_t> connect_failures{0};
  std::atomic<bool> connected{false};
  std::atomic<uint32_t> devices{0}; ///< Device actors alive.
  std::atomic<uint32_t> bindings{0};

  void drop(device_drop reason) noexcept {
    dropped[static_cast<size_t>(reason)].fetch_add(1,
                                                   std::memory_order_relaxed);
  }

  uint64_t dropped_total() const noexcept {
    uint64_t n = 0;
    for (auto& x : dropped)
      n += x.load(std::memory_order_relaxed);
    return n;
  }
};

using device_counters_ptr = std::shared_ptr<device_counters>;

} // namespace puzzle
