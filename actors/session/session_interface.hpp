#pragma once

#include <cstdint>
#include <string>

#include <caf/actor.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include "actors/cluster_interface.hpp"
#include "actors/message_types.hpp"
#include "actors/session/session_access.hpp"

namespace puzzle {

/// One client connection's actor, as the session sees it: it receives the
/// session's events and nothing else.
using client_events_actor = caf::typed_actor<caf::reacts_to<session_event>>;

/// One puzzle session: the only judge of its state.
///
/// Every request comes from a client actor; the session identifies the caller
/// by the sender address it learned at `join`. Requests are handled one at a
/// time in arrival order, so of two grabs of one piece exactly one wins.
/// Every accepted change increments `version`; events go to every joined
/// client (or every other one, where the contract says "others"), encoded
/// once.
///
/// - `(join_atom, user_identity, client_events_actor)` -> SessionState JSON;
///   the caller gets `SessionStateUpdate`, the others `UserJoined`.
///   `FORBIDDEN` for a private session unless `may_enter` (owner, admin or
///   a user who redeemed the invite).
/// - `(leave_atom)` -> `true`; releases the caller's locks; others get
///   `UserLeft`.
/// - `(lock_atom, piece_id)` -> `lock_result` (not granted when someone else
///   holds any piece of the group); `INVALID_MOVE` for a placed piece or a
///   bad id; `NOT_JOINED`.
/// - `(drag_atom, piece_id, x, y, rotation)` -> `version` of the drag; no
///   snapping, not persisted; `PIECE_LOCKED`, `INVALID_MOVE`, `NOT_JOINED`.
/// - `(move_atom, piece_id, x, y, rotation)` -> `move_result`, sent only
///   once the drop is durable; releases the caller's lock of that group.
/// - `(unlock_atom, piece_id)` -> `true`; `PIECE_NOT_HELD` otherwise.
/// - `(chat_atom, text)` -> `true` once stored; `INVALID_MESSAGE`.
/// - `(cursor_atom, x, y)` -> `true` (throttled: updates above the configured
///   rate are dropped silently).
/// - `(state_atom)` -> SessionState JSON.
/// - `(state_atom, user_identity)` -> SessionState JSON as that user may see
///   it: `SESSION_NOT_FOUND` for a private session the user may not enter
///   (its existence is not revealed); the owner and admins also get
///   `inviteCode` and `inviteUrl`.
/// - `(invite_atom, user_identity)` -> the invite code (empty for a public
///   session); `FORBIDDEN` unless the owner or an admin asks.
/// - `(invite_atom, user_identity, code)` -> `true` once the user may
///   enter (stored before the answer); `FORBIDDEN` for a wrong code or an
///   unverified identity.
/// - `(summary_atom)` -> `session_summary`.
/// - `(expire_atom, lease_id)`: from a `piece_lock`; the lease ended.
/// - `(close_atom, reason)`: the session was deleted; clients get `Error`.
/// - `(migrate_atom, target_directory, target_incarnation)` -> the new
///   owner's incarnation once the session lives there (docs/cluster.md,
///   "Migration"): freeze, snapshot, adoption by the target directory,
///   then this actor forwards to the new one until it quits. On failure
///   the session carries on here and the error is the answer.
/// - `(inspect_atom)` -> `actor_probe` (mailbox depth measured inside).
using session_actor = caf::typed_actor<
    caf::replies_to<join_atom, user_identity,
                    client_events_actor>::with<std::string>,
    caf::replies_to<leave_atom>::with<bool>,
    caf::replies_to<lock_atom, int32_t>::with<lock_result>,
    caf::replies_to<drag_atom, int32_t, double, double,
                    int32_t>::with<uint64_t>,
    caf::replies_to<move_atom, int32_t, double, double,
                    int32_t>::with<move_result>,
    caf::replies_to<unlock_atom, int32_t>::with<bool>,
    caf::replies_to<chat_atom, std::string>::with<bool>,
    caf::replies_to<cursor_atom, double, double>::with<bool>,
    caf::replies_to<state_atom>::with<std::string>,
    caf::replies_to<state_atom, user_identity>::with<std::string>,
    caf::replies_to<invite_atom, user_identity>::with<std::string>,
    caf::replies_to<invite_atom, user_identity, std::string>::with<bool>,
    caf::replies_to<summary_atom>::with<session_summary>,
    caf::reacts_to<expire_atom, uint64_t>,
    caf::reacts_to<close_atom, std::string>,
    caf::replies_to<migrate_atom, caf::actor, std::string>::with<std::string>,
    caf::replies_to<inspect_atom>::with<actor_probe>>;

} // namespace puzzle
