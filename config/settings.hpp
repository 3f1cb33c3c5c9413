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
  uint32_t threads = 2;                  ///< I/O threads for all sockets.
  uint64_t body_limit = 1 << 20;         ///< Bytes of one request body.
  uint32_t header_limit = 16 * 1024;     ///< Bytes of all request headers.
  milliseconds idle_timeout{60'000};     ///< Idle keep-alive HTTP connection.
  milliseconds request_timeout{30'000};  ///< Reading one whole request.
  uint32_t max_connections = 10'000;     ///< Open sockets, all endpoints.
  std::string web_root;                  ///< Static files; empty: built-in.
  std::vector<std::string> cors_origins; ///< Allowed browser origins.
};

struct store_settings {
  std::string data_dir = "data";   ///< Holds the default SQLite file.
  std::string url;                 ///< Empty: sqlite:<data_dir>/puzzle.db
  uint32_t group_commit_max = 512; ///< Writes per transaction at most.
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
  uint32_t max_name_length = 100;          ///< Session and display names.
  uint32_t max_sessions_per_connection = 16;
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

struct auth_settings {
  std::string jwt_secret; ///< PUZZLE_JWT_SECRET; random per start if empty.
  std::string issuer = "puzzle";
  std::string audience = "puzzle-clients";
  milliseconds token_lifetime{24 * 3600 * 1000};
  bool allow_anonymous = true; ///< Hub connections without a token.
};

struct log_settings {
  std::string level = "info";
};

struct settings {
  http_settings http;
  store_settings store;
  limits_settings limits;
  session_settings session;
  signalr_settings signalr;
  auth_settings auth;
  log_settings log;

  /// `store.url`, or the default SQLite file in `store.data_dir`.
  std::string effective_store_url() const;
};

} // namespace puzzle::config
