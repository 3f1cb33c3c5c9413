#include "persistence/sql/store_url.hpp"

#include <cstring>
#include <utility>

#include "actors/caf_errors.hpp"

namespace puzzle::persistence {

namespace {

bool starts_with(const std::string& text, const char* prefix) {
  return text.compare(0, std::strlen(prefix), prefix) == 0;
}

caf::error bad_url(const std::string& what) {
  return make_error(errc::invalid_argument, "store.url: " + what);
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/// Decodes `%XX` escapes; `false` on a broken escape.
bool percent_decode(const std::string& in, std::string& out) {
  out.clear();
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] != '%') {
      out += in[i];
      continue;
    }
    if (i + 2 >= in.size()) return false;
    int hi = hex_value(in[i + 1]);
    int lo = hex_value(in[i + 2]);
    if (hi < 0 || lo < 0) return false;
    out += static_cast<char>(hi * 16 + lo);
    i += 2;
  }
  return true;
}

/// One `keyword='value'` pair of a libpq connection string: the value in
/// single quotes with `\` and `'` escaped, so any byte is safe in it.
std::string conninfo_pair(const std::string& key, const std::string& value) {
  std::string out = key + "='";
  for (char c : value) {
    if (c == '\\' || c == '\'') out += '\\';
    out += c;
  }
  return out + "' ";
}

bool plain_keyword(const std::string& key) {
  if (key.empty()) return false;
  for (char c : key)
    if (!((c >= 'a' && c <= 'z') || c == '_')) return false;
  return true;
}

caf::expected<store_location> parse_sqlite(const std::string& url,
                                           const char* prefix) {
  auto path = url.substr(std::strlen(prefix));
  if (path.empty()) return bad_url("no database file in '" + url + "'");
  // SOCI's connection string quotes the path; a quote cannot be escaped.
  if (path.find('"') != std::string::npos)
    return bad_url("the path must not contain '\"'");
  store_location out;
  out.backend = store_backend::sqlite;
  out.path = std::move(path);
  out.display = url;
  return out;
}

