#include "actors/util/rate_limiter.hpp"

#include <algorithm>
#include <charconv>
#include <numeric>

namespace puzzle::util {

namespace {

using std::chrono::duration_cast;

bool parse_uint(std::string_view text, uint32_t& out) {
  if (text.empty()) return false;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc{} && end == text.data() + text.size();
}

/// `10s`, `500ms`, `1min`, `2h`.
bool parse_duration(std::string_view text, milliseconds& out) {
  size_t digits = 0;
  while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9')
    ++digits;
  uint32_t n = 0;
  if (!parse_uint(text.substr(0, digits), n) || n == 0) return false;
  auto unit = text.substr(digits);
  if (unit == "ms")
    out = milliseconds{n};
  else if (unit == "s")
    out = milliseconds{int64_t{n} * 1000};
  else if (unit == "min")
    out = milliseconds{int64_t{n} * 60'000};
  else if (unit == "h")
    out = milliseconds{int64_t{n} * 3'600'000};
  else
    return false;
  return true;
}

std::string duration_text(milliseconds d) {
  auto ms = d.count();
  if (ms % 3'600'000 == 0) return std::to_string(ms / 3'600'000) + "h";
  if (ms % 60'000 == 0) return std::to_string(ms / 60'000) + "min";
  if (ms % 1000 == 0) return std::to_string(ms / 1000) + "s";
  return std::to_string(ms) + "ms";
}

std::vector<std::string_view> split(std::string_view text, char sep) {
  std::vector<std::string_view> out;
  size_t start = 0;
  for (;;) {
    auto pos = text.find(sep, start);
    out.push_back(text.substr(start, pos - start));
    if (pos == std::string_view::npos) return out;
    start = pos + 1;
  }
}

milliseconds ceil_ms(limiter_clock::duration d) {
  auto ms = duration_cast<milliseconds>(d);
  return ms < d ? ms + milliseconds{1} : ms;
}

} // namespace

bool limiter_spec::parse(std::string_view text, limiter_spec& out,
                         std::string& error) {
  auto words = split(text, ' ');
  words.erase(std::remove(words.begin(), words.end(), std::string_view{}),
              words.end());
  limiter_spec spec;
  const char* usage = "expected 'fixed-window N/DURATION', "
                      "'sliding-window N/DURATION/SEGMENTS' or "
                      "'token-bucket SIZE N/DURATION' (durations like 500ms, "
                      "10s, 1min, 1h)";
  if (words.empty()) {
    error = usage;
    return false;
  }
  if (words[0] == "fixed-window" || words[0] == "sliding-window") {
    bool sliding = words[0] == "sliding-window";
    spec.kind = sliding ? algorithm::sliding_window : algorithm::fixed_window;
    auto parts = words.size() == 2 ? split(words[1], '/')
                                   : std::vector<std::string_view>{};
    if (parts.size() != (sliding ? 3u : 2u)
        || !parse_uint(parts[0], spec.permits) || spec.permits == 0
        || !parse_duration(parts[1], spec.window)
        || (sliding
            && (!parse_uint(parts[2], spec.segments) || spec.segments == 0
                || spec.segments > 1000))) {
      error = usage;
      return false;
    }
  } else if (words[0] == "token-bucket") {
    spec.kind = algorithm::token_bucket;
    auto parts = words.size() == 3 ? split(words[2], '/')
                                   : std::vector<std::string_view>{};
    if (parts.size() != 2 || !parse_uint(words[1], spec.permits)
        || spec.permits == 0 || !parse_uint(parts[0], spec.refill)
        || spec.refill == 0 || !parse_duration(parts[1], spec.window)) {
      error = usage;
      return false;
    }
  } else {
    error = usage;
    return false;
  }
  out = spec;
  return true;
}

std::string limiter_spec::to_string() const {
  switch (kind) {
    case algorithm::fixed_window:
      return "fixed-window " + std::to_string(permits) + "/"
          + duration_text(window);
    case algorithm::sliding_window:
      return "sliding-window " + std::to_string(permits) + "/"
          + duration_text(window) + "/" + std::to_string(segments);
    case algorithm::token_bucket: break;
  }
  return "token-bucket " + std::to_string(permits) + " "
      + std::to_string(refill) + "/" + duration_text(window);
}

rate_limiter::rate_limiter(const limiter_spec& spec,
                           limiter_clock::time_point now)
    : spec_(spec), window_start_(now), tokens_(spec.permits),
      refilled_at_(now) {
  if (spec_.kind == limiter_spec::algorithm::sliding_window)
    segment_counts_.assign(spec_.segments, 0);
}

void rate_limiter::advance(limiter_clock::time_point now) {
  switch (spec_.kind) {
    case limiter_spec::algorithm::fixed_window: {
      if (now - window_start_ >= spec_.window) {
        auto windows = (now - window_start_) / spec_.window;
        window_start_ += windows * spec_.window;
        used_ = 0;
      }
      break;
    }
    case limiter_spec::algorithm::sliding_window: {
      // The window is `segments` slots; each elapsed slot drops the oldest
      // count, as ASP.NET's SlidingWindowRateLimiter does.
      auto slot = spec_.window / spec_.segments;
      if (slot <= limiter_clock::duration::zero()) slot = spec_.window;
      auto elapsed = (now - window_start_) / slot;
      if (elapsed <= 0) break;
      auto n = static_cast<size_t>(
          std::min<int64_t>(elapsed, static_cast<int64_t>(spec_.segments)));
      segment_counts_.erase(segment_counts_.begin(),
                            segment_counts_.begin()
                                + static_cast<std::ptrdiff_t>(n));
      segment_counts_.resize(spec_.segments, 0);
      window_start_ += elapsed * slot;
      break;
    }
    case limiter_spec::algorithm::token_bucket: {
      if (now - refilled_at_ >= spec_.window) {
        auto periods = (now - refilled_at_) / spec_.window;
        auto added = static_cast<uint64_t>(periods) * spec_.refill;
        tokens_ = static_cast<uint32_t>(
            std::min<uint64_t>(spec_.permits, tokens_ + added));
        refilled_at_ += periods * spec_.window;
      }
      break;
    }
  }
}

limiter_decision rate_limiter::acquire(limiter_clock::time_point now,
                                       uint32_t permits) {
  advance(now);
  switch (spec_.kind) {
    case limiter_spec::algorithm::fixed_window:
      if (used_ + permits <= spec_.permits) {
        used_ += permits;
        return {true, milliseconds{0}};
      }
      return {false, ceil_ms(window_start_ + spec_.window - now)};
    case limiter_spec::algorithm::sliding_window: {
      auto used = std::accumulate(segment_counts_.begin(),
                                  segment_counts_.end(), uint64_t{0});
      if (used + permits <= spec_.permits) {
        segment_counts_.back() += permits;
        return {true, milliseconds{0}};
      }
      // The oldest slot with counts frees up when it leaves the window.
      auto slot = spec_.window / spec_.segments;
      size_t oldest = 0;
      while (oldest + 1 < segment_counts_.size()
             && segment_counts_[oldest] == 0)
        ++oldest;
      auto frees_at = window_start_ + static_cast<int64_t>(oldest + 1) * slot;
      return {false, ceil_ms(frees_at - now)};
    }
    case limiter_spec::algorithm::token_bucket: break;
  }
  if (tokens_ >= permits) {
    tokens_ -= permits;
    return {true, milliseconds{0}};
  }
  auto missing = permits - tokens_;
  auto periods = (missing + spec_.refill - 1) / spec_.refill;
  auto at = refilled_at_ + static_cast<int64_t>(periods) * spec_.window;
  return {false, ceil_ms(at - now)};
}

bool rate_limiter::idle(limiter_clock::time_point now) {
  advance(now);
  switch (spec_.kind) {
    case limiter_spec::algorithm::fixed_window: return used_ == 0;
    case limiter_spec::algorithm::sliding_window:
      return std::all_of(segment_counts_.begin(), segment_counts_.end(),
                         [](uint32_t n) {
                           return n == 0;
                         });
    case limiter_spec::algorithm::token_bucket: break;
  }
  return tokens_ == spec_.permits;
}

} // namespace puzzle::util
