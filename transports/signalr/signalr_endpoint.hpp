#pragma once

#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include <caf/fwd.hpp>

#include "config/settings.hpp"
#include "transports/auth/connection_identity.hpp"
#include "transports/signalr/hub_binding.hpp"

namespace puzzle::transports::http {
class router;
} // namespace puzzle::transports::http

namespace puzzle::transports::signalr {

class hub_connection;

/// Who a negotiated connection is, between negotiate and the WebSocket.
using negotiated_identity = auth::connection_identity;

/// A hub endpoint such as `/puzzlehub`: negotiate (v0 and v1), the
/// WebSocket transport, and the table of connection tokens; what the hub's
/// methods do comes from `hub` (see hub_binding.hpp). Thread-safe: HTTP
/// handlers run on many I/O threads.
class signalr_endpoint : public std::enable_shared_from_this<signalr_endpoint> {
public:
  signalr_endpoint(hub_factory hub, const auth::token_service& tokens,
                   const config::settings& cfg, std::string path);

  /// Adds `POST {path}/negotiate` and the WebSocket upgrade on `{path}`.
  void register_routes(http::router& routes);

  /// Closes every connection with a Close message that allows reconnects
  /// (the node is going away, another one may take the client).
  void shutdown();

  /// Open hub connections (for metrics and the console).
  size_t open_connections() const;

  // -- used by hub_connection -------------------------------------------------

  std::unique_ptr<hub_binding> bind(hub_context ctx) const {
    return hub_(std::move(ctx));
  }
  const config::settings& settings() const noexcept {
    return cfg_;
  }
  void connection_closed(const std::string& token);

private:
  struct pending_connection {
    std::string connection_id;
    negotiated_identity identity;
    std::chrono::steady_clock::time_point expires;
    bool connected = false;
    std::weak_ptr<hub_connection> connection;
  };

  /// Identity from `Authorization: Bearer` or `access_token`; an error
  /// text when a token was given but is invalid.
  template<class Request>
  bool identify(const Request& req, negotiated_identity& out,
                std::string& error) const;

  void drop_expired(std::chrono::steady_clock::time_point now);

  hub_factory hub_;
  const auth::token_service& tokens_;
  const config::settings& cfg_;
  std::string path_;
  mutable std::mutex mtx_;
  std::unordered_map<std::string, pending_connection> connections_;
};

} // namespace puzzle::transports::signalr
