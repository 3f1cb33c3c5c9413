#include "persistence/sql/migrations.hpp"

#include <chrono>
#include <exception>
#include <set>

#include <soci/soci.h>

#include "actors/caf_errors.hpp"

namespace puzzle::persistence {

namespace {

// Version 1: the session, its pieces, participants and chat. Child rows go
// with their session (ON DELETE CASCADE; SQLite needs foreign_keys=ON).
// Column names avoid words that are keywords in either dialect (`rows`,
// `timestamp`): grid_rows, grid_cols, sent_at.
constexpr const char* v1_sql = R"sql(
CREATE TABLE sessions (
  id TEXT NOT NULL PRIMARY KEY,
  name TEXT NOT NULL,
  owner_id TEXT NOT NULL,
  is_public SMALLINT NOT NULL CHECK (is_public IN (0, 1)),
  image_id TEXT NOT NULL,
  image_url TEXT NOT NULL,
  image_width INTEGER NOT NULL,
  image_height INTEGER NOT NULL,
  spec_image_width INTEGER NOT NULL,
  spec_image_height INTEGER NOT NULL,
  grid_rows INTEGER NOT NULL,
  grid_cols INTEGER NOT NULL,
  seed BIGINT NOT NULL,
  rotation SMALLINT NOT NULL CHECK (rotation IN (0, 1)),
  snap_ratio DOUBLE PRECISION NOT NULL,
  table_factor DOUBLE PRECISION NOT NULL,
  version BIGINT NOT NULL,
  created_at BIGINT NOT NULL,
  started_at BIGINT NOT NULL,
  completed_at BIGINT NOT NULL,
  schema_version INTEGER NOT NULL
);
CREATE INDEX sessions_created_at_idx ON sessions (created_at);
CREATE TABLE pieces (
  session_id TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
  piece_id INTEGER NOT NULL,
  x DOUBLE PRECISION NOT NULL,
  y DOUBLE PRECISION NOT NULL,
  rotation INTEGER NOT NULL,
  placed SMALLINT NOT NULL CHECK (placed IN (0, 1)),
  group_id INTEGER NOT NULL,
  PRIMARY KEY (session_id, piece_id)
);
CREATE TABLE participants (
  session_id TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
  user_id TEXT NOT NULL,
  username TEXT NOT NULL,
  color TEXT NOT NULL,
  joined_at BIGINT NOT NULL,
  PRIMARY KEY (session_id, user_id)
);
CREATE INDEX participants_joined_at_idx ON participants (session_id, joined_at);
CREATE TABLE chat (
  session_id TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
  seq BIGINT NOT NULL,
  id TEXT NOT NULL,
  user_id TEXT NOT NULL,
  username TEXT NOT NULL,
  message TEXT NOT NULL,
  sent_at BIGINT NOT NULL,
  PRIMARY KEY (session_id, seq)
)
)sql";

// Version 2: uploaded images, shared by every node on the same database.
// The bytes are BYTEA, PostgreSQL's binary type; SQLite accepts the name
// and keeps a bound BLOB as is. `bytes` is the file exactly as uploaded.
// Listing reads LENGTH(bytes), which SQLite answers from the record header
// without reading the blob.
constexpr const char* v2_sql = R"sql(
CREATE TABLE images (
  id TEXT NOT NULL PRIMARY KEY,
  name TEXT NOT NULL,
  content_type TEXT NOT NULL,
  width INTEGER NOT NULL,
  height INTEGER NOT NULL,
  bytes BYTEA NOT NULL,
  thumbnail BYTEA NOT NULL,
  thumbnail_content_type TEXT NOT NULL,
  owner_id TEXT NOT NULL,
  created_at BIGINT NOT NULL
);
CREATE INDEX images_created_at_idx ON images (created_at)
)sql";

// Accounts (transports/api/account_api.cpp). `username_key` is the
// lower-case username and `email` is stored lower case: uniqueness and
// login ignore case. Plain TEXT/BIGINT: the same SQL on SQLite and
// PostgreSQL.
constexpr const char* v3_sql = R"sql(
CREATE TABLE users (
  id TEXT NOT NULL PRIMARY KEY,
  username TEXT NOT NULL,
  username_key TEXT NOT NULL UNIQUE,
  email TEXT NOT NULL UNIQUE,
  password_hash TEXT NOT NULL,
  roles TEXT NOT NULL,
  created_at BIGINT NOT NULL
)
)sql";

// Private sessions: the invite code and the users who redeemed it. No
// foreign key to `sessions`: a session put replaces its row (DELETE and
// INSERT), which must not cascade to these; session ids are never reused,
// so rows of a deleted session are inert. Plain TEXT/BIGINT for SQLite and
// PostgreSQL alike.
constexpr const char* v4_sql = R"sql(
CREATE TABLE session_invites (
  session_id TEXT NOT NULL PRIMARY KEY,
  code TEXT NOT NULL,
  created_at BIGINT NOT NULL
);
CREATE TABLE session_access (
  session_id TEXT NOT NULL,
  user_id TEXT NOT NULL,
  granted_at BIGINT NOT NULL,
  PRIMARY KEY (session_id, user_id)
)
)sql";

