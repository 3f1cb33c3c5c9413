#pragma once

#include <string>

#include <caf/expected.hpp>

/// What `store.url` names: which SOCI backend and how to connect to it.
namespace puzzle::persistence {

/// The environment variable whose value, when set and not empty, is the
/// PostgreSQL password (it wins over a password in the URL). Without either,
/// libpq itself reads `PGPASSWORD` and `~/.pgpass`.
inline constexpr const char* store_password_env = "PUZZLE_STORE_PASSWORD";

/// The database backends the store speaks.
enum class store_backend {
  sqlite,     ///< One file, one node: dev, tests and single-node deployments.
  postgresql, ///< Shared by every node of a cluster.
};

/// A parsed `store.url`.
struct store_location {
  store_backend backend = store_backend::sqlite;
  /// SQLite: the file (`:memory:` for a private in-memory database).
  std::string path;
  /// PostgreSQL: libpq's `keyword='value'` connection string, password
  /// included (never log it).
  std::string connect;
  /// The URL without its password, for logs and `/health`.
  std::string display;
};

/// Parses `url`:
/// - `sqlite:<path>`, `sqlite://<path>`, `sqlite3:<path>`, `sqlite3://<path>`
///   (`sqlite:///abs/path` is the absolute path);
/// - `postgresql://[user[:password]@]host[:port][/dbname][?key=value&...]`
///   (also `postgres://`), with `%XX` escapes in every part, `[...]` around
///   an IPv6 host and the query keys passed to libpq as they are
///   (`sslmode`, `connect_timeout`, `application_name`, ...).
/// `password` (the value of `store_password_env`, may be empty) replaces the
/// URL's password. `connect_timeout_s` is libpq's `connect_timeout` unless
/// the URL sets one.
/// @returns the location, or `errc::invalid_argument` with a message that
///          starts with `store.url:` (never containing the password).
caf::expected<store_location> parse_store_url(const std::string& url,
                                              const std::string& password = {},
                                              int connect_timeout_s = 5);

/// `url` with the password of a PostgreSQL URL replaced by `***`; other URLs
/// unchanged. Safe for logs.
std::string redact_store_url(const std::string& url);

} // namespace puzzle::persistence
