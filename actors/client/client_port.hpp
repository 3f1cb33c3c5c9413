#pragma once

#include <memory>
#include <string>

#include "actors/channel/channel_interface.hpp"
#include "actors/errc.hpp"
#include "actors/session/session_event.hpp"

namespace puzzle {

/// What a queued frame met at the connection (style guide item 11).
enum class send_status : uint8_t {
  queued,  ///< Accepted into the bounded write queue.
  dropped, ///< Not queued (e.g. a droppable update to a slow reader).
  closing, ///< The connection is closing; nothing more is sent.
};

/// The client actor's view of its connection. Each transport implements it:
/// it wraps events, results and errors into its own framing and queues the
/// bytes on the connection's bounded write queue. All members are
/// thread-safe and never block: the client actor calls them from a
/// scheduler thread.
class client_port {
public:
  virtual ~client_port() = default;

  /// A session event for this connection (encoded once per wire format via
  /// the event's frame cache).
  virtual send_status push_event(const session_event& event) = 0;

  /// A successful answer to call `call_id`; `json` is the result value or
  /// null for a call without result.
  virtual send_status push_result(const std::string& call_id,
                                  std::shared_ptr<const std::string> json)
      = 0;

  /// A failed call. For a non-blocking call (`call_id` empty) the transport
  /// sends the contract's `Error(message, code)` event instead.
  virtual send_status
  push_error(const std::string& call_id, errc code, const std::string& message)
      = 0;

  /// A publication on a channel this connection subscribed to. Transports
  /// without channels (SignalR) keep the default, which drops it.
  virtual send_status push_channel(const channel_message&) {
    return send_status::dropped;
  }

  /// Ends the connection with a reason the client can show.
  virtual void close(const std::string& reason) = 0;
};

using client_port_ptr = std::shared_ptr<client_port>;

} // namespace puzzle
