#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <caf/error.hpp>
#include <caf/expected.hpp>

#include "persistence/sql/soci_store.hpp"

/// The `cluster_members` and `session_directory` tables (migration 5): the
/// membership table every node of a cluster writes its own row to and reads
/// the others' from, and the one truth of where each session lives.
///
/// Each function exists twice: on a `soci_store` (runs through its
/// `write`/`read`, so only the store actor calls it) and on a bare
/// `soci::session` leased from `soci_store::pool()` (the node agent's
/// heartbeats must not wait behind a large batch of the store actor). Both
/// are blocking and return SOCI's exceptions as `errc::internal`. Plain SQL
/// that runs on SQLite and PostgreSQL alike.
namespace puzzle::persistence {

/// The status a node writes for itself (or that a peer writes for it when
/// it has been silent past the grace period). `unreachable` is not stored:
/// each node derives it from the heartbeat's age.
enum class member_status : uint8_t { joining, up, leaving, down };

/// "joining", "up", "leaving" or "down" (the stored text).
const char* to_string(member_status status) noexcept;

/// The status stored as `text`; `std::nullopt` for anything else.
std::optional<member_status> parse_member_status(const std::string& text);

/// One row of `cluster_members`: one process start of one node.
struct member_row {
  std::string cluster_name;
  /// Random per process start; the primary key together with the cluster.
  std::string incarnation;
  std::string address; ///< host:port of the node's cluster endpoint.
  std::string node_id; ///< Stable across restarts (may be reused).
  member_status status = member_status::joining;
  int64_t last_heartbeat_ms = 0; ///< Unix ms of the latest heartbeat.
  int64_t started_at_ms = 0;     ///< Unix ms of the process start.
};

/// One row of `session_directory`.
struct directory_entry {
  std::string session_id;
  std::string owner_incarnation;
  /// Bumped by every successful claim; starts at 1.
  int64_t generation = 0;
};

// -- membership ---------------------------------------------------------------

/// Inserts the row of a new incarnation as `joining` (`row.status` is
/// ignored). Idempotent: when the incarnation has a row already (a retry
/// after a lost answer) nothing changes, so a buried row stays down.
caf::error join_member(soci::session& sql, const member_row& row);
caf::error join_member(soci_store& db, const member_row& row);

/// Records a heartbeat at `now_ms` and sets the status to `up`, fenced: only
/// a row that is `joining` or `up` changes.
/// @returns `false` when the row is leaving, down or missing: this
///          incarnation has been declared gone and must not come back.
caf::expected<bool>
heartbeat_member(soci::session& sql, const std::string& cluster_name,
                 const std::string& incarnation, int64_t now_ms);
caf::expected<bool>
heartbeat_member(soci_store& db, const std::string& cluster_name,
                 const std::string& incarnation, int64_t now_ms);

/// Sets a row that is not down to `leaving` (a graceful shutdown begins).
/// @returns whether the row changed.
caf::expected<bool> mark_member_leaving(soci::session& sql,
                                        const std::string& cluster_name,
                                        const std::string& incarnation);
caf::expected<bool> mark_member_leaving(soci_store& db,
                                        const std::string& cluster_name,
                                        const std::string& incarnation);

/// Sets a row to `down` for good, fenced by its heartbeat: only when its
/// last heartbeat is older than `heartbeat_before_ms`, so a peer that saw
/// a stale row cannot bury a node whose heartbeat arrived meanwhile. A node
/// leaving by itself passes `INT64_MAX`.
/// @returns whether the row changed (`false`: already down, fresh, or
///          missing).
caf::expected<bool>
mark_member_down(soci::session& sql, const std::string& cluster_name,
                 const std::string& incarnation, int64_t heartbeat_before_ms);
caf::expected<bool>
mark_member_down(soci_store& db, const std::string& cluster_name,
                 const std::string& incarnation, int64_t heartbeat_before_ms);

/// Every row of the cluster, by start time then incarnation.
caf::expected<std::vector<member_row>>
list_members(soci::session& sql, const std::string& cluster_name);
caf::expected<std::vector<member_row>>
list_members(soci_store& db, const std::string& cluster_name);

// -- directory ----------------------------------------------------------------

/// Where a session lives; `std::nullopt` when it has no row.
caf::expected<std::optional<directory_entry>>
lookup_session_owner(soci::session& sql, const std::string& session_id);
caf::expected<std::optional<directory_entry>>
lookup_session_owner(soci_store& db, const std::string& session_id);

/// Compare-and-set of a session's owner. With `expected_generation` 0 the
/// row is created at generation 1 when absent; otherwise the owner changes
/// and the generation is bumped only when it is still
/// `expected_generation`. Of several claimants with the same expectation
/// exactly one wins, on either backend (the database decides, not a read
/// before the write).
/// @returns whether this claim won; the winner's generation is
///          `expected_generation + 1`.
caf::expected<bool> claim_session(soci::session& sql,
                                  const std::string& session_id,
                                  const std::string& owner_incarnation,
                                  int64_t expected_generation);
caf::expected<bool> claim_session(soci_store& db, const std::string& session_id,
                                  const std::string& owner_incarnation,
                                  int64_t expected_generation);

/// Every row of the directory (for failover: the sessions a dead
/// incarnation owned), by session id.
caf::expected<std::vector<directory_entry>> list_session_owners(soci_store& db);

} // namespace puzzle::persistence
