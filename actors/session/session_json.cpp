#include "actors/session/session_json.hpp"

#include <cmath>
#include <cstdio>

#include <nlohmann/json.hpp>

#include "actors/util/ids.hpp"

namespace puzzle::session_json {

std::string quote(const std::string& text) {
  // nlohmann's dump escapes exactly as JSON requires and keeps valid UTF-8.
  return nlohmann::json(text).dump(-1, ' ', false,
                                   nlohmann::json::error_handler_t::replace);
}

std::string number(double value) {
  if (!std::isfinite(value)) return "0";
  return nlohmann::json(value).dump();
}

std::shared_ptr<const std::string> args(const std::string& payload) {
  std::string out;
  out.reserve(payload.size() + 2);
  out += '[';
  out += payload;
  out += ']';
  return std::make_shared<const std::string>(std::move(out));
}

std::shared_ptr<const std::string> args(const std::string& first,
                                        const std::string& second) {
  return std::make_shared<const std::string>('[' + first + ',' + second + ']');
}

std::string piece(const model::piece_state& p, const std::string* locked_by) {
  std::string out = "{\"id\":";
  out += std::to_string(p.id);
  out += ",\"x\":";
  out += number(p.x);
  out += ",\"y\":";
  out += number(p.y);
  out += ",\"rotation\":";
  out += std::to_string(p.rotation);
  out += ",\"isPlaced\":";
  out += p.placed ? "true" : "false";
  out += ",\"groupId\":";
  out += std::to_string(p.group_id);
  out += ",\"lockedBy\":";
  out += locked_by ? quote(*locked_by) : "null";
  out += '}';
  return out;
}

std::string participant_json(const participant& p) {
  return "{\"userId\":" + quote(p.user_id)
      + ",\"username\":" + quote(p.username) + ",\"color\":" + quote(p.color)
      + ",\"joinedAt\":" + quote(util::iso8601(p.joined_at))
      + ",\"online\":" + (p.online ? "true" : "false") + '}';
}

std::string chat_json(const std::string& session_id, const chat_entry& c) {
  return "{\"id\":" + quote(c.id) + ",\"sessionId\":" + quote(session_id)
      + ",\"userId\":" + quote(c.user_id) + ",\"username\":" + quote(c.username)
      + ",\"message\":" + quote(c.message)
      + ",\"timestamp\":" + quote(util::iso8601(c.timestamp)) + '}';
}

namespace {

std::string edges_json(const model::piece_edges& e) {
  std::string out = "[";
  for (size_t i = 0; i < e.size(); ++i) {
    if (i > 0) out += ',';
    out += std::to_string(static_cast<int>(e[i]));
  }
  out += ']';
  return out;
}

std::string optional_time(unix_ms t) {
  return t == 0 ? std::string{"null"} : quote(util::iso8601(t));
}

} // namespace

std::string state(const session_state& st, const model::geometry& geo,
                  const std::vector<model::piece_edges>& cut,
                  const lock_view& locks) {
  auto piece_count = static_cast<int32_t>(st.pieces.size());
  auto placed = model::placed_count(st.pieces);
  std::string out;
  out.reserve(256 + st.pieces.size() * 110 + st.chat.size() * 160);
  out += "{\"sessionId\":" + quote(st.session_id);
  out += ",\"name\":" + quote(st.name);
  out += ",\"ownerId\":" + quote(st.owner_id);
  out += ",\"isPublic\":";
  out += st.is_public ? "true" : "false";
  out += ",\"version\":" + std::to_string(st.version);
  out += ",\"image\":{\"id\":" + quote(st.image.id) + ",\"url\":"
      + quote(st.image.url) + ",\"width\":" + std::to_string(st.image.width)
      + ",\"height\":" + std::to_string(st.image.height) + '}';
  out += ",\"rows\":" + std::to_string(st.spec.rows);
  out += ",\"cols\":" + std::to_string(st.spec.cols);
  out += ",\"pieceCount\":" + std::to_string(piece_count);
  // The seed is a 64-bit value; as a string it survives JavaScript numbers.
  out += ",\"seed\":" + quote(std::to_string(st.spec.seed));
  out += ",\"rotation\":";
  out += st.spec.rotation ? "true" : "false";
  out += ",\"table\":{\"width\":" + number(geo.table_width)
      + ",\"height\":" + number(geo.table_height) + '}';
  out += ",\"board\":{\"x\":" + number(geo.board_x)
      + ",\"y\":" + number(geo.board_y) + '}';
  out += ",\"pieceWidth\":" + number(geo.piece_width);
  out += ",\"pieceHeight\":" + number(geo.piece_height);
  out += ",\"snapTolerance\":" + number(geo.snap_tolerance);
  // Extension: the cut as [top, right, bottom, left] per piece, 1 = tab,
  // -1 = blank, 0 = flat, so every client draws the same shapes.
  out += ",\"edges\":[";
  for (size_t i = 0; i < cut.size(); ++i) {
    if (i > 0) out += ',';
    out += edges_json(cut[i]);
  }
  out += "],\"pieces\":[";
  for (size_t i = 0; i < st.pieces.size(); ++i) {
    if (i > 0) out += ',';
    auto lock = locks.find(st.pieces[i].id);
    out += piece(st.pieces[i], lock == locks.end() ? nullptr : &lock->second);
  }
  out += "],\"participants\":[";
  for (size_t i = 0; i < st.participants.size(); ++i) {
    if (i > 0) out += ',';
    out += participant_json(st.participants[i]);
  }
  out += "],\"chat\":[";
  for (size_t i = 0; i < st.chat.size(); ++i) {
    if (i > 0) out += ',';
    out += chat_json(st.session_id, st.chat[i]);
  }
  out += "],\"completedPieces\":" + std::to_string(placed);
  out += ",\"completionPercentage\":"
      + number(piece_count == 0 ? 0.0 : 100.0 * placed / piece_count);
  out += ",\"isCompleted\":";
  out += st.completed_at != 0 ? "true" : "false";
  out += ",\"createdAt\":" + optional_time(st.created_at);
  out += ",\"startedAt\":" + optional_time(st.started_at);
  out += ",\"completedAt\":" + optional_time(st.completed_at);
  out += '}';
  return out;
}

} // namespace puzzle::session_json
