#pragma once

#include <string>
#include <vector>

#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include "actors/device/device_types.hpp"
#include "actors/message_types.hpp"

namespace puzzle {

/// Where the device side sends what goes out to the world (the MQTT
/// bridge). Fire-and-forget: a publication that cannot be made is counted
/// and dropped by the bridge.
///
/// - `session_event`: an event of a session that has bound devices, for
///   `puzzle/{sessionId}/events`.
/// - `session_progress`: for the retained `puzzle/{sessionId}/progress`.
/// - `device_command`: for `iot/{deviceId}/command`.
using device_outbox_actor = caf::typed_actor<caf::reacts_to<session_event>,
                                             caf::reacts_to<session_progress>,
                                             caf::reacts_to<device_command>>;

/// One IoT device, spawned by the registry the first time the device is
/// heard of (a message, or a binding). It owns the device's presence, last
/// readings, message rate, binding and remembered `msgId`s, and acts in its
/// bound session through a `client` actor of its own, exactly as a player's
/// connection does (same rate limits, locks, bounds, snapping).
///
/// - `device_status`, `device_reading`: presence and readings.
/// - `device_placement`: a move in the bound session, at most once per
///   `msgId`; the result goes back to the device as a `placementResult`
///   command. Dropped (counted, logged) when the device is not bound to
///   that session, the session does not exist, or the id was seen.
/// - `(bind_atom, device_binding)` -> the device's view once its client
///   actor has joined the session; the join's error otherwise (the binding
///   is then dropped).
/// - `(unbind_atom)` -> `true`; leaves the session.
/// - `(state_atom)` -> `device_view`.
/// - `device_outcome`: what the client actor answered (from the port).
/// - `(tick_atom)`: a presence deadline may be due.
/// Messages are handled in arrival order.
using device_actor = caf::typed_actor<
    caf::reacts_to<device_status>, caf::reacts_to<device_reading>,
    caf::reacts_to<device_placement>,
    caf::replies_to<bind_atom, device_binding>::with<device_view>,
    caf::replies_to<unbind_atom>::with<bool>,
    caf::replies_to<state_atom>::with<device_view>,
    caf::reacts_to<device_outcome>, caf::reacts_to<tick_atom>>;

/// The node's device directory and the hub between the MQTT bridge, the
/// device actors, the sessions and the REST API (one per node).
///
/// - `device_status`, `device_reading`, `device_placement` (from the
///   bridge): routed to the device's actor, which is spawned on first use
///   (at most `mqtt.max-devices`; beyond that dropped as
///   `too_many_devices`).
/// - `(bind_atom, session_id, device_id, requester)` -> the device's view;
///   `SESSION_NOT_FOUND`; `FORBIDDEN` unless the requester owns the session;
///   `CONFLICT` when the device is bound to another session;
///   `INVALID_ARGUMENT` for a bad device id. Binding again is a no-op.
/// - `(unbind_atom, session_id, device_id, requester)` -> `false` when the
///   device was not bound to that session; `FORBIDDEN` as above.
/// - `(list_atom, device_atom)` -> every device, by id.
/// - `(list_atom, device_atom, session_id)` -> the devices bound to it.
/// - `(command_atom, session_id, device_id, requester, json)` -> `true`
///   once handed to the bridge: a command (a JSON object with a `command`
///   string) for a device bound to a session the requester owns.
/// - `(feed_atom, device_id, session_event)` (from device ports): an event
///   of a bound session, published once per session (one bound device
///   feeds it); moves refresh the retained progress.
/// - `device_command` (from device actors): handed to the bridge.
/// - `(unbind_atom, device_id, session_id)` (from a device actor): its
///   session is gone.
/// - `(mqtt_up_atom)` (from the bridge): (re)connected; republish the
///   progress of every bound session.
/// - `(outbox_atom, device_outbox_actor)`: where publications go.
using device_registry_actor = caf::typed_actor<
    caf::reacts_to<device_status>, caf::reacts_to<device_reading>,
    caf::reacts_to<device_placement>,
    caf::replies_to<bind_atom, std::string, std::string,
                    user_identity>::with<device_view>,
    caf::replies_to<unbind_atom, std::string, std::string,
                    user_identity>::with<bool>,
    caf::replies_to<list_atom, device_atom>::with<std::vector<device_view>>,
    caf::replies_to<list_atom, device_atom,
                    std::string>::with<std::vector<device_view>>,
    caf::replies_to<command_atom, std::string, std::string, user_identity,
                    std::string>::with<bool>,
    caf::reacts_to<feed_atom, std::string, session_event>,
    caf::reacts_to<device_command>,
    caf::reacts_to<unbind_atom, std::string, std::string>,
    caf::reacts_to<mqtt_up_atom>,
    caf::reacts_to<outbox_atom, device_outbox_actor>>;

} // namespace puzzle
