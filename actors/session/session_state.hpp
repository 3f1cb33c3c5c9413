#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <caf/meta/type_name.hpp>

#include "actors/model/puzzle_model.hpp"

namespace puzzle {

/// Milliseconds since the Unix epoch, UTC. Zero means "not yet".
using unix_ms = int64_t;

/// Someone who joined a session at least once.
struct participant {
  std::string user_id;
  std::string username;
  std::string color; ///< CSS colour, stable per user within the session.
  unix_ms joined_at = 0;
  bool online = false; ///< Runtime only: stored participants load offline.
};

/// One chat line; `message` is stored exactly as sent (after trimming).
struct chat_entry {
  std::string id;
  std::string user_id;
  std::string username;
  std::string message;
  unix_ms timestamp = 0;
};

/// A built-in or uploaded image.
struct image_ref {
  std::string id;
  std::string url;
  int32_t width = 0;
  int32_t height = 0;
};

/// The authoritative state of one session: everything a restarted node or a
/// migration target needs. Locks are not part of it: they are leases that
/// die with their holders.
struct session_state {
  /// Bumped whenever a field is added, removed or changes meaning.
  static constexpr uint16_t current_schema = 1;

  uint16_t schema_version = current_schema;
  std::string session_id;
  std::string name;
  std::string owner_id;
  bool is_public = true;
  image_ref image;
  model::puzzle_spec spec;
  uint64_t version = 0;
  std::vector<model::piece_state> pieces;
  std::vector<participant> participants;
  std::vector<chat_entry> chat; ///< Oldest first, at most the chat capacity.
  unix_ms created_at = 0;
  unix_ms started_at = 0;   ///< First accepted move.
  unix_ms completed_at = 0; ///< Set exactly once, when the last piece lands.
};

/// What the lobby lists about a session.
struct session_summary {
  std::string session_id;
  std::string name;
  std::string owner_id;
  bool is_public = true;
  image_ref image;
  int32_t rows = 0;
  int32_t cols = 0;
  int32_t piece_count = 0;
  int32_t placed_count = 0;
  int32_t participants_online = 0;
  bool is_completed = false;
  unix_ms created_at = 0;
};

/// Summarises a state (participants online counted from the state).
session_summary summarize(const session_state& state);

// -- CAF inspection: the binary form is the snapshot and migration payload --

template<class Inspector>
typename Inspector::result_type inspect(Inspector& f, participant& x) {
  return f(caf::meta::type_name("participant"), x.user_id, x.username, x.color,
           x.joined_at, x.online);
}

template<class Inspector>
typename Inspector::result_type inspect(Inspector& f, chat_entry& x) {
  return f(caf::meta::type_name("chat_entry"), x.id, x.user_id, x.username,
           x.message, x.timestamp);
}

template<class Inspector>
typename Inspector::result_type inspect(Inspector& f, image_ref& x) {
  return f(caf::meta::type_name("image_ref"), x.id, x.url, x.width, x.height);
}

template<class Inspector>
typename Inspector::result_type inspect(Inspector& f, session_state& x) {
  return f(caf::meta::type_name("session_state"), x.schema_version,
           x.session_id, x.name, x.owner_id, x.is_public, x.image, x.spec,
           x.version, x.pieces, x.participants, x.chat, x.created_at,
           x.started_at, x.completed_at);
}

template<class Inspector>
typename Inspector::result_type inspect(Inspector& f, session_summary& x) {
  return f(caf::meta::type_name("session_summary"), x.session_id, x.name,
           x.owner_id, x.is_public, x.image, x.rows, x.cols, x.piece_count,
           x.placed_count, x.participants_online, x.is_completed, x.created_at);
}

} // namespace puzzle

namespace puzzle::model {

template<class Inspector>
typename Inspector::result_type inspect(Inspector& f, puzzle_spec& x) {
  return f(caf::meta::type_name("puzzle_spec"), x.image_width, x.image_height,
           x.rows, x.cols, x.seed, x.rotation, x.snap_ratio, x.table_factor);
}

template<class Inspector>
typename Inspector::result_type inspect(Inspector& f, piece_state& x) {
  return f(caf::meta::type_name("piece_state"), x.id, x.x, x.y, x.rotation,
           x.placed, x.group_id);
}

} // namespace puzzle::model
