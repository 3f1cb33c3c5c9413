#include "actors/session/session_state.hpp"

#include <algorithm>

namespace puzzle {

session_summary summarize(const session_state& state) {
  session_summary out;
  out.session_id = state.session_id;
  out.name = state.name;
  out.owner_id = state.owner_id;
  out.is_public = state.is_public;
  out.image = state.image;
  out.rows = state.spec.rows;
  out.cols = state.spec.cols;
  out.piece_count = static_cast<int32_t>(state.pieces.size());
  out.placed_count = model::placed_count(state.pieces);
  out.participants_online = static_cast<int32_t>(
      std::count_if(state.participants.begin(), state.participants.end(),
                    [](const participant& p) {
                      return p.online;
                    }));
  out.is_completed = state.completed_at != 0;
  out.created_at = state.created_at;
  return out;
}

} // namespace puzzle
