#include "persistence/sql/soci_store.hpp"

#include <atomic>
#include <chrono>
#include <cstring>
#include <exception>
#include <filesystem>
#include <system_error>
#include <utility>

#include <soci/connection-pool.h>
#include <soci/postgresql/soci-postgresql.h>
#include <soci/soci.h>
#include <soci/sqlite3/soci-sqlite3.h>

#include "actors/caf_errors.hpp"
#include "persistence/sql/migrations.hpp"

namespace puzzle::persistence {

namespace {

// How long SQLite waits for a lock held by another connection (an operator's
// sqlite3 shell, a backup) before a statement fails. Only the store actor
// writes, so this is a safety net, not a tuning knob.
constexpr std::chrono::milliseconds busy_timeout{5'000};

// Rows per round of a bulk fetch of pieces: a 5000-piece session loads in a
// handful of fetches without a 5000-row buffer per column.
constexpr size_t fetch_rows = 1024;

// Savepoint that isolates one write inside a batch transaction.
constexpr const char* savepoint_name = "puzzle_write";

// uint64_t values are stored bit-cast to int64_t (BIGINT): lossless for the
// whole range, and the same on SQLite and PostgreSQL.
long long to_signed(uint64_t x) noexcept {
  long long result;
  static_assert(sizeof(result) == sizeof(x));
  std::memcpy(&result, &x, sizeof(x));
  return result;
}

uint64_t to_unsigned(long long x) noexcept {
  uint64_t result;
  static_assert(sizeof(result) == sizeof(x));
  std::memcpy(&result, &x, sizeof(x));
  return result;
}

int to_int(bool x) noexcept {
  return x ? 1 : 0;
}

caf::error internal(const std::string& what, const std::exception& ex) {
  return make_error(errc::internal, "store: " + what + " failed: " + ex.what());
}

constexpr const char* update_pieces_sql
    = "UPDATE pieces SET x = :x, y = :y, rotation = :rotation, "
      "placed = :placed, group_id = :group_id "
      "WHERE session_id = :session_id AND piece_id = :piece_id";

/// The statements of the hot write paths, prepared once and bound to the
/// buffers next to them: each write only refills the buffers and executes.
struct prepared {
  // save_drop: the session row.
  std::string drop_session;
  long long drop_version = 0;
  long long drop_started = 0;
  long long drop_completed = 0;
  soci::statement update_session;

  // save_drop: the changed pieces, one bulk execution.
  std::vector<std::string> piece_session;
  std::vector<int> piece_id;
  std::vector<double> piece_x;
  std::vector<double> piece_y;
  std::vector<int> piece_rotation;
  std::vector<int> piece_placed;
  std::vector<int> piece_group;
  soci::statement update_pieces;

  // upsert_participant: inserts nothing when the session does not exist.
  std::string who_session;
  std::string who_user;
  std::string who_name;
  std::string who_color;
  long long who_joined = 0;
  soci::statement upsert_participant;

  // append_chat: the next sequence number is computed in the same statement;
  // inserts nothing when the session does not exist.
  std::string chat_session;
  std::string chat_id;
  std::string chat_user;
  std::string chat_name;
  std::string chat_message;
  long long chat_sent = 0;
  soci::statement insert_chat;

  std::string trim_session;
  std::string trim_session_inner;
  long long trim_keep = 0;
  soci::statement trim_chat;

  // Parameters in INSERT ... SELECT are cast so that PostgreSQL, which
  // cannot infer their types there, accepts the same text.
  explicit prepared(soci::session& sql)
      : update_session(
          (sql.prepare
               << "UPDATE sessions SET version = :version, "
                  "started_at = :started_at, completed_at = :completed_at "
                  "WHERE id = :id",
           soci::use(drop_version, "version"),
           soci::use(drop_started, "started_at"),
           soci::use(drop_completed, "completed_at"),
           soci::use(drop_session, "id"))),
        update_pieces((sql.prepare << update_pieces_sql,
                       soci::use(piece_x, "x"), soci::use(piece_y, "y"),
                       soci::use(piece_rotation, "rotation"),
                       soci::use(piece_placed, "placed"),
                       soci::use(piece_group, "group_id"),
                       soci::use(piece_session, "session_id"),
                       soci::use(piece_id, "piece_id"))),
        upsert_participant(
            (sql.prepare
                 << "INSERT INTO participants "
                    "(session_id, user_id, username, color, joined_at) "
                    "SELECT s.id, CAST(:user_id AS TEXT), "
                    "CAST(:username AS TEXT), CAST(:color AS TEXT), "
                    "CAST(:joined_at AS BIGINT) "
                    "FROM sessions s WHERE s.id = :session_id "
                    "ON CONFLICT (session_id, user_id) DO UPDATE SET "
                    "username = excluded.username, color = excluded.color, "
                    "joined_at = excluded.joined_at",
             soci::use(who_user, "user_id"), soci::use(who_name, "username"),
             soci::use(who_color, "color"), soci::use(who_joined, "joined_at"),
             soci::use(who_session, "session_id"))),
        insert_chat((
            sql.prepare << "INSERT INTO chat (session_id, seq, id, user_id, "
                           "username, message, sent_at) "
                           "SELECT s.id, (SELECT COALESCE(MAX(c.seq), 0) + 1 "
                           "FROM chat c WHERE c.session_id = s.id), "
                           "CAST(:id AS TEXT), CAST(:user_id AS TEXT), "
                           "CAST(:username AS TEXT), CAST(:message AS TEXT), "
                           "CAST(:sent_at AS BIGINT) "
                           "FROM sessions s WHERE s.id = :session_id",
            soci::use(chat_id, "id"), soci::use(chat_user, "user_id"),
            soci::use(chat_name, "username"),
            soci::use(chat_message, "message"), soci::use(chat_sent, "sent_at"),
            soci::use(chat_session, "session_id"))),
        trim_chat((sql.prepare
                       << "DELETE FROM chat WHERE session_id = :session_id "
                          "AND seq NOT IN (SELECT c.seq FROM chat c "
                          "WHERE c.session_id = :inner_session_id "
                          "ORDER BY c.seq DESC LIMIT :keep)",
                   soci::use(trim_session, "session_id"),
                   soci::use(trim_session_inner, "inner_session_id"),
                   soci::use(trim_keep, "keep"))) {
    // nop
  }
};

} // namespace

struct soci_store::impl {
  impl(store_location where, std::shared_ptr<soci::connection_pool> connections,
       size_t connection_count)
      : location(std::move(where)), pool(std::move(connections)),
        pool_size(connection_count), sql(*pool) {
    // nop
  }

