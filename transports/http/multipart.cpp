#include "transports/http/multipart.hpp"

#include <algorithm>
#include <functional>
#include <utility>

namespace puzzle::transports::http {

namespace {

/// RFC 2046: a boundary has 1 to 70 characters.
constexpr std::size_t max_boundary = 70;

constexpr std::string_view crlf = "\r\n";

char lower(char c) noexcept {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

bool iequals(std::string_view x, std::string_view y) noexcept {
  if (x.size() != y.size()) return false;
  for (std::size_t i = 0; i < x.size(); ++i)
    if (lower(x[i]) != lower(y[i])) return false;
  return true;
}

bool is_blank(char c) noexcept {
  return c == ' ' || c == '\t';
}

std::string_view trim(std::string_view x) noexcept {
  while (!x.empty() && is_blank(x.front()))
    x.remove_prefix(1);
  while (!x.empty() && is_blank(x.back()))
    x.remove_suffix(1);
  return x;
}

int hex_value(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/// `%XX` escapes decoded; nullopt for a malformed one.
std::optional<std::string> percent_decode(std::string_view text) {
  std::string result;
  result.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') {
      result += text[i];
      continue;
    }
    if (i + 2 >= text.size()) return std::nullopt;
    auto hi = hex_value(text[i + 1]);
    auto lo = hex_value(text[i + 2]);
    if (hi < 0 || lo < 0) return std::nullopt;
    result += static_cast<char>(hi * 16 + lo);
    i += 2;
  }
  return result;
}

/// The parameters after the first `;` of a header value such as
/// `form-data; name="file"; filename="a.png"`, in order, names lowercased.
/// Values are tokens or quoted strings (backslash escapes one character).
std::vector<std::pair<std::string, std::string>>
parameters(std::string_view value) {
  std::vector<std::pair<std::string, std::string>> result;
  auto semi = value.find(';');
  if (semi == std::string_view::npos) return result;
  auto rest = value.substr(semi + 1);
  while (!rest.empty()) {
    rest = trim(rest);
    auto stop = rest.find_first_of("=;");
    std::string name;
    for (char c : trim(rest.substr(0, stop)))
      name += lower(c);
    if (stop == std::string_view::npos || rest[stop] == ';') {
      // A parameter without a value: skip it.
      rest = stop == std::string_view::npos ? std::string_view{}
                                            : rest.substr(stop + 1);
      continue;
    }
    rest = trim(rest.substr(stop + 1));
    std::string text;
    if (!rest.empty() && rest.front() == '"') {
      std::size_t i = 1;
      for (; i < rest.size() && rest[i] != '"'; ++i) {
        // Only \" and \\ are escapes: browsers send a backslash as is (the
        // HTML form encoding percent-encodes quotes instead), and old ones
        // send Windows paths such as C:\fakepath\a.png.
        auto next = i + 1 < rest.size() ? rest[i + 1] : '\0';
        if (rest[i] == '\\' && (next == '"' || next == '\\')) ++i;
        text += rest[i];
      }
      rest = i < rest.size() ? rest.substr(i + 1) : std::string_view{};
      auto next = rest.find(';');
      rest = next == std::string_view::npos ? std::string_view{}
                                            : rest.substr(next + 1);
    } else {
      auto next = rest.find(';');
      text = std::string{trim(rest.substr(0, next))};
      rest = next == std::string_view::npos ? std::string_view{}
                                            : rest.substr(next + 1);
    }
    result.emplace_back(std::move(name), std::move(text));
  }
  return result;
}

/// The text of an RFC 8187 extended value (`UTF-8''a%20b.png`); nullopt
/// for another charset or bad escapes.
std::optional<std::string> extended_value(std::string_view value) {
  auto quote = value.find('\'');
  if (quote == std::string_view::npos) return std::nullopt;
  auto charset = value.substr(0, quote);
  auto second = value.find('\'', quote + 1);
  if (second == std::string_view::npos) return std::nullopt;
  if (!iequals(charset, "utf-8")) return std::nullopt;
  return percent_decode(value.substr(second + 1));
}

/// Reads the header block of one part into `part`; an error message or
/// an empty string.
std::string read_headers(std::string_view block, multipart_part& part) {
  bool has_disposition = false;
  while (!block.empty()) {
    auto end = block.find(crlf);
    auto line = block.substr(0, end);
    block = end == std::string_view::npos ? std::string_view{}
                                          : block.substr(end + crlf.size());
    auto colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0 || is_blank(line.front()))
      return "malformed multipart part header";
    auto name = trim(line.substr(0, colon));
    auto value = trim(line.substr(colon + 1));
    if (iequals(name, "content-type")) {
      part.content_type = std::string{value};
      continue;
    }
    if (!iequals(name, "content-disposition")) continue;
    auto type = trim(value.substr(0, value.find(';')));
    if (!iequals(type, "form-data")) return "multipart part is not form-data";
    has_disposition = true;
    std::optional<std::string> extended;
    for (auto& [key, text] : parameters(value)) {
      if (key == "name")
        part.name = text;
      else if (key == "filename")
        part.filename = text;
      else if (key == "filename*")
        extended = extended_value(text);
    }
    if (extended) part.filename = std::move(extended);
  }
  if (!has_disposition || part.name.empty())
    return "multipart part without a Content-Disposition name";
  return {};
}

} // namespace

