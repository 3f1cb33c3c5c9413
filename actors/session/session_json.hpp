#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "actors/model/puzzle_model.hpp"
#include "actors/session/session_state.hpp"

/// The contract's JSON shapes (contract.md section 3) for a session and its
/// events. Built once per event by the session; transports splice the bytes
/// into their framing without parsing them again.
namespace puzzle::session_json {

/// Who holds which piece, for `lockedBy`.
using lock_view = std::unordered_map<int32_t, std::string>;

/// The full `SessionState` object.
std::string state(const session_state& st, const model::geometry& geo,
                  const std::vector<model::piece_edges>& cut,
                  const lock_view& locks);

/// `[payload]`: wraps one JSON value as an argument list.
std::shared_ptr<const std::string> args(const std::string& payload);

/// `[a, b]`.
std::shared_ptr<const std::string> args(const std::string& first,
                                        const std::string& second);

/// A JSON string literal with escaping (quotes included).
std::string quote(const std::string& text);

/// A JSON number for a finite double (shortest round-trip form).
std::string number(double value);

/// One piece as in `SessionState.pieces`.
std::string piece(const model::piece_state& p, const std::string* locked_by);

/// A participant as in `SessionState.participants`.
std::string participant_json(const participant& p);

/// A chat entry as in `ChatMessageReceived`.
std::string chat_json(const std::string& session_id, const chat_entry& c);

} // namespace puzzle::session_json
