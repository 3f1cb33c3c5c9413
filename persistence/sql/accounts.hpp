#pragma once

#include <optional>
#include <string>

#include <caf/error.hpp>
#include <caf/expected.hpp>

#include "actors/account_interface.hpp"
#include "persistence/sql/soci_store.hpp"

/// The `users` table (migration 3) over a `soci_store`: plain SQL that
/// runs on SQLite and PostgreSQL alike. Blocking, like the store itself:
/// only the store actor calls these.
namespace puzzle::persistence {

/// Inserts a new account (`username_key` and `email` are lowered here).
/// `errc::conflict` naming the field when the username or the email is
/// taken (two nodes racing on one name get `errc::internal` from the
/// unique index instead); `errc::internal` for a database error.
caf::error put_account(soci_store& db, const user_account& account);

/// The account whose username or email is `login` (any case);
/// `std::nullopt` when there is none.
caf::expected<std::optional<user_account>>
load_account(soci_store& db, const std::string& login);

/// `text` with ASCII letters lowered (usernames are ASCII; emails compare
/// case-insensitively in practice).
std::string ascii_lower(std::string text);

} // namespace puzzle::persistence
