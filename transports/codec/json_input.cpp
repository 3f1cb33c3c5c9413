#include "transports/codec/json_input.hpp"

#include <cmath>
#include <exception>
#include <limits>

namespace puzzle::transports::codec {

namespace {

/// SAX handler that builds the DOM through nlohmann's own builder but stops
/// at a maximum depth, and turns syntax errors into a position instead of
/// an exception (a hostile client should not make us pay for throwing).
class depth_limited_builder {
public:
  using number_integer_t = json::number_integer_t;
  using number_unsigned_t = json::number_unsigned_t;
  using number_float_t = json::number_float_t;
  using string_t = json::string_t;
  using binary_t = json::binary_t;

  depth_limited_builder(json& root, size_t max_depth)
      : dom_(root, false), max_depth_(max_depth) {}

  bool null() {
    return dom_.null();
  }

  bool boolean(bool val) {
    return dom_.boolean(val);
  }

  bool number_integer(number_integer_t val) {
    return dom_.number_integer(val);
  }

  bool number_unsigned(number_unsigned_t val) {
    return dom_.number_unsigned(val);
  }

  bool number_float(number_float_t val, const string_t& str) {
    return dom_.number_float(val, str);
  }

  bool string(string_t& val) {
    return dom_.string(val);
  }

  bool binary(binary_t& val) {
    return dom_.binary(val);
  }

  bool start_object(std::size_t len) {
    return enter() && dom_.start_object(len);
  }

  bool key(string_t& val) {
    return dom_.key(val);
  }

  bool end_object() {
    --depth_;
    return dom_.end_object();
  }

  bool start_array(std::size_t len) {
    return enter() && dom_.start_array(len);
  }

  bool end_array() {
    --depth_;
    return dom_.end_array();
  }

  bool parse_error(std::size_t position, const std::string&,
                   const json::exception&) {
    error_position_ = position;
    return false;
  }

  bool too_deep() const noexcept {
    return too_deep_;
  }

  size_t error_position() const noexcept {
    return error_position_;
  }

private:
  bool enter() {
    if (++depth_ > max_depth_) {
      too_deep_ = true;
      return false;
    }
    return true;
  }

  nlohmann::detail::json_sax_dom_parser<json> dom_;
  size_t max_depth_;
  size_t depth_ = 0;
  bool too_deep_ = false;
  size_t error_position_ = 0;
};

} // namespace

std::string parse_json(std::string_view text, json& out, size_t max_depth) {
  try {
    depth_limited_builder builder{out, max_depth};
    if (json::sax_parse(text.begin(), text.end(), &builder)) return {};
    if (builder.too_deep())
      return "JSON nests deeper than " + std::to_string(max_depth) + " levels.";
    return "Invalid JSON at byte " + std::to_string(builder.error_position())
        + ".";
  } catch (const std::exception&) {
    // Only allocation failures can get here; report them as bad input so
    // that the caller's connection handling stays the same.
    return "JSON could not be parsed.";
  }
}

bool read_int32(const json* val, int32_t& out) {
  if (val == nullptr || !val->is_number_integer()) return false;
  constexpr auto lo = std::numeric_limits<int32_t>::min();
  constexpr auto hi = std::numeric_limits<int32_t>::max();
  if (val->is_number_unsigned()) {
    auto num = val->get<uint64_t>();
    if (num > static_cast<uint64_t>(hi)) return false;
    out = static_cast<int32_t>(num);
    return true;
  }
  auto num = val->get<int64_t>();
  if (num < lo || num > hi) return false;
  out = static_cast<int32_t>(num);
  return true;
}

bool read_finite(const json* val, double& out) {
  if (val == nullptr || !val->is_number()) return false;
  out = val->get<double>();
  return std::isfinite(out);
}

bool read_string(const json* val, std::string& out) {
  if (val == nullptr || !val->is_string()) return false;
  out = val->get_ref<const std::string&>();
  return true;
}

} // namespace puzzle::transports::codec
