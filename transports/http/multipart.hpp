#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

/// `multipart/form-data` (RFC 7578, RFC 2046 section 5.1) as browsers send
/// file uploads: pure functions on strings, without Beast or sockets, so
/// that tests and fuzzers call them directly.
namespace puzzle::transports::http {

/// One part of a `multipart/form-data` body.
struct multipart_part {
  /// The `name` of its `Content-Disposition: form-data` header.
  std::string name;
  /// The `filename` (or the decoded `filename*`), when the part is a file.
  /// Exactly as sent: it may contain a path or be empty.
  std::optional<std::string> filename;
  /// Its `Content-Type` header; empty when absent.
  std::string content_type;
  /// The content, a view into the body given to `parse_multipart`: valid
  /// as long as that body is.
  std::string_view body;
};

/// Bounds of one parse. The body itself is bounded by the HTTP server's
/// body limit before it gets here; these bound the work per part.
struct multipart_limits {
  /// Parts at most (a form with a file and a name needs two).
  std::size_t max_parts = 16;
  /// Bytes of the header block of one part; browsers send about 150.
  std::size_t max_header_bytes = 8 * 1024;
};

/// What `parse_multipart` found: the parts, or what is wrong.
struct multipart_result {
  std::vector<multipart_part> parts;
  /// Why the body is malformed, for a 400 answer; empty on success.
  std::string error;

  explicit operator bool() const noexcept {
    return error.empty();
  }

  /// The first part named `name`, or null.
  const multipart_part* find(std::string_view name) const noexcept;
};

/// The boundary of a `Content-Type: multipart/form-data; boundary=...`
/// header value (type and parameter name compared without case, the value
/// quoted or not). `std::nullopt` when the type is another one or the
/// boundary is missing or not 1 to 70 characters (RFC 2046).
std::optional<std::string> multipart_boundary(std::string_view content_type);

/// Splits a `multipart/form-data` body at `boundary`. The preamble before
/// the first boundary and the epilogue after the closing one are ignored;
/// header names are compared without case; lines end with CRLF. In quoted
/// parameter values only `\"` and `\\` are escapes; other backslashes are
/// kept (Windows paths).
///
/// Errors (each a message in `error`, no parts): no opening boundary, no
/// closing boundary (a truncated body), a part whose headers exceed
/// `limits.max_header_bytes` or have no end, a header line without a colon,
/// a part without `Content-Disposition: form-data; name=...`, more than
/// `limits.max_parts` parts.
///
/// Linear in the size of the body (Boyer-Moore search for the boundary).
multipart_result parse_multipart(std::string_view body,
                                 std::string_view boundary,
                                 const multipart_limits& limits = {});

} // namespace puzzle::transports::http