// Cluster membership and the session directory (cluster/membership,
// docs/cluster.md). One row per process start of a node: a restarted node
// gets a new incarnation and a new row, so its old row stays `down` and a
// fenced heartbeat can never bring it back. The directory row of a session
// changes owner only by compare-and-set on `generation`. TEXT/BIGINT only.
constexpr const char* v5_sql = R"sql(
CREATE TABLE cluster_members (
  cluster_name TEXT NOT NULL,
  incarnation TEXT NOT NULL,
  address TEXT NOT NULL,
  node_id TEXT NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('joining', 'up', 'leaving', 'down')),
  last_heartbeat_ms BIGINT NOT NULL,
  started_at_ms BIGINT NOT NULL,
  PRIMARY KEY (cluster_name, incarnation)
);
CREATE TABLE session_directory (
  session_id TEXT NOT NULL PRIMARY KEY,
  owner_incarnation TEXT NOT NULL,
  generation BIGINT NOT NULL
)
)sql";

// What operators did to the cluster (cluster/inspect, docs/operators.md):
// who, what, when and how it ended. Rows are only ever appended.
constexpr const char* v6_sql = R"sql(
CREATE TABLE operator_audit (
  id TEXT NOT NULL PRIMARY KEY,
  at_ms BIGINT NOT NULL,
  operator_id TEXT NOT NULL,
  operator_name TEXT NOT NULL,
  action TEXT NOT NULL,
  target TEXT NOT NULL,
  outcome TEXT NOT NULL,
  detail TEXT NOT NULL
);
CREATE INDEX operator_audit_at ON operator_audit (at_ms)
)sql";

const char* const bootstrap_sql
    = "CREATE TABLE IF NOT EXISTS schema_migrations ("
      "version INTEGER NOT NULL PRIMARY KEY, "
      "description TEXT NOT NULL, "
      "applied_at BIGINT NOT NULL)";

long long now_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch())
      .count();
}

std::string trim(const std::string& text) {
  const char* blanks = " \t\r\n";
  auto first = text.find_first_not_of(blanks);
  if (first == std::string::npos) return {};
  auto last = text.find_last_not_of(blanks);
  return text.substr(first, last - first + 1);
}

std::set<int> applied_versions(soci::session& sql) {
  std::set<int> result;
  soci::rowset<int> rows = sql.prepare << "SELECT version FROM "
                                          "schema_migrations";
  for (int version : rows)
    result.insert(version);
  return result;
}

} // namespace

const std::vector<migration>& migrations() {
  static const std::vector<migration> all{
      {1, "sessions, pieces, participants and chat", v1_sql},
      {2, "uploaded images", v2_sql},
      {3, "accounts", v3_sql},
      {4, "private session invites", v4_sql},
      {5, "cluster membership and session directory", v5_sql},
      {6, "operator audit log", v6_sql},
  };
  return all;
}

int32_t latest_schema_version() {
  return migrations().empty() ? 0 : migrations().back().version;
}

std::vector<std::string> split_statements(const std::string& sql) {
  std::vector<std::string> result;
  size_t begin = 0;
  while (begin <= sql.size()) {
    auto end = sql.find(';', begin);
    if (end == std::string::npos) end = sql.size();
    auto statement = trim(sql.substr(begin, end - begin));
    if (!statement.empty()) result.push_back(std::move(statement));
    begin = end + 1;
  }
  return result;
}

namespace {

// Key of the PostgreSQL advisory lock that serialises migrations: nodes of
// a cluster start together against one database, and two of them creating
// the same table at once would fail one start. Any constant works; this is
// "puzzle" in ASCII.
constexpr long long migration_lock_key = 0x70757a7a6c65;

/// Holds the migration lock on PostgreSQL for as long as it lives (a
/// session-level lock: it survives the migrations' own transactions).
/// Does nothing on SQLite, whose writers are serialised by the file lock.
class migration_lock {
public:
  explicit migration_lock(soci::session& sql) : sql_(sql) {
    if (sql_.get_backend_name() != "postgresql") return;
    sql_ << "SELECT pg_advisory_lock(" + std::to_string(migration_lock_key)
            + ")";
    held_ = true;
  }

  ~migration_lock() {
    if (!held_) return;
    try {
      sql_ << "SELECT pg_advisory_unlock(" + std::to_string(migration_lock_key)
              + ")";
    } catch (const std::exception&) {
      // The connection is gone, and the lock went with it.
    }
  }

  migration_lock(const migration_lock&) = delete;
  migration_lock& operator=(const migration_lock&) = delete;

private:
  soci::session& sql_;
  bool held_ = false;
};

} // namespace

caf::expected<size_t> apply_migrations(soci::session& sql) {
  const migration* current = nullptr;
  try {
    migration_lock lock{sql};
    sql << bootstrap_sql;
    auto applied = applied_versions(sql);
    if (!applied.empty() && *applied.rbegin() > latest_schema_version())
      return make_error(errc::internal,
                        "store: database schema version "
                            + std::to_string(*applied.rbegin())
                            + " is newer than this build ("
                            + std::to_string(latest_schema_version()) + ")");
    size_t count = 0;
    for (const auto& step : migrations()) {
      if (applied.count(step.version) != 0) continue;
      current = &step;
      soci::transaction tx{sql};
      for (const auto& statement : split_statements(step.sql))
        sql << statement;
      int version = step.version;
      std::string description = step.description;
      long long applied_at = now_ms();
      sql << "INSERT INTO schema_migrations (version, description, "
             "applied_at) VALUES (:v, :d, :t)",
          soci::use(version), soci::use(description), soci::use(applied_at);
      tx.commit();
      ++count;
    }
    return count;
  } catch (const std::exception& ex) {
    std::string what = "store: schema migration";
    if (current != nullptr)
      what += " " + std::to_string(current->version) + " ("
          + current->description + ")";
    return make_error(errc::internal, what + " failed: " + ex.what());
  }
}

} // namespace puzzle::persistence
