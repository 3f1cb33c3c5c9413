#pragma once

// A fresh database per test, on either backend of the store: a SQLite file
// in a temp folder, or a new database on the PostgreSQL test server that the
// CTest fixture `postgresql` starts (tools/pg-test-server.sh). The server's
// URL comes from PUZZLE_TEST_PG_URL, or from the file `url` in
// PUZZLE_TEST_PG_DIR (what the fixture sets). Without either the PostgreSQL
// tests skip with that hint (the binary was run by hand); with one set and
// the server unreachable they fail with the reason.

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <ostream>
#include <random>
#include <stdexcept>
#include <string>
#include <system_error>

#include <gtest/gtest.h>
#include <soci/postgresql/soci-postgresql.h>
#include <soci/soci.h>
#include <soci/sqlite3/soci-sqlite3.h>
#include <unistd.h>

#include "actors/caf_errors.hpp"
#include "persistence/sql/store_url.hpp"

namespace puzzle::test {

enum class backend { sqlite, postgresql };

/// How GoogleTest (and so the CTest names) shows a parameter.
inline void PrintTo(backend x, std::ostream* out) {
  *out << (x == backend::sqlite ? "sqlite" : "postgresql");
}

inline std::string backend_name(const ::testing::TestParamInfo<backend>& info) {
  return info.param == backend::sqlite ? "sqlite" : "postgresql";
}

/// The URL of the PostgreSQL test server's `postgres` database; empty with
/// `problem` set when the tests were not started under the fixture.
inline std::string pg_server_url(std::string& problem) {
  if (auto url = std::getenv("PUZZLE_TEST_PG_URL"); url != nullptr && *url != '\0') return url;
  auto dir = std::getenv("PUZZLE_TEST_PG_DIR");
  if (dir == nullptr || *dir == '\0') {
    problem = "no PostgreSQL test server: run through ctest (fixture `postgresql`), or set "
              "PUZZLE_TEST_PG_URL=postgresql://user:password@host:port/postgres";
    return {};
  }
  std::ifstream in{std::string{dir} + "/url"};
  std::string url;
  std::getline(in, url);
  if (url.empty())
    throw std::runtime_error(std::string{"PUZZLE_TEST_PG_DIR="} + dir
                             + " holds no url: the fixture test services.postgresql.start "
                               "did not start the server (see its output)");
  return url;
}

/// `url` with its database name replaced by `db`.
inline std::string with_database(const std::string& url, const std::string& db) {
  auto query = url.find('?');
  auto base = url.substr(0, query);
  auto slash = base.find('/', base.find("://") + 3);
  auto out = (slash == std::string::npos ? base : base.substr(0, slash)) + "/" + db;
  if (query != std::string::npos) out += url.substr(query);
  return out;
}

/// A SOCI session on `url`, for checks the store has no function for.
inline std::unique_ptr<soci::session> raw_session(const std::string& url) {
  auto where = puzzle::persistence::parse_store_url(url);
  if (!where) throw std::runtime_error(puzzle::message_of(where.error()));
  if (where->backend == puzzle::persistence::store_backend::sqlite)
    return std::make_unique<soci::session>(soci::sqlite3, "db=\"" + where->path + "\"");
  return std::make_unique<soci::session>(soci::postgresql, where->connect);
}

/// One test's database, removed at the end.
class test_database {
public:
  explicit test_database(backend kind) : kind_(kind) {
    if (kind == backend::sqlite) {
      char pattern[] = "/tmp/puzzle-store-XXXXXX";
      if (::mkdtemp(pattern) == nullptr) throw std::runtime_error("mkdtemp failed");
      dir_ = pattern;
      url_ = "sqlite:" + dir_ + "/puzzle.db";
      return;
    }
    server_ = pg_server_url(skip_reason_);
    if (server_.empty()) return;
    static std::atomic<int> counter{0};
    std::random_device rd;
    name_ = "puzzle_t_" + std::to_string(::getpid()) + "_" + std::to_string(counter++) + "_"
        + std::to_string(rd() % 1'000'000);
    auto admin = raw_session(server_);
    *admin << "CREATE DATABASE " + name_;
    url_ = with_database(server_, name_);
  }

  ~test_database() {
    if (!dir_.empty()) {
      std::error_code ec;
      std::filesystem::remove_all(dir_, ec);
    }
    if (!name_.empty()) {
      try {
        auto admin = raw_session(server_);
        *admin << "DROP DATABASE IF EXISTS " + name_ + " WITH (FORCE)";
      } catch (const std::exception& ex) {
        ADD_FAILURE() << "cannot drop test database " << name_ << ": " << ex.what();
      }
    }
  }

  test_database(const test_database&) = delete;
  test_database& operator=(const test_database&) = delete;

  /// Why the test cannot run here (PostgreSQL outside the fixture).
  const std::string& skip_reason() const {
    return skip_reason_;
  }

  /// store.url of this database.
  const std::string& url() const {
    return url_;
  }

  backend kind() const {
    return kind_;
  }

  /// The SQLite temp folder (empty for PostgreSQL).
  const std::string& dir() const {
    return dir_;
  }

  std::unique_ptr<soci::session> raw() const {
    return raw_session(url_);
  }

  /// Ends every other connection to this database from the server side,
  /// as a server restart does (PostgreSQL only).
  void kill_connections() const {
    auto admin = raw_session(server_);
    *admin << "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '" + name_
            + "' AND pid <> pg_backend_pid()";
  }

private:
  backend kind_;
  std::string dir_;
  std::string server_;
  std::string name_;
  std::string url_;
  std::string skip_reason_;
};

} // namespace puzzle::test
