#pragma once

#include <cstdint>
#include <map>
#include <string>

#include <caf/typed_event_based_actor.hpp>

#include "actors/webrtc/webrtc_interface.hpp"

namespace puzzle {

struct webrtc_room_options {
  uint32_t max_members = 16; ///< `webrtc.max-room-size`
};

/// One signalling room: its members and the relays between them.
///
/// - `(join_atom, participant, member)`: adds the member (joining again
///   renames it), tells every other member `user_joined` and answers with
///   the others; `LIMIT_EXCEEDED` when the room is full. The room monitors
///   the member and treats its exit as leaving.
/// - `(leave_atom, connection_id)`: removes it and tells the others
///   `user_left`; `true` if it was a member.
/// - `(relay_atom, relay)`: hands the payload to the target as `relayed`.
///   `NOT_JOINED` if the sender is no member, `INVALID_ARGUMENT` if the
///   target is none. One sender's relays reach a target in the order sent
///   (one mailbox in between).
///
/// When the last member goes, the room tells its registry `(idle_atom, name,
/// joins)` and waits to be stopped (a join may be on its way).
struct webrtc_room_state {
  static inline const char* name = "puzzle.webrtc_room";

  struct member {
    std::string user_name;
    webrtc_member_actor handle;
  };

  std::string room;
  webrtc_rooms_actor registry;
  webrtc_room_options options;
  std::map<std::string, member> members; ///< By connection id.
  uint64_t joins = 0;                    ///< Join requests handled.
};

webrtc_room_actor::behavior_type
webrtc_room(webrtc_room_actor::stateful_pointer<webrtc_room_state> self,
            std::string room, webrtc_rooms_actor registry,
            webrtc_room_options options);

/// The node's rooms by name: creates a room on its first join, forwards
/// each call to its room (so one connection's calls keep their order), and
/// stops a room once it is idle with no join in flight. Calls for a room
/// that does not exist: `leave` answers `false`, `relay` `INVALID_ARGUMENT`.
struct webrtc_rooms_state {
  static inline const char* name = "puzzle.webrtc_rooms";

  struct entry {
    webrtc_room_actor room;
    uint64_t joins_forwarded = 0;
  };

  webrtc_room_options options;
  std::map<std::string, entry> rooms;
};

webrtc_rooms_actor::behavior_type
webrtc_rooms(webrtc_rooms_actor::stateful_pointer<webrtc_rooms_state> self,
             webrtc_room_options options);

} // namespace puzzle
