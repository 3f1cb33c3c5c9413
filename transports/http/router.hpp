#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/beast/http/verb.hpp>

#include "transports/http/http_util.hpp"

namespace puzzle::transports::http {

/// A client socket, plain or TLS (transports/http/net_stream.hpp).
class net_stream;

/// Sends the response for one request; call exactly once, from any thread
/// (it posts to the connection's strand). A second call is ignored; a
/// responder dropped without a call answers 500 `INTERNAL`, so a lost
/// callback never hangs a connection.
using responder = std::function<void(response&&)>;

/// What a route pattern captured.
struct route_match {
  /// Values of the `{name}` segments in order, percent-decoded; a trailing
  /// `{*name}` captures the rest of the path (slashes included).
  std::vector<std::string> params;
};

/// Handles one request. Runs on the connection's strand (an I/O thread):
/// do no blocking work here; talk to actors and answer from their callback.
/// An exception that escapes is answered with 500 `INTERNAL`.
using handler = std::function<void(request&&, route_match, responder)>;

/// What a route sets besides its handler.
struct route_options {
  /// Bytes of request body the route accepts, instead of the server's
  /// `http.body-limit`. The server reads the request headers first, so a
  /// larger `Content-Length` is refused before any of the body is read,
  /// and a chunked body as soon as it grows beyond the limit.
  std::optional<uint64_t> body_limit;
  /// The config key of `body_limit`, named in the 413 answer (e.g.
  /// `images.max-bytes`).
  std::string body_limit_key;
};

/// Takes over a connection whose GET request asked for a WebSocket upgrade
/// on this path; called on the connection's strand/executor. The HTTP layer
/// forgets the socket (and its timeouts) once this is called.
using upgrade_handler = std::function<void(net_stream&&, request&&)>;

/// Maps method and path to handlers.
///
/// Patterns are absolute paths whose segments are literals, `{name}` (one
/// non-empty segment) or, last only, `{*name}` (the rest, maybe empty). A
/// trailing slash is ignored on both sides. When several patterns match,
/// the one with a literal at the first differing segment wins. `HEAD` falls
/// back to the `GET` handler (the server drops the body).
///
/// @pre All `add*` calls happen before the server runs; afterwards the
///      router is only read, from any thread.
class router {
public:
  /// Outcome of `find`.
  enum class outcome { found, method_not_allowed, not_found };

  struct lookup {
    outcome result = outcome::not_found;
    const handler* target = nullptr;
    /// The options of the route found (null otherwise).
    const route_options* options = nullptr;
    route_match match;
    /// For `method_not_allowed`: the `Allow` header value.
    std::string allow;
  };

  /// Registers `h` for `method` on `pattern` (like `/api/sessions/{id}`).
  /// Throws `std::invalid_argument` for a malformed pattern.
  void add(boost::beast::http::verb method, std::string pattern, handler h,
           route_options options = {});

  /// Registers a WebSocket endpoint on an exact path.
  void add_upgrade(std::string path, upgrade_handler h);

  /// Handles the `GET`/`HEAD` requests that no route matches (static files).
  void set_fallback(handler h);

  /// The route for a request; `path` is raw (not yet percent-decoded).
  lookup find(boost::beast::http::verb method, std::string_view path) const;

  /// The upgrade handler of a path, or null.
  const upgrade_handler* find_upgrade(std::string_view path) const;

  /// The fallback, or null.
  const handler* fallback() const noexcept {
    return fallback_ ? &fallback_ : nullptr;
  }

  /// Methods a path accepts, as an `Allow` header value (`GET, HEAD,
  /// OPTIONS`); empty when no route, upgrade or fallback serves the path.
  std::string allowed_methods(std::string_view path) const;

  /// True when a route or an upgrade handler (not the fallback) serves
  /// `path`.
  bool serves(std::string_view path) const;

private:
  struct segment {
    enum kind_t { literal, param, rest } kind = literal;
    std::string text;
  };

  struct route {
    boost::beast::http::verb method;
    std::string pattern;
    std::vector<segment> segments;
    handler fn;
    route_options options;
  };

  struct upgrade {
    std::string path;
    upgrade_handler fn;
  };

  /// Matches decoded path segments; fills `m` and `rank` (per segment 0 =
  /// literal, 1 = param, 2 = rest: the smallest rank is most specific).
  static bool match(const route& r, const std::vector<std::string>& segs,
                    route_match& m, std::vector<int>& rank);

  std::vector<route> routes_;
  std::vector<upgrade> upgrades_;
  handler fallback_;
};

} // namespace puzzle::transports::http
