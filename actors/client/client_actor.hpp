#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <string>

#include "actors/client/client_interface.hpp"
#include "actors/client/client_port.hpp"
#include "actors/directory_interface.hpp"

namespace puzzle {

/// The knobs of a client actor, from config.
struct client_options {
  std::chrono::milliseconds request_timeout{10'000};
  uint32_t max_sessions = 16; ///< Sessions one connection may join.
};

struct client_actor_state {
  static inline const char* name = "puzzle.client";

  client_port_ptr port;
  directory_actor directory;
  user_identity identity;
  bool authenticated = false; ///< The identity comes from a verified token.
  client_options options;
  std::map<std::string, session_actor> sessions; ///< Joined, by id.
};

/// The behaviour of one connection's client actor. `identity` is the
/// verified token's user, or a fresh guest when `authenticated` is false (a
/// `JoinPuzzleSession` may then name its own `userId`).
client_actor::behavior_type
client_behavior(client_actor::stateful_pointer<client_actor_state> self,
                client_port_ptr port, directory_actor directory,
                user_identity identity, bool authenticated,
                client_options options);

} // namespace puzzle
