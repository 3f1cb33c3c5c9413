#pragma once

#include <cstddef>
#include <iosfwd>
#include <string>
#include <utility>
#include <vector>

#include <caf/actor_system_config.hpp>
#include <caf/error.hpp>

#include "config/settings.hpp"

namespace puzzle::config {

/// The node's CAF configuration: CAF's own options plus ours, read from a
/// config file (`--config-file=PATH`, CAF's INI format), overridden on the
/// command line as `--section.key=value`, with secrets from the environment
/// (`PUZZLE_JWT_SECRET`). `config/puzzle.conf.example` documents every key.
///
/// Errors (from `parse()` and `finalize()`) carry one string as context that
/// starts with the key, e.g. `http.port: must be between 0 and 65535 (got
/// 70000)`; `error_text()` returns it.
class node_config : public caf::actor_system_config {
public:
  node_config();

  /// The overloads of `actor_system_config::parse`, made stricter where
  /// CAF 0.17.6 is lenient:
  /// - `--help` (`-h`, `-?`) lists every option; CAF's own `--help` lists
  ///   only its global options (`--long-help` lists all).
  /// - An unknown key, or a value of the wrong type, in the config file is
  ///   an error naming the key; CAF keeps unknown keys and silently drops a
  ///   mistyped value (`port = "80"`, `keep-alive = 15`), keeping the default.
  /// - A syntax error in the config file names the file, line and column.
  /// - A bad command-line option is an error naming the key; an argument that
  ///   is not an option is an error (CAF passes it on in `remainder`).
  /// - Flags accept `--key=true` and `--key=false` (CAF 0.17 only `--key`).
  /// With an `istream`, CAF reads that stream and ignores `--config-file`.
  /// They hide the base class's functions: call them on a `node_config`.
  caf::error parse(string_list args, std::istream& ini);
  caf::error parse(string_list args, const char* ini_file_cstr = nullptr);
  caf::error parse(int argc, char** argv, std::istream& ini);
  caf::error parse(int argc, char** argv, const char* ini_file_cstr = nullptr);

  /// Copies parsed values into `values`, applies the environment and checks
  /// every value. On failure the message names the key, e.g.
  /// `http.port: must be between 0 and 65535 (got 70000)`.
  /// @pre `parse()` succeeded.
  caf::error finalize();

  /// The typed settings, valid after `finalize()`.
  settings values;

  /// The text of an error from `parse()` or `finalize()` (its string
  /// context), or CAF's rendering of any other error.
  static std::string error_text(const caf::error& err);

private:
  using flag_list = std::vector<std::pair<std::string, bool>>;

  /// Checks the command line, maps `--help` to CAF's `--long-help` and takes
  /// out `--flag=false` (CAF rejects it) to apply it after parsing.
  caf::error prepare_args(string_list& args, flag_list& flags) const;

  /// Turns CAF's parse errors into messages, applies `flags` and checks every
  /// key and value of the config file `text` (if any) from `source`.
  caf::error finish_parse(caf::error err, const flag_list& flags,
                          const std::string* text, const std::string& source);

  // CAF 0.17 keeps integers as int64 and durations as timespans; these hold
  // the raw values until `finalize()` checks their ranges.
  int64_t http_port_ = 8080;
  int64_t http_threads_ = 2;
  int64_t http_body_limit_ = 1 << 20;
  int64_t http_header_limit_ = 16 * 1024;
  int64_t http_max_connections_ = 10'000;
  int64_t http_max_connections_per_address_ = 256;
  int64_t store_group_commit_max_ = 512;
  int64_t store_pool_size_ = 4;
  int64_t cluster_port_ = 0;
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
  int64_t limits_max_channels_per_connection_ = 64;
  int64_t limits_max_channel_name_bytes_ = 200;
  int64_t rate_limits_close_after_refusals_ = 200;
  int64_t rate_limits_max_tracked_keys_ = 100'000;
  int64_t webrtc_max_room_size_ = 16;
  int64_t webrtc_max_rooms_per_connection_ = 4;
  int64_t images_max_bytes_ = 10 << 20;
  int64_t images_max_pixels_ = 40'000'000;
  int64_t images_thumbnail_side_ = 320;
  int64_t images_max_stored_ = 1000;
  int64_t images_max_decoding_ = 2;
  int64_t socketio_max_payload_ = 1'000'000;
  int64_t mqtt_max_payload_bytes_ = 64 * 1024;
  int64_t mqtt_inbound_queue_ = 10'000;
  int64_t mqtt_offline_buffer_ = 1'000;
  int64_t mqtt_dedupe_window_ = 1'024;
  int64_t mqtt_max_devices_ = 10'000;
  int64_t auth_min_password_length_ = 8;
  int64_t auth_max_password_bytes_ = 256;
  int64_t auth_hash_ops_limit_ = 2;
  int64_t auth_hash_memory_kib_ = 65'536;
  int64_t auth_max_hashing_ = 2;
};

/// CPUs this process may run on: its affinity mask (`taskset`, cgroup
/// cpusets), else `std::thread::hardware_concurrency()`; at least 1.
std::size_t usable_cpus();

/// CAF worker threads when `scheduler.max-threads` is unset: `cpus` minus the
/// HTTP I/O threads, at least 2. CAF's own default, max(4, cores), leaves
/// idle workers polling for work on small hosts.
std::size_t default_scheduler_threads(std::size_t cpus,
                                      std::size_t http_threads);

/// Fills in the scheduler keys the user left unset: `scheduler.max-threads`
/// (see `default_scheduler_threads()`) and the work-stealing poll strategy,
/// tuned so that an idle worker goes to sleep on its condition variable
/// after ~2 ms instead of CAF's ~25 ms of 50 µs sleeps. A value set in the
/// config file or on the command line always wins.
void apply_scheduler_defaults(caf::actor_system_config& cfg,
                              std::size_t http_threads, std::size_t cpus);

/// The process environment variable holding the JWT signing secret.
inline constexpr const char* jwt_secret_env = "PUZZLE_JWT_SECRET";

/// The process environment variable holding the accepted JWT keys, as
/// comma-separated `kid:secret` entries (replaces `auth.jwt-keys`).
inline constexpr const char* jwt_keys_env = "PUZZLE_JWT_KEYS";

/// The process environment variable holding the MQTT broker password.
inline constexpr const char* mqtt_password_env = "PUZZLE_MQTT_PASSWORD";

} // namespace puzzle::config
