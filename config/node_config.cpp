#include "config/node_config.hpp"

#include <sched.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <limits>
#include <sstream>
#include <thread>
#include <utility>

#include <caf/atom.hpp>
#include <caf/config_option.hpp>
#include <caf/config_option_adder.hpp>
#include <caf/config_value.hpp>
#include <caf/make_message.hpp>
#include <caf/pec.hpp>
#include <caf/sec.hpp>
#include <caf/settings.hpp>
#include <caf/timespan.hpp>

#include "actors/util/rate_limiter.hpp"

namespace puzzle::config {

namespace {

/// An error whose context is one string, `key: what`. (`caf::make_error(pec,
/// string)` would wrap the text in a dictionary `{"argument" = ...}`.)
caf::error bad(const std::string& key, const std::string& what) {
  return caf::error{static_cast<uint8_t>(caf::pec::illegal_argument),
                    caf::atom("parser"), caf::make_message(key + ": " + what)};
}

/// Checks `raw` against [lo, hi] and stores it in `out`.
template<class T>
caf::error
in_range(const std::string& key, int64_t raw, int64_t lo, int64_t hi, T& out) {
  if (raw < lo || raw > hi)
    return bad(key,
               "must be between " + std::to_string(lo) + " and "
                   + std::to_string(hi) + " (got " + std::to_string(raw) + ")");
  out = static_cast<T>(raw);
  return caf::none;
}

/// Durations are written as `15s`, `500ms`, `5min` in files and on the
/// command line.
caf::error duration(const caf::settings& content, const std::string& key,
                    std::chrono::milliseconds min, milliseconds& out) {
  auto value = caf::get_or(
      content, key,
      caf::timespan{std::chrono::duration_cast<std::chrono::nanoseconds>(out)});
  auto ms = std::chrono::duration_cast<milliseconds>(value);
  if (ms < min)
    return bad(key,
               "must be at least " + std::to_string(min.count()) + "ms (got "
                   + std::to_string(ms.count()) + "ms)");
  out = ms;
  return caf::none;
}

bool starts_with(const std::string& text, const char* prefix) {
  return text.compare(0, std::char_traits<char>::length(prefix), prefix) == 0;
}

/// `section.key`, or just `key` for CAF's global options (`config-file`).
std::string key_of(caf::string_view category, caf::string_view name) {
  std::string result;
  if (category != "global") {
    result.assign(category.begin(), category.end());
    result += '.';
  }
  result.append(name.begin(), name.end());
  return result;
}

std::string key_of(const caf::config_option& opt) {
  return key_of(opt.category(), opt.long_name());
}

/// What a value of `opt` looks like, for error messages. The type names are
/// those of CAF 0.17's help text.
std::string expected_of(const caf::config_option& opt) {
  auto name = opt.type_name();
  std::string type(name.begin(), name.end());
  if (type == "timespan")
    return "a duration: an integer and a unit (ns, us, ms, s, min, h), "
           "e.g. 15s or 500ms";
  if (type == "int64") return "an integer";
  if (type == "uint64") return "an integer of at least 0";
  if (type == "real64") return "a number with a decimal point, e.g. 2.0";
  if (type == "boolean") return "true or false";
  if (type == "string") return "a string in double quotes";
  if (type == "atom") return "an atom in single quotes, e.g. 'stealing'";
  if (type == "list of string") return "a list of strings, e.g. [\"a\", \"b\"]";
  return "a value of type " + type;
}

/// `unexpected_character` -> `unexpected character`.
std::string describe(caf::pec code) {
  auto text = caf::to_string(code);
  std::replace(text.begin(), text.end(), '_', ' ');
  return text;
}

/// A topic prefix of our own: one or more non-empty levels without
/// wildcards or U+0000, not starting with `$` (reserved for the broker).
bool valid_topic_prefix(const std::string& prefix) {
  if (prefix.empty() || prefix.front() == '$' || prefix.size() > 200)
    return false;
  if (prefix.front() == '/' || prefix.back() == '/') return false;
  if (prefix.find("//") != std::string::npos) return false;
  return prefix.find_first_of(std::string{"+#\0", 3}) == std::string::npos;
}

/// Whether `id` may name a key in a token header: short and plain.
bool valid_key_id(const std::string& id) {
  if (id.empty() || id.size() > 64) return false;
  return std::all_of(id.begin(), id.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
        || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.';
  });
}

/// Fills `a.keys` from `auth.jwt-secret` (kid `default`) and
/// `auth.jwt-keys` (or PUZZLE_JWT_KEYS, which replaces it) and checks that
/// `auth.signing-key` names one of them. Errors name the key, never print
/// a secret.
caf::error check_jwt_keys(auth_settings& a) {
  std::string source = "auth.jwt-keys";
  if (auto env = std::getenv(jwt_keys_env); env != nullptr && *env != '\0') {
    source = jwt_keys_env;
    a.jwt_key_entries.clear();
    std::string text = env;
    size_t begin = 0;
    while (begin <= text.size()) {
      auto end = std::min(text.find(',', begin), text.size());
      if (end > begin)
        a.jwt_key_entries.push_back(text.substr(begin, end - begin));
      begin = end + 1;
    }
  }
  a.keys.clear();
  if (!a.jwt_secret.empty())
    a.keys.push_back(jwt_key{default_jwt_key_id, a.jwt_secret});
  for (auto& entry : a.jwt_key_entries) {
    auto colon = entry.find(':');
    auto id = entry.substr(0, colon);
    if (colon == std::string::npos || !valid_key_id(id))
      return bad(source,
                 "each entry is \"kid:secret\" with a kid of 1 to 64 "
                 "letters, digits, '-', '_' or '.' (entry "
                     + std::to_string(&entry - a.jwt_key_entries.data() + 1)
                     + ")");
    auto secret = entry.substr(colon + 1);
    if (secret.size() < 32)
      return bad(source,
                 "key '" + id + "' must have at least 32 bytes (got "
                     + std::to_string(secret.size()) + ")");
    auto same = [&id](const jwt_key& k) {
      return k.id == id;
    };
    if (std::any_of(a.keys.begin(), a.keys.end(), same))
      return bad(source, "key '" + id + "' is given twice");
    a.keys.push_back(jwt_key{std::move(id), std::move(secret)});
  }
  if (a.signing_key.empty()) return caf::none;
  auto named = [&a](const jwt_key& k) {
    return k.id == a.signing_key;
  };
  if (!std::any_of(a.keys.begin(), a.keys.end(), named))
    return bad("auth.signing-key",
               "names no key of auth.jwt-keys, PUZZLE_JWT_KEYS or "
               "auth.jwt-secret (kid 'default') (got '"
                   + a.signing_key + "')");
  return caf::none;
}

/// `host`, `host:port`, `[v6]` or `[v6]:port`; a bare IPv6 address has
/// more than one colon and no port.
bool advertise_is_valid(const std::string& a) {
  if (a.size() > 255 || std::any_of(a.begin(), a.end(), [](char ch) {
        return static_cast<unsigned char>(ch) <= ' ' || ch == '/' || ch == 0x7f;
      }))
    return false;
  std::string host = a;
  std::string port;
  if (a.front() == '[') {
    auto close = a.find(']');
    if (close == std::string::npos || close == 1) return false;
    host = a.substr(1, close - 1);
    auto rest = a.substr(close + 1);
    if (!rest.empty()) {
      if (rest[0] != ':') return false;
      port = rest.substr(1);
      if (port.empty()) return false;
    }
  } else if (std::count(a.begin(), a.end(), ':') == 1) {
    auto colon = a.find(':');
    host = a.substr(0, colon);
    port = a.substr(colon + 1);
    if (port.empty()) return false;
  }
  if (host.empty()) return false;
  // A host name or IPv4 address (letters, digits, '.', '-', '_'), or an
  // IPv6 address (hex digits, ':' and '.', at least one ':').
  auto v6 = a.front() == '[' || std::count(a.begin(), a.end(), ':') > 1;
  auto host_char = [v6](char ch) {
    auto c = static_cast<unsigned char>(ch);
    return v6 ? std::isxdigit(c) != 0 || ch == ':' || ch == '.'
              : std::isalnum(c) != 0 || ch == '.' || ch == '-' || ch == '_';
  };
  if (!std::all_of(host.begin(), host.end(), host_char)
      || (v6 && host.find(':') == std::string::npos))
    return false;
  if (!port.empty()) {
    if (port.size() > 5
        || port.find_first_not_of("0123456789") != std::string::npos)
      return false;
    auto n = std::stoi(port);
    if (n < 1 || n > 65535) return false;
  }
  return true;
}

/// Checks the `[cluster]` keys against each other and the store: several
/// nodes need one shared store, and SQLite is a file of one node.
caf::error check_cluster(const settings& v) {
  const auto& cl = v.cluster;
  if (cl.name.empty() || cl.name.size() > 64)
    return bad("cluster.name", "must have 1 to 64 characters");
  for (const auto& seed : cl.seeds) {
    auto colon = seed.rfind(':');
    auto port
        = colon == std::string::npos ? std::string{} : seed.substr(colon + 1);
    if (colon == 0 || port.empty() || port.size() > 5
        || port.find_first_not_of("0123456789") != std::string::npos
        || std::stoi(port) < 1 || std::stoi(port) > 65535)
      return bad("cluster.seeds",
                 "each seed is host:port (got '" + seed + "')");
  }
  // node-id: printable, no spaces (it appears in logs as key=value).
  if (cl.node_id.size() > 128
      || std::any_of(cl.node_id.begin(), cl.node_id.end(), [](char ch) {
           return static_cast<unsigned char>(ch) <= ' ' || ch == 0x7f;
         }))
    return bad("cluster.node-id",
               "must be at most 128 printable characters without spaces "
               "(got '"
                   + cl.node_id + "')");
  if (!cl.advertise.empty() && !advertise_is_valid(cl.advertise))
    return bad("cluster.advertise",
               "must be host or host:port (port 1 to 65535; [v6]:port for "
               "IPv6), without spaces (got '"
                   + cl.advertise + "')");
  if (cl.connection_timeout <= cl.heartbeat_interval)
    return bad("cluster.connection-timeout",
               "must be longer than cluster.heartbeat-interval ("
                   + std::to_string(cl.heartbeat_interval.count()) + "ms, got "
                   + std::to_string(cl.connection_timeout.count()) + "ms)");
  if (cl.down_after < cl.connection_timeout)
    return bad("cluster.down-after",
               "must not be shorter than cluster.connection-timeout ("
                   + std::to_string(cl.connection_timeout.count()) + "ms, got "
                   + std::to_string(cl.down_after.count()) + "ms)");
  if (cl.multi_node()) {
    auto url = v.effective_store_url();
    if (!starts_with(url, "postgresql://") && !starts_with(url, "postgres://"))
      return bad(cl.port != 0 ? "cluster.port" : "cluster.seeds",
                 "more than one node needs a shared PostgreSQL store: set "
                 "store.url = postgresql://user@host:port/db (SQLite is a "
                 "file of one node; got store.url '"
                     + url + "')");
    // The store actor holds one connection; the node agent's heartbeats
    // need another, or they would wait behind the store's batches.
    if (v.store.pool_size < 2)
      return bad("store.pool-size",
                 "must be at least 2 in a cluster (one connection for the "
                 "store, one for the membership heartbeats; got "
                     + std::to_string(v.store.pool_size) + ")");
  }
  return caf::none;
}

/// Checks the `[mqtt]` keys that are not plain ranges.
caf::error check_mqtt(const mqtt_settings& m) {
  if (!m.uri.empty()) {
    static constexpr const char* schemes[]
        = {"tcp://", "mqtt://", "ssl://", "mqtts://", "ws://", "wss://"};
    auto known = std::any_of(
        std::begin(schemes), std::end(schemes), [&m](const char* scheme) {
          return starts_with(m.uri, scheme)
              && m.uri.size() > std::char_traits<char>::length(scheme);
        });
    if (!known)
      return bad("mqtt.uri",
                 "expected tcp://HOST:PORT, ssl://HOST:PORT (also mqtt://, "
                 "mqtts://, ws://, wss://) or empty for no MQTT (got '"
                     + m.uri + "')");
  }
  if (m.client_id.size() > 128
      || m.client_id.find_first_not_of("abcdefghijklmnopqrstuvwxyz"
                                       "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                       "0123456789._-")
          != std::string::npos)
    return bad("mqtt.client-id",
               "must be at most 128 letters, digits, '.', '_' or '-' (got '"
                   + m.client_id + "')");
  if (!valid_topic_prefix(m.device_prefix))
    return bad("mqtt.device-prefix",
               "must be topic levels without '+', '#', empty levels or a "
               "leading '$' (got '"
                   + m.device_prefix + "')");
  if (!valid_topic_prefix(m.session_prefix))
    return bad("mqtt.session-prefix",
               "must be topic levels without '+', '#', empty levels or a "
               "leading '$' (got '"
                   + m.session_prefix + "')");
  if (m.cert_file.empty() != m.key_file.empty())
    return bad(m.cert_file.empty() ? "mqtt.cert-file" : "mqtt.key-file",
               "must be set too: mqtt.cert-file and mqtt.key-file go "
               "together");
  bool tls = starts_with(m.uri, "ssl://") || starts_with(m.uri, "mqtts://")
      || starts_with(m.uri, "wss://");
  if (!m.uri.empty() && !tls && (!m.ca_file.empty() || !m.cert_file.empty()))
    return bad(m.ca_file.empty() ? "mqtt.cert-file" : "mqtt.ca-file",
               "TLS files need an ssl://, mqtts:// or wss:// mqtt.uri (got '"
                   + m.uri + "')");
  if (m.reconnect_max < m.reconnect_min)
    return bad("mqtt.reconnect-max",
               "must not be below mqtt.reconnect-min ("
                   + std::to_string(m.reconnect_min.count()) + "ms, got "
                   + std::to_string(m.reconnect_max.count()) + "ms)");
  return caf::none;
}

/// TLS needs both files; a missing one stops the node here, before the
/// store opens (the HTTP server parses them when it starts, exit code 2 as
/// well).
caf::error check_tls(const http_settings& h) {
  if (h.tls_cert.empty() && h.tls_key.empty()) return caf::none;
  if (h.tls_key.empty())
    return bad("http.tls-key", "must be set when http.tls-cert is");
  if (h.tls_cert.empty())
    return bad("http.tls-cert", "must be set when http.tls-key is");
  for (auto [key, path] : {std::pair{"http.tls-cert", &h.tls_cert},
                           std::pair{"http.tls-key", &h.tls_key}})
    if (!std::ifstream{*path}) return bad(key, "cannot read '" + *path + "'");
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
      .add(http_max_connections_per_address_, "max-connections-per-address",
           "open sockets of one client address at most (0: no limit)")
      .add(v.http.web_root, "web-root", "folder of the browser client")
      .add(v.http.cors_origins, "cors-origins", "allowed browser origins")
      .add(v.http.tls_cert, "tls-cert",
           "PEM certificate chain: serve https/wss only (empty: plain HTTP)")
      .add(v.http.tls_key, "tls-key", "PEM private key of http.tls-cert");
  opt_group{custom_options_, "store"}
      .add(v.store.data_dir, "data-dir", "folder of the default SQLite file")
      .add(v.store.url, "url", "sqlite:PATH (default: DATA-DIR/puzzle.db)")
      .add(store_group_commit_max_, "group-commit-max",
           "writes per transaction at most")
      .add(store_pool_size_, "pool-size", "PostgreSQL connections opened")
      .add<caf::timespan>("connect-timeout",
                          "time to open one PostgreSQL connection");
  opt_group{custom_options_, "cluster"}
      .add(v.cluster.name, "name", "cluster name; nodes join only their own")
      .add(cluster_port_, "port", "node-to-node port (0: single node)")
      .add(v.cluster.seeds, "seeds", "host:port of nodes to join through")
      .add<caf::timespan>("heartbeat-interval", "between node heartbeats")
      .add<caf::timespan>("connection-timeout",
                          "silence that drops a link to a node")
      .add<caf::timespan>("down-after",
                          "unreachable this long: the node is down")
      .add(v.cluster.node_id, "node-id",
           "this node's name, kept across restarts")
      .add(v.cluster.advertise, "advertise",
           "host[:port] other nodes reach this node at")
      .add<caf::timespan>("drain-timeout",
                          "a graceful stop moves sessions away this long")
      .add<caf::timespan>("migration-timeout",
                          "a moving session waits this long for adoption")
      .add<caf::timespan>("forward-grace",
                          "a moved session forwards at least this long");
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
      .add<caf::timespan>("slow-write-timeout",
                          "time a closing connection gets to flush, then cut")
      .add(limits_max_name_length_, "max-name-length",
           "characters of session and display names")
      .add(limits_max_sessions_per_connection_, "max-sessions-per-connection",
           "sessions one connection may join")
      .add(limits_max_channels_per_connection_, "max-channels-per-connection",
           "channels one raw WebSocket may subscribe to")
      .add(limits_max_channel_name_bytes_, "max-channel-name-bytes",
           "bytes of one raw WebSocket channel name");
  opt_group{custom_options_, "images"}
      .add(images_max_bytes_, "max-bytes",
           "bytes of one image upload (the request body)")
      .add(images_max_pixels_, "max-pixels",
           "width times height of an uploaded image")
      .add(images_thumbnail_side_, "thumbnail-side",
           "longest side of a thumbnail in pixels")
      .add(images_max_stored_, "max-stored", "uploaded images kept at most")
      .add(images_max_decoding_, "max-decoding",
           "uploads decoded at the same time");
  opt_group{custom_options_, "session"}
      .add<caf::timespan>("lock-lease", "how long a grab lasts unrenewed")
      .add(v.session.snap_ratio, "snap-ratio",
           "snap tolerance as a share of the piece size")
      .add(v.session.table_factor, "table-factor",
           "table side as a multiple of the image side")
      .add<caf::timespan>("cursor-interval", "cursor updates per user at most");
  opt_group{custom_options_, "signalr"}
      .add<caf::timespan>("keep-alive", "server ping interval")
      .add<caf::timespan>("client-timeout",
                          "silence before a client is dropped")
      .add<caf::timespan>("handshake-timeout", "time to send the handshake")
      .add<caf::timespan>("negotiate-ttl", "lifetime of an unused token");
  opt_group{custom_options_, "websocket"}
      .add<caf::timespan>("handshake-timeout",
                          "time to complete the /ws upgrade")
      .add<caf::timespan>("idle-timeout",
                          "silence on /ws (pings unanswered) before closing");
  opt_group{custom_options_, "socketio"}
      .add<caf::timespan>("ping-interval", "Engine.IO server ping interval")
      .add<caf::timespan>("ping-timeout", "time to answer a ping with a pong")
      .add(socketio_max_payload_, "max-payload",
           "bytes of one polling body or WebSocket message")
      .add<caf::timespan>("connect-timeout",
                          "time from opening to the Socket.IO CONNECT")
      .add(v.socketio.conformance, "conformance",
           "serve the reference echo apps of the protocol test suites");
  opt_group{custom_options_, "rate-limits"}
      .add(v.rate_limits.drags, "drags", "DragPiece calls per connection")
      .add(v.rate_limits.moves, "moves",
           "MovePiece, LockPiece and UnlockPiece calls per connection")
      .add(v.rate_limits.chats, "chats", "chat messages per connection")
      .add(v.rate_limits.cursors, "cursors", "cursor updates per connection")
      .add(v.rate_limits.session_calls, "session-calls",
           "join, leave and state calls per connection")
      .add(rate_limits_close_after_refusals_, "close-after-refusals",
           "refused calls within abuse-window that close a connection")
      .add<caf::timespan>("abuse-window", "window of close-after-refusals")
      .add(v.rate_limits.http_auth, "http-auth",
           "POST /api/auth/* per address and per user")
      .add(v.rate_limits.http_upload, "http-upload",
           "POST /api/images per address and per user")
      .add(v.rate_limits.http_write, "http-write",
           "other POST, PUT, PATCH and DELETE under /api per address and user")
      .add(v.rate_limits.http_read, "http-read",
           "GET under /api per address and per user")
      .add(v.rate_limits.http_connect, "http-connect",
           "negotiate and WebSocket upgrades per address and per user")
      .add(rate_limits_max_tracked_keys_, "max-tracked-keys",
           "addresses and users whose HTTP limits are remembered");
  opt_group{custom_options_, "webrtc"}
      .add(webrtc_max_room_size_, "max-room-size",
           "members of one /webrtchub room")
      .add(webrtc_max_rooms_per_connection_, "max-rooms-per-connection",
           "rooms one /webrtchub connection may join");
  opt_group{custom_options_, "auth"}
      .add(v.auth.jwt_secret, "jwt-secret",
           "HS256 secret (prefer the environment variable PUZZLE_JWT_SECRET)")
      .add(v.auth.issuer, "issuer", "JWT issuer")
      .add(v.auth.audience, "audience", "JWT audience")
      .add<caf::timespan>("token-lifetime", "lifetime of issued tokens")
      .add(v.auth.allow_anonymous, "allow-anonymous",
           "accept hub connections without a token")
      .add(v.auth.jwt_key_entries, "jwt-keys",
           "accepted HS256 keys as \"kid:secret\" (prefer PUZZLE_JWT_KEYS)")
      .add(v.auth.signing_key, "signing-key",
           "kid of the key that signs new tokens (default: the first key)")
      .add<caf::timespan>("clock-skew", "tolerance on token exp and nbf")
      .add(v.auth.admins, "admins", "usernames with the admin role")
      .add(v.auth.operators, "operators", "usernames with the operator role")
      .add(auth_min_password_length_, "min-password-length",
           "characters of a password at least")
      .add(auth_max_password_bytes_, "max-password-bytes",
           "bytes of a password at most (checked before hashing)")
      .add(auth_hash_ops_limit_, "hash-ops-limit", "Argon2id passes")
      .add(auth_hash_memory_kib_, "hash-memory-kib", "Argon2id memory in KiB")
      .add(auth_max_hashing_, "max-hashing",
           "password hashes computed at the same time");
  opt_group{custom_options_, "mqtt"}
      .add(v.mqtt.uri, "uri",
           "broker, e.g. tcp://localhost:1883 (empty: no MQTT)")
      .add(v.mqtt.client_id, "client-id",
           "MQTT client id (default: puzzle-node-HOSTNAME-PORT)")
      .add(v.mqtt.username, "username", "broker user name")
      .add(v.mqtt.password, "password",
           "broker password (prefer PUZZLE_MQTT_PASSWORD)")
      .add(v.mqtt.ca_file, "ca-file", "TLS: CA certificates to trust (PEM)")
      .add(v.mqtt.cert_file, "cert-file", "TLS: client certificate (PEM)")
      .add(v.mqtt.key_file, "key-file", "TLS: client key (PEM)")
      .add<caf::timespan>("keep-alive", "MQTT keep-alive interval")
      .add<caf::timespan>("connect-timeout", "time to connect to the broker")
      .add<caf::timespan>("reconnect-min", "first reconnect delay")
      .add<caf::timespan>("reconnect-max", "longest reconnect delay")
      .add(mqtt_max_payload_bytes_, "max-payload-bytes",
           "bytes of one device message")
      .add(mqtt_inbound_queue_, "inbound-queue",
           "device messages waiting for the node")
      .add(mqtt_offline_buffer_, "offline-buffer",
           "publications kept while disconnected")
      .add<caf::timespan>("device-offline-after",
                          "silence after which a device shows offline")
      .add<caf::timespan>("presence-grace",
                          "wait before an offline status shows")
      .add(mqtt_dedupe_window_, "dedupe-window",
           "message ids remembered per device")
      .add(mqtt_max_devices_, "max-devices", "devices tracked at most")
      .add(v.mqtt.device_rate, "device-rate", "messages per device")
      .add(v.mqtt.device_prefix, "device-prefix", "topic prefix of devices")
      .add(v.mqtt.session_prefix, "session-prefix",
           "topic prefix of session events and progress")
      .add(v.mqtt.bindings_file, "bindings-file",
           "device bindings (default: DATA-DIR/device-bindings.json)");
  opt_group{custom_options_, "log"}.add(
      v.log.level, "level", "trace, debug, info, warn, error or off");
}

// -- parsing ------------------------------------------------------------------

caf::error node_config::parse(string_list args, std::istream& ini) {
  flag_list flags;
  if (auto err = prepare_args(args, flags)) return err;
  const std::string source = "the config file";
  if (!ini.good()) {
    auto err = actor_system_config::parse(std::move(args), ini);
    return finish_parse(std::move(err), flags, nullptr, source);
  }
  // CAF consumes the stream; keep the text to check its keys afterwards.
  std::string text{std::istreambuf_iterator<char>{ini},
                   std::istreambuf_iterator<char>{}};
  std::istringstream copy{text};
  auto err = actor_system_config::parse(std::move(args), copy);
  return finish_parse(std::move(err), flags, &text, source);
}

caf::error node_config::parse(string_list args, const char* ini_file_cstr) {
  flag_list flags;
  if (auto err = prepare_args(args, flags)) return err;
  // CAF takes --config-file=PATH from `args` and stores it in
  // config_file_path; it reads that file if it exists (caf-application.ini
  // by default) and fails only for a missing file named explicitly.
  auto err = actor_system_config::parse(std::move(args), ini_file_cstr);
  auto source = "config file '" + config_file_path + "'";
  std::string text;
  bool have_text = false;
  if (!err) {
    std::ifstream file{config_file_path};
    if (file) {
      text.assign(std::istreambuf_iterator<char>{file},
                  std::istreambuf_iterator<char>{});
      have_text = true;
    }
  }
  return finish_parse(std::move(err), flags, have_text ? &text : nullptr,
                      source);
}

caf::error node_config::parse(int argc, char** argv, std::istream& ini) {
  string_list args;
  if (argc > 1) args.assign(argv + 1, argv + argc);
  return parse(std::move(args), ini);
}

caf::error node_config::parse(int argc, char** argv,
                              const char* ini_file_cstr) {
  string_list args;
  if (argc > 1) args.assign(argv + 1, argv + argc);
  return parse(std::move(args), ini_file_cstr);
}

caf::error node_config::prepare_args(string_list& args,
                                     flag_list& flags) const {
  for (auto i = args.begin(); i != args.end();) {
    auto& arg = *i;
    if (arg == "--help" || arg == "-h" || arg == "-?") {
      arg = "--long-help";
      ++i;
      continue;
    }
    if (!starts_with(arg, "--") || arg.size() == 2)
      return bad("'" + arg + "'",
                 "not an option; options are written --section.key=value "
                 "(puzzle-node --help lists them)");
    auto eq = arg.find('=');
    auto name
        = arg.substr(2, eq == std::string::npos ? std::string::npos : eq - 2);
    auto opt = custom_options_.cli_long_name_lookup(name);
    if (opt == nullptr)
      return bad(name, "unknown option (puzzle-node --help lists them)");
    auto key = key_of(*opt);
    if (opt->is_flag()) {
      if (eq == std::string::npos) {
        ++i;
        continue;
      }
      auto value = arg.substr(eq + 1);
      if (value == "true") {
        arg = "--" + name;
        ++i;
        continue;
      }
      if (value == "false" && opt->category() != "global") {
        flags.emplace_back(key, false);
        i = args.erase(i);
        continue;
      }
      return bad(key, "expected true or false (got '" + value + "')");
    }
    if (eq == std::string::npos || eq + 1 == arg.size())
      return bad(key, "missing value (write --" + key + "=VALUE)");
    auto value = arg.substr(eq + 1);
    // CAF parses the value again; parsing here only finds the bad ones.
    if (!opt->parse(value))
      return bad(
          key, "invalid value '" + value + "', expected " + expected_of(*opt));
    ++i;
  }
  return caf::none;
}

caf::error node_config::finish_parse(caf::error err, const flag_list& flags,
                                     const std::string* text,
                                     const std::string& source) {
  if (err) {
    if (err.category() == caf::atom("parser")
        && err.context().match_elements<caf::settings>()) {
      // A syntax error in the config file: CAF gives line and column.
      auto& where = err.context().get_as<caf::settings>(0);
      auto line = caf::get_or(where, "line", int64_t{0});
      auto column = caf::get_or(where, "column", int64_t{0});
      return caf::error{
          err.code(), err.category(),
          caf::make_message(source + ": line " + std::to_string(line)
                            + ", column " + std::to_string(column) + ": "
                            + describe(static_cast<caf::pec>(err.code())))};
    }
    if (err == caf::sec::cannot_open_file)
      return bad("config-file", "cannot open '" + config_file_path + "'");
    return err;
  }
  if (cli_helptext_printed) return caf::none;
  for (auto& [key, value] : flags)
    set(key, value);
  if (text == nullptr) return caf::none;
  // CAF keeps unknown keys and drops mistyped values silently: parse the
  // text again without types and check each entry against our options.
  std::istringstream in{*text};
  caf::settings raw;
  if (auto parse_err = parse_config(in, caf::config_option_set{}, raw))
    return bad(source, "cannot be read again");
  auto check = [&](caf::string_view category, const std::string& name,
                   const caf::config_value& value) -> caf::error {
    auto key = key_of(category, name);
    auto opt = custom_options_.qualified_name_lookup(category, name);
    if (opt == nullptr)
      return bad(key,
                 "unknown key in " + source
                     + " (puzzle-node --help lists every key)");
    if (opt->check(value))
      return bad(key,
                 "expected " + expected_of(*opt) + " (got "
                     + caf::to_string(value) + ") in " + source);
    return caf::none;
  };
  for (auto& [name, value] : raw) {
    if (auto section = caf::get_if<caf::settings>(&value)) {
      for (auto& [key, entry] : *section)
        if (auto check_err = check(name, key, entry)) return check_err;
    } else if (auto check_err = check("global", name, value)) {
      return check_err;
    }
  }
  return caf::none;
}

std::string node_config::error_text(const caf::error& err) {
  if (err.context().match_elements<std::string>())
    return err.context().get_as<std::string>(0);
  return render(err);
}

// -- validation ---------------------------------------------------------------

caf::error node_config::finalize() {
  auto& v = values;
  auto& c = content;
  caf::error err;
  auto check = [&err](caf::error e) {
    if (!err && e) err = std::move(e);
  };
  check(in_range("http.port", http_port_, 0, 65535, v.http.port));
  check(in_range("http.threads", http_threads_, 1, 64, v.http.threads));
  apply_scheduler_defaults(*this, v.http.threads, usable_cpus());
  check(in_range("http.body-limit", http_body_limit_, 1024, int64_t{1} << 30,
                 v.http.body_limit));
  check(in_range("http.header-limit", http_header_limit_, 1024, 1 << 20,
                 v.http.header_limit));
  check(in_range("http.max-connections", http_max_connections_, 1, 1'000'000,
                 v.http.max_connections));
  check(in_range("http.max-connections-per-address",
                 http_max_connections_per_address_, 0, 1'000'000,
                 v.http.max_connections_per_address));
  check(
      duration(c, "http.idle-timeout", milliseconds{100}, v.http.idle_timeout));
  check(duration(c, "http.request-timeout", milliseconds{100},
                 v.http.request_timeout));
  check(in_range("store.group-commit-max", store_group_commit_max_, 1, 100'000,
                 v.store.group_commit_max));
  check(in_range("store.pool-size", store_pool_size_, 1, 1'000,
                 v.store.pool_size));
  check(duration(c, "store.connect-timeout", milliseconds{1000},
                 v.store.connect_timeout));
  check(in_range("cluster.port", cluster_port_, 0, 65535, v.cluster.port));
  check(duration(c, "cluster.heartbeat-interval", milliseconds{10},
                 v.cluster.heartbeat_interval));
  check(duration(c, "cluster.connection-timeout", milliseconds{10},
                 v.cluster.connection_timeout));
  check(duration(c, "cluster.down-after", milliseconds{10},
                 v.cluster.down_after));
  check(duration(c, "cluster.drain-timeout", milliseconds{0},
                 v.cluster.drain_timeout));
  check(duration(c, "cluster.migration-timeout", milliseconds{10},
                 v.cluster.migration_timeout));
  check(duration(c, "cluster.forward-grace", milliseconds{0},
                 v.cluster.forward_grace));
  check(in_range("limits.min-pieces", limits_min_pieces_, 2, 1'000'000,
                 v.limits.min_pieces));
  if (limits_max_pieces_ < limits_min_pieces_)
    check(bad("limits.max-pieces",
              "must not be below limits.min-pieces ("
                  + std::to_string(limits_min_pieces_) + ", got "
                  + std::to_string(limits_max_pieces_) + ")"));
  check(in_range("limits.max-pieces", limits_max_pieces_, 2, 1'000'000,
                 v.limits.max_pieces));
  check(in_range("limits.max-side", limits_max_side_, 1, 10'000,
                 v.limits.max_side));
  check(in_range("limits.max-image-side", limits_max_image_side_, 16, 65'536,
                 v.limits.max_image_side));
  check(in_range("limits.max-message-bytes", limits_max_message_bytes_, 1024,
                 int64_t{64} << 20, v.limits.max_message_bytes));
  check(in_range("limits.max-chat-code-points", limits_max_chat_code_points_, 1,
                 100'000, v.limits.max_chat_code_points));
  check(in_range("limits.chat-history", limits_chat_history_, 0, 100'000,
                 v.limits.chat_history));
  check(in_range("limits.outbound-queue-bytes", limits_outbound_queue_bytes_,
                 64 * 1024, int64_t{1} << 32, v.limits.outbound_queue_bytes));
  check(duration(c, "limits.slow-write-timeout", milliseconds{100},
                 v.limits.slow_write_timeout));
  check(in_range("limits.max-name-length", limits_max_name_length_, 1, 10'000,
                 v.limits.max_name_length));
  check(in_range("limits.max-sessions-per-connection",
                 limits_max_sessions_per_connection_, 1, 10'000,
                 v.limits.max_sessions_per_connection));
  check(in_range("limits.max-channels-per-connection",
                 limits_max_channels_per_connection_, 1, 100'000,
                 v.limits.max_channels_per_connection));
  check(in_range("limits.max-channel-name-bytes",
                 limits_max_channel_name_bytes_, 1, 64 * 1024,
                 v.limits.max_channel_name_bytes));
  check(in_range("images.max-bytes", images_max_bytes_, 1024, int64_t{1} << 30,
                 v.images.max_bytes));
  check(in_range("images.max-pixels", images_max_pixels_, 256, int64_t{1} << 32,
                 v.images.max_pixels));
  check(in_range("images.thumbnail-side", images_thumbnail_side_, 16, 4096,
                 v.images.thumbnail_side));
  check(in_range("images.max-stored", images_max_stored_, 1, 10'000'000,
                 v.images.max_stored));
  check(in_range("images.max-decoding", images_max_decoding_, 1, 64,
                 v.images.max_decoding));
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
  auto limiter = [](const std::string& key, const std::string& text) {
    util::limiter_spec spec;
    std::string error;
    if (!util::limiter_spec::parse(text, spec, error))
      return bad(key, error + " (got '" + text + "')");
    return caf::error{};
  };
  auto& rl = v.rate_limits;
  check(limiter("rate-limits.drags", rl.drags));
  check(limiter("rate-limits.moves", rl.moves));
  check(limiter("rate-limits.chats", rl.chats));
  check(limiter("rate-limits.cursors", rl.cursors));
  check(limiter("rate-limits.session-calls", rl.session_calls));
  check(limiter("rate-limits.http-auth", rl.http_auth));
  check(limiter("rate-limits.http-upload", rl.http_upload));
  check(limiter("rate-limits.http-write", rl.http_write));
  check(limiter("rate-limits.http-read", rl.http_read));
  check(limiter("rate-limits.http-connect", rl.http_connect));
  check(in_range("rate-limits.close-after-refusals",
                 rate_limits_close_after_refusals_, 0, 1'000'000,
                 rl.close_after_refusals));
  check(duration(c, "rate-limits.abuse-window", milliseconds{100},
                 rl.abuse_window));
  check(in_range("rate-limits.max-tracked-keys", rate_limits_max_tracked_keys_,
                 100, 100'000'000, rl.max_tracked_keys));
  check(in_range("webrtc.max-room-size", webrtc_max_room_size_, 2, 1'000,
                 v.webrtc.max_room_size));
  check(in_range("webrtc.max-rooms-per-connection",
                 webrtc_max_rooms_per_connection_, 1, 1'000,
                 v.webrtc.max_rooms_per_connection));
  check(duration(c, "websocket.handshake-timeout", milliseconds{100},
                 v.websocket.handshake_timeout));
  check(duration(c, "websocket.idle-timeout", milliseconds{100},
                 v.websocket.idle_timeout));
  check(duration(c, "socketio.ping-interval", milliseconds{100},
                 v.socketio.ping_interval));
  check(duration(c, "socketio.ping-timeout", milliseconds{100},
                 v.socketio.ping_timeout));
  check(duration(c, "socketio.connect-timeout", milliseconds{100},
                 v.socketio.connect_timeout));
  check(in_range("socketio.max-payload", socketio_max_payload_, 1024,
                 int64_t{64} << 20, v.socketio.max_payload));
  check(duration(c, "auth.token-lifetime", milliseconds{1000},
                 v.auth.token_lifetime));
  check(duration(c, "auth.clock-skew", milliseconds{0}, v.auth.clock_skew));
  check(in_range("auth.min-password-length", auth_min_password_length_, 1,
                 1'000, v.auth.min_password_length));
  check(in_range("auth.max-password-bytes", auth_max_password_bytes_, 16,
                 64 * 1024, v.auth.max_password_bytes));
  check(in_range("auth.hash-ops-limit", auth_hash_ops_limit_, 1, 20,
                 v.auth.hash_ops_limit));
  // libsodium's Argon2id needs at least 8 KiB.
  check(in_range("auth.hash-memory-kib", auth_hash_memory_kib_, 8,
                 4 * 1024 * 1024, v.auth.hash_memory_kib));
  check(in_range("auth.max-hashing", auth_max_hashing_, 1, 64,
                 v.auth.max_hashing));
  auto& mq = v.mqtt;
  check(duration(c, "mqtt.keep-alive", milliseconds{1000}, mq.keep_alive));
  check(duration(c, "mqtt.connect-timeout", milliseconds{1000},
                 mq.connect_timeout));
  check(
      duration(c, "mqtt.reconnect-min", milliseconds{1000}, mq.reconnect_min));
  check(
      duration(c, "mqtt.reconnect-max", milliseconds{1000}, mq.reconnect_max));
  check(duration(c, "mqtt.device-offline-after", milliseconds{0},
                 mq.device_offline_after));
  check(duration(c, "mqtt.presence-grace", milliseconds{0}, mq.presence_grace));
  check(in_range("mqtt.max-payload-bytes", mqtt_max_payload_bytes_, 64,
                 int64_t{256} << 20, mq.max_payload_bytes));
  check(in_range("mqtt.inbound-queue", mqtt_inbound_queue_, 1, 10'000'000,
                 mq.inbound_queue));
  check(in_range("mqtt.offline-buffer", mqtt_offline_buffer_, 0, 1'000'000,
                 mq.offline_buffer));
  check(in_range("mqtt.dedupe-window", mqtt_dedupe_window_, 1, 1'000'000,
                 mq.dedupe_window));
  check(in_range("mqtt.max-devices", mqtt_max_devices_, 1, 10'000'000,
                 mq.max_devices));
  check(limiter("mqtt.device-rate", mq.device_rate));
  if (err) return err;
  if (!std::isfinite(v.session.snap_ratio) || v.session.snap_ratio <= 0
      || v.session.snap_ratio > 0.5)
    return bad("session.snap-ratio", "must be in (0, 0.5]");
  if (!std::isfinite(v.session.table_factor) || v.session.table_factor < 1
      || v.session.table_factor > 10)
    return bad("session.table-factor", "must be in [1, 10]");
  if (v.signalr.client_timeout <= v.signalr.keep_alive)
    return bad("signalr.client-timeout",
               "must be longer than signalr.keep-alive ("
                   + std::to_string(v.signalr.keep_alive.count()) + "ms, got "
                   + std::to_string(v.signalr.client_timeout.count()) + "ms)");
  static constexpr const char* levels[]
      = {"trace", "debug", "info", "warn", "error", "off"};
  if (std::find(std::begin(levels), std::end(levels), v.log.level)
      == std::end(levels))
    return bad("log.level",
               "must be one of trace, debug, info, warn, "
               "error, off (got '"
                   + v.log.level + "')");
  if (v.http.bind.empty()) return bad("http.bind", "must not be empty");
  if (auto tls_err = check_tls(v.http)) return tls_err;
  if (v.store.url.empty() && v.store.data_dir.empty())
    return bad("store.data-dir", "must not be empty when store.url is");
  if (!v.store.url.empty()) {
    // The schemes persistence/ knows; a typo should stop the node with exit
    // code 2 (bad config), not fail later when the store opens.
    static constexpr const char* schemes[]
        = {"sqlite:", "sqlite3:", "postgresql://", "postgres://"};
    auto known = std::any_of(
        std::begin(schemes), std::end(schemes), [&v](const char* scheme) {
          return starts_with(v.store.url, scheme)
              && v.store.url.size() > std::char_traits<char>::length(scheme);
        });
    if (!known)
      return bad("store.url",
                 "expected sqlite:PATH or postgresql://... (got '" + v.store.url
                     + "')");
  }
  if (auto cluster_err = check_cluster(v)) return cluster_err;
  if (auto mqtt_err = check_mqtt(v.mqtt)) return mqtt_err;
  if (auto password = std::getenv(mqtt_password_env);
      password != nullptr && *password != '\0')
    v.mqtt.password = password;
  bool secret_from_env = false;
  if (auto secret = std::getenv(jwt_secret_env);
      secret != nullptr && *secret != '\0') {
    v.auth.jwt_secret = secret;
    secret_from_env = true;
  }
  if (!v.auth.jwt_secret.empty() && v.auth.jwt_secret.size() < 32)
    return bad("auth.jwt-secret",
               "must have at least 32 bytes (got "
                   + std::to_string(v.auth.jwt_secret.size())
                   + (secret_from_env ? std::string{" from "} + jwt_secret_env
                                      : std::string{})
                   + ")");
  return check_jwt_keys(v.auth);
}

// -- scheduler ----------------------------------------------------------------

std::size_t usable_cpus() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) == 0) {
    auto n = CPU_COUNT(&set);
    if (n > 0) return static_cast<std::size_t>(n);
  }
  return std::max(1u, std::thread::hardware_concurrency());
}

std::size_t default_scheduler_threads(std::size_t cpus,
                                      std::size_t http_threads) {
  // At least two: with one worker every actor waits whenever the kernel
  // preempts it, which on a busy 2-vCPU host put 45 ms on the ack p99 of
  // a light load (6-20 ms with two).
  constexpr std::size_t min_workers = 2;
  return cpus > http_threads + min_workers ? cpus - http_threads : min_workers;
}

void apply_scheduler_defaults(caf::actor_system_config& cfg,
                              std::size_t http_threads, std::size_t cpus) {
  auto& c = cfg.content;
  auto unset = [&c](const char* key) {
    return caf::get_if(&c, key) == nullptr;
  };
  if (unset("scheduler.max-threads"))
    caf::put(c, "scheduler.max-threads",
             default_scheduler_threads(cpus, http_threads));
  // CAF 0.17 spins 100 times, then sleeps 50 µs up to 500 times before a
  // worker waits on its condition variable: under light load every worker
  // wakes ~20 000 times a second. Spin briefly, sleep a little longer, and
  // block after ~2 ms; an enqueue to a blocked worker's queue wakes it.
  if (unset("work-stealing.aggressive-poll-attempts"))
    caf::put(c, "work-stealing.aggressive-poll-attempts", std::size_t{10});
  if (unset("work-stealing.moderate-poll-attempts"))
    caf::put(c, "work-stealing.moderate-poll-attempts", std::size_t{20});
  if (unset("work-stealing.moderate-sleep-duration"))
    caf::put(c, "work-stealing.moderate-sleep-duration",
             caf::timespan{std::chrono::microseconds{100}});
}

} // namespace puzzle::config
