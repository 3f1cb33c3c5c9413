#include "persistence/sql/accounts.hpp"

#include <utility>

#include <soci/soci.h>

#include "actors/caf_errors.hpp"

namespace puzzle::persistence {

namespace {

/// Roles as stored: the names, space-separated (readable in a SQL shell).
std::string roles_text(uint8_t roles) {
  std::string result;
  static constexpr std::pair<user_role, const char*> names[] = {
      {user_role::player, "player"},
      {user_role::owner, "owner"},
      {user_role::admin, "admin"},
      {user_role::operator_, "operator"},
  };
  for (auto& [role, name] : names) {
    if ((roles & static_cast<uint8_t>(role)) == 0) continue;
    if (!result.empty()) result += ' ';
    result += name;
  }
  return result;
}

uint8_t roles_of(const std::string& text) {
  uint8_t result = 0;
  size_t begin = 0;
  while (begin < text.size()) {
    auto end = text.find(' ', begin);
    if (end == std::string::npos) end = text.size();
    auto name = text.substr(begin, end - begin);
    if (name == "player") result |= static_cast<uint8_t>(user_role::player);
    if (name == "owner") result |= static_cast<uint8_t>(user_role::owner);
    if (name == "admin") result |= static_cast<uint8_t>(user_role::admin);
    if (name == "operator")
      result |= static_cast<uint8_t>(user_role::operator_);
    begin = end + 1;
  }
  return result;
}

} // namespace

std::string ascii_lower(std::string text) {
  for (auto& c : text)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return text;
}

caf::error put_account(soci_store& db, const user_account& account) {
  auto key = ascii_lower(account.username);
  auto email = ascii_lower(account.email);
  auto roles = roles_text(account.roles);
  long long created = account.created_at;
  return db.write("put of account " + account.id, [&](soci::session& sql) {
    // The unique indexes decide, not a check before the insert: two nodes
    // registering one name at the same moment both pass any such check.
    soci::statement insert
        = (sql.prepare << "INSERT INTO users (id, username, username_key, "
                          "email, password_hash, roles, created_at) VALUES "
                          "(:id, :username, :username_key, :email, "
                          ":password_hash, :roles, :created_at) "
                          "ON CONFLICT DO NOTHING",
           soci::use(account.id, "id"), soci::use(account.username, "username"),
           soci::use(key, "username_key"), soci::use(email, "email"),
           soci::use(account.password_hash, "password_hash"),
           soci::use(roles, "roles"), soci::use(created, "created_at"));
    insert.execute(true);
    if (insert.get_affected_rows() > 0) return caf::error{};
    long long taken = 0;
    sql << "SELECT COUNT(*) FROM users WHERE username_key = :k",
        soci::use(key, "k"), soci::into(taken);
    if (taken > 0) return make_error(errc::conflict, "this username is taken");
    return make_error(errc::conflict,
                      "an account with this email exists already");
  });
}

caf::expected<std::optional<user_account>>
load_account(soci_store& db, const std::string& login) {
  auto key = ascii_lower(login);
  std::optional<user_account> found;
  auto err = db.read("load of an account", [&](soci::session& sql) {
    user_account result;
    std::string roles;
    long long created = 0;
    sql << "SELECT id, username, email, password_hash, roles, created_at "
           "FROM users WHERE username_key = :name OR email = :email",
        soci::use(key, "name"), soci::use(key, "email"), soci::into(result.id),
        soci::into(result.username), soci::into(result.email),
        soci::into(result.password_hash), soci::into(roles),
        soci::into(created);
    if (sql.got_data()) {
      result.roles = roles_of(roles);
      result.created_at = created;
      found = std::move(result);
    }
    return caf::error{};
  });
  if (err) return err;
  return found;
}

} // namespace puzzle::persistence
