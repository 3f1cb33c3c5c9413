#include "config/node_config.hpp"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <limits>

#include <caf/config_option_adder.hpp>
#include <caf/settings.hpp>
#include <caf/timespan.hpp>

namespace puzzle::config {

namespace {

caf::error bad(const std::string& key, const std::string& what) {
  return caf::make_error(caf::pec::illegal_argument, key + ": " + what);
}

/// Checks `raw` against [lo, hi] and stores it in `out`.
template <class T>
caf::error in_range(const std::string& key, int64_t raw, int64_t lo,
                    int64_t hi, T& out) {
  if (raw < lo || raw > hi)
    return bad(key, "must be between " + std::to_string(lo) + " and "
                      + std::to_string(hi) + " (got " + std::to_string(raw)
                      + ")");
  out = static_cast<T>(raw);
  return caf::none;
}

/// Durations are written as `15s`, `500ms`, `5min` in files and on the
/// command line.
caf::error duration(const caf::settings& content, const std::string& key,
                    std::chrono::milliseconds min, milliseconds& out) {
  auto value = caf::get_or(content, key,
                           caf::timespan{std::chrono::duration_cast<
                             std::chrono::nanoseconds>(out)});
  auto ms = std::chrono::duration_cast<milliseconds>(value);
  if (ms < min)
    return bad(key, "must be at least " + std::to_string(min.count())
                      + "ms (got " + std::to_string(ms.count()) + "ms)");
  out = ms;
  return caf::none;
}

} // namespace

node_config::node_config() {
  auto& v = values;
  opt_group{custom_options_, "http"}
    .add(v.http.bind, "bind", "address to listen on")
    .add(http_port_, "port", "TCP port for HTTP and all real-time endpoints")
    .add(http_threads_, "threads", "I/O threads for all sockets")
    .add(http_body_limit_, "body-limit", "max bytes of one request body")
    .add(http_header_limit_, "header-limit", "max bytes of request headers")
    .add<caf::timespan>("idle-timeout", "idle keep-alive connection timeout")
    .add<caf::timespan>("request-timeout", "time to read one request")
    .add(http_max_connections_, "max-connections", "open sockets at most")
    .add(v.http.web_root, "web-root", "folder of the browser client")
    .add(v.http.cors_origins, "cors-origins", "allowed browser origins");
  opt_group{custom_options_, "store"}
    .add(v.store.data_dir, "data-dir", "folder of the default SQLite file")
    .add(v.store.url, "url", "sqlite:PATH (default: DATA-DIR/puzzle.db)")
    .add(store_group_commit_max_, "group-commit-max",
         "writes per transaction at most");
  opt_group{custom_options_, "limits"}
    .add(limits_min_pieces_, "min-pieces", "fewest pieces of a session")
    .add(limits_max_pieces_, "max-pieces", "most pieces of a session")
    .add(limits_max_side_, "max-side", "most rows, and most cols")
    .add(limits_max_image_side_, "max-image-side", "image side in pixels")
    .add(limits_max_message_bytes_, "max-message-bytes",
         "bytes of one real-time message")
    .add(limits_max_chat_code_points_, "max-chat-code-points",
         "characters of one chat message")
    .add(limits_chat_history_, "chat-history", "chat messages kept")
    .add(limits_outbound_queue_bytes_, "outbound-queue-bytes",
         "queued bytes per connection before it is closed")
    .add(limits_max_name_length_, "max-name-length",
         "characters of session and display names")
    .add(limits_max_sessions_per_connection_, "max-sessions-per-connection",
         "sessions one connection may join");
  opt_group{custom_options_, "session"}
    .add<caf::timespan>("lock-lease", "how long a grab lasts unrenewed")
    .add(v.session.snap_ratio, "snap-ratio",
         "snap tolerance as a share of the piece size")
    .add(v.session.table_factor, "table-factor",
         "table side as a multiple of the image side")
    .add<caf::timespan>("cursor-interval", "cursor updates per user at most");
  opt_group{custom_options_, "signalr"}
    .add<caf::timespan>("keep-alive", "server ping interval")
    .add<caf::timespan>("client-timeout", "silence before a client is dropped")
    .add<caf::timespan>("handshake-timeout", "time to send the handshake")
    .add<caf::timespan>("negotiate-ttl", "lifetime of an unused token");
  opt_group{custom_options_, "auth"}
    .add(v.auth.jwt_secret, "jwt-secret",
         "HS256 secret (prefer the environment variable PUZZLE_JWT_SECRET)")
    .add(v.auth.issuer, "issuer", "JWT issuer")
    .add(v.auth.audience, "audience", "JWT audience")
    .add<caf::timespan>("token-lifetime", "lifetime of issued tokens")
    .add(v.auth.allow_anonymous, "allow-anonymous",
         "accept hub connections without a token");
  opt_group{custom_options_, "log"}.add(v.log.level, "level",
                                        "trace, debug, info, warn, error");
}

caf::error node_config::finalize() {
  auto& v = values;
  auto& c = content;
  caf::error err;
  auto check = [&err](caf::error e) {
    if (!err && e)
      err = std::move(e);
  };
  check(in_range("http.port", http_port_, 0, 65535, v.http.port));
  check(in_range("http.threads", http_threads_, 1, 64, v.http.threads));
  check(in_range("http.body-limit", http_body_limit_, 1024, int64_t{1} << 30,
                 v.http.body_limit));
  check(in_range("http.header-limit", http_header_limit_, 1024, 1 << 20,
                 v.http.header_limit));
  check(in_range("http.max-connections", http_max_connections_, 1, 1'000'000,
                 v.http.max_connections));
  check(duration(c, "http.idle-timeout", milliseconds{100},
                 v.http.idle_timeout));
  check(duration(c, "http.request-timeout", milliseconds{100},
                 v.http.request_timeout));
  check(in_range("store.group-commit-max", store_group_commit_max_, 1,
                 100'000, v.store.group_commit_max));
  check(in_range("limits.min-pieces", limits_min_pieces_, 2, 1'000'000,
                 v.limits.min_pieces));
  check(in_range("limits.max-pieces", limits_max_pieces_, limits_min_pieces_,
                 1'000'000, v.limits.max_pieces));
  check(in_range("limits.max-side", limits_max_side_, 1, 10'000,
                 v.limits.max_side));
  check(in_range("limits.max-image-side", limits_max_image_side_, 16, 65'536,
                 v.limits.max_image_side));
  check(in_range("limits.max-message-bytes", limits_max_message_bytes_, 1024,
                 int64_t{64} << 20, v.limits.max_message_bytes));
  check(in_range("limits.max-chat-code-points", limits_max_chat_code_points_,
                 1, 100'000, v.limits.max_chat_code_points));
  check(in_range("limits.chat-history", limits_chat_history_, 0, 100'000,
                 v.limits.chat_history));
  check(in_range("limits.outbound-queue-bytes", limits_outbound_queue_bytes_,
                 64 * 1024, int64_t{1} << 32, v.limits.outbound_queue_bytes));
  check(in_range("limits.max-name-length", limits_max_name_length_, 1, 10'000,
                 v.limits.max_name_length));
  check(in_range("limits.max-sessions-per-connection",
                 limits_max_sessions_per_connection_, 1, 10'000,
                 v.limits.max_sessions_per_connection));
  check(duration(c, "session.lock-lease", milliseconds{100},
                 v.session.lock_lease));
  check(duration(c, "session.cursor-interval", milliseconds{0},
                 v.session.cursor_interval));
  check(duration(c, "signalr.keep-alive", milliseconds{100},
                 v.signalr.keep_alive));
  check(duration(c, "signalr.client-timeout", milliseconds{100},
                 v.signalr.client_timeout));
  check(duration(c, "signalr.handshake-timeout", milliseconds{100},
                 v.signalr.handshake_timeout));
  check(duration(c, "signalr.negotiate-ttl", milliseconds{100},
                 v.signalr.negotiate_ttl));
  check(duration(c, "auth.token-lifetime", milliseconds{1000},
                 v.auth.token_lifetime));
  if (err)
    return err;
  if (!std::isfinite(v.session.snap_ratio) || v.session.snap_ratio <= 0
      || v.session.snap_ratio > 0.5)
    return bad("session.snap-ratio", "must be in (0, 0.5]");
  if (!std::isfinite(v.session.table_factor) || v.session.table_factor < 1
      || v.session.table_factor > 10)
    return bad("session.table-factor", "must be in [1, 10]");
  if (v.signalr.client_timeout <= v.signalr.keep_alive)
    return bad("signalr.client-timeout",
               "must be longer than signalr.keep-alive");
  static constexpr const char* levels[] = {"trace", "debug", "info",
                                           "warn",  "error", "off"};
  if (std::find(std::begin(levels), std::end(levels), v.log.level)
      == std::end(levels))
    return bad("log.level", "must be one of trace, debug, info, warn, "
                            "error, off (got '"
                              + v.log.level + "')");
  if (v.http.bind.empty())
    return bad("http.bind", "must not be empty");
  if (v.store.url.empty() && v.store.data_dir.empty())
    return bad("store.data-dir", "must not be empty when store.url is");
  if (auto secret = std::getenv(jwt_secret_env);
      secret != nullptr && *secret != '\0')
    v.auth.jwt_secret = secret;
  if (!v.auth.jwt_secret.empty() && v.auth.jwt_secret.size() < 32)
    return bad("auth.jwt-secret", "must have at least 32 bytes");
  return caf::none;
}

} // namespace puzzle::config
