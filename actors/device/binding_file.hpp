#pragma once

#include <string>
#include <vector>

#include <caf/fwd.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include "actors/device/device_types.hpp"

/// Device bindings kept in a small JSON file (`mqtt.bindings-file`, by
/// default next to the SQLite database), so that a bound puzzle box stays
/// bound when the node restarts. A stop-gap until the store holds them: the
/// file belongs to one node.
namespace puzzle {

/// Reads the bindings in `path`. A missing file is no bindings; a file that
/// does not parse is an error (returned as text, empty on success), so that
/// the node does not silently forget what owners bound.
std::string load_bindings(const std::string& path,
                          std::vector<device_binding>& out);

/// Writes `bindings` to `path` atomically (a temporary file, then rename);
/// returns an error text, empty on success.
std::string save_bindings(const std::string& path,
                          const std::vector<device_binding>& bindings);

/// Writes each list it gets to the file, the newest last (blocking file
/// I/O: spawned detached, off the shared scheduler threads).
using binding_saver_actor
    = caf::typed_actor<caf::reacts_to<std::vector<device_binding>>>;

/// Spawns the saver for `path`.
binding_saver_actor spawn_binding_saver(caf::actor_system& sys,
                                        std::string path);

} // namespace puzzle
