#include "persistence/sql/soci_store.hpp"

#include <atomic>
#include <chrono>
#include <cstring>
#include <exception>
#include <filesystem>
#include <system_error>
#include <utility>

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

bool starts_with(const std::string& text, const char* prefix) {
  return text.compare(0, std::strlen(prefix), prefix) == 0;
}

/// The file path in a SQLite URL, or the error that names `store.url`.
caf::expected<std::string> sqlite_path(const std::string& url) {
  // Longest prefixes first: "sqlite://" also starts with "sqlite:".
  static constexpr const char* prefixes[]
      = {"sqlite3://", "sqlite://", "sqlite3:", "sqlite:"};
  for (auto prefix : prefixes) {
    if (!starts_with(url, prefix)) continue;
    auto path = url.substr(std::strlen(prefix));
    if (path.empty())
      return make_error(errc::invalid_argument,
                        "store.url: no database file in '" + url + "'");
    // SOCI's connection string quotes the path; a quote cannot be escaped.
    if (path.find('"') != std::string::npos)
      return make_error(errc::invalid_argument,
                        "store.url: the path must not contain '\"'");
    return path;
  }
  if (starts_with(url, "postgresql:") || starts_with(url, "postgres:"))
    return make_error(errc::invalid_argument,
                      "store.url: PostgreSQL is not supported yet");
  return make_error(errc::invalid_argument,
                    "store.url: unsupported URL '" + url
                        + "' (expected sqlite:<path>)");
}

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
        update_pieces(
            (sql.prepare
                 << "UPDATE pieces SET x = :x, y = :y, "
                    "rotation = :rotation, placed = :placed, "
                    "group_id = :group_id "
                    "WHERE session_id = :session_id AND piece_id = :piece_id",
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
  std::string path;
  soci::session sql;
  bool batch_open = false;
  /// Set when a write inside the batch could not be undone: the batch can
  /// then only be rolled back.
  caf::error batch_error;
  std::atomic<uint64_t> transactions{0};
  std::atomic<uint64_t> rollbacks{0};
  /// Created on first use (the tables must exist); destroyed before `sql`.
  std::unique_ptr<prepared> statements;

  prepared& stmts() {
    if (!statements) statements = std::make_unique<prepared>(sql);
    return *statements;
  }

  /// Runs `body` (which returns a `caf::error` and may throw) as one write:
  /// in its own transaction, or inside the open batch under a savepoint.
  template<class F>
  caf::error write(const std::string& what, F&& body) {
    if (batch_open) return write_in_batch(what, body);
    try {
      soci::transaction tx{sql};
      if (auto err = body()) {
        tx.rollback();
        ++rollbacks;
        return err;
      }
      tx.commit();
      ++transactions;
      return {};
    } catch (const std::exception& ex) {
      // soci::transaction's destructor rolled back.
      statements.reset();
      ++rollbacks;
      return internal(what, ex);
    }
  }

  template<class F>
  caf::error write_in_batch(const std::string& what, F& body) {
    if (batch_error) return batch_error;
    try {
      sql << std::string{"SAVEPOINT "} + savepoint_name;
    } catch (const std::exception& ex) {
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
      // I/O errors): no write of this batch may be reported as stored.
      batch_error = make_error(errc::internal,
                               "store: batch aborted after '"
                                   + message_of(cause) + "': " + ex.what());
    }
  }
};

// -- construction -------------------------------------------------------------

caf::expected<std::unique_ptr<soci_store>>
soci_store::open(const std::string& url) {
  auto path = sqlite_path(url);
  if (!path) return std::move(path.error());
  bool in_memory = *path == ":memory:";
  if (!in_memory) {
    auto parent = std::filesystem::path{*path}.parent_path();
    std::error_code ec;
    if (!parent.empty()) std::filesystem::create_directories(parent, ec);
    if (ec)
      return make_error(errc::internal,
                        "store.url: cannot create directory '" + parent.string()
                            + "': " + ec.message());
  }
  auto self = std::make_unique<impl>();
  self->path = *path;
  try {
    self->sql.open(soci::sqlite3, "db=\"" + *path + "\"");
    std::string mode;
    self->sql << "PRAGMA journal_mode=WAL", soci::into(mode);
    if (mode != "wal" && !(in_memory && mode == "memory"))
      return make_error(errc::internal,
                        "store.url: cannot use WAL on '" + *path
                            + "' (journal_mode=" + mode + ")");
    self->sql << "PRAGMA synchronous=FULL";
    self->sql << "PRAGMA foreign_keys=ON";
    self->sql << "PRAGMA busy_timeout=" + std::to_string(busy_timeout.count());
    int foreign_keys = 0;
    self->sql << "PRAGMA foreign_keys", soci::into(foreign_keys);
    if (foreign_keys != 1)
      return make_error(errc::internal,
                        "store.url: SQLite without foreign key support");
  } catch (const std::exception& ex) {
    return make_error(errc::internal,
                      "store.url: cannot open '" + *path + "': " + ex.what());
  }
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
    st.update_pieces.execute(true);
    auto changed = st.update_pieces.get_affected_rows();
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
    return caf::error{};
  });
  if (err) return err;
  return removed;
}

