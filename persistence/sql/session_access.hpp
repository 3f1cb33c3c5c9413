#pragma once

#include <cstdint>
#include <string>

#include <caf/error.hpp>
#include <caf/expected.hpp>

#include "actors/session/session_access.hpp"
#include "persistence/sql/soci_store.hpp"

/// The `session_invites` and `session_access` tables (migration 4) over a
/// `soci_store`: plain SQL that runs on SQLite and PostgreSQL alike.
/// Blocking, like the store itself: only the store actor calls these.
namespace puzzle::persistence {

/// Stores the invite code of a private session (replacing an older one).
caf::error put_invite(soci_store& db, const std::string& session_id,
                      const std::string& code, int64_t now_ms);

/// Records that `user_id` may enter the session; a repeat is a no-op.
caf::error grant_access(soci_store& db, const std::string& session_id,
                        const std::string& user_id, int64_t now_ms);

/// The invite code and the users allowed in; empty when none is stored.
caf::expected<session_access> load_access(soci_store& db,
                                          const std::string& session_id);

} // namespace puzzle::persistence
