#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <boost/beast/core/string.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/status.hpp>
#include <boost/beast/http/string_body.hpp>

#include "actors/errc.hpp"

/// Small helpers shared by every HTTP handler: JSON responses in the
/// contract's error shape, query strings, time formats.
namespace puzzle::transports::http {

/// One parsed HTTP request; the body is read whole (bounded by the route's
/// `route_options::body_limit`, else `http.body-limit`).
using request = boost::beast::http::request<boost::beast::http::string_body>;

/// One HTTP response. The server sets version, keep-alive, the payload
/// size, the security headers and the CORS headers before writing it.
using response = boost::beast::http::response<boost::beast::http::string_body>;

/// Beast 1.74 speaks `boost::string_view`; this bridges from the standard.
inline boost::beast::string_view to_beast(std::string_view x) noexcept {
  return {x.data(), x.size()};
}

/// A JSON response: `Content-Type: application/json; charset=utf-8`, the
/// request's version and keep-alive, `body` as is.
response make_json(boost::beast::http::status status, std::string body,
                   const request& req);

/// The same without a request at hand (version 1.1, keep-alive on).
response make_json(boost::beast::http::status status, std::string body);

/// The contract's error shape `{"status":N,"code":"...","message":"..."}`.
/// Codes beyond the domain's list that the HTTP layer uses: `NOT_FOUND`,
/// `METHOD_NOT_ALLOWED`, `UNSUPPORTED_MEDIA_TYPE`, `IMAGE_NOT_FOUND`.
response make_error(boost::beast::http::status status, std::string_view code,
                    std::string_view message, const request& req);

/// The same without a request at hand.
response make_error(boost::beast::http::status status, std::string_view code,
                    std::string_view message);

/// The error shape for a domain code, with the status `http_status(code)`.
response make_error(errc code, std::string_view message, const request& req);

/// The JSON text of an error (what `make_error` puts in the body).
std::string error_body(unsigned status, std::string_view code,
                       std::string_view message);

/// Decodes `%XX` escapes (and `+` as a space when `plus_is_space`); nullopt
/// for a malformed escape.
std::optional<std::string> percent_decode(std::string_view text,
                                          bool plus_is_space = false);

/// The path of a request target, without query string and fragment.
std::string_view path_of(std::string_view target) noexcept;

/// The percent-decoded value of the first query parameter `name` in a
/// request target (`a=1&b=x%20y`); an empty string for a parameter without
/// `=`; nullopt when absent or malformed.
std::optional<std::string> query_param(std::string_view target,
                                       std::string_view name);

/// The token of an `Authorization: Bearer <token>` header (scheme compared
/// without case), or nullopt.
std::optional<std::string> bearer_token(const request& req);

/// The access token of a real-time connection: `Authorization: Bearer`, or
/// else the `access_token` query parameter (browsers cannot set headers on
/// WebSocket requests). Nullopt when neither is present.
std::optional<std::string> access_token(const request& req);

/// True when the request's `Content-Type` is `application/json`, with or
/// without parameters such as `charset`.
bool has_json_content_type(const request& req);

} // namespace puzzle::transports::http
