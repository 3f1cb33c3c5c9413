#pragma once

#include <cstddef>
#include <map>
#include <set>
#include <string>

#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include "actors/channel/channel_interface.hpp"
#include "actors/message_types.hpp"

namespace puzzle {

/// The node's channel registry: who listens to which channel.
///
/// - `(subscribe_atom, channel, subscriber)`: adds the subscriber (again is
///   a no-op). The registry monitors it and forgets it when it exits.
/// - `(unsubscribe_atom, channel, subscriber)`: removes it (absent: no-op).
/// - `(publish_atom, channel_message)`: stamps `sent_at` and sends the one
///   message to every subscriber of its channel, the publisher included
///   when it subscribed (as the seed does).
///
/// One sender's messages are handled in the order sent, so a client that
/// subscribes and then publishes receives its own publication.
using channel_registry_actor = caf::typed_actor<
    caf::reacts_to<subscribe_atom, std::string, channel_subscriber_actor>,
    caf::reacts_to<unsubscribe_atom, std::string, channel_subscriber_actor>,
    caf::reacts_to<publish_atom, channel_message>>;

struct channel_registry_state {
  static inline const char* name = "puzzle.channels";

  /// Subscribers per channel; channels without subscribers are erased.
  std::map<std::string, std::set<channel_subscriber_actor>> channels;
  /// Channels per subscriber, to forget an exited subscriber at once.
  std::map<caf::actor_addr, std::set<std::string>> by_subscriber;
};

channel_registry_actor::behavior_type channel_registry(
    channel_registry_actor::stateful_pointer<channel_registry_state> self);

} // namespace puzzle
