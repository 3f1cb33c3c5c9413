#include "actors/errc.hpp"

namespace puzzle {

std::string_view to_code(errc x) noexcept {
  switch (x) {
    case errc::none: return "NONE";
    case errc::session_not_found: return "SESSION_NOT_FOUND";
    case errc::not_joined: return "NOT_JOINED";
    case errc::piece_locked: return "PIECE_LOCKED";
    case errc::piece_not_held: return "PIECE_NOT_HELD";
    case errc::invalid_move: return "INVALID_MOVE";
    case errc::invalid_message: return "INVALID_MESSAGE";
    case errc::rate_limited: return "RATE_LIMITED";
    case errc::unauthorized: return "UNAUTHORIZED";
    case errc::forbidden: return "FORBIDDEN";
    case errc::limit_exceeded: return "LIMIT_EXCEEDED";
    case errc::internal: return "INTERNAL";
    case errc::invalid_argument: return "INVALID_ARGUMENT";
    case errc::conflict: return "CONFLICT";
    case errc::image_not_found: return "IMAGE_NOT_FOUND";
    case errc::invalid_image: return "INVALID_IMAGE";
  }
  return "INTERNAL";
}

std::string to_string(errc x) {
  return std::string{to_code(x)};
}

int http_status(errc x) noexcept {
  switch (x) {
    case errc::none: return 200;
    case errc::session_not_found:
    case errc::image_not_found: return 404;
    case errc::not_joined:
    case errc::forbidden: return 403;
    case errc::piece_locked:
    case errc::piece_not_held:
    case errc::conflict: return 409;
    case errc::invalid_move:
    case errc::invalid_message:
    case errc::invalid_argument:
    case errc::invalid_image: return 400;
    case errc::rate_limited: return 429;
    case errc::unauthorized: return 401;
    case errc::limit_exceeded: return 413;
    case errc::internal: return 500;
  }
  return 500;
}

} // namespace puzzle
