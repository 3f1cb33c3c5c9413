#pragma once

#include <stdexcept>
#include <string>

/// A minimal HTTP/1.1 client for puzzle-ctl: one request per connection,
/// plain TCP (no TLS), `Content-Length` or chunked answers.
namespace puzzle::ctl {

/// Where the node is: from an `http://host[:port][/prefix]` URL.
struct endpoint {
  std::string host;
  std::string port = "80";
  std::string prefix; ///< A path the API routes are appended to.
};

/// Thrown for a URL puzzle-ctl cannot use (a usage error).
struct url_error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

/// Thrown when the node cannot be reached or answers garbage.
struct transport_error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

endpoint parse_url(const std::string& url);

struct http_response {
  int status = 0;
  std::string body;
};

/// Sends one request and reads the whole answer; `timeout_ms` bounds the
/// connect and every read.
http_response send_request(const endpoint& where, const std::string& method,
                           const std::string& path, const std::string& token,
                           const std::string& json_body, int timeout_ms);

/// Percent-encodes one path segment (RFC 3986 unreserved kept).
std::string encode_segment(const std::string& text);

} // namespace puzzle::ctl
