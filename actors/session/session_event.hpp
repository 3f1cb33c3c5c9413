#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

#include <caf/error.hpp>
#include <caf/meta/load_callback.hpp>
#include <caf/meta/type_name.hpp>

namespace puzzle {

/// The wire formats an event can be encoded into. Each transport owns one
/// slot of an event's frame cache.
enum class wire_format : uint8_t {
  signalr_json = 0,
  socketio,
  websocket,
  mqtt
};
inline constexpr size_t wire_format_count = 4;

/// Encoded frames of one event, filled lazily: the first client actor that
/// needs the SignalR frame encodes it, every other recipient shares the bytes.
class frame_cache {
public:
  using frame = std::shared_ptr<const std::string>;

  /// Returns the frame for `fmt`, encoding it with `encode()` on first use.
  template<class Encoder>
  frame get(wire_format fmt, Encoder&& encode) {
    auto& entry = slots_[static_cast<size_t>(fmt)];
    std::call_once(entry.once, [&] {
      entry.bytes = encode();
    });
    return entry.bytes;
  }

private:
  struct cache_slot {
    std::once_flag once;
    frame bytes;
  };
  std::array<cache_slot, wire_format_count> slots_;
};

/// A server-to-client event of one session, e.g. `PieceMoved`. The session
/// builds the JSON payload once; transports wrap it into their framing once
/// per wire format through `cache`.
struct session_event {
  std::string session_id;
  std::string name; ///< The contract's client method, e.g. "PieceMoved".
  /// The method's arguments as one JSON array, e.g. `[{"pieceId":3,...}]`.
  std::shared_ptr<const std::string> payload;
  uint64_t version = 0; ///< Session version after the change (0: none).
  std::shared_ptr<frame_cache> cache = std::make_shared<frame_cache>();
};

template<class Inspector>
typename Inspector::result_type inspect(Inspector& f, session_event& x) {
  // The payload travels by value between nodes; the cache stays local.
  std::string payload = x.payload ? *x.payload : std::string{};
  auto restore = [&]() -> caf::error {
    x.payload = std::make_shared<const std::string>(std::move(payload));
    x.cache = std::make_shared<frame_cache>();
    return caf::none;
  };
  return f(caf::meta::type_name("session_event"), x.session_id, x.name,
           x.version, payload, caf::meta::load_callback(restore));
}

} // namespace puzzle
