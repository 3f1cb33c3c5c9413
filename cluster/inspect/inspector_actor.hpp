#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <caf/fwd.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include "actors/cluster_interface.hpp"
#include "actors/directory_interface.hpp"
#include "actors/message_types.hpp"

/// The node's inspector (docs/operators.md): what the operator API sees of
/// this process's actors, and the actions on them. One per node; peers
/// reach it through the node agent's `node_endpoints::inspector`.
namespace puzzle::cluster {

/// - `(actors_atom, kind)` -> every enlisted actor of this process
///   (`census::everyone()`) of that kind (empty: all kinds), each asked for
///   its probe with `probe_timeout`; an actor that ends or does not answer
///   meanwhile is left out. Probes carry this node's id and incarnation,
///   ordered by key. `messages_handled` deltas between two listings give
///   each probe a rate (see `inspector_state::rates`), added to
///   `summary_json` as `messageRate` (messages per second).
/// - `(inspect_atom, key)` -> that actor's probe; `SESSION_NOT_FOUND`
///   "no actor 'key' on node N" when no such key lives here.
/// - `(kill_atom, key)` -> `true` once the actor was sent an exit with
///   `exit_reason::kill` (a crash to everyone monitoring it);
///   `SESSION_NOT_FOUND` as above.
/// - `(drain_atom)` -> sessions moved: the local directory's `(drain_atom)`
///   (bounded by `drain_timeout`), then `on_drained` is called, which makes
///   the node leave the cluster and stop (puzzle-node: SIGTERM to itself).
///   A failed drain is answered with its error and the node stays.
///   `INVALID_ARGUMENT` on a single node.
using inspector_actor = caf::typed_actor<
    caf::replies_to<actors_atom, std::string>::with<std::vector<actor_probe>>,
    caf::replies_to<inspect_atom, std::string>::with<actor_probe>,
    caf::replies_to<kill_atom, std::string>::with<bool>,
    caf::replies_to<drain_atom>::with<int32_t>>;

struct inspector_options {
  std::string node_id;
  std::string incarnation;
  /// In a cluster; a single node refuses to drain (`INVALID_ARGUMENT`):
  /// there is nowhere to move its sessions.
  bool cluster_mode = false;
  /// Each actor's answer to `(inspect_atom)`.
  std::chrono::milliseconds probe_timeout{1'000};
  /// The directory's drain (`cluster.drain-timeout`).
  std::chrono::milliseconds drain_timeout{30'000};
  /// Called once a drain answered (also when it failed): the node leaves.
  /// Empty: the node stays (tests).
  std::function<void()> on_drained;
};

/// Spawns the inspector of this node.
inspector_actor spawn_inspector(caf::actor_system& sys,
                                directory_actor directory,
                                inspector_options options);

} // namespace puzzle::cluster