const multipart_part*
multipart_result::find(std::string_view name) const noexcept {
  for (auto& part : parts)
    if (part.name == name) return &part;
  return nullptr;
}

std::optional<std::string> multipart_boundary(std::string_view content_type) {
  auto type = trim(content_type.substr(0, content_type.find(';')));
  if (!iequals(type, "multipart/form-data")) return std::nullopt;
  for (auto& [key, value] : parameters(content_type)) {
    if (key != "boundary") continue;
    if (value.empty() || value.size() > max_boundary) return std::nullopt;
    return value;
  }
  return std::nullopt;
}

multipart_result parse_multipart(std::string_view body,
                                 std::string_view boundary,
                                 const multipart_limits& limits) {
  multipart_result result;
  auto fail = [&result](std::string what) {
    result.parts.clear();
    result.error = std::move(what);
    return std::move(result);
  };
  if (boundary.empty() || boundary.size() > max_boundary)
    return fail("invalid multipart boundary");
  // Every boundary but an opening one at the very start follows a CRLF,
  // which belongs to the boundary, not to the part before it.
  std::string delimiter{crlf};
  delimiter += "--";
  delimiter += boundary;
  std::boyer_moore_searcher search{delimiter.begin(), delimiter.end()};
  auto find = [&](std::size_t from) {
    auto it = std::search(body.begin() + static_cast<std::ptrdiff_t>(from),
                          body.end(), search);
    return it == body.end() ? std::string_view::npos
                            : static_cast<std::size_t>(it - body.begin());
  };
  std::string_view opening{delimiter};
  opening.remove_prefix(crlf.size());
  std::size_t pos = 0;
  if (body.substr(0, opening.size()) == opening) {
    pos = opening.size();
  } else {
    auto at = find(0);
    if (at == std::string_view::npos)
      return fail("multipart body has no opening boundary");
    pos = at + delimiter.size();
  }
  for (;;) {
    // After a boundary: "--" closes the body; else blanks, then CRLF.
    if (body.substr(pos, 2) == "--") return result;
    while (pos < body.size() && is_blank(body[pos]))
      ++pos;
    if (pos >= body.size())
      return fail("multipart body has no closing boundary");
    if (body.substr(pos, crlf.size()) != crlf)
      return fail("malformed multipart boundary line");
    pos += crlf.size();
    if (result.parts.size() >= limits.max_parts)
      return fail("multipart body has more than "
                  + std::to_string(limits.max_parts) + " parts");
    multipart_part part;
    std::string_view headers;
    if (body.substr(pos, crlf.size()) == crlf) {
      pos += crlf.size(); // No headers at all.
    } else {
      // Look for the empty line only within the allowed header bytes.
      auto window = body.substr(pos, limits.max_header_bytes + 4);
      auto end = window.find("\r\n\r\n");
      if (end == std::string_view::npos) {
        if (window.size() > limits.max_header_bytes)
          return fail("multipart part headers exceed "
                      + std::to_string(limits.max_header_bytes) + " bytes");
        return fail("multipart body has no closing boundary");
      }
      if (end > limits.max_header_bytes)
        return fail("multipart part headers exceed "
                    + std::to_string(limits.max_header_bytes) + " bytes");
      headers = body.substr(pos, end);
      pos += end + 4;
    }
    if (auto err = read_headers(headers, part); !err.empty())
      return fail(std::move(err));
    auto next = find(pos);
    if (next == std::string_view::npos)
      return fail("multipart body has no closing boundary");
    part.body = body.substr(pos, next - pos);
    result.parts.push_back(std::move(part));
    pos = next + delimiter.size();
  }
}

} // namespace puzzle::transports::http
