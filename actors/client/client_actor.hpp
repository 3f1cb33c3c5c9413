#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <caf/actor_addr.hpp>
#include <caf/actor_clock.hpp>

#include "actors/client/client_interface.hpp"
#include "actors/client/client_port.hpp"
#include "actors/directory_interface.hpp"
#include "actors/util/rate_limiter.hpp"

namespace puzzle::config {
struct settings;
} // namespace puzzle::config

namespace puzzle {

/// What a connection's real-time calls are counted as, each kind with its
/// own budget (`rate-limits.*`).
enum class call_budget : uint8_t {
  drag = 0,    ///< drag
  move = 1,    ///< move, lock, unlock
  chat = 2,    ///< chat
  cursor = 3,  ///< cursor
  session = 4, ///< join, leave, state
};

inline constexpr size_t call_budget_count = 5;

/// The knobs of a client actor, from config.
struct client_options {
  std::chrono::milliseconds request_timeout{10'000};
  uint32_t max_sessions = 16; ///< Sessions one connection may join.
  /// Budgets by `call_budget`; `rate-limits.drags` and so on (these are
  /// the config's defaults).
  util::limiter_spec budgets[call_budget_count] = {
      {util::limiter_spec::algorithm::token_bucket, 60,
       std::chrono::milliseconds{1000}, 1, 30},
      {util::limiter_spec::algorithm::token_bucket, 40,
       std::chrono::milliseconds{1000}, 1, 20},
      {util::limiter_spec::algorithm::token_bucket, 5,
       std::chrono::milliseconds{2000}, 1, 1},
      {util::limiter_spec::algorithm::token_bucket, 40,
       std::chrono::milliseconds{1000}, 1, 20},
      {util::limiter_spec::algorithm::token_bucket, 20,
       std::chrono::milliseconds{1000}, 1, 5},
  };
  /// Refusals within `abuse_window` after which the connection is closed
  /// (`rate-limits.close-after-refusals`; 0: never).
  uint32_t close_after_refusals = 200;
  std::chrono::milliseconds abuse_window{10'000};
  /// How long a client actor keeps looking for a joined session whose actor
  /// went away (its node died or it moved) before it gives up with
  /// SESSION_NOT_FOUND. In a cluster long enough for a failover:
  /// `cluster.connection-timeout + cluster.down-after` plus this request
  /// timeout (client_options_of).
  std::chrono::milliseconds rejoin_window{10'000};
};

/// The options every transport gives its client actors, from the settings.
client_options client_options_of(const config::settings& cfg);

struct client_actor_state {
  static inline const char* name = "puzzle.client";

  client_port_ptr port;
  directory_actor directory;
  user_identity identity;
  bool authenticated = false; ///< The identity comes from a verified token.
  client_options options;
  std::map<std::string, session_actor> sessions; ///< Joined, by id.

  /// Moves and re-joins (docs/cluster.md, "Migration"). Requests sent to
  /// each joined session's current handle and not answered yet: a "moved"
  /// hint switches `sessions[id]` only once this is 0, so every earlier
  /// request went through the old handle (which forwards in mailbox order)
  /// before a later one goes to the new one.
  std::map<std::string, uint32_t> outstanding;
  /// Hints waiting for `outstanding` to reach 0, by session id.
  std::map<std::string, session_actor> moved_to;
  /// A joined session whose actor went away: re-resolved through the
  /// directory until `deadline`; an answer naming `lost` again (a directory
  /// that has not seen the loss yet) is asked again later.
  struct rejoin {
    caf::actor_clock::time_point deadline;
    caf::actor_addr lost;
  };
  std::map<std::string, rejoin> rejoining;
  /// Sessions deleted while joined: later calls get SESSION_NOT_FOUND.
  std::set<std::string> deleted;
  /// Session handles this actor monitors.
  std::set<caf::actor_addr> watched;

  /// Per kind of call: its budget, and when a refusal of a call without an
  /// answer (drags, cursors) was last reported, so that a flood does not get
  /// one error back per message.
  struct budget_state {
    util::rate_limiter limiter{util::limiter_spec{}};
    std::optional<caf::actor_clock::time_point> reported;
  };
  std::vector<budget_state> budgets;
  util::rate_limiter refusals{util::limiter_spec{}}; ///< The abuse budget.
};

/// How often a client actor asks the directory again for a session whose
/// actor went away, until `client_options::request_timeout` has passed.
inline constexpr std::chrono::milliseconds rejoin_retry_interval{250};

/// How long one re-join attempt waits for the session's answer: a message
/// to an actor whose node is gone may be dropped without an answer, so an
/// attempt must not take the whole request timeout.
inline constexpr std::chrono::milliseconds rejoin_attempt_timeout{2'000};

/// The behaviour of one connection's client actor. `identity` is the
/// verified token's user, or a fresh guest when `authenticated` is false (a
/// `JoinPuzzleSession` may then name its own `userId`).
client_actor::behavior_type
client_behavior(client_actor::stateful_pointer<client_actor_state> self,
                client_port_ptr port, directory_actor directory,
                user_identity identity, bool authenticated,
                client_options options);

} // namespace puzzle
