#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <caf/fwd.hpp>
#include <caf/typed_actor.hpp>

#include "actors/cluster_interface.hpp"
#include "actors/message_types.hpp"
#include "cluster/membership/membership_view.hpp"

namespace soci {
class connection_pool;
} // namespace soci

namespace puzzle::cluster {

/// The node agent: this node's member of the cluster (docs/cluster.md).
///
/// On start it inserts its row in the membership table (`joining`, a new
/// incarnation per process start) and then, every heartbeat interval,
/// records a heartbeat (`up`), reads every member's row and derives each
/// one's state: up while its heartbeat is younger than the connection
/// timeout, unreachable after that, and after `down_after` more it writes
/// the row `down` (fenced on the heartbeat it saw, so the buried
/// incarnation cannot heartbeat back to up). Changes are logged
/// (`event=member_up`, `member_unreachable`, `member_leaving`,
/// `member_down`, ...) and published in a `membership_view`.
///
/// - `tick_atom`: one round (the agent sends it to itself; not for others).
/// - a `down_msg` from a linked peer's agent (its process died or the
///   link broke): that member is unreachable until a new link succeeds.
/// - `leave_atom` -> `bool`: graceful leave: writes `leaving`, then `down`,
///   stops heartbeating and answers whether the row was written. Send it
///   once, at shutdown.
/// - `endpoints_atom` -> `node_endpoints`: this node's directory and
///   inspector, asked by every peer's agent once linked.
///
/// After each round, each new link and each peer's endpoints, the agent
/// pushes `(members_atom, std::vector<cluster_member>)` (every member with
/// the endpoints it knows; this node fenced shows itself `down`) to the
/// local directory (`local_endpoints.directory`).
///
/// The store is blocking, so the agent is spawned detached and holds one
/// connection of the store's pool for its whole life: heartbeats never wait
/// behind the store actor's batches and never block a scheduler thread.
using node_agent_actor
    = caf::typed_actor<caf::reacts_to<tick_atom>,
                       caf::replies_to<leave_atom>::with<bool>,
                       caf::replies_to<endpoints_atom>::with<node_endpoints>>;

/// What the agent needs besides its connection.
struct node_agent_options {
  std::string cluster_name;
  std::string address; ///< host:port stored in this node's row.
  std::string node_id;
  std::string incarnation; ///< Random, new for each process start.
  int64_t started_at_ms = 0;
  std::chrono::milliseconds heartbeat_interval{1'000};
  std::chrono::milliseconds connection_timeout{5'000};
  std::chrono::milliseconds down_after{15'000};
  /// How long to wait for a free connection of the pool.
  std::chrono::milliseconds lease_timeout{5'000};
  /// Connect to every other member's agent (published on its address with
  /// CAF's middleman, which must be loaded) and monitor it: a lost link
  /// makes that member unreachable at once, before its heartbeat ages.
  bool link_peers = false;
  /// What this node offers its peers; the directory also gets the view.
  node_endpoints local_endpoints;
  /// `cluster.seeds`: contacted at start (logged), before the first round
  /// has found the members in the table.
  std::vector<std::string> seeds;
};

/// Spawns the agent (detached); it joins at once.
/// @param pool the store's pool (`soci_store::pool()`) on PostgreSQL, with
///        a connection the store actor does not hold.
node_agent_actor spawn_node_agent(caf::actor_system& sys,
                                  std::shared_ptr<soci::connection_pool> pool,
                                  node_agent_options options,
                                  std::shared_ptr<membership_view> view);

} // namespace puzzle::cluster
