#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <caf/meta/type_name.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include "actors/client/client_port.hpp"
#include "actors/errc.hpp"
#include "actors/message_types.hpp"

/// WebRTC signalling (contract.md section 4): rooms of peers that relay
/// offers, answers, ICE candidates and free-form signals to one another. The
/// node never looks into the payloads; it only routes them, in order, between
/// members of the same room.
namespace puzzle {

/// One member of a room: its connection id (the hub's) and the name it chose.
struct webrtc_participant {
  std::string connection_id;
  std::string user_name;
};

/// What is relayed: the four hub methods `SendSignal`, `SendOffer`,
/// `SendAnswer`, `SendIceCandidate`.
enum class signal_kind : uint8_t {
  signal = 0,
  offer = 1,
  answer = 2,
  ice_candidate = 3,
};

/// A relay from one member to another of the same room.
struct webrtc_relay {
  signal_kind kind = signal_kind::signal;
  std::string from;   ///< Sender's connection id.
  std::string target; ///< Receiver's connection id.
  std::string payload;
};

/// What a room tells a member.
enum class webrtc_event_kind : uint8_t {
  user_joined = 0,           ///< `connection_id`, `user_name` joined.
  user_left = 1,             ///< `connection_id` left or went away.
  existing_participants = 2, ///< `participants`: the others, on joining.
  relayed = 3,               ///< `signal` from `connection_id`: `payload`.
};

struct webrtc_event {
  webrtc_event_kind kind = webrtc_event_kind::user_joined;
  std::string room;
  std::string connection_id;
  std::string user_name;
  signal_kind signal = signal_kind::signal;
  std::string payload;
  std::vector<webrtc_participant> participants;
};

/// A hub call of one connection, for its peer actor. `call_id` empty: no
/// completion expected.
enum class webrtc_command_kind : uint8_t {
  join = 0,
  leave = 1,
  relay = 2,
};

struct webrtc_command {
  webrtc_command_kind kind = webrtc_command_kind::join;
  std::string call_id;
  std::string room;      ///< join, leave
  std::string user_name; ///< join
  signal_kind signal = signal_kind::signal;
  std::string payload; ///< relay
  std::string target;  ///< relay
};

template<class Inspector>
typename Inspector::result_type inspect(Inspector& f, webrtc_participant& x) {
  return f(caf::meta::type_name("webrtc_participant"), x.connection_id,
           x.user_name);
}

template<class Inspector>
typename Inspector::result_type inspect(Inspector& f, webrtc_relay& x) {
  return f(caf::meta::type_name("webrtc_relay"), x.kind, x.from, x.target,
           x.payload);
}

template<class Inspector>
typename Inspector::result_type inspect(Inspector& f, webrtc_event& x) {
  return f(caf::meta::type_name("webrtc_event"), x.kind, x.room,
           x.connection_id, x.user_name, x.signal, x.payload, x.participants);
}

template<class Inspector>
typename Inspector::result_type inspect(Inspector& f, webrtc_command& x) {
  return f(caf::meta::type_name("webrtc_command"), x.kind, x.call_id, x.room,
           x.user_name, x.signal, x.payload, x.target);
}

/// A room member as rooms see it: it receives the room's events.
using webrtc_member_actor = caf::typed_actor<caf::reacts_to<webrtc_event>>;

/// One room (see `webrtc_room` in webrtc_room_actor.hpp).
using webrtc_room_actor = caf::typed_actor<
    caf::replies_to<join_atom, webrtc_participant,
                    webrtc_member_actor>::with<std::vector<webrtc_participant>>,
    caf::replies_to<leave_atom, std::string>::with<bool>,
    caf::replies_to<relay_atom, webrtc_relay>::with<bool>>;

/// The node's rooms by name (see `webrtc_rooms` in webrtc_room_actor.hpp).
using webrtc_rooms_actor = caf::typed_actor<
    caf::replies_to<join_atom, std::string, webrtc_participant,
                    webrtc_member_actor>::with<std::vector<webrtc_participant>>,
    caf::replies_to<leave_atom, std::string, std::string>::with<bool>,
    caf::replies_to<relay_atom, std::string, webrtc_relay>::with<bool>,
    caf::reacts_to<idle_atom, std::string, uint64_t>>;

/// One connection's signalling peer: its hub calls in, room events back.
using webrtc_peer_actor = caf::typed_actor<caf::reacts_to<webrtc_event>,
                                           caf::reacts_to<webrtc_command>,
                                           caf::reacts_to<close_atom>>;

/// The connection as the peer actor sees it; implemented by the transport.
/// Thread-safe and never blocking, like `client_port`.
class webrtc_port {
public:
  virtual ~webrtc_port() = default;

  /// A room event for this connection.
  virtual send_status push_event(const webrtc_event& event) = 0;

  /// Call `call_id` succeeded (no result value: the hub methods are void).
  virtual send_status push_result(const std::string& call_id) = 0;

  /// Call `call_id` failed; empty `call_id`: a non-blocking call, reported
  /// as the contract's `Error(message, code)` event.
  virtual send_status
  push_error(const std::string& call_id, errc code, const std::string& message)
      = 0;
};

using webrtc_port_ptr = std::shared_ptr<webrtc_port>;

} // namespace puzzle
