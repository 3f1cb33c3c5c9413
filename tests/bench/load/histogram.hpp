#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdio>
#include <string>

/// An HDR-style latency histogram: log-linear buckets with 64 sub-buckets per
/// power of two, so every recorded value is kept with at most 1/64 (1.6 %)
/// relative error from 1 ns to about 4.9 hours. Recording is a few integer
/// operations (no allocation), merging is adding arrays: cheap enough for the
/// load generator's hot path and for merging per-connection histograms.
namespace puzzle::bench {

class histogram {
public:
  /// Sub-buckets per power of two (as HdrHistogram's 2 significant digits).
  static constexpr int sub_bits = 6;
  static constexpr uint64_t sub_count = uint64_t{1} << sub_bits;
  /// Values above 2^44 ns (about 4.9 h) are clamped into the last bucket.
  static constexpr int max_exponent = 44;
  static constexpr size_t bucket_count = (max_exponent - sub_bits + 2) * sub_count;

  void record(uint64_t value_ns) noexcept {
    ++counts_[index_of(value_ns)];
    ++total_;
    max_ = std::max(max_, value_ns);
    min_ = std::min(min_, value_ns);
    sum_ += static_cast<double>(value_ns);
  }

  void merge(const histogram& other) noexcept {
    for (size_t i = 0; i < bucket_count; ++i)
      counts_[i] += other.counts_[i];
    total_ += other.total_;
    max_ = std::max(max_, other.max_);
    min_ = std::min(min_, other.min_);
    sum_ += other.sum_;
  }

  uint64_t count() const noexcept {
    return total_;
  }

  uint64_t max() const noexcept {
    return total_ == 0 ? 0 : max_;
  }

  double mean() const noexcept {
    return total_ == 0 ? 0.0 : sum_ / static_cast<double>(total_);
  }

  /// The value at quantile `q` (0..1): the upper edge of the bucket holding
  /// the rank, capped by the largest recorded value.
  uint64_t quantile(double q) const noexcept {
    if (total_ == 0) return 0;
    auto rank = static_cast<uint64_t>(q * static_cast<double>(total_));
    if (rank >= total_) rank = total_ - 1;
    uint64_t seen = 0;
    for (size_t i = 0; i < bucket_count; ++i) {
      seen += counts_[i];
      if (seen > rank) return std::min(upper_edge(i), max_);
    }
    return max_;
  }

  /// `{"n":..,"p50":..,"p90":..,"p99":..,"p999":..,"max":..,"mean":..}` in
  /// microseconds (three decimals).
  std::string json_us() const {
    auto us = [](uint64_t ns) {
      char buf[32];
      std::snprintf(buf, sizeof buf, "%.3f", static_cast<double>(ns) / 1e3);
      return std::string{buf};
    };
    return "{\"n\":" + std::to_string(total_) + ",\"p50\":" + us(quantile(0.50)) + ",\"p90\":"
        + us(quantile(0.90)) + ",\"p99\":" + us(quantile(0.99)) + ",\"p999\":" + us(quantile(0.999))
        + ",\"max\":" + us(max()) + ",\"mean\":" + us(static_cast<uint64_t>(mean())) + "}";
  }

  static size_t index_of(uint64_t v) noexcept {
    if (v < 2 * sub_count) return static_cast<size_t>(v);
    int msb = 63 - __builtin_clzll(v);
    if (msb > max_exponent) return bucket_count - 1;
    // (v >> shift) is in [sub_count, 2 * sub_count): each power of two from
    // 2 * sub_count on gets sub_count buckets of width 2^shift.
    auto shift = static_cast<size_t>(msb - sub_bits);
    return shift * sub_count + static_cast<size_t>(v >> shift);
  }

  static uint64_t upper_edge(size_t index) noexcept {
    if (index < 2 * sub_count) return index;
    size_t shift = index / sub_count - 1;
    uint64_t mantissa = index - shift * sub_count;
    return ((mantissa + 1) << shift) - 1;
  }

private:
  std::array<uint64_t, bucket_count> counts_{};
  uint64_t total_ = 0;
  uint64_t max_ = 0;
  uint64_t min_ = UINT64_MAX;
  double sum_ = 0;
};

} // namespace puzzle::bench
