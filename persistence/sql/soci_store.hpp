#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <caf/error.hpp>
#include <caf/expected.hpp>

#include "actors/message_types.hpp"
#include "actors/session/session_state.hpp"

namespace puzzle::persistence {

/// Counters of a `soci_store`; safe to read from any thread.
struct store_stats {
  uint64_t transactions = 0; ///< Write transactions committed.
  uint64_t rollbacks = 0;    ///< Write transactions rolled back.
};

/// The sessions and uploaded images in a SQL database through SOCI (SQLite
/// today).
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
class soci_store {
public:
  struct impl;

  /// Opens (and creates) the database named by `url`: `sqlite:<path>`,
  /// `sqlite://<path>` or `sqlite3:<path>` (`sqlite:///abs/path` is the
  /// absolute path). Creates the parent directory of the file when missing
  /// and sets WAL journaling, `synchronous=FULL`, foreign keys and a busy
  /// timeout. Does not migrate: call `migrate()` next.
  /// @returns the store, or an error whose message starts with `store.url`:
  ///          `errc::invalid_argument` for a URL we cannot use (PostgreSQL
  ///          is not supported yet), `errc::internal` when the database
  ///          cannot be opened.
  static caf::expected<std::unique_ptr<soci_store>>
  open(const std::string& url);

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

  // -- properties -------------------------------------------------------------

  /// The database file.
  const std::string& path() const noexcept;

  store_stats stats() const noexcept;

private:
  std::unique_ptr<impl> self_;
};

} // namespace puzzle::persistence
