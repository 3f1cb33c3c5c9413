#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include <caf/actor_addr.hpp>
#include <caf/actor_clock.hpp>
#include <caf/error.hpp>
#include <caf/typed_response_promise.hpp>
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
  /// How long a migrating session waits for the target node to adopt it
  /// (`cluster.migration-timeout`); then it carries on where it is.
  std::chrono::milliseconds migration_timeout{5'000};
  /// How long a moved session keeps forwarding to its successor before it
  /// quits, counted from the switch; it also waits for an empty mailbox
  /// (`cluster.forward-grace`).
  std::chrono::milliseconds forward_grace{10'000};
  /// The incarnation of the node that runs this session (set by a cluster
  /// directory). A move that fails is resumed only after this incarnation
  /// re-claims the directory row; empty (a single node): resumed at once.
  std::string owner_incarnation;
};

/// Where a session is in a move (docs/cluster.md, "Migration").
enum class session_mode : uint8_t {
  serving,    ///< Handling requests.
  frozen,     ///< Migrating: requests stay in the mailbox, in order.
  forwarding, ///< Moved: every message is delegated to the successor.
};

/// The exit reason of a session that moved to another node and finished
/// forwarding: distinct from a delete (`caf::exit_reason::user_shutdown`)
/// and from a crash, so that monitors (client actors, directories) know
/// the session lives on elsewhere. A CAF error of category `pz-session`,
/// code 1; it crosses nodes as code and category.
caf::error session_moved_reason();

/// Whether `reason` is `session_moved_reason()`.
bool is_session_moved(const caf::error& reason);

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
  /// The directory generation this session runs under (0: not in a
  /// directory row yet); a migration snapshot carries it.
  int64_t generation = 0;
  session_mode mode = session_mode::serving;
  /// Store writes (drops, chat, invites, participants) not yet answered: a
  /// migration snapshots only once this is 0, so the store and the
  /// snapshot agree and every acknowledged drop is durable.
  uint64_t store_writes = 0;
  /// The migration in progress (frozen) and its requester's promise.
  struct migration {
    caf::typed_response_promise<std::string> reply;
    caf::actor target_directory;
    std::string target_incarnation;
    caf::actor_clock::time_point frozen_at;
    bool snapshot_sent = false;
  };
  std::optional<migration> moving;
  /// Members that went down while frozen, handled if the move fails (after
  /// a move the successor notices them itself).
  std::vector<caf::actor_addr> deferred_downs;
  /// After a move: the session's new actor, and who was told so.
  session_actor successor;
  std::set<caf::actor_addr> told;
  uint64_t messages_handled = 0;
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
/// `snapshot.generation` is the generation this actor runs under (the
/// adopting directory passes the one it claimed). Members are re-added and
/// monitored (remote handles too); each lease gets a new piece-lock actor
/// for the rest of its time, and one already past its end is released at
/// once with the usual `PieceUnlocked`. Versions continue from the
/// snapshot's.
session_actor::behavior_type
session_from_snapshot(session_actor::stateful_pointer<session_actor_state> self,
                      session_snapshot snapshot, store_actor store,
                      session_options options);

} // namespace puzzle