  store_location location;
  /// Every connection of this store; `sql` leases one of them for the
  /// store's own use, the others serve `lease()`.
  std::shared_ptr<soci::connection_pool> pool;
  size_t pool_size;
  soci::session sql;
  bool batch_open = false;
  /// Set when a write inside the batch could not be undone: the batch can
  /// then only be rolled back.
  caf::error batch_error;
  /// The connection broke (the server restarted or went away) and could not
  /// be opened again yet. SOCI's session must not be touched until
  /// `reconnect()` succeeds: after a failed reconnect it has no backend.
  bool down = false;
  /// The last failure was the connection breaking.
  bool lost = false;
  /// The failing unit of work had sent its COMMIT: whether it was stored is
  /// unknown, so it must not run again.
  bool commit_sent = false;
  std::atomic<uint64_t> transactions{0};
  std::atomic<uint64_t> rollbacks{0};
  std::atomic<uint64_t> reconnects{0};
  /// Created on first use (the tables must exist); destroyed before `sql`.
  std::unique_ptr<prepared> statements;

  prepared& stmts() {
    if (!statements) statements = std::make_unique<prepared>(sql);
    return *statements;
  }

  bool postgres() const noexcept {
    return location.backend == store_backend::postgresql;
  }

  /// Records whether `ex` means that the connection is gone. SQLite has no
  /// connection to lose.
  void note_failure(const std::exception& ex) noexcept {
    if (!postgres()) return;
    auto* soci_ex = dynamic_cast<const soci::soci_error*>(&ex);
    if (soci_ex != nullptr
        && soci_ex->get_error_category()
            == soci::soci_error::connection_error) {
      lost = true;
      return;
    }
    try {
      // A round trip: only after a failure.
      lost = !sql.is_connected();
    } catch (const std::exception&) {
      lost = true;
    }
  }

  /// Opens the connection again; the prepared statements go first (they
  /// belong to the old connection). A batch in progress is gone with it.
  bool reconnect() noexcept {
    statements.reset();
    if (batch_open) {
      batch_open = false;
      batch_error = caf::error{};
      ++rollbacks;
    }
    try {
      sql.reconnect();
      down = false;
      lost = false;
      ++reconnects;
      return true;
    } catch (const std::exception&) {
      down = true;
      return false;
    }
  }

  /// Before any statement: a connection that is down gets one attempt to
  /// come back, so the store heals by itself once the server is back.
  caf::error ensure_up() {
    if (!down || reconnect()) return {};
    return make_error(errc::internal,
                      "store: the database at " + location.display
                          + " is unreachable");
  }

  /// Whether a unit of work that failed may run once more: the connection
  /// broke, it could be opened again, and no COMMIT of the unit was sent.
  bool retry_after_failure() noexcept {
    if (!lost || batch_open) return false;
    bool safe = !commit_sent;
    return reconnect() && safe;
  }

  /// Runs `body` (which returns a `caf::error` and may throw) as one write:
  /// in its own transaction, or inside the open batch under a savepoint.
  /// Outside a batch a write that failed because the connection broke runs
  /// once more on a new connection.
  template<class F>
  caf::error write(const std::string& what, F&& body) {
    if (batch_open) return write_in_batch(what, body);
    if (auto err = ensure_up()) return err;
    auto err = write_once(what, body);
    if (err && retry_after_failure()) err = write_once(what, body);
    return err;
  }

  template<class F>
  caf::error write_once(const std::string& what, F& body) {
    lost = false;
    commit_sent = false;
    try {
      soci::transaction tx{sql};
      if (auto err = body()) {
        tx.rollback();
        ++rollbacks;
        return err;
      }
      commit_sent = true;
      tx.commit();
      ++transactions;
      return {};
    } catch (const std::exception& ex) {
      // soci::transaction's destructor rolled back.
      note_failure(ex);
      statements.reset();
      ++rollbacks;
      return internal(what, ex);
    }
  }

  /// Runs `body` (which returns its result and may throw) as one read; a
  /// read that failed because the connection broke runs once more on a new
  /// connection (outside a batch).
  template<class T, class F>
  caf::expected<T> read(const std::string& what, F&& body) {
    if (auto err = ensure_up()) return err;
    for (int attempt = 0;; ++attempt) {
      lost = false;
      commit_sent = false;
      try {
        return body();
      } catch (const std::exception& ex) {
        note_failure(ex);
        if (attempt > 0 || !retry_after_failure()) return internal(what, ex);
      }
    }
  }

