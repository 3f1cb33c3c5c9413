#pragma once

#include <string>
#include <vector>

#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include "actors/message_types.hpp"
#include "actors/cluster_interface.hpp"
#include "actors/session/session_interface.hpp"
#include "actors/session/session_snapshot.hpp"

namespace puzzle {

/// The session directory: the one place that knows where each session lives
/// and activates stored sessions on demand. On a single node it spawns
/// sessions locally; in a cluster the same interface is served by the
/// cluster directory.
///
/// - `(lookup_atom, session_id)` -> the session's actor; activates it from
///   the store when it is not in memory; `SESSION_NOT_FOUND` otherwise.
/// - `(create_atom, create_request)` -> the new session's summary, after the
///   session is durable; `LIMIT_EXCEEDED` / `INVALID_ARGUMENT` with a message
///   naming the limit for a bad request.
/// - `(list_atom)` -> public and private summaries, newest first, with live
///   participant counts for sessions in memory.
/// - `(state_atom, session_id)` -> the full `SessionState` JSON.
/// - `(state_atom, session_id, user_identity)` -> the same as that user may
///   see it (see `session_actor`): `SESSION_NOT_FOUND` for a private
///   session the user may not enter.
/// - `(invite_atom, session_id, user_identity)` -> the invite code of a
///   private session (owner or admin; `FORBIDDEN` otherwise).
/// - `(invite_atom, session_id, user_identity, code)` -> `true` once the
///   user may enter the private session; `FORBIDDEN` for a wrong code.
/// - `(delete_atom, session_id, requester_user_id, is_admin)` -> `true`;
///   `FORBIDDEN` unless the requester owns the session or is an admin;
///   connected clients get `Error` and lose the session.
/// - `(stats_atom)` -> number of sessions in memory.
/// - `(list_atom, state_atom)` -> the `SessionState` JSON of every session
///   in memory on this node (the operator API's view of the node).
///
/// The cluster (docs/cluster.md); on a single node these answer for the
/// one member:
/// - `(adopt_atom, session_snapshot)` -> the new local session, after this
///   node won the directory's compare-and-set for `generation + 1`;
///   `CONFLICT` when it lost (the sender resumes).
/// - `(migrate_atom, session_id, target_node)` -> the new owner's
///   incarnation; `target_node` is a node id or an incarnation, empty for
///   "any other live member". Routed to the owner's directory when the
///   session lives elsewhere.
/// - `(drain_atom)` -> number of sessions moved off this node.
/// - `(members_atom, members)`: the node agent's latest view.
/// - `(members_atom)` -> that view, with every member's endpoints.
/// - `(moved_atom, session_id, handle)`: a "moved" hint; corrects the cache.
using directory_actor = caf::typed_actor<
    caf::replies_to<lookup_atom, std::string>::with<session_actor>,
    caf::replies_to<create_atom, create_request>::with<session_summary>,
    caf::replies_to<list_atom>::with<std::vector<session_summary>>,
    caf::replies_to<state_atom, std::string>::with<std::string>,
    caf::replies_to<state_atom, std::string, user_identity>::with<std::string>,
    caf::replies_to<invite_atom, std::string, user_identity>::with<std::string>,
    caf::replies_to<invite_atom, std::string, user_identity,
                    std::string>::with<bool>,
    caf::replies_to<delete_atom, std::string, std::string, bool>::with<bool>,
    caf::replies_to<stats_atom>::with<int32_t>,
    caf::replies_to<list_atom, state_atom>::with<std::vector<std::string>>,
    caf::replies_to<adopt_atom, session_snapshot>::with<session_actor>,
    caf::replies_to<migrate_atom, std::string, std::string>::with<std::string>,
    caf::replies_to<drain_atom>::with<int32_t>,
    caf::reacts_to<members_atom, std::vector<cluster_member>>,
    caf::replies_to<members_atom>::with<std::vector<cluster_member>>,
    caf::reacts_to<moved_atom, std::string, session_actor>>;

} // namespace puzzle
