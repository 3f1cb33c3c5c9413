#include "config/node_config.hpp"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <limits>
#include <sstream>

#include <caf/atom.hpp>
#include <caf/config_option.hpp>
#include <caf/config_option_adder.hpp>
#include <caf/config_value.hpp>
#include <caf/make_message.hpp>
#include <caf/pec.hpp>
#include <caf/sec.hpp>
#include <caf/settings.hpp>
#include <caf/timespan.hpp>

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
           "accept hub connections without a token");
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
  check(in_range("http.body-limit", http_body_limit_, 1024, int64_t{1} << 30,
                 v.http.body_limit));
  check(in_range("http.header-limit", http_header_limit_, 1024, 1 << 20,
                 v.http.header_limit));
  check(in_range("http.max-connections", http_max_connections_, 1, 1'000'000,
                 v.http.max_connections));
  check(
      duration(c, "http.idle-timeout", milliseconds{100}, v.http.idle_timeout));
  check(duration(c, "http.request-timeout", milliseconds{100},
                 v.http.request_timeout));
  check(in_range("store.group-commit-max", store_group_commit_max_, 1, 100'000,
                 v.store.group_commit_max));
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
  return caf::none;
}

} // namespace puzzle::config
