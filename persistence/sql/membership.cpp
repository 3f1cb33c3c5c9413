#include "persistence/sql/membership.hpp"

#include <exception>
#include <functional>
#include <utility>

#include <soci/soci.h>

#include "actors/caf_errors.hpp"

namespace puzzle::persistence {

namespace {

// The raw statements throw SOCI's exceptions: the `soci_store` overloads
// let its `write`/`read` catch them (and retry on a new connection), the
// `soci::session` overloads catch them in `guarded`.

// Idempotent: a join whose answer was lost with the connection runs again,
// and must neither fail nor revive a row that is down by now.
void raw_join(soci::session& sql, const member_row& row) {
  std::string status = to_string(member_status::joining);
  long long heartbeat = row.last_heartbeat_ms;
  long long started = row.started_at_ms;
  sql << "INSERT INTO cluster_members (cluster_name, incarnation, address, "
         "node_id, status, last_heartbeat_ms, started_at_ms) VALUES (:c, :i, "
         ":a, :n, :s, :h, :t) ON CONFLICT (cluster_name, incarnation) DO "
         "NOTHING",
      soci::use(row.cluster_name, "c"), soci::use(row.incarnation, "i"),
      soci::use(row.address, "a"), soci::use(row.node_id, "n"),
      soci::use(status, "s"), soci::use(heartbeat, "h"),
      soci::use(started, "t");
}

bool raw_heartbeat(soci::session& sql, const std::string& cluster_name,
                   const std::string& incarnation, int64_t now_ms) {
  long long now = now_ms;
  soci::statement st
      = (sql.prepare << "UPDATE cluster_members SET last_heartbeat_ms = :h, "
                        "status = 'up' WHERE cluster_name = :c AND "
                        "incarnation = :i AND status IN ('joining', 'up')",
         soci::use(now, "h"), soci::use(cluster_name, "c"),
         soci::use(incarnation, "i"));
  st.execute(true);
  return st.get_affected_rows() > 0;
}

bool raw_leaving(soci::session& sql, const std::string& cluster_name,
                 const std::string& incarnation) {
  soci::statement st
      = (sql.prepare << "UPDATE cluster_members SET status = 'leaving' WHERE "
                        "cluster_name = :c AND incarnation = :i AND status "
                        "<> 'down'",
         soci::use(cluster_name, "c"), soci::use(incarnation, "i"));
  st.execute(true);
  return st.get_affected_rows() > 0;
}

bool raw_down(soci::session& sql, const std::string& cluster_name,
              const std::string& incarnation, int64_t heartbeat_before_ms) {
  long long before = heartbeat_before_ms;
  soci::statement st
      = (sql.prepare << "UPDATE cluster_members SET status = 'down' WHERE "
                        "cluster_name = :c AND incarnation = :i AND status "
                        "<> 'down' AND last_heartbeat_ms < :b",
         soci::use(cluster_name, "c"), soci::use(incarnation, "i"),
         soci::use(before, "b"));
  st.execute(true);
  return st.get_affected_rows() > 0;
}

std::vector<member_row> raw_list(soci::session& sql,
                                 const std::string& cluster_name) {
  std::vector<member_row> result;
  soci::rowset<soci::row> rows
      = (sql.prepare << "SELECT incarnation, address, node_id, status, "
                        "last_heartbeat_ms, started_at_ms FROM "
                        "cluster_members WHERE cluster_name = :c ORDER BY "
                        "started_at_ms, incarnation",
         soci::use(cluster_name, "c"));
  for (const auto& row : rows) {
    member_row member;
    member.cluster_name = cluster_name;
    member.incarnation = row.get<std::string>(0);
    member.address = row.get<std::string>(1);
    member.node_id = row.get<std::string>(2);
    // The CHECK constraint admits only the four names.
    member.status = parse_member_status(row.get<std::string>(3))
                        .value_or(member_status::down);
    member.last_heartbeat_ms = row.get<long long>(4);
    member.started_at_ms = row.get<long long>(5);
    result.push_back(std::move(member));
  }
  return result;
}

std::optional<directory_entry> raw_lookup(soci::session& sql,
                                          const std::string& session_id) {
  std::string owner;
  long long generation = 0;
  sql << "SELECT owner_incarnation, generation FROM session_directory WHERE "
         "session_id = :id",
      soci::use(session_id, "id"), soci::into(owner), soci::into(generation);
  if (!sql.got_data()) return std::nullopt;
  return directory_entry{session_id, owner, generation};
}

bool raw_claim(soci::session& sql, const std::string& session_id,
               const std::string& owner, int64_t expected_generation) {
  if (expected_generation == 0) {
    // Two first claimants: the primary key lets one insert, the other's
    // insert does nothing and reports no row.
    soci::statement st
        = (sql.prepare << "INSERT INTO session_directory (session_id, "
                          "owner_incarnation, generation) VALUES (:id, :o, "
                          "1) ON CONFLICT (session_id) DO NOTHING",
           soci::use(session_id, "id"), soci::use(owner, "o"));
    st.execute(true);
    return st.get_affected_rows() > 0;
  }
  // A second claimant waits for the first one's row lock (PostgreSQL) or
  // the write lock (SQLite) and then no longer matches the generation.
  long long expected = expected_generation;
  soci::statement st
      = (sql.prepare << "UPDATE session_directory SET owner_incarnation = "
                        ":o, generation = generation + 1 WHERE session_id "
                        "= :id AND generation = :g",
         soci::use(owner, "o"), soci::use(session_id, "id"),
         soci::use(expected, "g"));
  st.execute(true);
  return st.get_affected_rows() > 0;
}

/// Runs `body` on a bare connection, turning exceptions into errors.
template<class Body>
auto guarded(const std::string& what, Body&& body)
    -> caf::expected<decltype(body())> {
  try {
    return body();
  } catch (const std::exception& ex) {
    return make_error(errc::internal,
                      "store: " + what + " failed: " + ex.what());
  }
}

caf::error guarded_void(const std::string& what,
                        const std::function<void()>& body) {
  try {
    body();
    return caf::error{};
  } catch (const std::exception& ex) {
    return make_error(errc::internal,
                      "store: " + what + " failed: " + ex.what());
  }
}

/// Runs `body` as one write of `db` and returns its value.
template<class T, class Body>
caf::expected<T>
store_write(soci_store& db, const std::string& what, Body&& body) {
  T result{};
  auto err = db.write(what, [&](soci::session& sql) {
    result = body(sql);
    return caf::error{};
  });
  if (err) return err;
  return result;
}

/// Runs `body` as one read of `db` and returns its value.
template<class T, class Body>
caf::expected<T>
store_read(soci_store& db, const std::string& what, Body&& body) {
  T result{};
  auto err = db.read(what, [&](soci::session& sql) {
    result = body(sql);
    return caf::error{};
  });
  if (err) return err;
  return result;
}

} // namespace

const char* to_string(member_status status) noexcept {
  switch (status) {
    case member_status::joining: return "joining";
    case member_status::up: return "up";
    case member_status::leaving: return "leaving";
    case member_status::down: return "down";
  }
  return "down";
}

std::optional<member_status> parse_member_status(const std::string& text) {
  for (auto status : {member_status::joining, member_status::up,
                      member_status::leaving, member_status::down})
    if (text == to_string(status)) return status;
  return std::nullopt;
}

// -- membership ---------------------------------------------------------------

caf::error join_member(soci::session& sql, const member_row& row) {
  return guarded_void("join of incarnation " + row.incarnation, [&] {
    raw_join(sql, row);
  });
}

caf::error join_member(soci_store& db, const member_row& row) {
  return db.write("join of incarnation " + row.incarnation,
                  [&](soci::session& sql) {
                    raw_join(sql, row);
                    return caf::error{};
                  });
}

caf::expected<bool>
heartbeat_member(soci::session& sql, const std::string& cluster_name,
                 const std::string& incarnation, int64_t now_ms) {
  return guarded("heartbeat of incarnation " + incarnation, [&] {
    return raw_heartbeat(sql, cluster_name, incarnation, now_ms);
  });
}

caf::expected<bool>
heartbeat_member(soci_store& db, const std::string& cluster_name,
                 const std::string& incarnation, int64_t now_ms) {
  return store_write<bool>(
      db, "heartbeat of incarnation " + incarnation, [&](soci::session& sql) {
        return raw_heartbeat(sql, cluster_name, incarnation, now_ms);
      });
}

caf::expected<bool> mark_member_leaving(soci::session& sql,
                                        const std::string& cluster_name,
                                        const std::string& incarnation) {
  return guarded("leave of incarnation " + incarnation, [&] {
    return raw_leaving(sql, cluster_name, incarnation);
  });
}

caf::expected<bool> mark_member_leaving(soci_store& db,
                                        const std::string& cluster_name,
                                        const std::string& incarnation) {
  return store_write<bool>(db, "leave of incarnation " + incarnation,
                           [&](soci::session& sql) {
                             return raw_leaving(sql, cluster_name, incarnation);
                           });
}

caf::expected<bool>
mark_member_down(soci::session& sql, const std::string& cluster_name,
                 const std::string& incarnation, int64_t heartbeat_before_ms) {
  return guarded("down of incarnation " + incarnation, [&] {
    return raw_down(sql, cluster_name, incarnation, heartbeat_before_ms);
  });
}

caf::expected<bool>
mark_member_down(soci_store& db, const std::string& cluster_name,
                 const std::string& incarnation, int64_t heartbeat_before_ms) {
  return store_write<bool>(
      db, "down of incarnation " + incarnation, [&](soci::session& sql) {
        return raw_down(sql, cluster_name, incarnation, heartbeat_before_ms);
      });
}

caf::expected<std::vector<member_row>>
list_members(soci::session& sql, const std::string& cluster_name) {
  return guarded("list of cluster " + cluster_name, [&] {
    return raw_list(sql, cluster_name);
  });
}

caf::expected<std::vector<member_row>>
list_members(soci_store& db, const std::string& cluster_name) {
  return store_read<std::vector<member_row>>(
      db, "list of cluster " + cluster_name, [&](soci::session& sql) {
        return raw_list(sql, cluster_name);
      });
}

// -- directory ----------------------------------------------------------------

caf::expected<std::optional<directory_entry>>
lookup_session_owner(soci::session& sql, const std::string& session_id) {
  return guarded("directory lookup of session " + session_id, [&] {
    return raw_lookup(sql, session_id);
  });
}

caf::expected<std::optional<directory_entry>>
lookup_session_owner(soci_store& db, const std::string& session_id) {
  return store_read<std::optional<directory_entry>>(
      db, "directory lookup of session " + session_id, [&](soci::session& sql) {
        return raw_lookup(sql, session_id);
      });
}

caf::expected<bool> claim_session(soci::session& sql,
                                  const std::string& session_id,
                                  const std::string& owner_incarnation,
                                  int64_t expected_generation) {
  return guarded("directory claim of session " + session_id, [&] {
    return raw_claim(sql, session_id, owner_incarnation, expected_generation);
  });
}

caf::expected<bool> claim_session(soci_store& db, const std::string& session_id,
                                  const std::string& owner_incarnation,
                                  int64_t expected_generation) {
  return store_write<bool>(
      db, "directory claim of session " + session_id, [&](soci::session& sql) {
        return raw_claim(sql, session_id, owner_incarnation,
                         expected_generation);
      });
}

caf::expected<std::vector<directory_entry>>
list_session_owners(soci_store& db) {
  return store_read<std::vector<directory_entry>>(
      db, "directory listing", [&](soci::session& sql) {
        std::vector<directory_entry> result;
        soci::rowset<soci::row> rows
            = (sql.prepare << "SELECT session_id, owner_incarnation, "
                              "generation FROM session_directory ORDER BY "
                              "session_id");
        for (auto& row : rows)
          result.push_back(
              directory_entry{row.get<std::string>(0), row.get<std::string>(1),
                              static_cast<int64_t>(row.get<long long>(2))});
        return result;
      });
}

} // namespace puzzle::persistence
