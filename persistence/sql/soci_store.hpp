#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <caf/error.hpp>
#include <caf/expected.hpp>

#include "actors/message_types.hpp"
#include "actors/session/session_state.hpp"
#include "persistence/sql/store_url.hpp"

namespace soci {
class session;
class connection_pool;
} // namespace soci

namespace puzzle::persistence {

/// How `soci_store::open` connects (the `[store]` settings).
struct store_open_options {
  /// PostgreSQL connections opened (`store.pool-size`); the store uses one,
  /// the others are for `pool()`. SQLite always has one.
  size_t pool_size = 4;
  /// How long opening one PostgreSQL connection may take
  /// (`store.connect-timeout`; libpq counts whole seconds, at least 1).
  std::chrono::milliseconds connect_timeout{5'000};
};

/// Counters of a `soci_store`; safe to read from any thread.
struct store_stats {
  uint64_t transactions = 0; ///< Write transactions committed.
  uint64_t rollbacks = 0;    ///< Write transactions rolled back.
  uint64_t reconnects = 0;   ///< Connections opened again after a break.
};

/// The sessions and uploaded images in a SQL database through SOCI: SQLite
/// (one node) or PostgreSQL (shared by the nodes of a cluster), with the
/// same SQL and the same migrations.
///
/// Blocking: every call waits for the disk. Use it only inside the store
/// actor that owns it (architecture.md), never on a shared scheduler
/// thread. Not thread-safe, except `stats()`.
///
/// Errors are values: SOCI's exceptions are caught here and come back as
/// `errc::internal` with the database's message; a write to a session that
/// does not exist is `errc::session_not_found`. An empty `caf::error` means
/// success.
///
/// Writes run in their own transaction, or, between `begin()` and
/// `commit()`, inside that batch transaction (group commit). Inside a batch
/// each write is isolated by a savepoint: a failing write changes nothing
/// and reports its own error while the other writes of the batch still
/// commit. Only a failure of the transaction itself fails the whole batch.
///
/// A broken PostgreSQL connection (the server restarted, a proxy dropped
/// it) is opened again: a write or read that failed because of it runs
/// once more on the new connection, unless its COMMIT had been sent (then
/// whether it was stored is unknown, and the error is reported). A batch is
/// retried by its owner through `retry_batch()`. While the server stays
/// away every call fails fast with `errc::internal` after one attempt to
/// reconnect, so the store heals by itself once the server is back.
class soci_store {
public:
  struct impl;

  /// Opens the database named by `url` (see `parse_store_url`):
  /// - `sqlite:<path>` (and its spellings): creates the file and its parent
  ///   directory when missing and sets WAL journaling, `synchronous=FULL`,
  ///   foreign keys and a busy timeout;
  /// - `postgresql://user[:password]@host[:port]/db`: opens
  ///   `options.pool_size` connections; the password comes from
  ///   `PUZZLE_STORE_PASSWORD` when set, else the URL, else libpq's own
  ///   `PGPASSWORD` or `~/.pgpass`.
  /// Does not migrate: call `migrate()` next.
  /// @returns the store, or an error whose message starts with `store.url`
  ///          (never containing the password): `errc::invalid_argument` for
  ///          a URL we cannot use, `errc::internal` when the database cannot
  ///          be opened.
  static caf::expected<std::unique_ptr<soci_store>>
  open(const std::string& url, const store_open_options& options = {});

  /// Use `open`.
  explicit soci_store(std::unique_ptr<impl> self) noexcept;

  ~soci_store();

  soci_store(const soci_store&) = delete;
  soci_store& operator=(const soci_store&) = delete;

  /// Applies the schema migrations not applied yet (`apply_migrations`).
  /// @returns how many were applied: all of them on a new database, zero on
  ///          a database that is up to date.
  /// @pre No batch is open.
  caf::expected<size_t> migrate();

  // -- writes -----------------------------------------------------------------

  /// Creates or replaces a whole session: its row, pieces, participants and
  /// chat (chat sequence numbers follow the order of `state.chat`).
  caf::error put_session(const session_state& state);

  /// Stores the pieces of one drop and the session's version, start and
  /// completion times. Fails with `errc::session_not_found` when the
  /// session does not exist and with `errc::invalid_argument` (nothing
  /// changed) when a piece id is not part of the session.
  caf::error save_drop(const drop_record& drop);

