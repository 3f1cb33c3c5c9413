#pragma once

#include <memory>
#include <string>

#include <caf/actor_addr.hpp>

#include "actors/client/client_port.hpp"
#include "actors/device/device_interface.hpp"

namespace puzzle {

/// The `client_port` of a device's client actor: where a player's
/// connection would frame results and events for a socket, this one hands
/// them back to actors. Call results and events aimed at the device (an
/// `Error`) go to the device actor as `device_outcome`s; the session's
/// events go to the registry, which publishes them once per session.
///
/// Results are the client actor's JSON answers; the port reads the few
/// fields the device needs (a move's `success`, `isCorrectlyPlaced`,
/// `version`), so the device actor never parses JSON. Thread-safe and
/// non-blocking, as `client_port` requires: it only sends messages. It holds
/// the device weakly (the device owns the client actor that owns the port).
class device_port : public client_port {
public:
  device_port(std::string device_id, const device_actor& device,
              device_registry_actor registry);

  send_status push_event(const session_event& event) override;

  send_status push_result(const std::string& call_id,
                          std::shared_ptr<const std::string> json) override;

  send_status push_error(const std::string& call_id, errc code,
                         const std::string& message) override;

  void close(const std::string& reason) override;

  /// The call id of the join, and the prefix of move call ids.
  static constexpr const char* join_call = "join";
  static constexpr const char* move_prefix = "m:";
  /// The pseudo call id of `close()`.
  static constexpr const char* close_call = "close";

private:
  /// Sends `x` to the device if it is still alive.
  void to_device(device_outcome x);

  std::string device_id_;
  caf::actor_addr device_;
  device_registry_actor registry_;
};

} // namespace puzzle
