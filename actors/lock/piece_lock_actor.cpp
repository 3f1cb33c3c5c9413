#include "actors/lock/piece_lock_actor.hpp"

#include <caf/all.hpp>

#include "actors/util/census.hpp"

namespace puzzle {

namespace {

void report_expiry(piece_lock_actor::stateful_pointer<piece_lock_state> self) {
  if (self->state.reported) return;
  self->state.reported = true;
  self->send(self->state.session, expire_atom::value, self->state.lease_id);
  self->quit();
}

void arm_timer(piece_lock_actor::stateful_pointer<piece_lock_state> self,
               std::chrono::milliseconds period) {
  auto generation = ++self->state.generation;
  self->delayed_send(self, period, tick_atom::value, generation);
}

void arm_timer(piece_lock_actor::stateful_pointer<piece_lock_state> self) {
  arm_timer(self, self->state.lease);
}

} // namespace

piece_lock_actor::behavior_type
piece_lock(piece_lock_actor::stateful_pointer<piece_lock_state> self,
           session_actor session, uint64_t lease_id, client_events_actor holder,
           std::chrono::milliseconds lease) {
  return piece_lock_keyed(self, std::move(session), lease_id, std::move(holder),
                          lease, lease,
                          "lock/lease-" + std::to_string(lease_id));
}

piece_lock_actor::behavior_type
piece_lock_keyed(piece_lock_actor::stateful_pointer<piece_lock_state> self,
                 session_actor session, uint64_t lease_id,
                 client_events_actor holder, std::chrono::milliseconds lease,
                 std::chrono::milliseconds first, std::string key) {
  self->state.key = std::move(key);
  census::enlist(self, "lock", self->state.key);
  self->state.session = std::move(session);
  self->state.lease_id = lease_id;
  self->state.lease = lease;
  // The holder's connection going away ends the lease at once (contract:
  // "released by the holder's disconnect"), not after the lease time.
  self->monitor(holder);
  self->set_down_handler([self](const caf::down_msg&) {
    report_expiry(self);
  });
  arm_timer(self, first);
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
        probe.key = self->state.key;
        probe.mailbox_depth = self->mailbox().size();
        probe.summary_json
            = "{\"leaseId\":" + std::to_string(self->state.lease_id)
            + ",\"leaseMs\":" + std::to_string(self->state.lease.count()) + '}';
        return probe;
      },
  };
}

} // namespace puzzle
