#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <caf/expected.hpp>

#include "actors/directory_interface.hpp"
#include "actors/model/puzzle_model.hpp"
#include "actors/session/session_actor.hpp"
#include "actors/store_interface.hpp"

namespace puzzle::cluster {

/// The directory's part in a cluster (docs/cluster.md, "The directory").
/// Off on a single node: sessions then live in this process only.
struct directory_cluster_options {
  bool enabled = false;
  std::string node_id;
  /// This process's incarnation: the owner written in the session
  /// directory for the sessions that live here.
  std::string incarnation;
  /// Bounds every request to another node, and the whole resolution of a
  /// session (retries included).
  std::chrono::milliseconds request_timeout{5'000};
  /// Between two attempts while the owner is unreachable or not known yet.
  std::chrono::milliseconds retry_delay{100};
  /// How long an owner incarnation missing from the member list is waited
  /// for (it may have joined after the last view) before the session is
  /// placed anew.
  std::chrono::milliseconds unknown_owner_wait{2'000};
  /// One session's move to another node.
  std::chrono::milliseconds migrate_timeout{10'000};
  /// Lost compare-and-sets of one resolution before it gives up.
  int32_t claim_attempts = 5;
  /// Sessions moved at the same time by a drain.
  int32_t drain_parallelism = 4;
};

/// The knobs of the directory, from config.
struct directory_options {
  model::puzzle_limits limits;
  double snap_ratio = 0.02;
  double table_factor = 2.0;
  session_options session;
  std::chrono::milliseconds store_timeout{10'000};
  directory_cluster_options cluster;
};

/// A session on another node, as this node last found it.
struct remote_session {
  std::string incarnation; ///< Empty when learnt from a "moved" hint.
  session_actor handle;    ///< Monitored: its down message drops the entry.
};

struct directory_state {
  static inline const char* name = "puzzle.directory";

  store_actor store;
  directory_options options;
  std::map<std::string, session_actor> live; ///< Sessions in memory.
  using activation_callback = std::function<void(caf::expected<session_actor>)>;
  /// Lookups waiting for a session being loaded from the store, so that one
  /// session is never activated twice.
  std::map<std::string, std::vector<activation_callback>> loading;

  // -- cluster mode only ------------------------------------------------------

  /// The cache of sessions on other nodes.
  std::map<std::string, remote_session> remote;
  /// The node agent's latest view, this node's entry with its endpoints.
  std::vector<cluster_member> members;
  bool members_known = false;
  /// Declared down by the cluster: no session lives here any more.
  bool fenced = false;
  /// A drain is under way: this node takes no new sessions.
  bool draining = false;
  /// Local sessions being moved to another node.
  std::set<std::string> migrating;
  /// Delayed continuations (retries), by token; see `after`.
  std::map<uint64_t, std::function<void()>> timers;
  uint64_t next_timer = 1;
};

/// The session directory. On a single node sessions live in this process,
/// activated from the store on first use. In a cluster
/// (`options.cluster.enabled`) `live` holds this node's sessions only; the
/// shared store's `session_directory` row of a session names its owner,
/// changed only by compare-and-set; sessions elsewhere are found through
/// their owner's directory and cached; new and orphaned sessions are
/// placed by rendezvous hashing over the live members (docs/cluster.md).
directory_actor::behavior_type
directory(directory_actor::stateful_pointer<directory_state> self,
          store_actor store, directory_options options);

} // namespace puzzle::cluster
