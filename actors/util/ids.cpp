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
