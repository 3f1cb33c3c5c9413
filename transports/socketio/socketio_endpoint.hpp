#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include <caf/fwd.hpp>

#include "actors/directory_interface.hpp"
#include "config/settings.hpp"
#include "transports/socketio/engineio_session.hpp"
#include "transports/socketio/socketio_protocol.hpp"

namespace boost::asio {
class io_context;
} // namespace boost::asio

namespace puzzle::transports::http {
class router;
} // namespace puzzle::transports::http

namespace puzzle::transports::auth {
class token_service;
} // namespace puzzle::transports::auth

namespace puzzle::transports::socketio {

class socketio_connection;
enum class app_mode : uint8_t;

/// The Socket.IO endpoint `/socket.io/` (Engine.IO v4, Socket.IO v5;
/// contract.md section 5): polling GET/POST, WebSocket and the upgrade
/// between them, and the table of Engine.IO sessions by sid.
///
/// With `socketio.conformance` set it serves the reference echo apps of the
/// official protocol test suites instead of the puzzle events: the
/// Socket.IO one on `/socket.io/` and the Engine.IO one on `/engine.io/`.
/// Thread-safe: requests arrive on many I/O threads.
class socketio_endpoint
    : public std::enable_shared_from_this<socketio_endpoint> {
public:
  socketio_endpoint(caf::actor_system& sys, directory_actor directory,
                    const auth::token_service& tokens,
                    const config::settings& cfg, std::string path);

  ~socketio_endpoint();

  /// The I/O context of the HTTP server, for the sessions' timers.
  /// @pre Called before the server runs.
  void set_io_context(boost::asio::io_context& ioc);

  /// Adds GET, POST and PUT (refused with 400, as the reference does) and
  /// the WebSocket upgrade on `path` (and on `/engine.io` in conformance
  /// mode).
  void register_routes(http::router& routes);

  /// Closes every session (clients may reconnect to another node).
  void shutdown();

  /// Open WebSockets (polling requests are counted by the HTTP server).
  size_t open_connections() const;

  // -- used by socketio_connection --------------------------------------------

  caf::actor_system& system() noexcept {
    return sys_;
  }
  const directory_actor& directory() const noexcept {
    return directory_;
  }
  const config::settings& settings() const noexcept {
    return cfg_;
  }
  const auth::token_service& tokens() const noexcept {
    return tokens_;
  }
  boost::asio::io_context& io_context() const noexcept {
    return *ioc_;
  }
  const eio_session_options& session_options() const noexcept {
    return options_;
  }
  const sio_limits& packet_limits() const noexcept {
    return limits_;
  }
  void connection_closed(const std::string& sid);

private:
  template<class Request, class Responder>
  void handle_http(Request&& req, Responder respond, app_mode mode);

  template<class Stream, class Request>
  void handle_upgrade(Stream&& stream, Request&& req, app_mode mode);

  std::shared_ptr<socketio_connection> find(const std::string& sid) const;

  caf::actor_system& sys_;
  directory_actor directory_;
  const auth::token_service& tokens_;
  const config::settings& cfg_;
  std::string path_;
  boost::asio::io_context* ioc_ = nullptr;
  eio_session_options options_;
  sio_limits limits_;
  std::shared_ptr<std::atomic<size_t>> websockets_
      = std::make_shared<std::atomic<size_t>>(0);
  mutable std::mutex mtx_;
  std::unordered_map<std::string, std::shared_ptr<socketio_connection>>
      sessions_;
};

/// A fresh session id: 20 URL-safe base64 characters (120 random bits).
std::string new_session_id();

} // namespace puzzle::transports::socketio
