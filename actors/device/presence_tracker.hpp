#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string_view>

namespace puzzle {

/// What a device's presence reads as.
enum class presence : uint8_t {
  unknown = 0, ///< Nothing heard yet.
  online,
  offline,
};

/// `online`, `offline` or `unknown`.
constexpr std::string_view to_string(presence x) noexcept {
  switch (x) {
    case presence::online: return "online";
    case presence::offline: return "offline";
    case presence::unknown: break;
  }
  return "unknown";
}

/// One device's presence from its status topic, its last will and its
/// traffic, as a plain value with time passed in (no clock, no timers: the
/// device actor calls `tick` at `next_deadline`).
///
/// The rules, and why:
/// - A live `online` status or any live reading makes the device online.
/// - A live `offline` (an explicit one or the broker's last will) makes it
///   offline only after `grace` without live traffic. When a device
///   reconnects, or two devices share a client id and the broker hands the
///   connection from one to the other, the old connection's will arrives
///   next to the new connection's `online`; the grace keeps such blips from
///   showing as offline-online flaps (`flaps_suppressed` counts them).
/// - A retained status is the broker's memory, replayed on every
///   (re)subscribe, and may be stale: a retained `online` shows the device
///   online but does not count as traffic, and a retained status that
///   agrees with what is shown changes nothing.
/// - With `offline_after` > 0, a device online without live traffic for that
///   long goes offline: the broker that held its will may have restarted
///   and lost it. Devices that stay quiet longer republish their status.
class presence_tracker {
public:
  using clock = std::chrono::steady_clock;
  using time_point = clock::time_point;
  using duration = std::chrono::milliseconds;

  explicit presence_tracker(duration offline_after = duration{0},
                            duration grace = duration{0}) noexcept
      : offline_after_(offline_after), grace_(grace) {
    // nop
  }

  /// A status message; returns whether the shown presence changed.
  bool on_status(bool online, bool retained, time_point now) noexcept;

  /// Any live message other than a status (a reading, a placement);
  /// returns whether the shown presence changed.
  bool on_traffic(time_point now) noexcept;

  /// Applies the deadlines due at `now`; returns whether the shown presence
  /// changed.
  bool tick(time_point now) noexcept;

  /// When `tick` has something to do next; none when nothing is pending.
  std::optional<time_point> next_deadline() const noexcept;

  /// What the device shows as.
  presence state() const noexcept {
    return state_;
  }

  /// Whether the last live message is older than nothing: a live status or
  /// reading was seen at all.
  bool heard_live() const noexcept {
    return heard_live_;
  }

  /// Offline statuses that were followed by live traffic within the grace
  /// period and therefore never showed.
  uint32_t flaps_suppressed() const noexcept {
    return flaps_suppressed_;
  }

private:
  /// Cancels a pending offline (counted as a suppressed flap).
  void cancel_pending() noexcept;

  duration offline_after_;
  duration grace_;
  presence state_ = presence::unknown;
  bool heard_live_ = false;
  time_point last_live_{}; ///< Last live message (or retained online).
  std::optional<time_point> pending_offline_; ///< Offline seen at.
  uint32_t flaps_suppressed_ = 0;
};

} // namespace puzzle
