#pragma once

#include <string>

#include <caf/actor_system_config.hpp>
#include <caf/error.hpp>

#include "config/settings.hpp"

namespace puzzle::config {

/// The node's CAF configuration: CAF's own options plus ours, read from a
/// config file (`--config-file=PATH`, CAF's INI format), overridden on the
/// command line as `--section.key=value`, with secrets from the environment
/// (`PUZZLE_JWT_SECRET`). `config/puzzle.conf.example` documents every key.
class node_config : public caf::actor_system_config {
public:
  node_config();

  /// Copies parsed values into `values`, applies the environment and checks
  /// every value. On failure the message names the key, e.g.
  /// `http.port: must be between 0 and 65535 (got 70000)`.
  /// @pre `parse()` succeeded.
  caf::error finalize();

  /// The typed settings, valid after `finalize()`.
  settings values;

private:
  // CAF 0.17 keeps integers as int64 and durations as timespans; these hold
  // the raw values until `finalize()` checks their ranges.
  int64_t http_port_ = 8080;
  int64_t http_threads_ = 2;
  int64_t http_body_limit_ = 1 << 20;
  int64_t http_header_limit_ = 16 * 1024;
  int64_t http_max_connections_ = 10'000;
  int64_t store_group_commit_max_ = 512;
  int64_t limits_min_pieces_ = 2;
  int64_t limits_max_pieces_ = 5000;
  int64_t limits_max_side_ = 200;
  int64_t limits_max_image_side_ = 16384;
  int64_t limits_max_message_bytes_ = 64 * 1024;
  int64_t limits_max_chat_code_points_ = 500;
  int64_t limits_chat_history_ = 100;
  int64_t limits_outbound_queue_bytes_ = 4 << 20;
  int64_t limits_max_name_length_ = 100;
  int64_t limits_max_sessions_per_connection_ = 16;
};

/// The process environment variable holding the JWT signing secret.
inline constexpr const char* jwt_secret_env = "PUZZLE_JWT_SECRET";

} // namespace puzzle::config
