#pragma once

#include <chrono>
#include <cstdint>
#include <vector>

namespace puzzle {

/// Messages per second over a sliding window of whole seconds, with time
/// passed in: a ring of per-second counts, so memory is fixed and a reading
/// costs one pass over the ring.
class message_rate {
public:
  using clock = std::chrono::steady_clock;
  using time_point = clock::time_point;

  /// A window of `seconds` (at least 1) one-second buckets.
  explicit message_rate(uint32_t seconds = 10);

  /// Counts one message at `now`.
  void add(time_point now);

  /// The average rate over the window ending at `now`, in messages per
  /// second (the current, partial second included).
  double per_second(time_point now);

private:
  /// Clears the buckets of the seconds that passed since the last call.
  void advance(int64_t second);

  std::vector<uint32_t> buckets_;
  int64_t current_ = 0; ///< The second of the newest bucket.
  bool started_ = false;
};

} // namespace puzzle
