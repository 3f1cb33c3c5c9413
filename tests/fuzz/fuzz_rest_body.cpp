// REST request bodies as every JSON route reads them: depth-limited parsing
// of an object, then the typed field readers the routes use.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "transports/api/rest_body.hpp"
#include "transports/codec/json_input.hpp"

using namespace puzzle::transports;

namespace {

size_t depth_of(const nlohmann::json& x) {
  size_t deepest = 0;
  if (x.is_structured())
    for (auto& child : x)
      deepest = std::max(deepest, depth_of(child));
  return x.is_structured() ? deepest + 1 : 0;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input{reinterpret_cast<const char*>(data), size};
  nlohmann::json body;
  auto error = api::parse_object_body(input, body);
  if (!error.empty()) return 0;
  // What was accepted is an object within the nesting limit.
  if (!body.is_object() || depth_of(body) > api::max_body_depth) __builtin_trap();
  for (auto& [key, value] : body.items()) {
    int32_t i = 0;
    double d = 0;
    std::string s;
    (void)codec::read_int32(&value, i);
    (void)codec::read_finite(&value, d);
    (void)codec::read_string(&value, s);
  }
  (void)body.dump();
  return 0;
}
