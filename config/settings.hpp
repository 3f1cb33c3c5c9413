#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

/// The node's typed settings. `config/puzzle.conf.example` documents every
/// key; the defaults below and that file must agree (a test checks it).
namespace puzzle::config {

using std::chrono::milliseconds;

struct http_settings {
  std::string bind = "0.0.0.0";
  uint16_t port = 8080;
  uint32_t threads = 2;                 ///< I/O threads for all sockets.
  uint64_t body_limit = 1 << 20;        ///< Bytes of one request body.
  uint32_t header_limit = 16 * 1024;    ///< Bytes of all request headers.
  milliseconds idle_timeout{60'000};    ///< Idle keep-alive HTTP connection.
  milliseconds request_timeout{30'000}; ///< Reading one whole request.
  uint32_t max_connections = 10'000;    ///< Open sockets, all endpoints.
  /// Open sockets from one client address; 0: no per-address limit.
  uint32_t max_connections_per_address = 256;
  std::string web_root;                  ///< Static files; empty: built-in.
  std::vector<std::string> cors_origins; ///< Allowed browser origins.
  std::string tls_cert; ///< PEM certificate chain; empty: plain HTTP.
  std::string tls_key;  ///< PEM private key of `tls_cert`.
};

struct store_settings {
  std::string data_dir = "data";       ///< Holds the default SQLite file.
  std::string url;                     ///< Empty: sqlite:<data_dir>/puzzle.db
  uint32_t group_commit_max = 512;     ///< Writes per transaction at most.
  uint32_t pool_size = 4;              ///< PostgreSQL connections opened.
  milliseconds connect_timeout{5'000}; ///< Opening one PostgreSQL connection.
};

/// The cluster: several nodes on one PostgreSQL store. A single
/// node (`port` 0, no `seeds`) runs the same code with one member.
struct cluster_settings {
  std::string name = "puzzle";    ///< Nodes join only their own cluster.
  uint16_t port = 0;              ///< Node-to-node port; 0: single node.
  std::vector<std::string> seeds; ///< host:port of nodes to join through.
  milliseconds heartbeat_interval{1'000}; ///< Between node heartbeats.
  milliseconds connection_timeout{5'000}; ///< Silence that drops a peer link.
  milliseconds down_after{15'000}; ///< Unreachable this long: declared down.
  /// This node's name in the cluster, kept across restarts (each start is
  /// a new incarnation). Empty: `<hostname>:<http.port>` in a cluster.
  std::string node_id;
  /// `host` or `host:port` the other nodes reach this node's cluster port
  /// at. Empty: http.bind, or this host's first IPv4 address when http.bind
  /// is 0.0.0.0 or ::; the port defaults to `port`.
  std::string advertise;
  /// A graceful stop moves this node's sessions away for at most this long.
  milliseconds drain_timeout{30'000};
  /// A migrating session waits this long for the target to adopt it, then
  /// carries on where it is.
  milliseconds migration_timeout{5'000};
  /// A moved session forwards to its new actor at least this long (and
  /// until its mailbox is empty), then quits.
  milliseconds forward_grace{10'000};

  /// Whether this node is configured to run with other nodes.
  bool multi_node() const {
    return port != 0 || !seeds.empty();
  }
};

struct limits_settings {
  int32_t min_pieces = 2;
  int32_t max_pieces = 5000;
  int32_t max_side = 200;                 ///< rows and cols each
  int32_t max_image_side = 16384;         ///< pixels
  uint64_t max_message_bytes = 64 * 1024; ///< One real-time message.
  int32_t max_chat_code_points = 500;
  uint32_t chat_history = 100;             ///< Messages kept per session.
  uint64_t outbound_queue_bytes = 4 << 20; ///< Per connection, then close.
  /// A closing connection's queued frames must be written within this,
  /// else the socket is cut (a reader that stopped never drains them).
  milliseconds slow_write_timeout{5'000};
  uint32_t max_name_length = 100; ///< Session and display names.
  uint32_t max_sessions_per_connection = 16;
  uint32_t max_channels_per_connection = 64; ///< Raw WebSocket channels.
  uint32_t max_channel_name_bytes = 200;     ///< Raw WebSocket channel name.
};

/// Uploaded images (`POST /api/images`). The largest side of an upload is
/// `limits.max_image_side`, the limit every session image obeys.
struct image_settings {
  uint64_t max_bytes = 10 << 20;    ///< Bytes of one upload request body.
  uint64_t max_pixels = 40'000'000; ///< Width times height of an upload.
  int32_t thumbnail_side = 320;     ///< Longest side of a thumbnail, pixels.
  uint32_t max_stored = 1000;       ///< Uploaded images kept in the store.
  uint32_t max_decoding = 2;        ///< Uploads decoded at the same time.
};

struct session_settings {
  milliseconds lock_lease{5'000};
  double snap_ratio = 0.02;
  double table_factor = 2.0;
  milliseconds cursor_interval{50}; ///< Cursor updates per user at most.
};

struct signalr_settings {
  milliseconds keep_alive{15'000};
  milliseconds client_timeout{30'000};
  milliseconds handshake_timeout{15'000};
  milliseconds negotiate_ttl{30'000}; ///< Unused connection token expiry.
};

/// The raw WebSocket endpoint `/ws`.
struct websocket_settings {
  milliseconds handshake_timeout{15'000}; ///< Upgrade to the first frame.
  milliseconds idle_timeout{60'000}; ///< Silence (pings unanswered) to close.
};

/// The Socket.IO endpoint `/socket.io/` (Engine.IO v4, Socket.IO v5).
struct socketio_settings {
  milliseconds ping_interval{25'000};   ///< Server pings, Engine.IO.
  milliseconds ping_timeout{20'000};    ///< Pong wait, then close.
  uint64_t max_payload = 1'000'000;     ///< Polling body / WS message bytes.
  milliseconds connect_timeout{45'000}; ///< Open to the first CONNECT.
  bool conformance = false; ///< Reference echo apps for the test suites.
};

/// The WebRTC signalling hub `/webrtchub`.
struct webrtc_settings {
  uint32_t max_room_size = 16;           ///< Members of one room.
  uint32_t max_rooms_per_connection = 4; ///< Rooms one connection joins.
};

/// Rate limits, each a limiter in the form `fixed-window N/DURATION`,
/// `sliding-window N/DURATION/SEGMENTS` or `token-bucket SIZE N/DURATION`
/// (see actors/util/rate_limiter.hpp). Real-time budgets are per
/// connection and apply on every transport; HTTP limits apply per client
/// address and, with a token, per user as well.
struct rate_limit_settings {
  std::string drags = "token-bucket 60 30/1s";
  std::string moves = "token-bucket 40 20/1s"; ///< Moves, locks, unlocks.
  std::string chats = "token-bucket 5 1/2s";
  std::string cursors = "token-bucket 40 20/1s";
  std::string session_calls = "token-bucket 20 5/1s"; ///< Join, leave, state.
  uint32_t close_after_refusals = 200; ///< Within abuse-window; 0: never.
  milliseconds abuse_window{10'000};
  std::string http_auth = "token-bucket 60 30/1min";    ///< POST /api/auth/*
  std::string http_upload = "token-bucket 10 1/30s";    ///< POST /api/images
  std::string http_write = "sliding-window 120/1min/6"; ///< Other writes.
  std::string http_read = "token-bucket 300 100/1s";    ///< GET /api/*
  std::string http_connect = "token-bucket 60 20/1s"; ///< Negotiate, upgrades.
  uint32_t max_tracked_keys = 100'000; ///< Addresses and users remembered.
};

/// The `kid` of `auth.jwt-secret` (`PUZZLE_JWT_SECRET`) among the keys.
inline constexpr const char* default_jwt_key_id = "default";

/// One HS256 key that verifies tokens, named by the token header's `kid`.
struct jwt_key {
  std::string id;
  std::string secret;
};

struct auth_settings {
  std::string jwt_secret; ///< PUZZLE_JWT_SECRET; random per start if empty.
  /// `kid:secret` entries of auth.jwt-keys (or PUZZLE_JWT_KEYS).
  std::vector<std::string> jwt_key_entries;
  /// Every accepted key: `jwt_secret` as kid `default`, then the entries
  /// (filled by `node_config::finalize`). Empty: the token service uses
  /// `jwt_secret` alone.
  std::vector<jwt_key> keys;
  std::string signing_key; ///< kid that signs; empty: the first of `keys`.
  std::string issuer = "puzzle";
  std::string audience = "puzzle-clients";
  milliseconds token_lifetime{24 * 3600 * 1000};
  milliseconds clock_skew{30'000};    ///< Tolerance on exp and nbf.
  bool allow_anonymous = true;        ///< Hub connections without a token.
  std::vector<std::string> admins;    ///< Usernames with the admin role.
  std::vector<std::string> operators; ///< Usernames with the operator role.
  uint32_t min_password_length = 8;   ///< Code points.
  uint32_t max_password_bytes = 256;  ///< Checked before hashing.
  uint64_t hash_ops_limit = 2;        ///< Argon2id passes (interactive).
  uint64_t hash_memory_kib = 65'536;  ///< Argon2id memory (64 MiB).
  uint32_t max_hashing = 2;           ///< Password hashes at the same time.
};

/// The MQTT bridge (contract section 7): the node is a client of a broker.
/// Off while `uri` is empty (the default).
struct mqtt_settings {
  std::string uri;       ///< tcp://, mqtt://, ssl://, mqtts://, ws://, wss://
  std::string client_id; ///< Empty: puzzle-node-<hostname>-<http.port>.
  std::string username;
  std::string password;  ///< PUZZLE_MQTT_PASSWORD wins over the file.
  std::string ca_file;   ///< TLS: CA certificates (PEM) to trust.
  std::string cert_file; ///< TLS: client certificate (PEM).
  std::string key_file;  ///< TLS: the client certificate's key (PEM).
  milliseconds keep_alive{30'000};
  milliseconds connect_timeout{10'000};
  milliseconds reconnect_min{1'000};      ///< Backoff between attempts, from...
  milliseconds reconnect_max{30'000};     ///< ... doubling up to this.
  uint64_t max_payload_bytes = 64 * 1024; ///< Larger device messages drop.
  uint32_t inbound_queue = 10'000;        ///< Messages waiting for the node.
  uint32_t offline_buffer = 1'000;        ///< Publications kept while offline.
  milliseconds device_offline_after{600'000}; ///< Silence; 0: never.
  milliseconds presence_grace{2'000};         ///< Offline shows after this.
  uint32_t dedupe_window = 1'024;             ///< msgIds remembered per device.
  uint32_t max_devices = 10'000;
  std::string device_rate = "token-bucket 50 20/1s"; ///< Per device.
  std::string device_prefix = "iot";
  std::string session_prefix = "puzzle";
  std::string bindings_file; ///< Empty: <store.data-dir>/device-bindings.json
};

struct log_settings {
  std::string level = "info";
};

struct settings {
  http_settings http;
  store_settings store;
  cluster_settings cluster;
  limits_settings limits;
  image_settings images;
  session_settings session;
  signalr_settings signalr;
  websocket_settings websocket;
  webrtc_settings webrtc;
  rate_limit_settings rate_limits;
  socketio_settings socketio;
  auth_settings auth;
  mqtt_settings mqtt;
  log_settings log;

  /// `store.url`, or the default SQLite file in `store.data_dir`.
  std::string effective_store_url() const;
};

} // namespace puzzle::config
