#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <caf/actor.hpp>
#include <caf/fwd.hpp>

/// The actors of this process that operators may inspect (sessions, piece
/// locks, clients), by kind and key. Each actor enlists itself when it
/// starts and is struck off when it ends; the inspector asks each one for
/// an `actor_probe`, since only the actor itself can read its mailbox.
/// Thread-safe.
namespace puzzle::census {

struct entry {
  std::string kind; ///< session, lock, client
  std::string key;  ///< session/<uuid>, lock/<session>/<piece>, client/<user>
  uint64_t actor_id = 0;
  caf::actor handle; ///< Every enlisted actor answers `(inspect_atom)`.
};

/// Enlists `self` until it terminates. Call from the actor's own
/// behaviour factory; `self` must answer `(inspect_atom)` -> `actor_probe`.
void enlist(caf::local_actor* self, std::string kind, std::string key);

/// The actors alive right now (those that ended meanwhile are left out).
std::vector<entry> everyone();

} // namespace puzzle::census
