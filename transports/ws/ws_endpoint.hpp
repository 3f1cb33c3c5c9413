#pragma once

#include <cstddef>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include <caf/fwd.hpp>

#include "actors/channel/channel_registry_actor.hpp"
#include "actors/directory_interface.hpp"
#include "config/settings.hpp"

namespace puzzle::transports::http {
class router;
} // namespace puzzle::transports::http

namespace puzzle::transports::auth {
class token_service;
} // namespace puzzle::transports::auth

namespace puzzle::transports::ws {

class ws_connection;

/// The raw WebSocket endpoint (`/ws`, contract.md section 6): accepts
/// upgrades, identifies each connection by its access token (or as a guest)
/// and keeps the open connections for shutdown and counting. Thread-safe:
/// upgrades arrive on many I/O threads.
class ws_endpoint : public std::enable_shared_from_this<ws_endpoint> {
public:
  ws_endpoint(caf::actor_system& sys, directory_actor directory,
              channel_registry_actor channels,
              const auth::token_service& tokens, const config::settings& cfg,
              std::string path);

  /// Adds the WebSocket upgrade on `path`.
  void register_routes(http::router& routes);

  /// Closes every connection with 1001 (going away).
  void shutdown();

  /// Open connections (for metrics and the connection limit).
  size_t open_connections() const;

  // -- used by ws_connection --------------------------------------------------

  caf::actor_system& system() noexcept {
    return sys_;
  }
  const directory_actor& directory() const noexcept {
    return directory_;
  }
  const channel_registry_actor& channels() const noexcept {
    return channels_;
  }
  const config::settings& settings() const noexcept {
    return cfg_;
  }
  void connection_closed(const ws_connection* conn);

private:
  caf::actor_system& sys_;
  directory_actor directory_;
  channel_registry_actor channels_;
  const auth::token_service& tokens_;
  const config::settings& cfg_;
  std::string path_;
  mutable std::mutex mtx_;
  std::unordered_map<const ws_connection*, std::weak_ptr<ws_connection>> open_;
};

} // namespace puzzle::transports::ws