  template<class F>
  caf::error write_in_batch(const std::string& what, F& body) {
    if (batch_error) return batch_error;
    try {
      sql << std::string{"SAVEPOINT "} + savepoint_name;
    } catch (const std::exception& ex) {
      note_failure(ex);
      batch_error = internal(what, ex);
      return batch_error;
    }
    caf::error err;
    try {
      err = body();
      if (!err) {
        sql << std::string{"RELEASE SAVEPOINT "} + savepoint_name;
        return {};
      }
    } catch (const std::exception& ex) {
      note_failure(ex);
      statements.reset();
      err = internal(what, ex);
    }
    undo_savepoint(err);
    return err;
  }

  void undo_savepoint(const caf::error& cause) {
    try {
      sql << std::string{"ROLLBACK TO SAVEPOINT "} + savepoint_name;
      sql << std::string{"RELEASE SAVEPOINT "} + savepoint_name;
    } catch (const std::exception& ex) {
      // The transaction itself is gone or broken (SQLite rolls back on some
      // I/O errors, a PostgreSQL connection may have dropped): no write of
      // this batch may be reported as stored.
      note_failure(ex);
      batch_error = make_error(errc::internal,
                               "store: batch aborted after '"
                                   + message_of(cause) + "': " + ex.what());
    }
  }
};

// -- construction -------------------------------------------------------------

namespace {

/// Opens the SQLite file with WAL journaling, full sync, foreign keys and a
/// busy timeout; throws on failure.
caf::error open_sqlite(soci::session& sql, const std::string& path) {
  sql.open(soci::sqlite3, "db=\"" + path + "\"");
  std::string mode;
  sql << "PRAGMA journal_mode=WAL", soci::into(mode);
  if (mode != "wal" && !(path == ":memory:" && mode == "memory"))
    return make_error(errc::internal,
                      "store.url: cannot use WAL on '" + path
                          + "' (journal_mode=" + mode + ")");
  sql << "PRAGMA synchronous=FULL";
  sql << "PRAGMA foreign_keys=ON";
  sql << "PRAGMA busy_timeout=" + std::to_string(busy_timeout.count());
  int foreign_keys = 0;
  sql << "PRAGMA foreign_keys", soci::into(foreign_keys);
  if (foreign_keys != 1)
    return make_error(errc::internal,
                      "store.url: SQLite without foreign key support");
  return {};
}

} // namespace

caf::expected<std::unique_ptr<soci_store>>
soci_store::open(const std::string& url, const store_open_options& options) {
  std::string password;
  if (auto env = std::getenv(store_password_env); env != nullptr)
    password = env;
  auto connect_timeout = std::chrono::duration_cast<std::chrono::seconds>(
      options.connect_timeout);
  auto location = parse_store_url(
      url, password,
      static_cast<int>(std::max<long long>(
          1, static_cast<long long>(connect_timeout.count()))));
  if (!location) return std::move(location.error());
  // SQLite: one connection (an in-memory database exists once per
  // connection, and the store actor is the only writer anyway).
  size_t pool_size = location->backend == store_backend::sqlite
      ? 1
      : std::max<size_t>(options.pool_size, 1);
  if (location->backend == store_backend::sqlite
      && location->path != ":memory:") {
    auto parent = std::filesystem::path{location->path}.parent_path();
    std::error_code ec;
    if (!parent.empty()) std::filesystem::create_directories(parent, ec);
    if (ec)
      return make_error(errc::internal,
                        "store.url: cannot create directory '" + parent.string()
                            + "': " + ec.message());
  }
  auto pool = std::make_shared<soci::connection_pool>(pool_size);
  try {
    for (size_t i = 0; i < pool_size; ++i) {
      if (location->backend == store_backend::sqlite) {
        if (auto err = open_sqlite(pool->at(i), location->path)) return err;
      } else {
        pool->at(i).open(soci::postgresql, location->connect);
      }
    }
  } catch (const std::exception& ex) {
    return make_error(errc::internal,
                      "store.url: cannot open '" + location->display
                          + "': " + ex.what());
  }
  auto self = std::make_unique<impl>(std::move(*location), std::move(pool),
                                     pool_size);
  return std::make_unique<soci_store>(std::move(self));
}

soci_store::soci_store(std::unique_ptr<impl> self) noexcept
    : self_(std::move(self)) {
  // nop
}

soci_store::~soci_store() {
  rollback();
}

caf::expected<size_t> soci_store::migrate() {
  if (self_->batch_open)
    return make_error(errc::internal, "store: migrate inside a batch");
  if (auto err = self_->ensure_up()) return err;
  self_->statements.reset();
  return apply_migrations(self_->sql);
}

// -- writes -------------------------------------------------------------------

caf::error soci_store::put_session(const session_state& state) {
  auto& sql = self_->sql;
  return self_->write("put of session " + state.session_id, [&]() {
    const auto& id = state.session_id;
    // Replaces all rows: the cascade removes the old children.
    sql << "DELETE FROM sessions WHERE id = :id", soci::use(id, "id");
    const auto& spec = state.spec;
    int is_public = to_int(state.is_public);
    int rotation = to_int(spec.rotation);
    long long seed = to_signed(spec.seed);
    long long version = to_signed(state.version);
    long long created = state.created_at;
    long long started = state.started_at;
    long long completed = state.completed_at;
    int schema = state.schema_version;
    sql << "INSERT INTO sessions (id, name, owner_id, is_public, image_id, "
           "image_url, image_width, image_height, spec_image_width, "
           "spec_image_height, grid_rows, grid_cols, seed, rotation, "
           "snap_ratio, table_factor, version, created_at, started_at, "
           "completed_at, schema_version) VALUES (:id, :name, :owner_id, "
           ":is_public, :image_id, :image_url, :image_width, :image_height, "
           ":spec_image_width, :spec_image_height, :grid_rows, :grid_cols, "
           ":seed, :rotation, :snap_ratio, :table_factor, :version, "
           ":created_at, :started_at, :completed_at, :schema_version)",
        soci::use(id, "id"), soci::use(state.name, "name"),
        soci::use(state.owner_id, "owner_id"),
        soci::use(is_public, "is_public"),
        soci::use(state.image.id, "image_id"),
        soci::use(state.image.url, "image_url"),
        soci::use(state.image.width, "image_width"),
        soci::use(state.image.height, "image_height"),
        soci::use(spec.image_width, "spec_image_width"),
        soci::use(spec.image_height, "spec_image_height"),
        soci::use(spec.rows, "grid_rows"), soci::use(spec.cols, "grid_cols"),
        soci::use(seed, "seed"), soci::use(rotation, "rotation"),
        soci::use(spec.snap_ratio, "snap_ratio"),
        soci::use(spec.table_factor, "table_factor"),
        soci::use(version, "version"), soci::use(created, "created_at"),
        soci::use(started, "started_at"), soci::use(completed, "completed_at"),
        soci::use(schema, "schema_version");
    // Bulk binding: one execution per table, however many rows.
    if (auto n = state.pieces.size(); n > 0) {
      std::vector<std::string> session(n, id);
      std::vector<int> piece_id(n);
      std::vector<double> x(n);
      std::vector<double> y(n);
      std::vector<int> piece_rotation(n);
      std::vector<int> placed(n);
      std::vector<int> group(n);
      for (size_t i = 0; i < n; ++i) {
        const auto& piece = state.pieces[i];
        piece_id[i] = piece.id;
        x[i] = piece.x;
        y[i] = piece.y;
        piece_rotation[i] = piece.rotation;
        placed[i] = to_int(piece.placed);
        group[i] = piece.group_id;
      }
      sql << "INSERT INTO pieces (session_id, piece_id, x, y, rotation, "
             "placed, group_id) VALUES (:session_id, :piece_id, :x, :y, "
             ":rotation, :placed, :group_id)",
          soci::use(session, "session_id"), soci::use(piece_id, "piece_id"),
          soci::use(x, "x"), soci::use(y, "y"),
          soci::use(piece_rotation, "rotation"), soci::use(placed, "placed"),
          soci::use(group, "group_id");
    }
    if (auto n = state.participants.size(); n > 0) {
      std::vector<std::string> session(n, id);
      std::vector<std::string> user(n);
      std::vector<std::string> name(n);
      std::vector<std::string> color(n);
      std::vector<long long> joined(n);
      for (size_t i = 0; i < n; ++i) {
        const auto& who = state.participants[i];
        user[i] = who.user_id;
        name[i] = who.username;
        color[i] = who.color;
        joined[i] = who.joined_at;
      }
      sql << "INSERT INTO participants (session_id, user_id, username, "
             "color, joined_at) VALUES (:session_id, :user_id, :username, "
             ":color, :joined_at)",
          soci::use(session, "session_id"), soci::use(user, "user_id"),
          soci::use(name, "username"), soci::use(color, "color"),
          soci::use(joined, "joined_at");
    }
    if (auto n = state.chat.size(); n > 0) {
      std::vector<std::string> session(n, id);
      std::vector<long long> seq(n);
      std::vector<std::string> line_id(n);
      std::vector<std::string> user(n);
      std::vector<std::string> name(n);
      std::vector<std::string> message(n);
      std::vector<long long> sent(n);
      for (size_t i = 0; i < n; ++i) {
        const auto& line = state.chat[i];
        seq[i] = static_cast<long long>(i) + 1;
        line_id[i] = line.id;
        user[i] = line.user_id;
        name[i] = line.username;
        message[i] = line.message;
        sent[i] = line.timestamp;
      }
      sql << "INSERT INTO chat (session_id, seq, id, user_id, username, "
             "message, sent_at) VALUES (:session_id, :seq, :id, :user_id, "
             ":username, :message, :sent_at)",
          soci::use(session, "session_id"), soci::use(seq, "seq"),
          soci::use(line_id, "id"), soci::use(user, "user_id"),
          soci::use(name, "username"), soci::use(message, "message"),
          soci::use(sent, "sent_at");
    }
    return caf::error{};
  });
}

caf::error soci_store::save_drop(const drop_record& drop) {
  return self_->write("save of a drop in " + drop.session_id, [&]() {
    auto& st = self_->stmts();
    st.drop_session = drop.session_id;
    st.drop_version = to_signed(drop.version);
    st.drop_started = drop.started_at;
    st.drop_completed = drop.completed_at;
    st.update_session.execute(true);
    if (st.update_session.get_affected_rows() == 0)
      return make_error(errc::session_not_found,
                        "session " + drop.session_id + " not found");
    auto n = drop.pieces.size();
    if (n == 0) return caf::error{};
    st.piece_session.assign(n, drop.session_id);
    st.piece_id.resize(n);
    st.piece_x.resize(n);
    st.piece_y.resize(n);
    st.piece_rotation.resize(n);
    st.piece_placed.resize(n);
    st.piece_group.resize(n);
    for (size_t i = 0; i < n; ++i) {
      const auto& piece = drop.pieces[i];
      st.piece_id[i] = piece.id;
      st.piece_x[i] = piece.x;
      st.piece_y[i] = piece.y;
      st.piece_rotation[i] = piece.rotation;
      st.piece_placed[i] = to_int(piece.placed);
      st.piece_group[i] = piece.group_id;
    }
    long long changed = 0;
    if (self_->postgres()) {
      // SOCI 4.0.3's PostgreSQL backend crashes when a prepared bulk
      // statement runs again with vectors of another size: a statement per
      // drop there (the server parses it each time, a small cost next to
      // the round trip).
      soci::statement once
          = (self_->sql.prepare << update_pieces_sql,
             soci::use(st.piece_x, "x"), soci::use(st.piece_y, "y"),
             soci::use(st.piece_rotation, "rotation"),
             soci::use(st.piece_placed, "placed"),
             soci::use(st.piece_group, "group_id"),
             soci::use(st.piece_session, "session_id"),
             soci::use(st.piece_id, "piece_id"));
      once.execute(true);
      changed = once.get_affected_rows();
    } else {
      st.update_pieces.execute(true);
      changed = st.update_pieces.get_affected_rows();
    }
    if (changed != static_cast<long long>(n))
      return make_error(errc::invalid_argument,
                        "store: drop in " + drop.session_id
                            + " names pieces the session does not have");
    return caf::error{};
  });
}

caf::error soci_store::upsert_participant(const std::string& session_id,
                                          const participant& who) {
  return self_->write("join of " + who.user_id + " to " + session_id, [&]() {
    auto& st = self_->stmts();
    st.who_session = session_id;
    st.who_user = who.user_id;
    st.who_name = who.username;
    st.who_color = who.color;
    st.who_joined = who.joined_at;
    st.upsert_participant.execute(true);
    if (st.upsert_participant.get_affected_rows() == 0)
      return make_error(errc::session_not_found,
                        "session " + session_id + " not found");
    return caf::error{};
  });
}

caf::error soci_store::append_chat(const std::string& session_id,
                                   const chat_entry& entry,
                                   uint32_t keep_last) {
  return self_->write("chat in " + session_id, [&]() {
    auto& st = self_->stmts();
    st.chat_session = session_id;
    st.chat_id = entry.id;
    st.chat_user = entry.user_id;
    st.chat_name = entry.username;
    st.chat_message = entry.message;
    st.chat_sent = entry.timestamp;
    st.insert_chat.execute(true);
    if (st.insert_chat.get_affected_rows() == 0)
      return make_error(errc::session_not_found,
                        "session " + session_id + " not found");
    st.trim_session = session_id;
    st.trim_session_inner = session_id;
    st.trim_keep = keep_last;
    st.trim_chat.execute(true);
    return caf::error{};
  });
}

caf::expected<bool> soci_store::remove(const std::string& session_id) {
  bool removed = false;
  auto& sql = self_->sql;
  auto err = self_->write("delete of session " + session_id, [&]() {
    soci::statement st = (sql.prepare << "DELETE FROM sessions WHERE id = :id",
                          soci::use(session_id, "id"));
    st.execute(true);
    removed = st.get_affected_rows() > 0;
    // The cluster's directory row goes with it (a deleted session lives
    // nowhere).
    sql << "DELETE FROM session_directory WHERE session_id = :id",
        soci::use(session_id, "id");
    return caf::error{};
  });
  if (err) return err;
  return removed;
}

// -- batches ------------------------------------------------------------------

caf::error soci_store::begin() {
  if (self_->batch_open)
    return make_error(errc::internal, "store: a batch is already open");
  if (auto err = self_->ensure_up()) return err;
  for (int attempt = 0;; ++attempt) {
    self_->lost = false;
    self_->commit_sent = false;
    try {
      self_->sql.begin();
      break;
    } catch (const std::exception& ex) {
      // A connection that broke while idle shows here first.
      self_->note_failure(ex);
      if (attempt > 0 || !self_->retry_after_failure())
        return internal("begin of a batch", ex);
    }
  }
  self_->batch_open = true;
  self_->batch_error = caf::error{};
  return {};
}

caf::error soci_store::commit() {
  if (!self_->batch_open)
    return make_error(errc::internal, "store: commit without a batch");
  if (self_->batch_error) {
    auto err = std::move(self_->batch_error);
    rollback();
    return err;
  }
  try {
    self_->commit_sent = true;
    self_->sql.commit();
  } catch (const std::exception& ex) {
    self_->note_failure(ex);
    auto err = internal("commit of a batch", ex);
    rollback();
    return err;
  }
  self_->batch_open = false;
  ++self_->transactions;
  return {};
}

void soci_store::rollback() noexcept {
  if (!self_ || !self_->batch_open) return;
  try {
    if (!self_->down) self_->sql.rollback();
  } catch (const std::exception&) {
    // Nothing to undo: SQLite already ended the transaction, or the
    // connection that held it is gone.
  }
  self_->batch_open = false;
  self_->batch_error = caf::error{};
  self_->statements.reset();
  ++self_->rollbacks;
}

bool soci_store::in_batch() const noexcept {
  return self_->batch_open;
}

// -- reads --------------------------------------------------------------------

caf::expected<std::optional<session_state>>
soci_store::load(const std::string& session_id) {
  auto& sql = self_->sql;
  return self_->read<std::optional<session_state>>(
      "load of session " + session_id, [&]() -> std::optional<session_state> {
        // One snapshot for all four queries (inside a batch: the batch's view).
        std::optional<soci::transaction> tx;
        if (!self_->batch_open) tx.emplace(sql);
        session_state result;
        result.session_id = session_id;
        int is_public = 0;
        int rotation = 0;
        long long seed = 0;
        long long version = 0;
        long long created = 0;
        long long started = 0;
        long long completed = 0;
        int schema = 0;
        auto& spec = result.spec;
        sql << "SELECT name, owner_id, is_public, image_id, image_url, "
               "image_width, image_height, spec_image_width, "
               "spec_image_height, "
               "grid_rows, grid_cols, seed, rotation, snap_ratio, "
               "table_factor, "
               "version, created_at, started_at, completed_at, schema_version "
               "FROM sessions WHERE id = :id",
            soci::into(result.name), soci::into(result.owner_id),
            soci::into(is_public), soci::into(result.image.id),
            soci::into(result.image.url), soci::into(result.image.width),
            soci::into(result.image.height), soci::into(spec.image_width),
            soci::into(spec.image_height), soci::into(spec.rows),
            soci::into(spec.cols), soci::into(seed), soci::into(rotation),
            soci::into(spec.snap_ratio), soci::into(spec.table_factor),
            soci::into(version), soci::into(created), soci::into(started),
            soci::into(completed), soci::into(schema),
            soci::use(session_id, "id");
        if (!sql.got_data()) return std::optional<session_state>{};
        result.is_public = is_public != 0;
        spec.rotation = rotation != 0;
        spec.seed = to_unsigned(seed);
        result.version = to_unsigned(version);
        result.created_at = created;
        result.started_at = started;
        result.completed_at = completed;
        result.schema_version = static_cast<uint16_t>(schema);
        {
          std::vector<int> id(fetch_rows);
          std::vector<double> x(fetch_rows);
          std::vector<double> y(fetch_rows);
          std::vector<int> piece_rotation(fetch_rows);
          std::vector<int> placed(fetch_rows);
          std::vector<int> group(fetch_rows);
          soci::statement st
              = (sql.prepare
                     << "SELECT piece_id, x, y, rotation, placed, group_id "
                        "FROM pieces WHERE session_id = :id "
                        "ORDER BY piece_id",
                 soci::into(id), soci::into(x), soci::into(y),
                 soci::into(piece_rotation), soci::into(placed),
                 soci::into(group), soci::use(session_id, "id"));
          st.execute();
          while (st.fetch()) {
            for (size_t i = 0; i < id.size(); ++i) {
              model::piece_state piece;
              piece.id = id[i];
              piece.x = x[i];
              piece.y = y[i];
              piece.rotation = piece_rotation[i];
              piece.placed = placed[i] != 0;
              piece.group_id = group[i];
              result.pieces.push_back(piece);
            }
            // SOCI shrinks the vectors to the rows fetched; restore the chunk.
            for (auto* column : {&id, &piece_rotation, &placed, &group})
              column->resize(fetch_rows);
            x.resize(fetch_rows);
            y.resize(fetch_rows);
          }
        }
        {
          participant who;
          long long joined = 0;
          soci::statement st
              = (sql.prepare << "SELECT user_id, username, color, joined_at "
                                "FROM participants WHERE session_id = :id "
                                "ORDER BY joined_at, user_id",
                 soci::into(who.user_id), soci::into(who.username),
                 soci::into(who.color), soci::into(joined),
                 soci::use(session_id, "id"));
          st.execute();
          while (st.fetch()) {
            who.joined_at = joined;
            who.online = false;
            result.participants.push_back(who);
          }
        }
        {
          chat_entry line;
          long long sent = 0;
          soci::statement st
              = (sql.prepare
                     << "SELECT id, user_id, username, message, sent_at "
                        "FROM chat WHERE session_id = :id ORDER BY seq",
                 soci::into(line.id), soci::into(line.user_id),
                 soci::into(line.username), soci::into(line.message),
                 soci::into(sent), soci::use(session_id, "id"));
          st.execute();
          while (st.fetch()) {
            line.timestamp = sent;
            result.chat.push_back(line);
          }
        }
        if (tx) tx->commit();
        return std::optional<session_state>{std::move(result)};
      });
}

caf::expected<std::vector<session_summary>> soci_store::list() {
  auto& sql = self_->sql;
  return self_->read<std::vector<session_summary>>(
      "list of sessions", [&]() -> std::vector<session_summary> {
        std::vector<session_summary> result;
        session_summary row;
        int is_public = 0;
        long long completed = 0;
        long long created = 0;
        long long pieces = 0;
        long long placed = 0;
        soci::statement st
            = (sql.prepare
                   << "SELECT s.id, s.name, s.owner_id, s.is_public, "
                      "s.image_id, s.image_url, s.image_width, "
                      "s.image_height, s.grid_rows, s.grid_cols, "
                      "s.completed_at, s.created_at, "
                      "(SELECT COUNT(*) FROM pieces p "
                      "WHERE p.session_id = s.id), "
                      "(SELECT COUNT(*) FROM pieces p "
                      "WHERE p.session_id = s.id AND p.placed = 1) "
                      "FROM sessions s ORDER BY s.created_at DESC, s.id",
               soci::into(row.session_id), soci::into(row.name),
               soci::into(row.owner_id), soci::into(is_public),
               soci::into(row.image.id), soci::into(row.image.url),
               soci::into(row.image.width), soci::into(row.image.height),
               soci::into(row.rows), soci::into(row.cols),
               soci::into(completed), soci::into(created), soci::into(pieces),
               soci::into(placed));
        st.execute();
        while (st.fetch()) {
          row.is_public = is_public != 0;
          row.is_completed = completed != 0;
          row.created_at = created;
          row.piece_count = static_cast<int32_t>(pieces);
          row.placed_count = static_cast<int32_t>(placed);
          row.participants_online = 0;
          result.push_back(row);
        }
        return result;
      });
}

bool soci_store::ping() noexcept {
  try {
    // A broken connection is opened again here, so a health check heals
    // the store as soon as the database is back.
    auto ok = self_->read<bool>("ping", [this]() {
      int one = 0;
      self_->sql << "SELECT 1", soci::into(one);
      return one == 1;
    });
    return ok && *ok;
  } catch (const std::exception&) {
    return false;
  }
}

// -- images -------------------------------------------------------------------

namespace {

// SOCI 4.0.3's SQLite backend implements neither `write_from_start` nor
// `read_from_start`: append, and read with its 0-based offsets.

/// The bytes of a fetched blob.
std::string blob_bytes(soci::blob& blob) {
  std::string result(blob.get_len(), '\0');
  if (!result.empty()) {
    auto n = blob.read(0, &result[0], result.size());
    result.resize(n);
  }
  return result;
}

/// PostgreSQL's hex text form of a BYTEA value: `\x` and two lowercase
/// digits per byte.
std::string to_bytea_hex(const std::string& bytes) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  out.reserve(2 + bytes.size() * 2);
  out += "\\x";
  for (char ch : bytes) {
    auto c = static_cast<unsigned char>(ch);
    out += digits[c >> 4];
    out += digits[c & 0x0f];
  }
  return out;
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/// The bytes of a BYTEA value in hex text form; throws on anything else
/// (a server that ignores `bytea_output=hex`).
std::string from_bytea_hex(const std::string& text) {
  if (text.size() < 2 || text[0] != '\\' || text[1] != 'x'
      || text.size() % 2 != 0)
    throw std::runtime_error("BYTEA value not in hex format");
  std::string out;
  out.reserve(text.size() / 2 - 1);
  for (size_t i = 2; i < text.size(); i += 2) {
    int hi = hex_digit(text[i]);
    int lo = hex_digit(text[i + 1]);
    if (hi < 0 || lo < 0) throw std::runtime_error("bad hex in a BYTEA value");
    out += static_cast<char>(hi * 16 + lo);
  }
  return out;
}

/// Image bytes as one statement parameter or result column. SOCI's `blob`
/// is a BLOB on SQLite but a large object (an OID column, not BYTEA) on
/// PostgreSQL, so there the bytes travel as BYTEA's hex text instead.
class image_bytes {
public:
  image_bytes(soci::session& sql, bool postgres) : postgres_(postgres) {
    if (!postgres_) blob_.emplace(sql);
  }

