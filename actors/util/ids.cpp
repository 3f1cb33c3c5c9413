#include "actors/util/ids.hpp"

#include <chrono>
#include <cstdio>
#include <ctime>
#include <mutex>
#include <random>

namespace puzzle::util {

namespace {

/// One engine for the process, seeded from the OS: ids need to be unique,
/// not secret (tokens are signed, not guessed).
uint64_t next_random() {
  static std::mutex mtx;
  static std::mt19937_64 engine{[] {
    std::random_device dev;
    return (static_cast<uint64_t>(dev()) << 32) ^ dev();
  }()};
  std::lock_guard<std::mutex> guard{mtx};
  return engine();
}

} // namespace

uint64_t random_u64() {
  return next_random();
}

std::string new_uuid() {
  uint64_t hi = next_random();
  uint64_t lo = next_random();
  hi = (hi & 0xFFFFFFFFFFFF0FFFull) | 0x0000000000004000ull; // version 4
  lo = (lo & 0x3FFFFFFFFFFFFFFFull) | 0x8000000000000000ull; // variant 1
  char buf[37];
  std::snprintf(buf, sizeof(buf), "%08x-%04x-%04x-%04x-%012llx",
                static_cast<unsigned>(hi >> 32),
                static_cast<unsigned>((hi >> 16) & 0xFFFF),
                static_cast<unsigned>(hi & 0xFFFF),
                static_cast<unsigned>(lo >> 48),
                static_cast<unsigned long long>(lo & 0xFFFFFFFFFFFFull));
  return std::string{buf, 36};
}

bool is_uuid(const std::string& text) noexcept {
  if (text.size() != 36) return false;
  for (size_t i = 0; i < text.size(); ++i) {
    auto c = text[i];
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (c != '-') return false;
    } else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')
                 || (c >= 'A' && c <= 'F'))) {
      return false;
    }
  }
  return true;
}

int64_t now_ms() noexcept {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch())
      .count();
}

std::string iso8601(int64_t unix_ms) {
  auto secs = static_cast<std::time_t>(unix_ms / 1000);
  auto millis = static_cast<int>(unix_ms % 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
                tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
                tm.tm_min, tm.tm_sec, millis);
  return buf;
}

std::string timespan(int64_t milliseconds) {
  if (milliseconds < 0) milliseconds = 0;
  auto total_secs = milliseconds / 1000;
  auto days = total_secs / 86400;
  auto hours = (total_secs / 3600) % 24;
  auto mins = (total_secs / 60) % 60;
  auto secs = total_secs % 60;
  auto ticks = (milliseconds % 1000) * 10000; // 100 ns units, as .NET
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%02lld:%02lld:%02lld.%07lld",
                static_cast<long long>(hours), static_cast<long long>(mins),
                static_cast<long long>(secs), static_cast<long long>(ticks));
  if (days == 0) return buf;
  return std::to_string(days) + '.' + buf; // .NET's "d.hh:mm:ss.fffffff"
}

} // namespace puzzle::util
