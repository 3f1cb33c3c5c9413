#include "actors/device/message_rate.hpp"

#include <algorithm>

namespace puzzle {

namespace {

int64_t second_of(message_rate::time_point t) {
  return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch())
      .count();
}

} // namespace

message_rate::message_rate(uint32_t seconds)
    : buckets_(std::max<uint32_t>(seconds, 1), 0) {
  // nop
}

void message_rate::advance(int64_t second) {
  if (!started_) {
    started_ = true;
    current_ = second;
    return;
  }
  if (second <= current_) return;
  auto n = static_cast<int64_t>(buckets_.size());
  auto steps = std::min(second - current_, n);
  for (int64_t i = 1; i <= steps; ++i)
    buckets_[static_cast<size_t>((current_ + i) % n)] = 0;
  current_ = second;
}

void message_rate::add(time_point now) {
  auto second = second_of(now);
  advance(second);
  auto n = static_cast<int64_t>(buckets_.size());
  ++buckets_[static_cast<size_t>(((current_ % n) + n) % n)];
}

double message_rate::per_second(time_point now) {
  advance(second_of(now));
  uint64_t total = 0;
  for (auto x : buckets_)
    total += x;
  return static_cast<double>(total) / static_cast<double>(buckets_.size());
}

} // namespace puzzle
