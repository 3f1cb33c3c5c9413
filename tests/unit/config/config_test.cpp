// Tests of config/: node_config (CAF options, config file, command line,
// environment, validation), the example file and settings.

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include <caf/actor_system_config.hpp>
#include <caf/config_option.hpp>
#include <caf/settings.hpp>

#include "config/node_config.hpp"
#include "config/settings.hpp"

namespace {

using namespace std::chrono_literals;
using puzzle::config::jwt_secret_env;
using puzzle::config::mqtt_password_env;
using puzzle::config::node_config;
using puzzle::config::settings;

constexpr const char* example_config = PUZZLE_EXAMPLE_CONFIG;

/// The sections node_config adds; everything else belongs to CAF.
const std::set<std::string> our_sections
    = {"http",      "store",  "limits",      "images",   "session", "signalr",
       "websocket", "webrtc", "rate-limits", "socketio", "auth",    "log"};

/// Exposes the registered options, to compare them with the example file and
/// the help text.
struct probe_config : node_config {
  using node_config::custom_options_;
};

std::string str(caf::string_view x) {
  return std::string(x.begin(), x.end());
}

/// `section.key` of every option node_config registers (not CAF's).
std::vector<std::string> our_keys() {
  probe_config cfg;
  std::vector<std::string> result;
  for (auto& opt : cfg.custom_options_) {
    auto category = str(opt.category());
    if (our_sections.count(category) != 0) result.push_back(category + "." + str(opt.long_name()));
  }
  return result;
}

std::string read_file(const std::string& path) {
  std::ifstream in{path};
  std::stringstream buf;
  buf << in.rdbuf();
  return buf.str();
}

bool starts_with(const std::string& text, const std::string& prefix) {
  return text.compare(0, prefix.size(), prefix) == 0;
}

/// Keys of the example file by section: `active` for `key = value` lines,
/// `commented` for `; key = value` lines.
struct example_keys {
  std::map<std::string, std::string> active; // key -> value text
  std::set<std::string> commented;
};

example_keys keys_of(const std::string& text) {
  static const std::regex section{R"(^\[([a-z][a-z0-9-]*)\]\s*$)"};
  static const std::regex active{R"(^([a-z][a-z0-9-]*)\s*=\s*(.*)$)"};
  static const std::regex commented{R"(^;\s?([a-z][a-z0-9-]*) = .*$)"};
  example_keys result;
  std::istringstream in{text};
  std::string line;
  std::string current;
  std::smatch m;
  while (std::getline(in, line)) {
    if (std::regex_match(line, m, section))
      current = m[1];
    else if (std::regex_match(line, m, active))
      result.active.emplace(current + "." + m[1].str(), m[2]);
    else if (!current.empty() && std::regex_match(line, m, commented))
      result.commented.insert(current + "." + m[1].str());
  }
  return result;
}

/// Field by field, so that a failure names the field.
void expect_same_settings(const settings& x, const settings& y) {
  EXPECT_EQ(x.http.bind, y.http.bind);
  EXPECT_EQ(x.http.port, y.http.port);
  EXPECT_EQ(x.http.threads, y.http.threads);
  EXPECT_EQ(x.http.body_limit, y.http.body_limit);
  EXPECT_EQ(x.http.header_limit, y.http.header_limit);
  EXPECT_EQ(x.http.idle_timeout, y.http.idle_timeout);
  EXPECT_EQ(x.http.request_timeout, y.http.request_timeout);
  EXPECT_EQ(x.http.max_connections, y.http.max_connections);
  EXPECT_EQ(x.http.web_root, y.http.web_root);
  EXPECT_EQ(x.http.cors_origins, y.http.cors_origins);
  EXPECT_EQ(x.store.data_dir, y.store.data_dir);
  EXPECT_EQ(x.store.url, y.store.url);
  EXPECT_EQ(x.store.group_commit_max, y.store.group_commit_max);
  EXPECT_EQ(x.limits.min_pieces, y.limits.min_pieces);
  EXPECT_EQ(x.limits.max_pieces, y.limits.max_pieces);
  EXPECT_EQ(x.limits.max_side, y.limits.max_side);
  EXPECT_EQ(x.limits.max_image_side, y.limits.max_image_side);
  EXPECT_EQ(x.limits.max_message_bytes, y.limits.max_message_bytes);
  EXPECT_EQ(x.limits.max_chat_code_points, y.limits.max_chat_code_points);
  EXPECT_EQ(x.limits.chat_history, y.limits.chat_history);
  EXPECT_EQ(x.limits.outbound_queue_bytes, y.limits.outbound_queue_bytes);
  EXPECT_EQ(x.limits.max_name_length, y.limits.max_name_length);
  EXPECT_EQ(x.limits.max_sessions_per_connection, y.limits.max_sessions_per_connection);
  EXPECT_EQ(x.limits.max_channels_per_connection, y.limits.max_channels_per_connection);
  EXPECT_EQ(x.limits.max_channel_name_bytes, y.limits.max_channel_name_bytes);
  EXPECT_EQ(x.images.max_bytes, y.images.max_bytes);
  EXPECT_EQ(x.images.max_pixels, y.images.max_pixels);
  EXPECT_EQ(x.images.thumbnail_side, y.images.thumbnail_side);
  EXPECT_EQ(x.images.max_stored, y.images.max_stored);
  EXPECT_EQ(x.images.max_decoding, y.images.max_decoding);
  EXPECT_EQ(x.session.lock_lease, y.session.lock_lease);
  EXPECT_DOUBLE_EQ(x.session.snap_ratio, y.session.snap_ratio);
  EXPECT_DOUBLE_EQ(x.session.table_factor, y.session.table_factor);
  EXPECT_EQ(x.session.cursor_interval, y.session.cursor_interval);
  EXPECT_EQ(x.signalr.keep_alive, y.signalr.keep_alive);
  EXPECT_EQ(x.signalr.client_timeout, y.signalr.client_timeout);
  EXPECT_EQ(x.signalr.handshake_timeout, y.signalr.handshake_timeout);
  EXPECT_EQ(x.signalr.negotiate_ttl, y.signalr.negotiate_ttl);
  EXPECT_EQ(x.websocket.handshake_timeout, y.websocket.handshake_timeout);
  EXPECT_EQ(x.websocket.idle_timeout, y.websocket.idle_timeout);
  EXPECT_EQ(x.webrtc.max_room_size, y.webrtc.max_room_size);
  EXPECT_EQ(x.rate_limits.drags, y.rate_limits.drags);
  EXPECT_EQ(x.rate_limits.moves, y.rate_limits.moves);
  EXPECT_EQ(x.rate_limits.chats, y.rate_limits.chats);
  EXPECT_EQ(x.rate_limits.cursors, y.rate_limits.cursors);
  EXPECT_EQ(x.rate_limits.session_calls, y.rate_limits.session_calls);
  EXPECT_EQ(x.rate_limits.close_after_refusals, y.rate_limits.close_after_refusals);
  EXPECT_EQ(x.rate_limits.abuse_window, y.rate_limits.abuse_window);
  EXPECT_EQ(x.rate_limits.http_auth, y.rate_limits.http_auth);
  EXPECT_EQ(x.rate_limits.http_upload, y.rate_limits.http_upload);
  EXPECT_EQ(x.rate_limits.http_write, y.rate_limits.http_write);
  EXPECT_EQ(x.rate_limits.http_read, y.rate_limits.http_read);
  EXPECT_EQ(x.rate_limits.http_connect, y.rate_limits.http_connect);
  EXPECT_EQ(x.rate_limits.max_tracked_keys, y.rate_limits.max_tracked_keys);
  EXPECT_EQ(x.webrtc.max_rooms_per_connection, y.webrtc.max_rooms_per_connection);
  EXPECT_EQ(x.socketio.ping_interval, y.socketio.ping_interval);
  EXPECT_EQ(x.socketio.ping_timeout, y.socketio.ping_timeout);
  EXPECT_EQ(x.socketio.max_payload, y.socketio.max_payload);
  EXPECT_EQ(x.socketio.connect_timeout, y.socketio.connect_timeout);
  EXPECT_EQ(x.socketio.conformance, y.socketio.conformance);
  EXPECT_EQ(x.auth.jwt_secret, y.auth.jwt_secret);
  EXPECT_EQ(x.auth.issuer, y.auth.issuer);
  EXPECT_EQ(x.auth.audience, y.auth.audience);
  EXPECT_EQ(x.auth.token_lifetime, y.auth.token_lifetime);
  EXPECT_EQ(x.auth.allow_anonymous, y.auth.allow_anonymous);
  EXPECT_EQ(x.mqtt.uri, y.mqtt.uri);
  EXPECT_EQ(x.mqtt.client_id, y.mqtt.client_id);
  EXPECT_EQ(x.mqtt.username, y.mqtt.username);
  EXPECT_EQ(x.mqtt.password, y.mqtt.password);
  EXPECT_EQ(x.mqtt.ca_file, y.mqtt.ca_file);
  EXPECT_EQ(x.mqtt.cert_file, y.mqtt.cert_file);
  EXPECT_EQ(x.mqtt.key_file, y.mqtt.key_file);
  EXPECT_EQ(x.mqtt.keep_alive, y.mqtt.keep_alive);
  EXPECT_EQ(x.mqtt.connect_timeout, y.mqtt.connect_timeout);
  EXPECT_EQ(x.mqtt.reconnect_min, y.mqtt.reconnect_min);
  EXPECT_EQ(x.mqtt.reconnect_max, y.mqtt.reconnect_max);
  EXPECT_EQ(x.mqtt.max_payload_bytes, y.mqtt.max_payload_bytes);
  EXPECT_EQ(x.mqtt.inbound_queue, y.mqtt.inbound_queue);
  EXPECT_EQ(x.mqtt.offline_buffer, y.mqtt.offline_buffer);
  EXPECT_EQ(x.mqtt.device_offline_after, y.mqtt.device_offline_after);
  EXPECT_EQ(x.mqtt.presence_grace, y.mqtt.presence_grace);
  EXPECT_EQ(x.mqtt.dedupe_window, y.mqtt.dedupe_window);
  EXPECT_EQ(x.mqtt.max_devices, y.mqtt.max_devices);
  EXPECT_EQ(x.mqtt.device_rate, y.mqtt.device_rate);
  EXPECT_EQ(x.mqtt.device_prefix, y.mqtt.device_prefix);
  EXPECT_EQ(x.mqtt.session_prefix, y.mqtt.session_prefix);
  EXPECT_EQ(x.mqtt.bindings_file, y.mqtt.bindings_file);
  EXPECT_EQ(x.log.level, y.log.level);
}

/// Runs every test without PUZZLE_JWT_SECRET (restored afterwards), since the
/// environment of the test run may have it.
class NodeConfig : public ::testing::Test {
protected:
  void SetUp() override {
    if (auto old = std::getenv(jwt_secret_env)) saved_secret_ = old;
    unsetenv(jwt_secret_env);
  }