  /// Parameter `name` holding `bytes`.
  void use(soci::statement& st, const std::string& bytes, const char* name) {
    if (postgres_) {
      text_ = to_bytea_hex(bytes);
      st.exchange(soci::use(text_, name));
    } else {
      blob_->append(bytes.data(), bytes.size());
      st.exchange(soci::use(*blob_, name));
    }
  }

  /// The next result column.
  void into(soci::statement& st) {
    if (postgres_)
      st.exchange(soci::into(text_));
    else
      st.exchange(soci::into(*blob_));
  }

  /// The fetched bytes.
  std::string get() {
    if (postgres_) return from_bytea_hex(text_);
    return blob_bytes(*blob_);
  }

private:
  bool postgres_;
  std::optional<soci::blob> blob_;
  std::string text_;
};

} // namespace

caf::error soci_store::put_image(const image_record& image,
                                 uint32_t max_stored) {
  const auto& info = image.info;
  // SQLite binds an empty blob as NULL, which the schema refuses anyway.
  if (image.original.size() == 0 || image.thumbnail.size() == 0)
    return make_error(errc::invalid_argument,
                      "store: image " + info.id + " has an empty file");
  auto& sql = self_->sql;
  return self_->write("put of image " + info.id, [&]() {
    long long stored = 0;
    sql << "SELECT COUNT(*) FROM images", soci::into(stored);
    if (stored >= static_cast<long long>(max_stored))
      return make_error(errc::limit_exceeded,
                        "the store holds " + std::to_string(stored)
                            + " images; at most " + std::to_string(max_stored)
                            + " (images.max-stored)");
    long long created = info.created_at;
    soci::statement st{sql};
    image_bytes original{sql, self_->postgres()};
    image_bytes thumbnail{sql, self_->postgres()};
    st.exchange(soci::use(info.id, "id"));
    st.exchange(soci::use(info.name, "name"));
    st.exchange(soci::use(info.content_type, "content_type"));
    st.exchange(soci::use(info.width, "width"));
    st.exchange(soci::use(info.height, "height"));
    original.use(st, image.original.str(), "bytes");
    thumbnail.use(st, image.thumbnail.str(), "thumbnail");
    st.exchange(
        soci::use(info.thumbnail_content_type, "thumbnail_content_type"));
    st.exchange(soci::use(info.owner_id, "owner_id"));
    st.exchange(soci::use(created, "created_at"));
    st.alloc();
    st.prepare("INSERT INTO images (id, name, content_type, width, height, "
               "bytes, thumbnail, thumbnail_content_type, owner_id, "
               "created_at) VALUES (:id, :name, :content_type, :width, "
               ":height, :bytes, :thumbnail, :thumbnail_content_type, "
               ":owner_id, :created_at)");
    st.define_and_bind();
    st.execute(true);
    return caf::error{};
  });
}

namespace {

/// The columns `image_info` is read from, in `read_info`'s order.
constexpr const char* image_info_columns
    = "id, name, content_type, width, height, LENGTH(bytes), "
      "thumbnail_content_type, owner_id, created_at";

/// Binds the columns of `image_info_columns` to `row` and its helpers.
struct image_row {
  image_info info;
  long long byte_count = 0;
  long long created = 0;

