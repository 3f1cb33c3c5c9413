#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include "transports/http/router.hpp"

namespace puzzle::transports::http {

/// Serves the files below one directory (`http.web_root`) for `GET` and
/// `HEAD`; meant as the router's fallback.
///
/// - `/` and directories serve their `index.html`.
/// - Paths are percent-decoded once; a `.` or `..` segment (encoded or
///   not), a backslash or a NUL is refused with 400 `INVALID_ARGUMENT`, and
///   the resolved file must lie below the root (symbolic links included).
/// - Missing files answer 404 `NOT_FOUND` (JSON).
/// - `Cache-Control`: `no-cache` for HTML, `public, max-age=31536000,
///   immutable` below `/assets/` (hashed names), a short max-age otherwise.
/// - HTML carries the `Content-Security-Policy` of `html_csp`.
///
/// Files are read on every request: the node's pages are small. An empty
/// root serves a small built-in page at `/` that points to the API.
class static_files {
public:
  explicit static_files(std::string web_root);

  /// The router's `handler` signature.
  void operator()(request&& req, route_match match, responder reply) const;

  /// The answer to one request, synchronously.
  response serve(const request& req) const;

  /// The canonical root (empty: built-in page).
  const std::filesystem::path& root() const noexcept {
    return root_;
  }

private:
  std::filesystem::path root_;
};

/// The policy every HTML page is served with: only what the browser client
/// needs. Its own scripts, styles, images and connections; nothing inline
/// (web/build.mjs makes none). `connect-src 'self'` covers same-origin
/// `ws:`/`wss:` in CSP Level 3 browsers. Call media are `srcObject` streams,
/// which no fetch directive governs. No plugins, no `<base>`, forms post
/// only here, and no framing.
inline constexpr std::string_view html_csp
    = "default-src 'self'; script-src 'self'; style-src 'self'; img-src "
      "'self'; media-src 'self'; connect-src 'self'; object-src 'none'; "
      "base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// The `Content-Type` for a file name, by its extension (case-insensitive);
/// `application/octet-stream` when unknown.
std::string_view content_type_of(std::string_view file_name);

} // namespace puzzle::transports::http
