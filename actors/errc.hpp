#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace puzzle {

/// The stable error codes of the external contract (contract.md section 1).
/// The numbers are part of the wire format between nodes: never renumber,
/// only append.
enum class errc : uint8_t {
  none = 0,
  session_not_found = 1,
  not_joined = 2,
  piece_locked = 3,
  piece_not_held = 4,
  invalid_move = 5,
  invalid_message = 6,
  rate_limited = 7,
  unauthorized = 8,
  forbidden = 9,
  limit_exceeded = 10,
  internal = 11,
  invalid_argument = 12,
  conflict = 13,
  image_not_found = 14,
  invalid_image = 15,
};

/// All enumerators, for exhaustive checks in tests and docs.
inline constexpr errc all_errc[] = {
    errc::none,
    errc::session_not_found,
    errc::not_joined,
    errc::piece_locked,
    errc::piece_not_held,
    errc::invalid_move,
    errc::invalid_message,
    errc::rate_limited,
    errc::unauthorized,
    errc::forbidden,
    errc::limit_exceeded,
    errc::internal,
    errc::invalid_argument,
    errc::conflict,
    errc::image_not_found,
    errc::invalid_image,
};

/// The contract's `code` string, e.g. `PIECE_LOCKED`.
std::string_view to_code(errc x) noexcept;

/// Same as `to_code`, as CAF's error renderer expects.
std::string to_string(errc x);

/// The HTTP status a REST answer uses for this code.
int http_status(errc x) noexcept;

} // namespace puzzle
