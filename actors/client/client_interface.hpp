#pragma once

#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include "actors/channel/channel_interface.hpp"
#include "actors/message_types.hpp"
#include "actors/session/session_interface.hpp"

namespace puzzle {

/// One connection's actor: identity, joined sessions, and the bridge between
/// a transport and the sessions. It never sees bytes: the transport decodes
/// calls into `client_command`s and gives the actor a `client_port` that
/// turns results and events into frames.
///
/// - `session_event`: an event of a joined session, passed to the port.
/// - `client_command`: a decoded call; the answer goes to the port (a result
///   for `call_id`, or an error; for non-blocking calls an `Error` event).
/// - `channel_message`: a publication on a subscribed channel, passed to
///   the port.
/// - `(close_atom)`: the connection is gone: leave every session and quit.
///   Commands are handled in arrival order per connection.
/// - `(moved_atom, session_id, new_handle)`: a hint from a session that
///   moved to another node (docs/cluster.md): switch to the new handle once
///   every request sent to the old one has been answered, so no later call
///   overtakes an earlier one. With an empty handle and this actor as the
///   sender: the retry timer of a re-join (the session's actor ended; the
///   client asks the directory again and re-joins with the same identity).
/// - `(inspect_atom)` -> `actor_probe`.
using client_actor = client_events_actor::extend<
    caf::reacts_to<client_command>, caf::reacts_to<channel_message>,
    caf::reacts_to<close_atom>,
    caf::reacts_to<moved_atom, std::string, session_actor>,
    caf::replies_to<inspect_atom>::with<actor_probe>>;

} // namespace puzzle
