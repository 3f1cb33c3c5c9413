#pragma once

#include <functional>
#include <memory>
#include <string>

#include "actors/client/client_port.hpp"
#include "transports/auth/connection_identity.hpp"
#include "transports/signalr/hub_protocol.hpp"

/// The seam between a SignalR connection (framing, handshake, keep-alive,
/// write queue: the same for every hub) and a hub (its methods and the
/// actors behind them). `/puzzlehub` and `/webrtchub` are two bindings of
/// the one connection class.
namespace puzzle::transports::signalr {

/// The connection as a hub binding sees it. Thread-safe, never blocks.
class hub_link {
public:
  using frame = std::shared_ptr<const std::string>;

  virtual ~hub_link() = default;

  /// Queues one or more complete records.
  virtual send_status enqueue(frame bytes) = 0;

  /// Sends a Close message (with `error`, if any) after what is queued.
  virtual void close_with(std::string error, bool allow_reconnect) = 0;
};

/// What one hub does for one connection, created after the handshake.
/// Destroying it ends whatever serves the connection (its actors).
class hub_binding {
public:
  virtual ~hub_binding() = default;

  /// One invocation, on the connection's strand, in arrival order.
  virtual void invoke(const invocation& call) = 0;
};

/// Who the connection is, for the binding.
struct hub_context {
  std::weak_ptr<hub_link> link;
  std::string connection_id;
  auth::connection_identity identity;
};

using hub_factory = std::function<std::unique_ptr<hub_binding>(hub_context)>;

/// `Error(message, code)`, the contract's event for failures without a
/// completion to carry them.
std::string encode_error_event(std::string_view message, errc code);

} // namespace puzzle::transports::signalr
