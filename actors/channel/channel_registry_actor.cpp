#include "actors/channel/channel_registry_actor.hpp"

#include <caf/all.hpp>

#include "actors/util/ids.hpp"

namespace puzzle {

namespace {

using self_ptr
    = channel_registry_actor::stateful_pointer<channel_registry_state>;

void remove(self_ptr self, const std::string& channel,
            const caf::actor_addr& who) {
  auto& st = self->state;
  auto i = st.channels.find(channel);
  if (i == st.channels.end()) return;
  auto& members = i->second;
  for (auto j = members.begin(); j != members.end(); ++j) {
    if (j->address() == who) {
      members.erase(j);
      break;
    }
  }
  if (members.empty()) st.channels.erase(i);
}

} // namespace

channel_registry_actor::behavior_type channel_registry(self_ptr self) {
  self->set_down_handler([self](const caf::down_msg& msg) {
    auto& st = self->state;
    auto i = st.by_subscriber.find(msg.source);
    if (i == st.by_subscriber.end()) return;
    for (auto& channel : i->second)
      remove(self, channel, msg.source);
    st.by_subscriber.erase(i);
  });
  return {
      [self](subscribe_atom, std::string& channel,
             channel_subscriber_actor& who) {
        auto& st = self->state;
        auto& channels = st.by_subscriber[who.address()];
        if (channels.empty()) self->monitor(who);
        channels.insert(channel);
        st.channels[channel].insert(std::move(who));
      },
      [self](unsubscribe_atom, std::string& channel,
             channel_subscriber_actor& who) {
        auto& st = self->state;
        auto i = st.by_subscriber.find(who.address());
        if (i == st.by_subscriber.end()) return;
        i->second.erase(channel);
        remove(self, channel, who.address());
        if (i->second.empty()) {
          self->demonitor(who.address());
          st.by_subscriber.erase(i);
        }
      },
      [self](publish_atom, channel_message& msg) {
        auto i = self->state.channels.find(msg.channel);
        if (i == self->state.channels.end()) return;
        msg.sent_at = util::now_ms();
        for (auto& who : i->second)
          self->send(who, msg);
      },
  };
}

} // namespace puzzle
