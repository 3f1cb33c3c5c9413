#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "actors/util/rate_limiter.hpp"
#include "config/settings.hpp"

/// Per-client HTTP rate limits (`rate-limits.http-*`): each request is put
/// in a route group, and counted against that group's limiter for its
/// client address and, when it carries a valid token, for its user too.
/// Beast-free, so that it is cheap to include and to test.
namespace puzzle::transports::http {

enum class route_group : uint8_t {
  none = 0, ///< Not limited: static files, health checks, preflights.
  auth,     ///< POST /api/auth/...
  upload,   ///< POST /api/images
  write,    ///< Other POST, PUT, PATCH, DELETE under /api
  read,     ///< GET, HEAD under /api
  connect,  ///< SignalR negotiate, WebSocket upgrades, Socket.IO requests
};

/// The group of a request: its method (upper case, as on the wire), path
/// (without the query) and whether it asks for a WebSocket upgrade.
route_group group_of(std::string_view method, std::string_view path,
                     bool upgrade) noexcept;

/// The config key of a group's limiter (`rate-limits.http-auth`, ...).
std::string_view key_of(route_group group) noexcept;

class rate_limit_gate {
public:
  using clock = util::limiter_clock;

  explicit rate_limit_gate(const config::rate_limit_settings& cfg);

  /// Counts one request of `group` from `address` (and `user`, when not
  /// empty). Allowed: nullopt. Refused: how long to wait. Thread-safe.
  std::optional<std::chrono::milliseconds>
  admit(route_group group, std::string_view address, std::string_view user,
        clock::time_point now = clock::now());

  /// Keys remembered now (for tests and metrics).
  size_t tracked_keys() const;

private:
  struct group_table {
    util::limiter_spec spec;
    std::unordered_map<std::string, util::rate_limiter> limiters;
    /// Shared by keys that find the table full: a flood of fresh addresses
    /// shares one budget instead of growing memory.
    std::optional<util::rate_limiter> overflow;
  };

  util::limiter_decision acquire(group_table& table, std::string key,
                                 clock::time_point now);

  /// Forgets limiters at rest (their answers would not change).
  void sweep(clock::time_point now);

  mutable std::mutex mtx_;
  group_table tables_[6];
  size_t max_keys_;
  size_t keys_ = 0;
};

} // namespace puzzle::transports::http