  void TearDown() override {
    if (saved_secret_)
      setenv(jwt_secret_env, saved_secret_->c_str(), 1);
    else
      unsetenv(jwt_secret_env);
  }

  /// parse() with `args` and the config file text `ini`; the error text or
  /// "" on success.
  std::string parse(std::vector<std::string> args, const std::string& ini = "") {
    std::istringstream in{ini};
    return text_of(cfg.parse(std::move(args), in));
  }

  /// parse() and finalize(); the first error text or "" on success.
  std::string load(std::vector<std::string> args, const std::string& ini = "") {
    if (auto err = parse(std::move(args), ini); !err.empty()) return err;
    return text_of(cfg.finalize());
  }

  /// parse() with a config file given by --config-file, like puzzle-node.
  std::string load_file(std::vector<std::string> args) {
    if (auto err = text_of(cfg.parse(std::move(args))); !err.empty()) return err;
    return text_of(cfg.finalize());
  }

  static std::string text_of(const caf::error& err) {
    if (!err) return "";
    // Our errors carry exactly one string, which puzzle-node prints.
    EXPECT_TRUE(err.context().match_elements<std::string>())
        << caf::actor_system_config::render(err);
    auto text = node_config::error_text(err);
    return text.empty() ? "(empty error text)" : text;
  }

