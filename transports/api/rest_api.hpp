#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include <caf/fwd.hpp>

#include "actors/directory_interface.hpp"
#include "actors/store_interface.hpp"
#include "config/settings.hpp"
#include "transports/auth/token_service.hpp"
#include "transports/http/router.hpp"

/// The REST API of contract section 2 over the node's actors.
namespace puzzle::transports::api {

/// What the database check reports: healthy or not, a description and how
/// long the check took.
using database_report = std::function<void(bool ok, std::string description,
                                           std::chrono::microseconds duration)>;

/// Everything the REST handlers use. References must outlive the server.
struct rest_context {
  caf::actor_system& system;
  directory_actor directory;
  auth::token_service& tokens;
  const config::settings& settings;
  /// Runs the readiness check of the store and calls the report exactly
  /// once, from any thread (empty: no check, always healthy).
  std::function<void(database_report)> check_database;
  /// When the node started (uptime in `/api/demo/status`).
  std::chrono::system_clock::time_point started_at
      = std::chrono::system_clock::now();
  /// Open sockets of the node (`server::open_connections`).
  std::function<std::size_t()> open_connections;
  /// How long a handler waits for an actor before answering 503.
  std::chrono::milliseconds ask_timeout{5'000};
  /// Reported by `/api/demo/status`.
  std::string version = "0.1.0";
  /// Uploaded images live here; an invalid handle (none given) lists only
  /// the built-in images and answers uploads with 503.
  store_actor store{};
  /// How long an upload may take from the end of its body to the stored
  /// image (decoding included) before the answer is 503.
  std::chrono::milliseconds upload_timeout{30'000};
  /// Milliseconds since the epoch for `createdAt` of uploaded images;
  /// empty: the system clock.
  std::function<int64_t()> clock{};
  /// More entries of `/health/detailed` besides `database` (e.g. `mqtt`):
  /// a name and a function that returns the entry as a JSON object
  /// `{status, description, duration, exception, data}` without blocking.
  /// An `Unhealthy` entry makes the answer 503, a `Degraded` one makes the
  /// overall status `Degraded` (still 200).
  std::vector<std::pair<std::string, std::function<std::string()>>>
      health_entries{};
};

/// Registers the endpoints below on `routes`. Errors use the contract's
/// shape `{status, code, message}`; actor errors map through `http_status`,
/// an actor that does not answer within `ask_timeout` gives 503 `INTERNAL`.
///
/// - `POST /api/auth/guest {displayName}` -> 200 `{token, userId,
///   displayName, expiresAt, roles: ["player"]}`; `displayName` is trimmed
///   and must have 1..`limits.max_name_length` code points (400
///   `INVALID_ARGUMENT`).
/// - `POST /api/auth/register`, `POST /api/auth/login`: see
///   `register_account_api` (transports/api/account_api.hpp).
/// - `GET /api/images` -> the built-in images `{id, name, url, width,
///   height, thumbnailUrl, contentType, builtIn: true}`, then the uploaded
///   ones, newest first: `{id, name, url, thumbnailUrl, width, height,
///   contentType, bytes, ownerId, createdAt, builtIn: false}`.
/// - `GET /api/images/{id}` -> one of them; 404 `IMAGE_NOT_FOUND`.
/// - `POST /api/images` (Bearer token) -> 201 and the uploaded image's JSON
///   with `Location: /api/images/{id}`. The body is the image itself
///   (`Content-Type: image/png` or `image/jpeg`, name in `?name=`) or
///   `multipart/form-data` with a part `file` (its filename is the default
///   name) and an optional part `name`. The body limit is
///   `images.max-bytes` (413 while reading); 415 for another content type;
///   400 `INVALID_IMAGE` for anything that does not decode as PNG or JPEG;
///   413 `LIMIT_EXCEEDED` naming `images.max-pixels`,
///   `limits.max-image-side` or `images.max-stored`; 503 with
///   `Retry-After` while `images.max-decoding` uploads are decoding.
/// - `GET /api/images/{id}/file`, `GET /api/images/{id}/thumbnail` -> the
///   bytes with their content type, `Cache-Control: public,
///   max-age=31536000, immutable` (ids are never reused); for a built-in
///   image 302 to its SVG; 404 `IMAGE_NOT_FOUND`.
/// - `POST /api/sessions {name, imageId, rows, cols, rotation?, public?}`
///   (Bearer token) -> 201 summary + `Location: /api/sessions/{id}`;
///   `imageId` is a built-in or an uploaded image (its size sets the
///   session's geometry).
/// - `GET /api/sessions` -> summaries of public sessions, newest first:
///   `{id, name, image: {id, url, width, height}, rows, cols, pieceCount,
///   completedPieces, participantsOnline, completionPercentage,
///   isCompleted, isPublic, ownerId, createdAt}`.
/// - `GET /api/sessions/{id}` -> the SessionState JSON (404
///   `SESSION_NOT_FOUND`).
/// - `DELETE /api/sessions/{id}` (Bearer token, owner or admin) -> 204;
///   403 `FORBIDDEN`; 404.
/// - `POST /api/sessions/{id}/invite {code}` (Bearer token) -> 200
///   `{sessionId, allowed: true}`: the user may enter the private session
///   from now on (stored); 403 `FORBIDDEN` for a wrong code.
///
/// A private session (`public: false`) answers its creation with
/// `inviteCode` and `inviteUrl` too; `GET /api/sessions/{id}` shows it only
/// to users who may enter it (404 otherwise; the optional token says who
/// reads), with the invite for the owner and admins.
/// - `GET /health`, `/health/live`, `/health/ready`, `/health/detailed`
///   (503 when the database check fails).
/// - `GET /api/demo/status`, `GET /api/demo/connections`, `POST
///   /api/demo/echo {message}`.
///
/// JSON bodies need `Content-Type: application/json` (415
/// `UNSUPPORTED_MEDIA_TYPE`); bad JSON is 400 `INVALID_ARGUMENT` with
/// `invalid JSON: ...`; a missing or bad token is 401 `UNAUTHORIZED` with
/// `WWW-Authenticate: Bearer`.
void register_rest_api(http::router& routes, rest_context ctx);

} // namespace puzzle::transports::api
