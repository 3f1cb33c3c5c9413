#include "transports/http/rate_limit_gate.hpp"

namespace puzzle::transports::http {

namespace {

bool starts_with(std::string_view text, std::string_view prefix) noexcept {
  return text.compare(0, prefix.size(), prefix) == 0;
}

bool ends_with(std::string_view text, std::string_view suffix) noexcept {
  return text.size() >= suffix.size()
      && text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0;
}

} // namespace

route_group group_of(std::string_view method, std::string_view path,
                     bool upgrade) noexcept {
  if (upgrade || starts_with(path, "/socket.io/")
      || ends_with(path, "/negotiate"))
    return route_group::connect;
  if (!starts_with(path, "/api/")) return route_group::none;
  if (method == "GET" || method == "HEAD") return route_group::read;
  if (method == "OPTIONS") return route_group::none;
  if (method == "POST" && starts_with(path, "/api/auth/"))
    return route_group::auth;
  if (method == "POST" && (path == "/api/images" || path == "/api/images/"))
    return route_group::upload;
  return route_group::write;
}

std::string_view key_of(route_group group) noexcept {
  switch (group) {
    case route_group::auth: return "rate-limits.http-auth";
    case route_group::upload: return "rate-limits.http-upload";
    case route_group::write: return "rate-limits.http-write";
    case route_group::read: return "rate-limits.http-read";
    case route_group::connect: return "rate-limits.http-connect";
    case route_group::none: break;
  }
  return {};
}

rate_limit_gate::rate_limit_gate(const config::rate_limit_settings& cfg)
    : max_keys_(cfg.max_tracked_keys) {
  auto set = [this](route_group g, const std::string& text) {
    std::string error; // validated when the config was read
    util::limiter_spec::parse(text, tables_[static_cast<size_t>(g)].spec,
                              error);
  };
  set(route_group::auth, cfg.http_auth);
  set(route_group::upload, cfg.http_upload);
  set(route_group::write, cfg.http_write);
  set(route_group::read, cfg.http_read);
  set(route_group::connect, cfg.http_connect);
}

util::limiter_decision rate_limit_gate::acquire(group_table& table,
                                                std::string key,
                                                clock::time_point now) {
  auto i = table.limiters.find(key);
  if (i == table.limiters.end()) {
    if (keys_ >= max_keys_) sweep(now);
    if (keys_ >= max_keys_) {
      if (!table.overflow) table.overflow.emplace(table.spec, now);
      return table.overflow->acquire(now);
    }
    i = table.limiters
            .emplace(std::move(key), util::rate_limiter{table.spec, now})
            .first;
    ++keys_;
  }
  return i->second.acquire(now);
}

std::optional<std::chrono::milliseconds>
rate_limit_gate::admit(route_group group, std::string_view address,
                       std::string_view user, clock::time_point now) {
  if (group == route_group::none) return std::nullopt;
  std::lock_guard<std::mutex> guard{mtx_};
  auto& table = tables_[static_cast<size_t>(group)];
  auto by_address = acquire(table, "a:" + std::string{address}, now);
  if (!by_address.allowed) return by_address.retry_after;
  if (user.empty()) return std::nullopt;
  // A user with many addresses (or many users behind one NAT) is held to
  // its own budget as well.
  auto by_user = acquire(table, "u:" + std::string{user}, now);
  if (!by_user.allowed) return by_user.retry_after;
  return std::nullopt;
}

void rate_limit_gate::sweep(clock::time_point now) {
  for (auto& table : tables_) {
    for (auto i = table.limiters.begin(); i != table.limiters.end();) {
      if (i->second.idle(now)) {
        i = table.limiters.erase(i);
        --keys_;
      } else {
        ++i;
      }
    }
  }
}

size_t rate_limit_gate::tracked_keys() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return keys_;
}

} // namespace puzzle::transports::http