  node_config cfg;

private:
  std::optional<std::string> saved_secret_;
};

const std::string secret_a(40, 'a');
const std::string secret_b(48, 'b');

// -- defaults -----------------------------------------------------------------

TEST_F(NodeConfig, DefaultsWithoutArgumentsEqualSettingsDefaults) {
  ASSERT_EQ(load({}), "");
  expect_same_settings(cfg.values, settings{});
}

TEST(Settings, DefaultStoreUrlIsSqliteFileInDataDir) {
  settings s;
  EXPECT_EQ(s.effective_store_url(), "sqlite:data/puzzle.db");
  s.store.data_dir = "/var/lib/puzzle";
  EXPECT_EQ(s.effective_store_url(), "sqlite:/var/lib/puzzle/puzzle.db");
}

TEST(Settings, StoreUrlWinsOverDataDir) {
  settings s;
  s.store.data_dir = "/var/lib/puzzle";
  s.store.url = "sqlite:/tmp/other.db";
  EXPECT_EQ(s.effective_store_url(), "sqlite:/tmp/other.db");
}

TEST(Settings, DefaultStoreUrlDropsTrailingAndDoubledSlashes) {
  settings s;
  s.store.data_dir = "data/";
  EXPECT_EQ(s.effective_store_url(), "sqlite:data/puzzle.db");
  // "sqlite:" + "//srv" would read as "sqlite://srv/...", a relative path.
  s.store.data_dir = "//srv/puzzle//";
  EXPECT_EQ(s.effective_store_url(), "sqlite:/srv/puzzle/puzzle.db");
  s.store.data_dir = "/";
  EXPECT_EQ(s.effective_store_url(), "sqlite:/puzzle.db");
  s.store.data_dir = "";
  EXPECT_EQ(s.effective_store_url(), "sqlite:./puzzle.db");
}

// -- the example file ---------------------------------------------------------

TEST_F(NodeConfig, ExampleFileLoadsWithoutErrors) {
  EXPECT_EQ(load_file({std::string{"--config-file="} + example_config}), "");
}

TEST_F(NodeConfig, ExampleFileValuesEqualDefaults) {
  ASSERT_EQ(load_file({std::string{"--config-file="} + example_config}), "");
  expect_same_settings(cfg.values, settings{});
}

TEST_F(NodeConfig, EveryKeyOfExampleFileIsParsed) {
  auto keys = keys_of(read_file(example_config));
  ASSERT_GT(keys.active.size(), 30u);
  ASSERT_EQ(text_of(cfg.parse({std::string{"--config-file="} + example_config})), "");
  // CAF keeps a value only if it parsed and has the option's type.
  for (auto& [key, value] : keys.active)
    EXPECT_NE(caf::get_if(&cfg.content, key), nullptr)
        << key << " = " << value << " was not stored";
}

TEST_F(NodeConfig, ExampleFileDocumentsEveryOption) {
  auto keys = keys_of(read_file(example_config));
  for (auto& key : our_keys())
    EXPECT_TRUE(keys.active.count(key) != 0 || keys.commented.count(key) != 0)
        << key << " is missing in " << example_config;
  // Optional keys are shown commented out, so their default stays empty.
  for (auto key : {"http.cors-origins", "http.tls-cert", "http.tls-key", "store.url",
                   "auth.jwt-secret", "mqtt.uri", "mqtt.password"}) {
    EXPECT_EQ(keys.commented.count(key), 1u) << key;
    EXPECT_EQ(keys.active.count(key), 0u) << key;
  }
}

TEST_F(NodeConfig, ExampleFileSetsSchedulerMaxThroughput) {
  ASSERT_EQ(text_of(cfg.parse({std::string{"--config-file="} + example_config})), "");
  EXPECT_EQ(caf::get_or(cfg.content, "scheduler.max-throughput", size_t{0}), 100u);
}

// -- the scheduler --------------------------------------------------------------

TEST(SchedulerDefaults, WorkersAreCpusMinusHttpThreadsAtLeastTwo) {
  EXPECT_EQ(puzzle::config::default_scheduler_threads(8, 2), 6u);
  EXPECT_EQ(puzzle::config::default_scheduler_threads(5, 2), 3u);
  EXPECT_EQ(puzzle::config::default_scheduler_threads(4, 2), 2u);
  EXPECT_EQ(puzzle::config::default_scheduler_threads(2, 2), 2u);
  EXPECT_EQ(puzzle::config::default_scheduler_threads(1, 2), 2u);
  EXPECT_EQ(puzzle::config::default_scheduler_threads(3, 1), 2u);
}

TEST_F(NodeConfig, SchedulerMaxThreadsDefaultsToCpusMinusHttpThreads) {
  ASSERT_EQ(load({"--http.threads=1"}), "");
  auto expected = puzzle::config::default_scheduler_threads(puzzle::config::usable_cpus(), 1);
  EXPECT_EQ(caf::get_or(cfg.content, "scheduler.max-threads", size_t{0}), expected);
  EXPECT_EQ(caf::get_or(cfg.content, "work-stealing.aggressive-poll-attempts", size_t{0}), 10u);
  EXPECT_EQ(caf::get_or(cfg.content, "work-stealing.moderate-poll-attempts", size_t{0}), 20u);
  EXPECT_EQ(caf::get_or(cfg.content, "work-stealing.moderate-sleep-duration", caf::timespan{0}),
            caf::timespan{100us});
}

TEST_F(NodeConfig, ExplicitSchedulerValuesWin) {
  ASSERT_EQ(load({"--scheduler.max-threads=7", "--work-stealing.moderate-poll-attempts=500"},
                 "[work-stealing]\nmoderate-sleep-duration = 50us\n"),
            "");
  EXPECT_EQ(caf::get_or(cfg.content, "scheduler.max-threads", size_t{0}), 7u);
  EXPECT_EQ(caf::get_or(cfg.content, "work-stealing.moderate-poll-attempts", size_t{0}), 500u);
  EXPECT_EQ(caf::get_or(cfg.content, "work-stealing.moderate-sleep-duration", caf::timespan{0}),
            caf::timespan{50us});
  // Unset keys still get the node's defaults.
  EXPECT_EQ(caf::get_or(cfg.content, "work-stealing.aggressive-poll-attempts", size_t{0}), 10u);
}

TEST_F(NodeConfig, HelpStillListsSchedulerMaxThreads) {
  std::ostringstream out;
  auto old = std::cout.rdbuf(out.rdbuf());
  auto err = parse({"--help"});
  std::cout.rdbuf(old);
  ASSERT_EQ(err, "");
  auto help = out.str();
  EXPECT_NE(help.find("--scheduler.max-threads"), std::string::npos);
  EXPECT_NE(help.find("--work-stealing.moderate-sleep-duration"), std::string::npos);
}

TEST_F(NodeConfig, CommentedOutExampleLinesAreValidWhenUncommented) {
  // Uncomment every `; key = value` line (scheduler.max-threads included).
  static const std::regex commented{R"(^;\s?([a-z][a-z0-9-]*) = (.*)$)"};
  std::istringstream in{read_file(example_config)};
  std::string uncommented;
  int changed = 0;
  for (std::string line; std::getline(in, line);) {
    std::smatch m;
    if (std::regex_match(line, m, commented)) {
      // The example's certificate paths exist only on a real host; any
      // readable file passes the config check (the server parses them).
      auto value = m[1].str().rfind("tls-", 0) == 0 ? std::string{"\""} + example_config + "\""
                                                    : m[2].str();
      line = m[1].str() + " = " + value;
      ++changed;
    }
    uncommented += line + '\n';
  }
  // 7 of ours, scheduler.max-threads and 4 work-stealing keys (CAF's).
  ASSERT_EQ(changed, 12);
  ASSERT_EQ(load({}, uncommented), "");
  EXPECT_EQ(caf::get_or(cfg.content, "scheduler.max-threads", size_t{0}), 4u);
  EXPECT_EQ(caf::get_or(cfg.content, "work-stealing.relaxed-sleep-duration", caf::timespan{0}),
            caf::timespan{10ms});
  EXPECT_EQ(cfg.values.mqtt.uri, "tcp://127.0.0.1:1883");
  EXPECT_FALSE(cfg.values.mqtt.password.empty());
  EXPECT_EQ(cfg.values.http.cors_origins, (std::vector<std::string>{"https://puzzle.example.com"}));
  EXPECT_EQ(cfg.values.store.url, "sqlite:/var/lib/puzzle/puzzle.db");
  EXPECT_GE(cfg.values.auth.jwt_secret.size(), 32u);
}

// -- config file and command line ---------------------------------------------

TEST_F(NodeConfig, CommandLineOverridesDefaults) {
  ASSERT_EQ(load({"--http.port=9090", "--signalr.keep-alive=5s", "--limits.max-pieces=100"}), "");
  EXPECT_EQ(cfg.values.http.port, 9090);
  EXPECT_EQ(cfg.values.signalr.keep_alive, 5s);
  EXPECT_EQ(cfg.values.limits.max_pieces, 100);
  // Everything else keeps its default.
  EXPECT_EQ(cfg.values.signalr.client_timeout, 30s);
  EXPECT_EQ(cfg.values.limits.min_pieces, 2);
}

TEST_F(NodeConfig, ConfigFileOverridesDefaults) {
  ASSERT_EQ(load({},
                 "[http]\n"
                 "port = 7070\n"
                 "cors-origins = [\"https://a.example\", \"*\"]\n"
                 "[session]\n"
                 "table-factor = 3.5\n"
                 "cursor-interval = 0ms ; every update\n"
                 "[signalr]\n"
                 "keep-alive = 10s\n"
                 "[auth]\n"
                 "token-lifetime = 90min\n"
                 "allow-anonymous = false\n"
                 "[store]\n"
                 "url = \"sqlite::memory:\"\n"),
            "");
  EXPECT_EQ(cfg.values.http.port, 7070);
  EXPECT_EQ(cfg.values.http.cors_origins, (std::vector<std::string>{"https://a.example", "*"}));
  EXPECT_DOUBLE_EQ(cfg.values.session.table_factor, 3.5);
  EXPECT_EQ(cfg.values.session.cursor_interval, 0ms);
  EXPECT_EQ(cfg.values.signalr.keep_alive, 10s);
  EXPECT_EQ(cfg.values.auth.token_lifetime, 90min);
  EXPECT_FALSE(cfg.values.auth.allow_anonymous);
  EXPECT_EQ(cfg.values.effective_store_url(), "sqlite::memory:");
}

TEST_F(NodeConfig, CommandLineTakesListsAndDurationUnits) {
  ASSERT_EQ(load({R"(--http.cors-origins=["https://a.example", "*"])", "--auth.token-lifetime=2h",
                  "--session.lock-lease=1500ms", "--session.table-factor=3"}),
            "");
  EXPECT_EQ(cfg.values.http.cors_origins, (std::vector<std::string>{"https://a.example", "*"}));
  EXPECT_EQ(cfg.values.auth.token_lifetime, 2h);
  EXPECT_EQ(cfg.values.session.lock_lease, 1500ms);
  EXPECT_DOUBLE_EQ(cfg.values.session.table_factor, 3.0);
}

TEST_F(NodeConfig, CommandLineWinsOverConfigFile) {
  ASSERT_EQ(load({"--http.port=9090", "--signalr.keep-alive=5s"},
                 "[http]\nport = 7070\n[signalr]\nkeep-alive = 10s\n"),
            "");
  EXPECT_EQ(cfg.values.http.port, 9090);
  EXPECT_EQ(cfg.values.signalr.keep_alive, 5s);
}

TEST_F(NodeConfig, FlagAcceptsTrueAndFalseOnCommandLine) {
  ASSERT_EQ(load({"--auth.allow-anonymous=false"}), "");
  EXPECT_FALSE(cfg.values.auth.allow_anonymous);
  node_config other;
  std::istringstream ini{"[auth]\nallow-anonymous = false\n"};
  ASSERT_FALSE(other.parse({"--auth.allow-anonymous=true"}, ini));
  ASSERT_FALSE(other.finalize());
  EXPECT_TRUE(other.values.auth.allow_anonymous);
}

TEST_F(NodeConfig, CommandLineFalseWinsOverConfigFileTrue) {
  ASSERT_EQ(load({"--auth.allow-anonymous=false"}, "[auth]\nallow-anonymous = true\n"), "");
  EXPECT_FALSE(cfg.values.auth.allow_anonymous);
}

TEST_F(NodeConfig, MissingConfigFileIsAnErrorNamingIt) {
  auto err = load_file({"--config-file=/nonexistent/puzzle.conf"});
  EXPECT_TRUE(starts_with(err, "config-file: ")) << err;
  EXPECT_NE(err.find("/nonexistent/puzzle.conf"), std::string::npos) << err;
}

// -- validation ---------------------------------------------------------------

TEST_F(NodeConfig, RejectsPortAboveRangeNamingTheKey) {
  auto err = load({"--http.port=70000"});
  EXPECT_TRUE(starts_with(err, "http.port: ")) << err;
  EXPECT_NE(err.find("70000"), std::string::npos) << err;
}

TEST_F(NodeConfig, RejectsPortAboveRangeFromConfigFile) {
  auto err = load({}, "[http]\nport = 70000\n");
  EXPECT_TRUE(starts_with(err, "http.port: ")) << err;
}

TEST_F(NodeConfig, RejectsMaxPiecesBelowMinPieces) {
  auto err = load({"--limits.min-pieces=10", "--limits.max-pieces=5"});
  EXPECT_TRUE(starts_with(err, "limits.max-pieces: ")) << err;
  EXPECT_NE(err.find("limits.min-pieces"), std::string::npos) << err;
}

TEST_F(NodeConfig, AcceptsMaxPiecesEqualToMinPieces) {
  ASSERT_EQ(load({"--limits.min-pieces=10", "--limits.max-pieces=10"}), "");
  EXPECT_EQ(cfg.values.limits.max_pieces, 10);
}

TEST_F(NodeConfig, ImageKeysHaveDefaultsAndOverrides) {
  ASSERT_EQ(load({}), "");
  EXPECT_EQ(cfg.values.images.max_bytes, 10u << 20);
  EXPECT_EQ(cfg.values.images.max_pixels, 40'000'000u);
  EXPECT_EQ(cfg.values.images.thumbnail_side, 320);
  EXPECT_EQ(cfg.values.images.max_stored, 1000u);
  EXPECT_EQ(cfg.values.images.max_decoding, 2u);
  node_config other;
  std::istringstream ini{"[images]\nmax-bytes = 2097152\nthumbnail-side = 256\n"};
  ASSERT_FALSE(other.parse({"--images.max-pixels=1000000", "--images.max-decoding=4"}, ini));
  ASSERT_FALSE(other.finalize());
  EXPECT_EQ(other.values.images.max_bytes, 2u << 20);
  EXPECT_EQ(other.values.images.max_pixels, 1'000'000u);
  EXPECT_EQ(other.values.images.thumbnail_side, 256);
  EXPECT_EQ(other.values.images.max_decoding, 4u);
}

TEST_F(NodeConfig, RejectsImageLimitsOutOfRangeNamingTheKey) {
  for (std::string arg :
       {"--images.max-bytes=100", "--images.max-pixels=0", "--images.thumbnail-side=5000",
        "--images.max-stored=0", "--images.max-decoding=0"}) {
    node_config other;
    std::istringstream ini{""};
    ASSERT_FALSE(other.parse({arg}, ini)) << arg;
    auto err = text_of(other.finalize());
    auto key = arg.substr(2, arg.find('=') - 2);
    EXPECT_TRUE(starts_with(err, key + ": must be between ")) << arg << ": " << err;
  }
  EXPECT_TRUE(starts_with(load({}, "[images]\nmax-bytes = \"10MB\"\n"), "images.max-bytes: "));
}

TEST_F(NodeConfig, RejectsClientTimeoutNotLongerThanKeepAlive) {
  auto err = load({"--signalr.keep-alive=30s"});
  EXPECT_TRUE(starts_with(err, "signalr.client-timeout: ")) << err;
  node_config other;
  std::istringstream ini{""};
  ASSERT_FALSE(other.parse({"--signalr.keep-alive=20s", "--signalr.client-timeout=10s"}, ini));
  EXPECT_TRUE(starts_with(text_of(other.finalize()), "signalr.client-timeout"));
}

TEST_F(NodeConfig, RejectsUnknownLogLevel) {
  auto err = load({"--log.level=verbose"});
  EXPECT_TRUE(starts_with(err, "log.level: ")) << err;
  EXPECT_NE(err.find("verbose"), std::string::npos) << err;
}

TEST_F(NodeConfig, AcceptsEveryDocumentedLogLevel) {
  for (auto level : {"trace", "debug", "info", "warn", "error", "off"}) {
    node_config other;
    std::istringstream ini{""};
    ASSERT_FALSE(other.parse({std::string{"--log.level="} + level}, ini));
    EXPECT_FALSE(other.finalize()) << level;
  }
}

TEST_F(NodeConfig, RejectsJwtSecretShorterThan32Bytes) {
  auto err = load({"--auth.jwt-secret=" + std::string(31, 'x')});
  EXPECT_TRUE(starts_with(err, "auth.jwt-secret: ")) << err;
  EXPECT_NE(err.find("32 bytes"), std::string::npos) << err;
}

TEST_F(NodeConfig, AcceptsJwtSecretOf32Bytes) {
  ASSERT_EQ(load({"--auth.jwt-secret=" + std::string(32, 'x')}), "");
  EXPECT_EQ(cfg.values.auth.jwt_secret, std::string(32, 'x'));
}

TEST_F(NodeConfig, SocketioKeysHaveDefaultsOverridesAndChecks) {
  ASSERT_EQ(load({"--socketio.ping-interval=300ms", "--socketio.ping-timeout=200ms",
                  "--socketio.max-payload=2000", "--socketio.connect-timeout=1s",
                  "--socketio.conformance=true"}),
            "");
  EXPECT_EQ(cfg.values.socketio.ping_interval, 300ms);
  EXPECT_EQ(cfg.values.socketio.ping_timeout, 200ms);
  EXPECT_EQ(cfg.values.socketio.max_payload, 2000u);
  EXPECT_EQ(cfg.values.socketio.connect_timeout, 1s);
  EXPECT_TRUE(cfg.values.socketio.conformance);
  for (std::string arg : {"--socketio.ping-interval=10ms", "--socketio.ping-timeout=0s",
                          "--socketio.connect-timeout=1ms", "--socketio.max-payload=10"}) {
    node_config other;
    std::istringstream ini{""};
    ASSERT_FALSE(other.parse({arg}, ini)) << arg;
    auto err = text_of(other.finalize());
    auto key = arg.substr(2, arg.find('=') - 2);
    EXPECT_TRUE(starts_with(err, key + ": ")) << arg << ": " << err;
  }
}

TEST_F(NodeConfig, RejectsDurationBelowMinimum) {
  auto err = load({"--session.lock-lease=50ms"});
  EXPECT_TRUE(starts_with(err, "session.lock-lease: ")) << err;
}

TEST_F(NodeConfig, RejectsSnapRatioOutOfRange) {
  auto err = load({}, "[session]\nsnap-ratio = 0.6\n");
  EXPECT_TRUE(starts_with(err, "session.snap-ratio: ")) << err;
}

TEST_F(NodeConfig, RejectsStoreUrlWithUnknownScheme) {
  auto err = load({"--store.url=sqllite:/tmp/x.db"});
  EXPECT_TRUE(starts_with(err, "store.url: ")) << err;
  EXPECT_EQ(load({"--store.url=sqlite:"}).rfind("store.url: ", 0), 0u);
}

TEST_F(NodeConfig, AcceptsKnownStoreUrlSchemes) {
  for (auto url : {"sqlite:x.db", "sqlite:///tmp/x.db", "sqlite3:x.db",
                   "postgresql://puzzle@db:5432/puzzle"}) {
    node_config other;
    std::istringstream ini{""};
    ASSERT_FALSE(other.parse({std::string{"--store.url="} + url}, ini));
    EXPECT_FALSE(other.finalize()) << url;
  }
}

TEST_F(NodeConfig, TlsNeedsBothReadableFiles) {
  // Plain HTTP by default.
  ASSERT_EQ(load({}), "");
  EXPECT_TRUE(cfg.values.http.tls_cert.empty());
  auto only_cert = load({"--http.tls-cert=/etc/hostname"});
  EXPECT_TRUE(starts_with(only_cert, "http.tls-key: ")) << only_cert;
  node_config other;
  std::istringstream ini{""};
  ASSERT_FALSE(other.parse({"--http.tls-key=/etc/hostname"}, ini));
  auto only_key = text_of(other.finalize());
  EXPECT_TRUE(starts_with(only_key, "http.tls-cert: ")) << only_key;
  node_config missing;
  std::istringstream ini2{""};
  ASSERT_FALSE(missing.parse(
      {"--http.tls-cert=/etc/hostname", "--http.tls-key=/nonexistent/key.pem"}, ini2));
  auto unreadable = text_of(missing.finalize());
  EXPECT_TRUE(starts_with(unreadable, "http.tls-key: cannot read")) << unreadable;
}

// -- the environment ----------------------------------------------------------

TEST_F(NodeConfig, JwtSecretFromEnvironmentWinsWhenSet) {
  setenv(jwt_secret_env, secret_a.c_str(), 1);
  ASSERT_EQ(load({"--auth.jwt-secret=" + secret_b}), "");
  EXPECT_EQ(cfg.values.auth.jwt_secret, secret_a);
}

TEST_F(NodeConfig, JwtSecretFromEnvironmentWinsOverConfigFile) {
  setenv(jwt_secret_env, secret_a.c_str(), 1);
  ASSERT_EQ(load({}, "[auth]\njwt-secret = \"" + secret_b + "\"\n"), "");
  EXPECT_EQ(cfg.values.auth.jwt_secret, secret_a);
}

TEST_F(NodeConfig, ConfiguredJwtSecretIsUsedWithoutEnvironment) {
  ASSERT_EQ(load({"--auth.jwt-secret=" + secret_b}), "");
  EXPECT_EQ(cfg.values.auth.jwt_secret, secret_b);
}

TEST_F(NodeConfig, EmptyJwtSecretInEnvironmentIsIgnored) {
  setenv(jwt_secret_env, "", 1);
  ASSERT_EQ(load({"--auth.jwt-secret=" + secret_b}), "");
  EXPECT_EQ(cfg.values.auth.jwt_secret, secret_b);
}

TEST_F(NodeConfig, JwtSecretDefaultsToEmptyWithoutEnvironment) {
  ASSERT_EQ(load({}), "");
  EXPECT_EQ(cfg.values.auth.jwt_secret, "");
}

TEST_F(NodeConfig, ShortJwtSecretFromEnvironmentIsRejectedNamingIt) {
  setenv(jwt_secret_env, "short", 1);
  auto err = load({});
  EXPECT_TRUE(starts_with(err, "auth.jwt-secret: ")) << err;
  EXPECT_NE(err.find(jwt_secret_env), std::string::npos) << err;
}

// -- mistakes in the config file ----------------------------------------------

TEST(PlainCafConfig, KeepsUnknownKeysAndDropsMistypedValuesSilently) {
  // What CAF 0.17.6 does on its own, and why node_config checks the file:
  // no error for a typo or a wrong type, and the option keeps its default.
  struct plain : caf::actor_system_config {
    int64_t port = 8080;
    plain() {
      opt_group{custom_options_, "http"}.add(port, "port", "");
    }
  };
  plain cfg;
  std::istringstream ini{"[http]\nprot = 9090\n[htp]\nport = 1\n"};
  EXPECT_FALSE(cfg.parse(std::vector<std::string>{}, ini));
  EXPECT_NE(caf::get_if(&cfg.content, "http.prot"), nullptr);
  plain mistyped;
  std::istringstream ini2{"[http]\nport = \"9090\"\n"};
  EXPECT_FALSE(mistyped.parse(std::vector<std::string>{}, ini2));
  EXPECT_EQ(mistyped.port, 8080);
}

TEST_F(NodeConfig, ConfigFileWithUnknownKeyIsRejectedNamingIt) {
  auto err = load({}, "[http]\nprot = 9090\n");
  EXPECT_TRUE(starts_with(err, "http.prot: unknown key")) << err;
}

TEST_F(NodeConfig, ConfigFileWithUnknownSectionIsRejectedNamingIt) {
  auto err = load({}, "[htp]\nport = 9090\n");
  EXPECT_TRUE(starts_with(err, "htp.port: unknown key")) << err;
}

TEST_F(NodeConfig, ConfigFileWithUnknownTopLevelKeyIsRejected) {
  auto err = load({}, "port = 9090\n");
  EXPECT_TRUE(starts_with(err, "port: unknown key")) << err;
}

TEST_F(NodeConfig, ConfigFileWithMistypedValueIsRejectedNamingTheKey) {
  auto err = load({}, "[http]\nport = \"9090\"\n");
  EXPECT_TRUE(starts_with(err, "http.port: expected ")) << err;
  node_config bare_number;
  std::istringstream ini{"[signalr]\nkeep-alive = 15\n"};
  err = text_of(bare_number.parse({}, ini));
  EXPECT_TRUE(starts_with(err, "signalr.keep-alive: expected a duration")) << err;
  node_config integer_for_double;
  std::istringstream ini2{"[session]\ntable-factor = 2\n"};
  err = text_of(integer_for_double.parse({}, ini2));
  EXPECT_TRUE(starts_with(err, "session.table-factor: expected ")) << err;
}

TEST_F(NodeConfig, ConfigFileMistypedCafKeyIsRejected) {
  auto err = load({}, "[scheduler]\nmax-throughput = \"many\"\n");
  EXPECT_TRUE(starts_with(err, "scheduler.max-throughput: expected ")) << err;
}

TEST_F(NodeConfig, ConfigFileSyntaxErrorNamesLineAndColumn) {
  auto err = load({}, "[http]\nport = eighty\n");
  EXPECT_TRUE(starts_with(err, "the config file: line 2, column ")) << err;
  auto fractional = load({}, "[signalr]\nkeep-alive = 1.5s\n");
  EXPECT_NE(fractional.find("line 2"), std::string::npos) << fractional;
}

TEST_F(NodeConfig, ConfigFileErrorNamesTheFile) {
  auto path = ::testing::TempDir() + "config_test_bad.conf";
  {
    std::ofstream out{path};
    out << "[http]\n# not a comment in CAF's format\n";
  }
  auto err = load_file({"--config-file=" + path});
  EXPECT_TRUE(starts_with(err, "config file '" + path + "': line 2")) << err;
  {
    std::ofstream out{path};
    out << "[http]\nprot = 1\n";
  }
  node_config other;
  err = text_of(other.parse({"--config-file=" + path}));
  EXPECT_TRUE(starts_with(err, "http.prot: unknown key in config file '" + path + "'")) << err;
  std::remove(path.c_str());
}

// -- mistakes on the command line ---------------------------------------------

TEST_F(NodeConfig, CommandLineUnknownOptionIsRejectedNamingIt) {
  auto err = parse({"--http.prot=9090"});
  EXPECT_TRUE(starts_with(err, "http.prot: unknown option")) << err;
}

TEST_F(NodeConfig, CommandLineBadValueNamesTheKey) {
  auto err = parse({"--http.port=eighty"});
  EXPECT_TRUE(starts_with(err, "http.port: invalid value 'eighty'")) << err;
  node_config other;
  std::istringstream ini{""};
  err = text_of(other.parse({"--signalr.keep-alive=5"}, ini));
  EXPECT_TRUE(starts_with(err, "signalr.keep-alive: invalid value '5'")) << err;
}

TEST_F(NodeConfig, CommandLineMissingValueIsRejected) {
  auto err = parse({"--http.port"});
  EXPECT_TRUE(starts_with(err, "http.port: missing value")) << err;
  node_config other;
  // CAF 0.17.6 reads freed memory on an empty --config-file=.
  err = text_of(other.parse({"--config-file="}));
  EXPECT_TRUE(starts_with(err, "config-file: missing value")) << err;
}

TEST_F(NodeConfig, CommandLineArgumentThatIsNoOptionIsRejected) {
  auto err = parse({"--http.port=9090", "puzzle.conf"});
  EXPECT_TRUE(starts_with(err, "'puzzle.conf': not an option")) << err;
}

// -- help ---------------------------------------------------------------------

TEST_F(NodeConfig, HelpListsEveryOption) {
  std::ostringstream out;
  auto old = std::cout.rdbuf(out.rdbuf());
  auto err = parse({"--help"});
  std::cout.rdbuf(old);
  ASSERT_EQ(err, "");
  EXPECT_TRUE(cfg.cli_helptext_printed);
  auto help = out.str();
  // `--key=<type>`, or `--key ` for a flag.
  for (auto& key : our_keys())
    EXPECT_TRUE(help.find("--" + key + "=") != std::string::npos
                || help.find("--" + key + " ") != std::string::npos)
        << key << " missing in:\n"
        << help;
  EXPECT_NE(help.find("--scheduler.max-throughput="), std::string::npos);
  EXPECT_NE(help.find("--config-file="), std::string::npos);
}

TEST_F(NodeConfig, ShortHelpOptionsListEveryOptionToo) {
  for (auto flag : {"-h", "-?"}) {
    node_config other;
    std::istringstream ini{""};
    std::ostringstream out;
    auto old = std::cout.rdbuf(out.rdbuf());
    auto err = other.parse({flag}, ini);
    std::cout.rdbuf(old);
    EXPECT_FALSE(err) << flag;
    EXPECT_TRUE(other.cli_helptext_printed) << flag;
    EXPECT_NE(out.str().find("--http.port="), std::string::npos) << flag;
  }
}

// -- mqtt ---------------------------------------------------------------------

TEST_F(NodeConfig, MqttIsOffByDefault) {
  ASSERT_EQ(load({}), "");
  EXPECT_TRUE(cfg.values.mqtt.uri.empty());
  EXPECT_EQ(cfg.values.mqtt.device_prefix, "iot");
  EXPECT_EQ(cfg.values.mqtt.session_prefix, "puzzle");
  EXPECT_EQ(cfg.values.mqtt.max_payload_bytes, 64u * 1024);
}

TEST_F(NodeConfig, MqttKeysHaveOverrides) {
  ASSERT_EQ(load({"--mqtt.uri=ssl://broker.example:8883", "--mqtt.client-id=node-a",
                  "--mqtt.ca-file=/etc/ca.pem", "--mqtt.keep-alive=10s", "--mqtt.reconnect-min=2s",
                  "--mqtt.reconnect-max=1min", "--mqtt.max-payload-bytes=4096",
                  "--mqtt.device-offline-after=0s", "--mqtt.presence-grace=500ms",
                  "--mqtt.dedupe-window=64", "--mqtt.device-rate=fixed-window 10/1s",
                  "--mqtt.device-prefix=site-1/iot"}),
            "");
  auto& m = cfg.values.mqtt;
  EXPECT_EQ(m.uri, "ssl://broker.example:8883");
  EXPECT_EQ(m.client_id, "node-a");
  EXPECT_EQ(m.keep_alive, 10s);
  EXPECT_EQ(m.reconnect_max, 60s);
  EXPECT_EQ(m.max_payload_bytes, 4096u);
  EXPECT_EQ(m.device_offline_after, 0s);
  EXPECT_EQ(m.presence_grace, 500ms);
  EXPECT_EQ(m.dedupe_window, 64u);
  EXPECT_EQ(m.device_prefix, "site-1/iot");
}

TEST_F(NodeConfig, RejectsBadMqttValuesNamingTheKey) {
  auto starts = [](const std::string& text, const std::string& key) {
    return text.rfind(key + ":", 0) == 0;
  };
  struct bad_case {
    std::vector<std::string> args;
    std::string key;
  };
  const bad_case cases[] = {
      {{"--mqtt.uri=http://broker:1883"}, "mqtt.uri"},
      {{"--mqtt.uri=tcp://"}, "mqtt.uri"},
      {{"--mqtt.client-id=a/b"}, "mqtt.client-id"},
      {{"--mqtt.client-id=a+b"}, "mqtt.client-id"},
      {{"--mqtt.device-prefix=iot/+"}, "mqtt.device-prefix"},
      {{"--mqtt.device-prefix=$SYS"}, "mqtt.device-prefix"},
      {{"--mqtt.device-prefix=a//b"}, "mqtt.device-prefix"},
      {{"--mqtt.session-prefix=puzzle/"}, "mqtt.session-prefix"},
      {{"--mqtt.session-prefix=#"}, "mqtt.session-prefix"},
      {{"--mqtt.keep-alive=500ms"}, "mqtt.keep-alive"},
      {{"--mqtt.reconnect-min=5s", "--mqtt.reconnect-max=2s"}, "mqtt.reconnect-max"},
      {{"--mqtt.max-payload-bytes=10"}, "mqtt.max-payload-bytes"},
      {{"--mqtt.dedupe-window=0"}, "mqtt.dedupe-window"},
      {{"--mqtt.max-devices=0"}, "mqtt.max-devices"},
      {{"--mqtt.inbound-queue=0"}, "mqtt.inbound-queue"},
      {{"--mqtt.device-rate=lots"}, "mqtt.device-rate"},
      {{"--mqtt.uri=tcp://b:1883", "--mqtt.ca-file=/etc/ca.pem"}, "mqtt.ca-file"},
      {{"--mqtt.uri=ssl://b:8883", "--mqtt.cert-file=/etc/c.pem"}, "mqtt.key-file"},
      {{"--mqtt.uri=ssl://b:8883", "--mqtt.key-file=/etc/k.pem"}, "mqtt.cert-file"},
  };
  for (auto& c : cases) {
    node_config fresh;
    std::istringstream ini{""};
    auto err = text_of(fresh.parse(c.args, ini));
    if (err.empty()) err = text_of(fresh.finalize());
    EXPECT_TRUE(starts(err, c.key)) << c.args.front() << " -> " << err;
  }
}

TEST_F(NodeConfig, MqttPasswordFromEnvironmentWins) {
  std::optional<std::string> saved;
  if (auto old = std::getenv(mqtt_password_env)) saved = old;
  setenv(mqtt_password_env, "from-env", 1);
  auto err = load({"--mqtt.password=from-cli"});
  if (saved)
    setenv(mqtt_password_env, saved->c_str(), 1);
  else
    unsetenv(mqtt_password_env);
  ASSERT_EQ(err, "");
  EXPECT_EQ(cfg.values.mqtt.password, "from-env");
}

// -- JWT keys and accounts ----------------------------------------------------

TEST_F(NodeConfig, JwtKeysListTheSecretAsDefaultThenTheEntries) {
  auto a = std::string(32, 'a');
  auto b = std::string(40, 'b');
  ASSERT_EQ(load({"--auth.jwt-secret=" + a, R"(--auth.jwt-keys=["k2026:)" + b + R"("])",
                  "--auth.signing-key=k2026", "--auth.clock-skew=5s"}),
            "");
  auto& keys = cfg.values.auth.keys;
  ASSERT_EQ(keys.size(), 2u);
  EXPECT_EQ(keys[0].id, "default");
  EXPECT_EQ(keys[0].secret, a);
  EXPECT_EQ(keys[1].id, "k2026");
  EXPECT_EQ(keys[1].secret, b);
  EXPECT_EQ(cfg.values.auth.signing_key, "k2026");
  EXPECT_EQ(cfg.values.auth.clock_skew, 5s);
}

TEST_F(NodeConfig, RejectsBadJwtKeysNamingTheKeyButNotTheSecret) {
  auto secret = std::string(32, 's');
  auto load = [](std::string arg) {
    node_config fresh;
    std::istringstream ini{""};
    auto err = text_of(fresh.parse({std::move(arg)}, ini));
    return err.empty() ? text_of(fresh.finalize()) : err;
  };
  auto err = load({R"(--auth.jwt-keys=["k1:short"])"});
  EXPECT_EQ(err, "auth.jwt-keys: key 'k1' must have at least 32 bytes (got 5)");
  err = load({R"(--auth.jwt-keys=["no-colon"])"});
  EXPECT_TRUE(starts_with(err, "auth.jwt-keys: each entry is")) << err;
  EXPECT_EQ(err.find("no-colon"), std::string::npos) << err;
  err = load({R"(--auth.jwt-keys=["a b:)" + secret + R"("])"});
  EXPECT_TRUE(starts_with(err, "auth.jwt-keys: each entry is")) << err;
  err = load({R"(--auth.jwt-keys=["k1:)" + secret + R"(", "k1:)" + secret + R"("])"});
  EXPECT_EQ(err, "auth.jwt-keys: key 'k1' is given twice");
}

TEST_F(NodeConfig, RejectsSigningKeyThatNamesNoKey) {
  auto err = load({"--auth.jwt-secret=" + std::string(32, 'a'), "--auth.signing-key=k9"});
  EXPECT_TRUE(starts_with(err, "auth.signing-key: names no key")) << err;
  EXPECT_NE(err.find("'k9'"), std::string::npos) << err;
}

TEST_F(NodeConfig, JwtKeysFromEnvironmentReplaceTheList) {
  std::optional<std::string> saved;
  if (auto old = std::getenv(puzzle::config::jwt_keys_env)) saved = old;
  auto a = std::string(32, 'a');
  auto b = std::string(32, 'b');
  setenv(puzzle::config::jwt_keys_env, ("e1:" + a + ",e2:" + b).c_str(), 1);
  auto err = load({R"(--auth.jwt-keys=["f1:)" + a + R"("])"});
  if (saved)
    setenv(puzzle::config::jwt_keys_env, saved->c_str(), 1);
  else
    unsetenv(puzzle::config::jwt_keys_env);
  ASSERT_EQ(err, "");
  auto& keys = cfg.values.auth.keys;
  ASSERT_EQ(keys.size(), 2u);
  EXPECT_EQ(keys[0].id, "e1");
  EXPECT_EQ(keys[1].id, "e2");
  EXPECT_EQ(keys[1].secret, b);
}

TEST_F(NodeConfig, AccountKeysHaveDefaultsOverridesAndRanges) {
  ASSERT_EQ(load({R"(--auth.admins=["root"])", R"(--auth.operators=["ops", "root"])",
                  "--auth.min-password-length=10", "--auth.max-password-bytes=128",
                  "--auth.hash-ops-limit=1", "--auth.hash-memory-kib=8", "--auth.max-hashing=4"}),
            "");
  auto& a = cfg.values.auth;
  EXPECT_EQ(a.admins, (std::vector<std::string>{"root"}));
  EXPECT_EQ(a.operators, (std::vector<std::string>{"ops", "root"}));
  EXPECT_EQ(a.min_password_length, 10u);
  EXPECT_EQ(a.max_password_bytes, 128u);
  EXPECT_EQ(a.hash_ops_limit, 1u);
  EXPECT_EQ(a.hash_memory_kib, 8u);
  EXPECT_EQ(a.max_hashing, 4u);
  for (auto [arg, key] : {std::pair{"--auth.hash-memory-kib=7", "auth.hash-memory-kib"},
                          std::pair{"--auth.hash-ops-limit=0", "auth.hash-ops-limit"},
                          std::pair{"--auth.max-hashing=0", "auth.max-hashing"},
                          std::pair{"--auth.min-password-length=0", "auth.min-password-length"},
                          std::pair{"--auth.max-password-bytes=8", "auth.max-password-bytes"}}) {
    node_config fresh;
    std::istringstream ini{""};
    auto err = text_of(fresh.parse({arg}, ini));
    if (err.empty()) err = text_of(fresh.finalize());
    EXPECT_TRUE(starts_with(err, std::string{key} + ": ")) << arg << " -> " << err;
  }
}

} // namespace

namespace {

TEST_F(NodeConfig, ClusterAdvertiseIsAHostNameOrAnAddress) {
  const std::vector<std::string> cluster{"--cluster.port=4370",
                                         "--store.url=postgresql://u:p@db/puzzle"};
  auto with = [&](const std::string& advertise) {
    auto args = cluster;
    args.push_back("--cluster.advertise=" + advertise);
    node_config fresh;
    std::istringstream no_file;
    if (auto err = text_of(fresh.parse(std::move(args), no_file)); !err.empty()) return err;
    return text_of(fresh.finalize());
  };
  for (const auto* good : {"10.0.0.5", "puzzle-1.puzzle.svc:4370", "node_2", "fd00::5",
                           "[fd00::5]:4370", "[::ffff:10.0.0.5]"})
    EXPECT_EQ(with(good), "") << good;
  for (const auto* bad :
       {"!!garbage::", "host:99999", "a%b:1", "[zz::1]", "[]:1", "host:", "bad*host", "[fd00::5]x"})
    EXPECT_NE(with(bad).find("cluster.advertise"), std::string::npos) << bad;
}

} // namespace
