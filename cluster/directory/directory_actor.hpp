#pragma once

#include <chrono>
#include <map>
#include <string>
#include <vector>

#include <functional>

#include <caf/expected.hpp>

#include "actors/directory_interface.hpp"
#include "actors/model/puzzle_model.hpp"
#include "actors/session/session_actor.hpp"
#include "actors/store_interface.hpp"

namespace puzzle::cluster {

/// The knobs of the directory, from config.
struct directory_options {
  model::puzzle_limits limits;
  double snap_ratio = 0.02;
  double table_factor = 2.0;
  session_options session;
  std::chrono::milliseconds store_timeout{10'000};
};

struct directory_state {
  static inline const char* name = "puzzle.directory";

  store_actor store;
  directory_options options;
  std::map<std::string, session_actor> live; ///< Sessions in memory.
  using activation_callback = std::function<void(caf::expected<session_actor>)>;
  /// Lookups waiting for a session being loaded from the store, so that one
  /// session is never activated twice.
  std::map<std::string, std::vector<activation_callback>> loading;
};

/// The single-node directory: sessions live in this process, activated from
/// the store on first use. The cluster directory (shared store rows with
/// compare-and-set) will serve the same interface.
directory_actor::behavior_type
directory(directory_actor::stateful_pointer<directory_state> self,
          store_actor store, directory_options options);

} // namespace puzzle::cluster
