#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>

#include <caf/typed_event_based_actor.hpp>

#include "actors/webrtc/webrtc_interface.hpp"

namespace puzzle {

struct webrtc_peer_options {
  uint32_t max_rooms = 4; ///< `webrtc.max-rooms-per-connection`
};

/// One signalling connection: runs its hub calls against the rooms and
/// passes the rooms' events to the connection through its port.
///
/// Relays name only the target connection: the peer routes them through the
/// room in which it learned of the target (from `existing_participants` and
/// `user_joined`), so a connection can only reach members of its own rooms,
/// and its relays to one target travel one path and keep their order.
/// `close_atom` ends the peer; the rooms it was in see it leave.
struct webrtc_peer_state {
  static inline const char* name = "puzzle.webrtc_peer";

  webrtc_port_ptr port;
  webrtc_rooms_actor rooms;
  std::string connection_id;
  webrtc_peer_options options;
  std::set<std::string> joined;                    ///< Room names.
  std::map<std::string, std::string> room_of_peer; ///< Connection -> room.
};

webrtc_peer_actor::behavior_type
webrtc_peer(webrtc_peer_actor::stateful_pointer<webrtc_peer_state> self,
            webrtc_port_ptr port, webrtc_rooms_actor rooms,
            std::string connection_id, webrtc_peer_options options);

} // namespace puzzle