  template<class Statement>
  void into(Statement& st) {
    st.exchange(soci::into(info.id));
    st.exchange(soci::into(info.name));
    st.exchange(soci::into(info.content_type));
    st.exchange(soci::into(info.width));
    st.exchange(soci::into(info.height));
    st.exchange(soci::into(byte_count));
    st.exchange(soci::into(info.thumbnail_content_type));
    st.exchange(soci::into(info.owner_id));
    st.exchange(soci::into(created));
  }

  image_info get() const {
    auto result = info;
    result.byte_count = static_cast<uint64_t>(byte_count);
    result.created_at = created;
    return result;
  }
};

} // namespace

caf::expected<std::vector<image_info>> soci_store::list_images() {
  return self_->read<std::vector<image_info>>(
      "list of images", [&]() -> std::vector<image_info> {
        std::vector<image_info> result;
        image_row row;
        soci::statement st{self_->sql};
        row.into(st);
        st.alloc();
        st.prepare(std::string{"SELECT "} + image_info_columns
                   + " FROM images ORDER BY created_at DESC, id");
        st.define_and_bind();
        st.execute();
        while (st.fetch())
          result.push_back(row.get());
        return result;
      });
}

caf::expected<std::optional<image_info>>
soci_store::load_image_info(const std::string& id) {
  return self_->read<std::optional<image_info>>(
      "load of image " + id, [&]() -> std::optional<image_info> {
        image_row row;
        soci::statement st{self_->sql};
        row.into(st);
        st.exchange(soci::use(id, "id"));
        st.alloc();
        st.prepare(std::string{"SELECT "} + image_info_columns
                   + " FROM images WHERE id = :id");
        st.define_and_bind();
        st.execute();
        if (!st.fetch()) return std::optional<image_info>{};
        return std::optional<image_info>{row.get()};
      });
}

caf::expected<std::optional<image_file>>
soci_store::load_image_file(const std::string& id, image_part part) {
  auto& sql = self_->sql;
  return self_->read<std::optional<image_file>>(
      "load of image " + id + " " + to_string(part),
      [&]() -> std::optional<image_file> {
        image_file result;
        image_bytes bytes{sql, self_->postgres()};
        soci::statement st{sql};
        st.exchange(soci::into(result.content_type));
        bytes.into(st);
        st.exchange(soci::use(id, "id"));
        st.alloc();
        if (part == image_part::thumbnail)
          st.prepare("SELECT thumbnail_content_type, thumbnail FROM images "
                     "WHERE id = :id");
        else
          st.prepare("SELECT content_type, bytes FROM images WHERE id = :id");
        st.define_and_bind();
        st.execute();
        if (!st.fetch()) return std::optional<image_file>{};
        result.bytes = bytes.get();
        return std::optional<image_file>{std::move(result)};
      });
}

// -- for other modules of persistence/ ----------------------------------------

caf::error
soci_store::write(const std::string& what,
                  const std::function<caf::error(soci::session&)>& body) {
  return self_->write(what, [&]() {
    return body(self_->sql);
  });
}

soci::session& soci_store::session() noexcept {
  return self_->sql;
}

caf::error
soci_store::read(const std::string& what,
                 const std::function<caf::error(soci::session&)>& body) {
  caf::error result;
  auto ran = self_->read<bool>(what, [&]() {
    result = body(self_->sql);
    return true;
  });
  if (!ran) return std::move(ran.error());
  return result;
}

// -- properties ---------------------------------------------------------------

const std::string& soci_store::path() const noexcept {
  return self_->location.backend == store_backend::sqlite
      ? self_->location.path
      : self_->location.display;
}

const std::string& soci_store::display_url() const noexcept {
  return self_->location.display;
}

store_backend soci_store::backend() const noexcept {
  return self_->location.backend;
}

size_t soci_store::pool_size() const noexcept {
  return self_->pool_size;
}

std::shared_ptr<soci::connection_pool> soci_store::pool() const noexcept {
  return self_->pool;
}

bool soci_store::retry_batch() noexcept {
  return self_->retry_after_failure();
}

store_stats soci_store::stats() const noexcept {
  return {self_->transactions.load(), self_->rollbacks.load(),
          self_->reconnects.load()};
}

} // namespace puzzle::persistence
