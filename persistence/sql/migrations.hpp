#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include <caf/expected.hpp>

namespace soci {
class session;
} // namespace soci

/// The relational schema of the store, as numbered migrations kept in the
/// source (no files to ship or to lose next to the binary).
namespace puzzle::persistence {

/// One step of the schema.
///
/// The SQL is portable between SQLite and PostgreSQL where that is
/// reasonably possible: `BIGINT` for 64-bit integers (a `uint64_t` is stored
/// bit-cast to `int64_t`), `DOUBLE PRECISION` for doubles (SQLite gives it
/// REAL affinity, which round-trips finite IEEE doubles bit for bit, except
/// that -0.0 reads back as the equal +0.0; NaN cannot be stored), `SMALLINT`
/// 0/1 for booleans (SOCI binds no `bool`), and no backend-specific
/// clauses.
struct migration {
  int32_t version;         ///< Strictly increasing, starting at 1.
  const char* description; ///< One line, recorded next to the version.
  /// Statements separated by `;`. A `;` must not appear inside a literal or
  /// a comment: the text is split at every `;` (see `split_statements`).
  const char* sql;
};

/// Every migration in ascending version order. Append only: a migration that
/// has shipped is never edited, a change is a new migration.
const std::vector<migration>& migrations();

/// The highest version in `migrations()`.
int32_t latest_schema_version();

/// Splits `sql` at each `;` into trimmed, non-empty statements (SOCI runs
/// one statement per call).
std::vector<std::string> split_statements(const std::string& sql);

/// Brings the schema of `sql` up to date: creates `schema_migrations` when
/// missing, then applies each migration whose version is not recorded
/// there, in order, each in its own transaction together with its record.
/// Idempotent: a second call applies nothing.
/// @pre `sql` is connected and no transaction is open.
/// @returns the number of migrations applied, or `errc::internal` when a
///          statement fails (that migration is rolled back, earlier ones
///          stay) or the database records a version newer than this build.
caf::expected<size_t> apply_migrations(soci::session& sql);

} // namespace puzzle::persistence
