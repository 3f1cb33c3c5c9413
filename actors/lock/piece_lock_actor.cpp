#include "actors/lock/piece_lock_actor.hpp"

#include <caf/all.hpp>

namespace puzzle {

namespace {

void report_expiry(piece_lock_actor::stateful_pointer<piece_lock_state> self) {
  if (self->state.reported) return;
  self->state.reported = true;
  self->send(self->state.session, expire_atom::value, self->state.lease_id);
  self->quit();
}

void arm_timer(piece_lock_actor::stateful_pointer<piece_lock_state> self) {
  auto generation = ++self->state.generation;
  self->delayed_send(self, self->state.lease, tick_atom::value, generation);
}

} // namespace

piece_lock_actor::behavior_type
piece_lock(piece_lock_actor::stateful_pointer<piece_lock_state> self,
           session_actor session, uint64_t lease_id, client_events_actor holder,
           std::chrono::milliseconds lease) {
  self->state.session = std::move(session);
  self->state.lease_id = lease_id;
  self->state.lease = lease;
  // The holder's connection going away ends the lease at once (contract:
  // "released by the holder's disconnect"), not after the lease time.
  self->monitor(holder);
  self->set_down_handler([self](const caf::down_msg&) {
    report_expiry(self);
  });
  arm_timer(self);
  return {
      [self](renew_atom) {
        arm_timer(self);
      },
      [self](unlock_atom) {
        self->state.reported = true;
        self->quit();
      },
      [self](tick_atom, uint64_t generation) {
        if (generation == self->state.generation) report_expiry(self);
      },
      [self](inspect_atom) -> actor_probe {
        actor_probe probe;
        probe.kind = "lock";
        probe.mailbox_depth = self->mailbox().size();
        return probe;
      },
  };
}

} // namespace puzzle
