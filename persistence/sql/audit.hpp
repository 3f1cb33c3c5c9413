#pragma once

#include <cstdint>
#include <vector>

#include <caf/error.hpp>
#include <caf/expected.hpp>

#include "actors/cluster_interface.hpp"
#include "persistence/sql/soci_store.hpp"

/// The `operator_audit` table (migration 6): every operator action, who
/// did it, when and how it ended. Plain SQL for SQLite and PostgreSQL;
/// blocking, so only the store actor calls these.
namespace puzzle::persistence {

/// Appends one record (under a fresh id).
caf::error append_audit(soci_store& db, const audit_record& record);

/// The newest `limit` records, newest first.
caf::expected<std::vector<audit_record>> list_audit(soci_store& db,
                                                    int32_t limit);

} // namespace puzzle::persistence
