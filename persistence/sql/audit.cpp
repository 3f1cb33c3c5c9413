#include "persistence/sql/audit.hpp"

#include <soci/soci.h>

#include "actors/util/ids.hpp"

namespace puzzle::persistence {

caf::error append_audit(soci_store& db, const audit_record& record) {
  auto id = util::new_uuid();
  long long at = record.at_ms;
  return db.write("audit of " + record.action, [&](soci::session& sql) {
    sql << "INSERT INTO operator_audit (id, at_ms, operator_id, "
           "operator_name, action, target, outcome, detail) VALUES (:id, "
           ":at, :oid, :oname, :action, :target, :outcome, :detail)",
        soci::use(id, "id"), soci::use(at, "at"),
        soci::use(record.operator_id, "oid"),
        soci::use(record.operator_name, "oname"),
        soci::use(record.action, "action"), soci::use(record.target, "target"),
        soci::use(record.outcome, "outcome"),
        soci::use(record.detail, "detail");
    return caf::error{};
  });
}

caf::expected<std::vector<audit_record>> list_audit(soci_store& db,
                                                    int32_t limit) {
  std::vector<audit_record> result;
  int lim = limit < 1 ? 1 : limit;
  auto err = db.read("audit listing", [&](soci::session& sql) {
    soci::rowset<soci::row> rows
        = (sql.prepare << "SELECT at_ms, operator_id, operator_name, action, "
                          "target, outcome, detail FROM operator_audit ORDER "
                          "BY at_ms DESC, id DESC LIMIT :lim",
           soci::use(lim, "lim"));
    for (auto& row : rows) {
      audit_record r;
      r.at_ms = row.get<long long>(0);
      r.operator_id = row.get<std::string>(1);
      r.operator_name = row.get<std::string>(2);
      r.action = row.get<std::string>(3);
      r.target = row.get<std::string>(4);
      r.outcome = row.get<std::string>(5);
      r.detail = row.get<std::string>(6);
      result.push_back(std::move(r));
    }
    return caf::error{};
  });
  if (err) return err;
  return result;
}

} // namespace puzzle::persistence
