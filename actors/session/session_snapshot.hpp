#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <caf/meta/type_name.hpp>

#include "actors/session/session_access.hpp"
#include "actors/session/session_interface.hpp"
#include "actors/session/session_state.hpp"

namespace puzzle {

/// A joined connection, as it moves with its session.
struct member_snapshot {
  client_events_actor handle;
  std::string user_id;
  std::string username;
};

/// A granted lock, as it moves with its session: the new session spawns a
/// new piece-lock actor for the rest of the lease.
struct lease_snapshot {
  uint64_t lease_id = 0;
  client_events_actor holder;
  std::string user_id;
  std::string username;
  int32_t piece_id = 0;
  std::vector<int32_t> pieces;
  unix_ms expires_at = 0;
};

/// Everything a session is, frozen for a move to another node
/// (docs/cluster.md, "Migration"): taken after every acknowledged drop is
/// durable, so the store and the snapshot agree. `generation` is the
/// directory generation the snapshot was taken under; the adopting node
/// claims `generation + 1`.
struct session_snapshot {
  static constexpr uint16_t current_schema = 1;

  uint16_t schema_version = current_schema;
  int64_t generation = 0;
  session_state state;
  session_access access;
  std::vector<member_snapshot> members;
  std::vector<lease_snapshot> leases;
  uint64_t next_lease_id = 1;
};

template<class Inspector>
typename Inspector::result_type inspect(Inspector& f, member_snapshot& x) {
  return f(caf::meta::type_name("member_snapshot"), x.handle, x.user_id,
           x.username);
}

template<class Inspector>
typename Inspector::result_type inspect(Inspector& f, lease_snapshot& x) {
  return f(caf::meta::type_name("lease_snapshot"), x.lease_id, x.holder,
           x.user_id, x.username, x.piece_id, x.pieces, x.expires_at);
}

template<class Inspector>
typename Inspector::result_type inspect(Inspector& f, session_snapshot& x) {
  return f(caf::meta::type_name("session_snapshot"), x.schema_version,
           x.generation, x.state, x.access, x.members, x.leases,
           x.next_lease_id);
}

} // namespace puzzle
