#pragma once

#include <caf/fwd.hpp>

#include "actors/directory_interface.hpp"
#include "config/settings.hpp"
#include "transports/signalr/hub_binding.hpp"

namespace puzzle::transports::signalr {

/// The puzzle hub `/puzzlehub` (contract.md section 3): each connection gets
/// a `client` actor; its methods become `client_command`s and the sessions'
/// events come back as client method invocations, encoded once per event.
hub_factory puzzle_hub(caf::actor_system& sys, directory_actor directory,
                       const config::settings& cfg);

} // namespace puzzle::transports::signalr
