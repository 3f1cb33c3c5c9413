#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include <boost/asio/io_context.hpp>

#include "config/settings.hpp"
#include "transports/http/rate_limit_gate.hpp"
#include "transports/http/router.hpp"

namespace boost::asio::ssl {
class context;
} // namespace boost::asio::ssl

namespace puzzle::transports::http {

/// The TLS context of `http.tls-cert` and `http.tls-key` (PEM files; TLS
/// 1.2 and later only), or null: when both are empty (plain HTTP), and when
/// a file cannot be loaded, with `error` naming the key.
std::shared_ptr<boost::asio::ssl::context>
make_tls_context(const config::http_settings& settings, std::string& error);

namespace detail {
struct server_core;
class listener;
} // namespace detail

/// The node's HTTP/1.1 server: one listening socket for REST, static files
/// and every WebSocket endpoint (handed over through `router::add_upgrade`).
///
/// Each connection is served on its own strand: requests are read one at a
/// time (pipelined requests are answered in order), handlers are called on
/// the strand and answer through a `responder` from any thread. Limits come
/// from `http_settings`:
/// - `header_limit` / `body_limit`: 431 / 413 `LIMIT_EXCEEDED`, then close;
/// - `request_timeout`: reading one request (and writing its answer);
/// - `idle_timeout`: waiting for the next request on a kept-alive socket;
/// - `max_connections`: beyond it a connection gets 503 `LIMIT_EXCEEDED`
///   and is closed (at most as many refusals are in flight at once; beyond
///   that sockets are closed unanswered);
/// - `max_connections_per_address` (0: none): sockets of one client
///   address, whatever they are upgraded to; beyond it a new socket gets a
///   fixed 503 `LIMIT_EXCEEDED` before any of its request is read, and is
///   closed (with TLS: closed unanswered).
/// With `use_tls` every socket completes a TLS handshake first, within
/// `request_timeout`; a failed handshake closes it.
/// Every response carries `X-Content-Type-Options: nosniff`,
/// `Referrer-Policy: no-referrer` and `X-Frame-Options: DENY`; requests from
/// an origin in `cors_origins` (or any origin when it lists `*`) get CORS
/// headers naming that origin, with credentials (and, whenever
/// `cors_origins` is not empty, every answer carries `Vary: Origin`). Unknown
/// paths answer 404 `NOT_FOUND`, a known path with another method 405
/// `METHOD_NOT_ALLOWED` with `Allow`, malformed requests 400
/// `INVALID_ARGUMENT`.
class server {
public:
  server(const config::http_settings& settings, std::shared_ptr<router> routes);

  server(const server&) = delete;
  server& operator=(const server&) = delete;

  /// Stops (see `stop`).
  ~server();

  /// Binds and listens on `settings.bind:settings.port` (port 0: an
  /// ephemeral port, see `port()`). Logs nothing itself. Call once.
  std::error_code start();

  /// The bound port (0 before a successful `start`).
  uint16_t port() const noexcept {
    return port_;
  }

  /// Limits requests per client address and user (see rate_limit_gate);
  /// `user_of` names the request's verified user or returns an empty string.
  /// A refused request gets 429 `RATE_LIMITED` with `Retry-After`.
  /// Call before `run`.
  void limit_rates(std::shared_ptr<rate_limit_gate> gate,
                   std::function<std::string(const request&)> user_of);

  /// Starts accepting and `threads` I/O threads (at least one); returns
  /// immediately.
  void run(uint32_t threads);

  /// Stops accepting, closes every HTTP socket, joins the threads and runs
  /// the handlers that the closing completed. Idempotent. Sockets already
  /// handed to an upgrade handler belong to it and are not closed here.
  /// @pre Not called from an I/O thread (it joins them).
  void stop();

  /// The I/O context of every socket, for endpoints that need timers.
  boost::asio::io_context& context();

  /// Open sockets: HTTP connections plus what `count_upgraded` reports.
  std::size_t open_connections() const;

  /// Open sockets of one client address (an IP as text), counted from the
  /// accept until the socket closes, upgraded or not; always 0 when
  /// `max_connections_per_address` is 0 (not counted).
  std::size_t connections_from(const std::string& address) const;

  /// Serves TLS only (https, wss) with `context` (see `make_tls_context`):
  /// each socket's handshake must finish within `request_timeout`.
  /// @pre Called before `run`.
  void use_tls(std::shared_ptr<boost::asio::ssl::context> context);

  /// Lets `open_connections` (and so `max_connections`) include sockets
  /// that upgrade handlers own, e.g. WebSocket sessions.
  /// @pre Called before `run`.
  void count_upgraded(std::function<std::size_t()> fn);

private:
  std::shared_ptr<detail::server_core> core_;
  std::shared_ptr<detail::listener> listener_;
  std::vector<std::thread> threads_;
  uint16_t port_ = 0;
  bool stopped_ = false;
};

} // namespace puzzle::transports::http
