#pragma once

#include <string>
#include <vector>

#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include "actors/message_types.hpp"
#include "actors/session/session_interface.hpp"

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
    caf::replies_to<list_atom, state_atom>::with<std::vector<std::string>>>;

} // namespace puzzle
