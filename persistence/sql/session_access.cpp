#include "persistence/sql/session_access.hpp"

#include <soci/soci.h>

namespace puzzle::persistence {

caf::error put_invite(soci_store& db, const std::string& session_id,
                      const std::string& code, int64_t now_ms) {
  long long created = now_ms;
  return db.write("put of the invite of session " + session_id,
                  [&](soci::session& sql) {
                    sql << "DELETE FROM session_invites WHERE session_id = :id",
                        soci::use(session_id, "id");
                    sql << "INSERT INTO session_invites (session_id, code, "
                           "created_at) VALUES (:id, :code, :created_at)",
                        soci::use(session_id, "id"), soci::use(code, "code"),
                        soci::use(created, "created_at");
                    return caf::error{};
                  });
}

caf::error grant_access(soci_store& db, const std::string& session_id,
                        const std::string& user_id, int64_t now_ms) {
  long long granted = now_ms;
  return db.write("grant of session " + session_id, [&](soci::session& sql) {
    long long present = 0;
    sql << "SELECT COUNT(*) FROM session_access WHERE "
           "session_id = :id AND user_id = :user",
        soci::use(session_id, "id"), soci::use(user_id, "user"),
        soci::into(present);
    if (present > 0) return caf::error{};
    sql << "INSERT INTO session_access (session_id, user_id, "
           "granted_at) VALUES (:id, :user, :granted_at)",
        soci::use(session_id, "id"), soci::use(user_id, "user"),
        soci::use(granted, "granted_at");
    return caf::error{};
  });
}

caf::expected<session_access> load_access(soci_store& db,
                                          const std::string& session_id) {
  session_access result;
  auto err = db.read("load of the access of session " + session_id,
                     [&](soci::session& sql) {
                       std::string code;
                       sql << "SELECT code FROM session_invites WHERE "
                              "session_id = :id",
                           soci::use(session_id, "id"), soci::into(code);
                       if (sql.got_data()) result.invite_code = code;
                       soci::rowset<std::string> users
                           = (sql.prepare << "SELECT user_id FROM "
                                             "session_access WHERE "
                                             "session_id = :id ORDER BY "
                                             "granted_at, user_id",
                              soci::use(session_id, "id"));
                       for (auto& user : users)
                         result.allowed.push_back(user);
                       return caf::error{};
                     });
  if (err) return err;
  return result;
}

} // namespace puzzle::persistence
