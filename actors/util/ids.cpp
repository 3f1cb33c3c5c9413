#include "actors/util/ids.hpp"

#include <chrono>
#include <cstdio>
#include <ctime>
#include <cerrno>
#include <cstdlib>

#include <sys/random.h>

namespace puzzle::util {

namespace {

/// Fills `buf` from the kernel's CSPRNG: ids such as SignalR connection
/// tokens must not be guessable from earlier ones.
void os_random(void* buf, size_t len) {
  auto* out = static_cast<unsigned char*>(buf);
  while (len > 0) {
    auto n = getrandom(out, len, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      std::abort(); // No entropy source: nothing sensible to fall back to.
    }
    out += n;
    len -= static_cast<size_t>(n);
  }
}

} // namespace

uint64_t random_u64() {
  uint64_t value = 0;
  os_random(&value, sizeof(value));
  return value;
}

std::string new_uuid() {
  unsigned char bytes[16];
  os_random(bytes, sizeof(bytes));
  bytes[6] = static_cast<unsigned char>((bytes[6] & 0x0F) | 0x40); // v4
  bytes[8] = static_cast<unsigned char>((bytes[8] & 0x3F) | 0x80); // RFC 4122
  constexpr char hex[] = "0123456789abcdef";
  std::string result;
  result.reserve(36);
  for (size_t i = 0; i < sizeof(bytes); ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) result += '-';
    result += hex[bytes[i] >> 4];
    result += hex[bytes[i] & 0x0F];
  }
  return result;
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
  // Floor division, so instants before 1970 render as the right second.
  auto secs = unix_ms / 1000;
  auto millis = unix_ms % 1000;
  if (millis < 0) {
    millis += 1000;
    --secs;
  }
  auto t = static_cast<std::time_t>(secs);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
                tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
                tm.tm_min, tm.tm_sec, static_cast<int>(millis));
  return buf;
}

std::string timespan(std::chrono::microseconds duration) {
  auto us = duration.count();
  const char* sign = "";
  if (us < 0) {
    sign = "-";
    us = -us;
  }
  constexpr int64_t us_per_second = 1'000'000;
  constexpr int64_t seconds_per_day = 86'400;
  auto ticks = (us % us_per_second) * 10; // a .NET tick is 100 ns
  auto secs = us / us_per_second;
  auto days = secs / seconds_per_day;
  secs %= seconds_per_day;
  char buf[64];
  if (days > 0)
    std::snprintf(
        buf, sizeof(buf), "%s%lld.%02lld:%02lld:%02lld.%07lld", sign,
        static_cast<long long>(days), static_cast<long long>(secs / 3600),
        static_cast<long long>(secs / 60 % 60),
        static_cast<long long>(secs % 60), static_cast<long long>(ticks));
  else
    std::snprintf(buf, sizeof(buf), "%s%02lld:%02lld:%02lld.%07lld", sign,
                  static_cast<long long>(secs / 3600),
                  static_cast<long long>(secs / 60 % 60),
                  static_cast<long long>(secs % 60),
                  static_cast<long long>(ticks));
  return buf;
}

} // namespace puzzle::util
