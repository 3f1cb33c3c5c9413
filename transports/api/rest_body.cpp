#include "transports/api/rest_body.hpp"

namespace puzzle::transports::api {

namespace {

/// Thrown by the parser callback to stop at the nesting limit.
struct too_deep {};

template<class Json>
std::string parse_object(std::string_view text, Json& out) {
  // The callback sees every value as it starts, with its depth, so a deep
  // body stops the parser at the limit instead of being built first.
  using event_t = typename Json::parse_event_t;
  auto limit = [](int depth, event_t event, Json&) {
    if ((event == event_t::object_start || event == event_t::array_start)
        && depth >= static_cast<int>(max_body_depth))
      throw too_deep{};
    return true;
  };
  try {
    out = Json::parse(text.begin(), text.end(), limit);
  } catch (const too_deep&) {
    out = nullptr;
    return "JSON nests deeper than " + std::to_string(max_body_depth)
        + " levels";
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
