#include "actors/webrtc/webrtc_peer_actor.hpp"

#include <chrono>
#include <utility>
#include <vector>

#include <caf/all.hpp>

#include "actors/caf_errors.hpp"

namespace puzzle {

namespace {

using peer_pointer = webrtc_peer_actor::stateful_pointer<webrtc_peer_state>;

/// Rooms answer at once; this only bounds a call to a stuck node.
constexpr auto call_timeout = std::chrono::seconds(10);

void fail(peer_pointer self, const std::string& call_id,
          const caf::error& err) {
  self->state.port->push_error(call_id, code_of(err), message_of(err));
}

void forget_room(webrtc_peer_state& st, const std::string& room) {
  st.joined.erase(room);
  for (auto i = st.room_of_peer.begin(); i != st.room_of_peer.end();)
    i = i->second == room ? st.room_of_peer.erase(i) : std::next(i);
}

void join(peer_pointer self, webrtc_command& cmd) {
  auto& st = self->state;
  if (st.joined.count(cmd.room) == 0
      && st.joined.size() >= st.options.max_rooms) {
    st.port->push_error(cmd.call_id, errc::limit_exceeded,
                        "a connection joins at most "
                            + std::to_string(st.options.max_rooms)
                            + " rooms (webrtc.max-rooms-per-connection)");
    return;
  }
  webrtc_participant me{st.connection_id, std::move(cmd.user_name)};
  webrtc_member_actor handle = self;
  self->request(st.rooms, call_timeout, join_atom::value, cmd.room, me, handle)
      .then(
          [self, room = cmd.room,
           call_id = cmd.call_id](std::vector<webrtc_participant>& existing) {
            auto& peer = self->state;
            peer.joined.insert(room);
            for (auto& p : existing)
              peer.room_of_peer[p.connection_id] = room;
            webrtc_event ev;
            ev.kind = webrtc_event_kind::existing_participants;
            ev.room = room;
            ev.participants = std::move(existing);
            peer.port->push_event(ev);
            peer.port->push_result(call_id);
          },
          [self, call_id = cmd.call_id](caf::error& err) {
            fail(self, call_id, err);
          });
}

void leave(peer_pointer self, webrtc_command& cmd) {
  auto& st = self->state;
  if (st.joined.count(cmd.room) == 0) {
    st.port->push_result(cmd.call_id); // leaving twice is no error
    return;
  }
  forget_room(st, cmd.room);
  self->request(st.rooms, call_timeout, leave_atom::value, cmd.room,
                st.connection_id)
      .then(
          [self, call_id = cmd.call_id](bool) {
            self->state.port->push_result(call_id);
          },
          [self, call_id = cmd.call_id](caf::error& err) {
            fail(self, call_id, err);
          });
}

void relay(peer_pointer self, webrtc_command& cmd) {
  auto& st = self->state;
  auto i = st.room_of_peer.find(cmd.target);
  if (i == st.room_of_peer.end()) {
    st.port->push_error(cmd.call_id, errc::invalid_argument,
                        "no connection '" + cmd.target
                            + "' in any room of this connection");
    return;
  }
  webrtc_relay relay{cmd.signal, st.connection_id, std::move(cmd.target),
                     std::move(cmd.payload)};
  self->request(st.rooms, call_timeout, relay_atom::value, i->second,
                std::move(relay))
      .then(
          [self, call_id = cmd.call_id](bool) {
            self->state.port->push_result(call_id);
          },
          [self, call_id = cmd.call_id](caf::error& err) {
            fail(self, call_id, err);
          });
}

} // namespace

webrtc_peer_actor::behavior_type
webrtc_peer(peer_pointer self, webrtc_port_ptr port, webrtc_rooms_actor rooms,
            std::string connection_id, webrtc_peer_options options) {
  auto& st = self->state;
  st.port = std::move(port);
  st.rooms = std::move(rooms);
  st.connection_id = std::move(connection_id);
  st.options = options;
  return {
      [self](webrtc_command& cmd) {
        switch (cmd.kind) {
          case webrtc_command_kind::join: return join(self, cmd);
          case webrtc_command_kind::leave: return leave(self, cmd);
          case webrtc_command_kind::relay: return relay(self, cmd);
        }
      },
      [self](webrtc_event& ev) {
        auto& peer = self->state;
        if (peer.joined.count(ev.room) == 0) return; // left meanwhile
        if (ev.kind == webrtc_event_kind::user_joined)
          peer.room_of_peer[ev.connection_id] = ev.room;
        else if (ev.kind == webrtc_event_kind::user_left)
          peer.room_of_peer.erase(ev.connection_id);
        peer.port->push_event(ev);
      },
      [self](close_atom) {
        self->quit();
      },
  };
}

} // namespace puzzle
