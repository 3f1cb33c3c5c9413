#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include "actors/message_types.hpp"
#include "actors/session/session_interface.hpp"

namespace puzzle {

/// One lease on a piece (or the group it belongs to), owned by its session.
///
/// The session is the judge of who holds what; the lock actor keeps time and
/// watches the holder. It tells its session `(expire_atom, lease_id)` exactly
/// once, when the lease ran out or the holder's client actor went down, and
/// then quits. It is linked to its session, so it never outlives it.
///
/// - `(renew_atom)`: the holder dragged or moved; the lease starts over.
/// - `(unlock_atom)`: the session released the lease; quit silently.
/// - `(tick_atom, generation)`: internal timer; stale generations are ignored.
/// - `(inspect_atom)` -> `actor_probe`.
using piece_lock_actor
    = caf::typed_actor<caf::reacts_to<renew_atom>, caf::reacts_to<unlock_atom>,
                       caf::reacts_to<tick_atom, uint64_t>,
                       caf::replies_to<inspect_atom>::with<actor_probe>>;

struct piece_lock_state {
  static inline const char* name = "puzzle.piece_lock";
  session_actor session;
  uint64_t lease_id = 0;
  std::chrono::milliseconds lease{0};
  uint64_t generation = 0;
  bool reported = false;
  std::string key; ///< lock/<session>/<piece>, for the census.
};

/// The behaviour; spawn it linked to the session:
/// `self->spawn<caf::linked>(piece_lock, self, lease_id, holder, lease)`.
/// The holder is a strong handle: monitoring through a weak address of an
/// actor that is already gone is undefined in CAF 0.17.
piece_lock_actor::behavior_type
piece_lock(piece_lock_actor::stateful_pointer<piece_lock_state> self,
           session_actor session, uint64_t lease_id, client_events_actor holder,
           std::chrono::milliseconds lease);

/// The same, with its census key (`lock/<session>/<piece>`) and a first
/// period `first` that may be shorter than `lease` (a lease that moved
/// with its session keeps only the rest of its time; renewals restart the
/// full `lease`). Sessions spawn this one.
piece_lock_actor::behavior_type
piece_lock_keyed(piece_lock_actor::stateful_pointer<piece_lock_state> self,
                 session_actor session, uint64_t lease_id,
                 client_events_actor holder, std::chrono::milliseconds lease,
                 std::chrono::milliseconds first, std::string key);

} // namespace puzzle
