#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include <caf/meta/load_callback.hpp>
#include <caf/meta/type_name.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include "actors/session/session_event.hpp"

/// Named publish/subscribe channels of the raw WebSocket protocol
/// (contract.md section 6, the seed's `subscribe` and `broadcast`): any
/// client may publish JSON data to a channel, every subscriber receives it.
/// Session channels (`session:<id>`) are not served here; they are the
/// sessions' own events.
namespace puzzle {

/// One publication. `data` is JSON text chosen by the publisher; the
/// registry fans the same message (and its frame cache) out to every
/// subscriber, so each wire format is encoded once per publication.
struct channel_message {
  std::string channel;
  std::shared_ptr<const std::string> data;
  int64_t sent_at = 0; ///< Unix milliseconds, set by the registry.
  std::shared_ptr<frame_cache> cache = std::make_shared<frame_cache>();
};

template<class Inspector>
typename Inspector::result_type inspect(Inspector& f, channel_message& x) {
  // The data travels by value between nodes; the cache stays local.
  std::string data = x.data ? *x.data : std::string{};
  auto restore = [&]() -> caf::error {
    x.data = std::make_shared<const std::string>(std::move(data));
    x.cache = std::make_shared<frame_cache>();
    return caf::none;
  };
  return f(caf::meta::type_name("channel_message"), x.channel, x.sent_at, data,
           caf::meta::load_callback(restore));
}

/// Whoever receives channel publications (a connection's client actor).
using channel_subscriber_actor
    = caf::typed_actor<caf::reacts_to<channel_message>>;

} // namespace puzzle
