#pragma once

#include <chrono>
#include <cstdint>
#include <string>

/// Ids and the time formats of the contract.
namespace puzzle::util {

/// A random UUID (version 4), lowercase, from the kernel's CSPRNG: used for
/// session, user and connection ids, and token ids.
std::string new_uuid();

/// A random 64-bit value, e.g. a session's cut seed.
uint64_t random_u64();

/// `true` for a canonical UUID string (8-4-4-4-12 hex digits).
bool is_uuid(const std::string& text) noexcept;

/// Milliseconds since the Unix epoch, now.
int64_t now_ms() noexcept;

/// ISO-8601 UTC with milliseconds, e.g. `2026-12-03T19:01:31.123Z`.
std::string iso8601(int64_t unix_ms);

/// A .NET TimeSpan string, e.g. `00:05:12.3450000` or `1.01:01:01.5000000`
/// (how ASP.NET serializes durations).
std::string timespan(std::chrono::microseconds duration);

} // namespace puzzle::util