  /// Inserts or updates one participant of a session (`online` is not
  /// stored).
  caf::error upsert_participant(const std::string& session_id,
                                const participant& who);

  /// Appends one chat line to a session and deletes all but the newest
  /// `keep_last` lines of that session.
  caf::error append_chat(const std::string& session_id, const chat_entry& entry,
                         uint32_t keep_last);

  /// Deletes a session with all its rows.
  /// @returns `false` when there was no such session.
  caf::expected<bool> remove(const std::string& session_id);

  // -- batches (group commit) -------------------------------------------------

  /// Opens a batch transaction for the writes that follow.
  /// @pre No batch is open.
  caf::error begin();

  /// Commits the open batch. When a savepoint could not be rolled back or
  /// the commit fails, rolls the whole batch back and returns the error:
  /// then no write of the batch is stored.
  /// @pre A batch is open.
  caf::error commit();

  /// Rolls the open batch back; does nothing when none is open.
  void rollback() noexcept;

  /// Whether a batch is open.
  bool in_batch() const noexcept;

  // -- reads ------------------------------------------------------------------

  /// One session with pieces ordered by id, participants by join time (all
  /// offline) and chat oldest first; `std::nullopt` when there is none.
  caf::expected<std::optional<session_state>>
  load(const std::string& session_id);

  /// Every session's summary, newest first (by `created_at`, then id).
  /// `placed_count` and `piece_count` come from the stored pieces;
  /// `participants_online` is zero (presence is not stored).
  caf::expected<std::vector<session_summary>> list();

  /// Whether the database answers a trivial query.
  bool ping() noexcept;

  // -- images -----------------------------------------------------------------

  /// Stores a new uploaded image: its metadata, the original bytes and the
  /// thumbnail (as BLOBs). Fails with `errc::limit_exceeded`, naming
  /// `images.max-stored`, when `max_stored` images are stored already; with
  /// `errc::invalid_argument` when a file is empty; with `errc::internal`
  /// for a database error (a duplicate id among them).
  caf::error put_image(const image_record& image, uint32_t max_stored);

  /// The metadata of every image, newest first (by `created_at`, then id);
  /// `byte_count` is the size of the stored original.
  caf::expected<std::vector<image_info>> list_images();

  /// One image's metadata; `std::nullopt` when there is none.
  caf::expected<std::optional<image_info>>
  load_image_info(const std::string& id);

  /// The original or the thumbnail of an image with its content type;
  /// `std::nullopt` when there is no such image.
  caf::expected<std::optional<image_file>>
  load_image_file(const std::string& id, image_part part);

  // -- for other modules of persistence/ -------------------------------------

  /// Runs `body` as one write, like the writes above (own transaction, or a
  /// savepoint inside an open batch); exceptions become `errc::internal`
  /// naming `what`. Used by persistence/sql/accounts.cpp.
  caf::error write(const std::string& what,
                   const std::function<caf::error(soci::session&)>& body);

  /// The connection, for reads of other modules (catch SOCI's exceptions).
  /// Prefer `read`: after the PostgreSQL connection broke and could not be
  /// opened again, SOCI's session must not be used at all.
  soci::session& session() noexcept;

  /// Runs `body` as one read on the store's connection: fails fast with
  /// `errc::internal` while the database is unreachable, runs once more on
  /// a new connection when the old one broke, and turns exceptions into
  /// `errc::internal` naming `what`.
  caf::error read(const std::string& what,
                  const std::function<caf::error(soci::session&)>& body);

  // -- properties -------------------------------------------------------------

  /// The database file (SQLite) or the URL without its password.
  const std::string& path() const noexcept;

  /// `store.url` without its password, for logs.
  const std::string& display_url() const noexcept;

  store_backend backend() const noexcept;

  /// Connections in `pool()`.
  size_t pool_size() const noexcept;

  /// Every connection of this store. The store holds one of them for as
  /// long as it lives; another thread may lease the others
  /// (`soci::session{*pool()}`), e.g. for cluster bookkeeping that must not
  /// wait behind a large batch. Thread-safe.
  std::shared_ptr<soci::connection_pool> pool() const noexcept;

  /// After a failed batch (`begin` or `commit` returned an error): whether
  /// the connection had broken, is open again, and the batch never sent
  /// its COMMIT, so that running the whole batch once more is safe.
  bool retry_batch() noexcept;

  store_stats stats() const noexcept;

private:
  std::unique_ptr<impl> self_;
};

} // namespace puzzle::persistence