// -- batches ------------------------------------------------------------------

caf::error soci_store::begin() {
  if (self_->batch_open)
    return make_error(errc::internal, "store: a batch is already open");
  try {
    self_->sql.begin();
  } catch (const std::exception& ex) {
    return internal("begin of a batch", ex);
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
    self_->sql.commit();
  } catch (const std::exception& ex) {
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
    self_->sql.rollback();
  } catch (const std::exception&) {
    // Nothing to undo: SQLite already ended the transaction.
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
  try {
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
           "image_width, image_height, spec_image_width, spec_image_height, "
           "grid_rows, grid_cols, seed, rotation, snap_ratio, table_factor, "
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
        soci::into(completed), soci::into(schema), soci::use(session_id, "id");
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
          = (sql.prepare << "SELECT piece_id, x, y, rotation, placed, group_id "
                            "FROM pieces WHERE session_id = :id "
                            "ORDER BY piece_id",
             soci::into(id), soci::into(x), soci::into(y),
             soci::into(piece_rotation), soci::into(placed), soci::into(group),
             soci::use(session_id, "id"));
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
          = (sql.prepare << "SELECT id, user_id, username, message, sent_at "
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
  } catch (const std::exception& ex) {
    return internal("load of session " + session_id, ex);
  }
}

caf::expected<std::vector<session_summary>> soci_store::list() {
  auto& sql = self_->sql;
  try {
    std::vector<session_summary> result;
    session_summary row;
    int is_public = 0;
    long long completed = 0;
    long long created = 0;
    long long pieces = 0;
    long long placed = 0;
    soci::statement st
        = (sql.prepare << "SELECT s.id, s.name, s.owner_id, s.is_public, "
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
           soci::into(row.rows), soci::into(row.cols), soci::into(completed),
           soci::into(created), soci::into(pieces), soci::into(placed));
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
  } catch (const std::exception& ex) {
    return internal("list of sessions", ex);
  }
}

bool soci_store::ping() noexcept {
  try {
    int one = 0;
    self_->sql << "SELECT 1", soci::into(one);
    return one == 1;
  } catch (const std::exception&) {
    return false;
  }
}

// -- images -------------------------------------------------------------------

namespace {

// SOCI 4.0.3's SQLite backend implements neither `write_from_start` nor
// `read_from_start`: append, and read with its 0-based offsets.

/// A SOCI blob holding `bytes` (SOCI copies them into its own buffer).
void fill_blob(soci::blob& blob, const std::string& bytes) {
  blob.append(bytes.data(), bytes.size());
}

/// The bytes of a fetched blob.
std::string blob_bytes(soci::blob& blob) {
  std::string result(blob.get_len(), '\0');
  if (!result.empty()) {
    auto n = blob.read(0, &result[0], result.size());
    result.resize(n);
  }
  return result;
}

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
    soci::blob original{sql};
    fill_blob(original, image.original.str());
    soci::blob thumbnail{sql};
    fill_blob(thumbnail, image.thumbnail.str());
    long long created = info.created_at;
    sql << "INSERT INTO images (id, name, content_type, width, height, "
           "bytes, thumbnail, thumbnail_content_type, owner_id, created_at) "
           "VALUES (:id, :name, :content_type, :width, :height, :bytes, "
           ":thumbnail, :thumbnail_content_type, :owner_id, :created_at)",
        soci::use(info.id, "id"), soci::use(info.name, "name"),
        soci::use(info.content_type, "content_type"),
        soci::use(info.width, "width"), soci::use(info.height, "height"),
        soci::use(original, "bytes"), soci::use(thumbnail, "thumbnail"),
        soci::use(info.thumbnail_content_type, "thumbnail_content_type"),
        soci::use(info.owner_id, "owner_id"), soci::use(created, "created_at");
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
  try {
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
  } catch (const std::exception& ex) {
    return internal("list of images", ex);
  }
}

caf::expected<std::optional<image_info>>
soci_store::load_image_info(const std::string& id) {
  try {
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
  } catch (const std::exception& ex) {
    return internal("load of image " + id, ex);
  }
}

caf::expected<std::optional<image_file>>
soci_store::load_image_file(const std::string& id, image_part part) {
  auto& sql = self_->sql;
  try {
    image_file result;
    soci::blob bytes{sql};
    if (part == image_part::thumbnail)
      sql << "SELECT thumbnail_content_type, thumbnail FROM images "
             "WHERE id = :id",
          soci::into(result.content_type), soci::into(bytes),
          soci::use(id, "id");
    else
      sql << "SELECT content_type, bytes FROM images WHERE id = :id",
          soci::into(result.content_type), soci::into(bytes),
          soci::use(id, "id");
    if (!sql.got_data()) return std::optional<image_file>{};
    result.bytes = blob_bytes(bytes);
    return std::optional<image_file>{std::move(result)};
  } catch (const std::exception& ex) {
    return internal("load of image " + id + " " + to_string(part), ex);
  }
}

// -- properties ---------------------------------------------------------------

const std::string& soci_store::path() const noexcept {
  return self_->path;
}

store_stats soci_store::stats() const noexcept {
  return {self_->transactions.load(), self_->rollbacks.load()};
}

} // namespace puzzle::persistence
