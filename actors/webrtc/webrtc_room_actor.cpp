#include "actors/webrtc/webrtc_room_actor.hpp"

#include <utility>
#include <vector>

#include <caf/all.hpp>

#include "actors/caf_errors.hpp"

namespace puzzle {

namespace {

using room_pointer = webrtc_room_actor::stateful_pointer<webrtc_room_state>;

std::vector<webrtc_participant> others(const webrtc_room_state& st,
                                       const std::string& connection_id) {
  std::vector<webrtc_participant> out;
  for (auto& [id, m] : st.members)
    if (id != connection_id) out.push_back(webrtc_participant{id, m.user_name});
  return out;
}

void tell_others(room_pointer self, const std::string& connection_id,
                 const webrtc_event& ev) {
  for (auto& [id, m] : self->state.members)
    if (id != connection_id) self->send(m.handle, ev);
}

void remove_member(room_pointer self, const std::string& connection_id) {
  auto& st = self->state;
  if (st.members.erase(connection_id) == 0) return;
  webrtc_event ev;
  ev.kind = webrtc_event_kind::user_left;
  ev.room = st.room;
  ev.connection_id = connection_id;
  tell_others(self, connection_id, ev);
  if (st.members.empty())
    self->send(st.registry, idle_atom::value, st.room, st.joins);
}

} // namespace

webrtc_room_actor::behavior_type
webrtc_room(room_pointer self, std::string room, webrtc_rooms_actor registry,
            webrtc_room_options options) {
  self->state.room = std::move(room);
  self->state.registry = std::move(registry);
  self->state.options = options;
  self->set_down_handler([self](caf::down_msg& msg) {
    // A member's connection went away: it leaves every room it was in.
    std::vector<std::string> gone;
    for (auto& [id, m] : self->state.members)
      if (m.handle.address() == msg.source) gone.push_back(id);
    for (auto& id : gone)
      remove_member(self, id);
  });
  return {
      [self](join_atom, webrtc_participant& who, webrtc_member_actor& handle)
          -> caf::result<std::vector<webrtc_participant>> {
        auto& st = self->state;
        ++st.joins;
        auto existing = st.members.find(who.connection_id);
        if (existing == st.members.end()
            && st.members.size() >= st.options.max_members)
          return make_error(errc::limit_exceeded,
                            "the room is full: at most "
                                + std::to_string(st.options.max_members)
                                + " members (webrtc.max-room-size)");
        if (existing != st.members.end()) {
          existing->second.user_name = who.user_name;
          return others(st, who.connection_id);
        }
        self->monitor(handle);
        st.members.emplace(who.connection_id,
                           webrtc_room_state::member{who.user_name, handle});
        webrtc_event ev;
        ev.kind = webrtc_event_kind::user_joined;
        ev.room = st.room;
        ev.connection_id = who.connection_id;
        ev.user_name = who.user_name;
        tell_others(self, who.connection_id, ev);
        return others(st, who.connection_id);
      },
      [self](leave_atom, const std::string& connection_id) {
        bool member = self->state.members.count(connection_id) > 0;
        remove_member(self, connection_id);
        return member;
      },
      [self](relay_atom, webrtc_relay& relay) -> caf::result<bool> {
        auto& st = self->state;
        if (st.members.count(relay.from) == 0)
          return make_error(errc::not_joined,
                            "join room '" + st.room + "' first");
        auto target = st.members.find(relay.target);
        if (target == st.members.end())
          return make_error(errc::invalid_argument,
                            "no connection '" + relay.target + "' in room '"
                                + st.room + "'");
        webrtc_event ev;
        ev.kind = webrtc_event_kind::relayed;
        ev.room = st.room;
        ev.connection_id = std::move(relay.from);
        ev.signal = relay.kind;
        ev.payload = std::move(relay.payload);
        self->send(target->second.handle, std::move(ev));
        return true;
      },
  };
}

webrtc_rooms_actor::behavior_type
webrtc_rooms(webrtc_rooms_actor::stateful_pointer<webrtc_rooms_state> self,
             webrtc_room_options options) {
  self->state.options = options;
  return {
      [self](join_atom, std::string& room, webrtc_participant& who,
             webrtc_member_actor& handle) {
        auto& st = self->state;
        auto i = st.rooms.find(room);
        if (i == st.rooms.end()) {
          auto spawned = self->spawn(webrtc_room, room,
                                     caf::actor_cast<webrtc_rooms_actor>(self),
                                     st.options);
          i = st.rooms.emplace(room, webrtc_rooms_state::entry{spawned, 0})
                  .first;
        }
        ++i->second.joins_forwarded;
        return self->delegate(i->second.room, join_atom::value, std::move(who),
                              std::move(handle));
      },
      [self](leave_atom, const std::string& room,
             std::string& connection_id) -> caf::result<bool> {
        auto i = self->state.rooms.find(room);
        if (i == self->state.rooms.end()) return false;
        return self->delegate(i->second.room, leave_atom::value,
                              std::move(connection_id));
      },
      [self](relay_atom, const std::string& room,
             webrtc_relay& relay) -> caf::result<bool> {
        auto i = self->state.rooms.find(room);
        if (i == self->state.rooms.end())
          return make_error(errc::invalid_argument, "no room '" + room + "'");
        return self->delegate(i->second.room, relay_atom::value,
                              std::move(relay));
      },
      [self](idle_atom, const std::string& room, uint64_t joins) {
        // Stop the room only if no join was forwarded after the one that
        // the room counted last; otherwise a member is on its way in.
        auto i = self->state.rooms.find(room);
        if (i == self->state.rooms.end() || i->second.joins_forwarded != joins)
          return;
        self->send_exit(i->second.room, caf::exit_reason::normal);
        self->state.rooms.erase(i);
      },
  };
}

} // namespace puzzle
