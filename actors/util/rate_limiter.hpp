#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

/// The three rate limiters of the seed (ASP.NET's fixed window, sliding
/// window and token bucket), as plain values with time passed in: no clock,
/// no threads, no allocation after construction. Callers own one limiter per
/// key (a connection's message kind, an address, a user).
namespace puzzle::util {

using limiter_clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

/// Which algorithm, with its parameters. Written in config as
///
///     fixed-window 100/1min            100 permits per window
///     sliding-window 100/1min/6        ... counted over 6 segments
///     token-bucket 100 20/10s          bucket of 100, 20 tokens every 10s
///
/// (durations: ms, s, min, h).
struct limiter_spec {
  enum class algorithm : uint8_t { fixed_window, sliding_window, token_bucket };

  algorithm kind = algorithm::token_bucket;
  uint32_t permits = 1;      ///< Per window; the bucket's size.
  milliseconds window{1000}; ///< The window; the bucket's refill period.
  uint32_t segments = 1;     ///< Sliding window only.
  uint32_t refill = 1;       ///< Token bucket only: tokens per period.

  /// Parses the text form; on error returns false and sets `error` to what
  /// is wrong.
  static bool parse(std::string_view text, limiter_spec& out,
                    std::string& error);

  std::string to_string() const;
};

/// The answer to one request for permits.
struct limiter_decision {
  bool allowed = false;
  /// When refused: how long until the request would be allowed (for
  /// `Retry-After`); zero when allowed.
  milliseconds retry_after{0};
};

/// One key's limiter.
class rate_limiter {
public:
  explicit rate_limiter(const limiter_spec& spec,
                        limiter_clock::time_point now = {});

  /// Takes `permits` if available now; a refused request takes nothing.
  limiter_decision acquire(limiter_clock::time_point now, uint32_t permits = 1);

  /// Whether the limiter is back at rest (full bucket, empty windows) at
  /// `now`: such a limiter can be dropped and recreated without changing
  /// any answer, which bounds the memory of per-key tables.
  bool idle(limiter_clock::time_point now);

  const limiter_spec& spec() const noexcept {
    return spec_;
  }

private:
  void advance(limiter_clock::time_point now);

  limiter_spec spec_;
  limiter_clock::time_point window_start_; ///< Fixed and sliding windows.
  uint32_t used_ = 0;                      ///< Fixed window.
  std::vector<uint32_t> segment_counts_;   ///< Sliding window, oldest first.
  uint32_t tokens_ = 0;                    ///< Token bucket.
  limiter_clock::time_point refilled_at_;  ///< Token bucket.
};

} // namespace puzzle::util
