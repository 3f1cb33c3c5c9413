#include "transports/api/rest_body.hpp"

namespace puzzle::transports::api {

namespace {

/// True when `text` opens more than `limit` nested arrays or objects.
/// Brackets inside strings do not count. A linear scan before parsing:
/// nlohmann's parser callback, the other way to stop deep input, rescans a
/// container each time one of its children closes, which makes a wide body
/// such as `[{},{},...]` quadratic (a 1 MiB body held an I/O thread for
/// minutes).
bool nests_deeper_than(std::string_view text, size_t limit) {
  size_t depth = 0;
  bool in_string = false;
  bool escaped = false;
  for (char c : text) {
    if (in_string) {
      if (escaped)
        escaped = false;
      else if (c == '\\')
        escaped = true;
      else if (c == '"')
        in_string = false;
      continue;
    }
    switch (c) {
      case '"': in_string = true; break;
      case '[':
      case '{':
        if (++depth > limit) return true;
        break;
      case ']':
      case '}':
        if (depth > 0) --depth;
        break;
      default: break;
    }
  }
  return false;
}

template<class Json>
std::string parse_object(std::string_view text, Json& out) {
  if (nests_deeper_than(text, max_body_depth)) {
    out = nullptr;
    return "JSON nests deeper than " + std::to_string(max_body_depth)
        + " levels";
  }
  try {
    out = Json::parse(text.begin(), text.end());
  } catch (const typename Json::exception& e) {
    out = nullptr;
    return std::string{"invalid JSON: "} + e.what();
  }
  if (!out.is_object()) return "the request body must be a JSON object";
  return {};
}

} // namespace

std::string parse_object_body(std::string_view text, nlohmann::json& out) {
  return parse_object(text, out);
}

std::string parse_object_body(std::string_view text,
                              nlohmann::ordered_json& out) {
  return parse_object(text, out);
}

} // namespace puzzle::transports::api
