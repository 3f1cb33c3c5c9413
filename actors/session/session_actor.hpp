#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include <caf/actor_addr.hpp>
#include <caf/typed_actor.hpp>

#include "actors/lock/piece_lock_actor.hpp"
#include "actors/model/puzzle_model.hpp"
#include "actors/session/session_interface.hpp"
#include "actors/session/session_snapshot.hpp"
#include "actors/session/session_state.hpp"
#include "actors/store_interface.hpp"

namespace puzzle {

/// The knobs of a session, from config (`session.*` and `limits.*`).
struct session_options {
  std::chrono::milliseconds lock_lease{5'000};
  std::chrono::milliseconds cursor_interval{50};
  std::chrono::milliseconds store_timeout{10'000};
  int32_t max_chat_code_points = 500;
  uint64_t max_chat_bytes = 64 * 1024;
  uint32_t chat_history = 100;
};

/// A joined connection.
struct session_member {
  client_events_actor handle;
  std::string user_id;
  std::string username;
  /// When the last cursor update was shown; empty before the first.
  std::optional<caf::actor_clock::time_point> last_cursor;
};

/// A granted lock on a group of pieces.
struct session_lease {
  caf::actor_addr holder;
  std::string user_id;
  std::string username;
  int32_t piece_id = 0;        ///< The piece that was grabbed.
  std::vector<int32_t> pieces; ///< Its whole group at grab time.
  unix_ms expires_at = 0;
  piece_lock_actor lock;
};

struct session_actor_state {
  static inline const char* name = "puzzle.session";

  session_state data;
  model::geometry geo;
  std::vector<model::piece_edges> cut;
  session_options options;
  store_actor store;
  std::map<caf::actor_addr, session_member> members;
  std::unordered_map<uint64_t, session_lease> leases;
  std::unordered_map<int32_t, uint64_t> piece_leases; ///< piece -> lease
  uint64_t next_lease_id = 1;
  /// Who may enter when the session is private.
  session_access access;
};

/// The behaviour of one session, starting from `initial` (a new session or
/// one loaded from the store; participants start offline).
session_actor::behavior_type
session_behavior(session_actor::stateful_pointer<session_actor_state> self,
                 session_state initial, store_actor store,
                 session_options options);

/// `session_behavior` for a session loaded or created with its access list
/// (private sessions).
session_actor::behavior_type private_session_behavior(
    session_actor::stateful_pointer<session_actor_state> self,
    session_state initial, session_access access, store_actor store,
    session_options options);

/// A session started from a snapshot: a stored session activated under
/// directory generation `snapshot.generation` (no members, no leases), or
/// one that moved here from another node with its members and leases.
session_actor::behavior_type
session_from_snapshot(session_actor::stateful_pointer<session_actor_state> self,
                      session_snapshot snapshot, store_actor store,
                      session_options options);

} // namespace puzzle