/// Splits `postgresql://AUTHORITY/DB?QUERY` (after the scheme).
caf::expected<store_location>
parse_postgresql(const std::string& url, size_t scheme_len,
                 const std::string& password, int connect_timeout_s) {
  auto rest = url.substr(scheme_len);
  std::string query;
  if (auto q = rest.find('?'); q != std::string::npos) {
    query = rest.substr(q + 1);
    rest.erase(q);
  }
  std::string db;
  if (auto slash = rest.find('/'); slash != std::string::npos) {
    db = rest.substr(slash + 1);
    rest.erase(slash);
  }
  // The last '@' ends the user info: a password may contain an unescaped '@'.
  std::string userinfo;
  if (auto at = rest.rfind('@'); at != std::string::npos) {
    userinfo = rest.substr(0, at);
    rest.erase(0, at + 1);
  }
  std::string host;
  std::string port;
  if (!rest.empty() && rest[0] == '[') {
    auto close = rest.find(']');
    if (close == std::string::npos)
      return bad_url("unclosed '[' in the host of a postgresql URL");
    host = rest.substr(1, close - 1);
    auto after = rest.substr(close + 1);
    if (!after.empty()) {
      if (after[0] != ':') return bad_url("expected ':PORT' after ']'");
      port = after.substr(1);
    }
  } else if (auto colon = rest.rfind(':'); colon != std::string::npos) {
    host = rest.substr(0, colon);
    port = rest.substr(colon + 1);
  } else {
    host = rest;
  }
  if (host.empty())
    return bad_url("no host in the postgresql URL (postgresql://user@host:"
                   "port/db)");
  if (!port.empty()) {
    if (port.size() > 5
        || port.find_first_not_of("0123456789") != std::string::npos
        || std::stoi(port) < 1 || std::stoi(port) > 65535)
      return bad_url("bad port '" + port + "' in the postgresql URL");
  }
  std::string user;
  std::string url_password;
  if (!userinfo.empty()) {
    auto colon = userinfo.find(':');
    if (!percent_decode(userinfo.substr(0, colon), user))
      return bad_url("bad %-escape in the user name");
    if (colon != std::string::npos
        && !percent_decode(userinfo.substr(colon + 1), url_password))
      return bad_url("bad %-escape in the password");
  }
  std::string dbname;
  if (!percent_decode(db, dbname))
    return bad_url("bad %-escape in the database name");
  store_location out;
  out.backend = store_backend::postgresql;
  std::string conninfo;
  std::string decoded_host;
  if (!percent_decode(host, decoded_host))
    return bad_url("bad %-escape in the host");
  conninfo += conninfo_pair("host", decoded_host);
  if (!port.empty()) conninfo += conninfo_pair("port", port);
  if (!dbname.empty()) conninfo += conninfo_pair("dbname", dbname);
  if (!user.empty()) conninfo += conninfo_pair("user", user);
  const auto& effective = password.empty() ? url_password : password;
  if (!effective.empty()) conninfo += conninfo_pair("password", effective);
  bool timeout_given = false;
  std::string options;
  size_t begin = 0;
  while (begin < query.size()) {
    auto end = query.find('&', begin);
    if (end == std::string::npos) end = query.size();
    auto pair = query.substr(begin, end - begin);
    begin = end + 1;
    if (pair.empty()) continue;
    auto eq = pair.find('=');
    std::string key;
    std::string value;
    if (eq == std::string::npos || !percent_decode(pair.substr(0, eq), key)
        || !percent_decode(pair.substr(eq + 1), value) || !plain_keyword(key))
      return bad_url("bad parameter '" + pair.substr(0, eq)
                     + "' in the postgresql URL (expected key=value)");
    if (key == "password")
      return bad_url("put the password before the host or in "
                     + std::string{store_password_env} + ", not in the query");
    if (key == "connect_timeout") timeout_given = true;
    if (key == "options")
      options = value + " ";
    else
      conninfo += conninfo_pair(key, value);
  }
  if (!timeout_given)
    conninfo
        += conninfo_pair("connect_timeout", std::to_string(connect_timeout_s));
  // Hex is the bytea text format the store decodes (a server configured
  // for `escape` would break image bytes); notices are not errors.
  conninfo += conninfo_pair(
      "options",
      options + "-c bytea_output=hex -c client_min_messages=warning");
  conninfo.pop_back();
  out.connect = std::move(conninfo);
  out.display = redact_store_url(url);
  return out;
}

} // namespace

caf::expected<store_location> parse_store_url(const std::string& url,
                                              const std::string& password,
                                              int connect_timeout_s) {
  // Longest prefixes first: "sqlite://" also starts with "sqlite:".
  static constexpr const char* sqlite_prefixes[]
      = {"sqlite3://", "sqlite://", "sqlite3:", "sqlite:"};
  for (auto prefix : sqlite_prefixes)
    if (starts_with(url, prefix)) return parse_sqlite(url, prefix);
  for (auto scheme : {"postgresql://", "postgres://"})
    if (starts_with(url, scheme))
      return parse_postgresql(url, std::strlen(scheme), password,
                              connect_timeout_s);
  return bad_url("unsupported URL '" + redact_store_url(url)
                 + "' (expected sqlite:<path> or "
                   "postgresql://user@host:port/db)");
}

std::string redact_store_url(const std::string& url) {
  auto scheme_end = url.find("://");
  if (scheme_end == std::string::npos
      || !(starts_with(url, "postgresql://")
           || starts_with(url, "postgres://")))
    return url;
  auto authority_begin = scheme_end + 3;
  auto authority_end = url.find_first_of("/?", authority_begin);
  if (authority_end == std::string::npos) authority_end = url.size();
  auto at = url.rfind('@', authority_end);
  if (at == std::string::npos || at < authority_begin) return url;
  auto colon = url.find(':', authority_begin);
  if (colon == std::string::npos || colon > at) return url;
  return url.substr(0, colon + 1) + "***" + url.substr(at);
}

} // namespace puzzle::persistence
