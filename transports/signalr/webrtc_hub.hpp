#pragma once

#include <caf/fwd.hpp>

#include "actors/webrtc/webrtc_interface.hpp"
#include "config/settings.hpp"
#include "transports/signalr/hub_binding.hpp"

namespace puzzle::transports::signalr {

/// The WebRTC signalling hub `/webrtchub` (contract.md section 4): each
/// connection gets a `webrtc_peer` actor; its calls go to the node's rooms
/// actor and the rooms' events come back as client method invocations.
hub_factory webrtc_hub(caf::actor_system& sys, webrtc_rooms_actor rooms,
                       const config::settings& cfg);

} // namespace puzzle::transports::signalr
