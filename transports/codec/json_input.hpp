#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

/// Reading untrusted JSON, shared by every transport codec.
namespace puzzle::transports::codec {

using json = nlohmann::json;

/// Parses `text` into `out` without exceptions and without nesting deeper
/// than `max_depth` (refused while parsing, so hostile input costs memory
/// and time in proportion to its size only). Returns an empty string on
/// success, otherwise the reason ("Invalid JSON at byte 7.").
std::string parse_json(std::string_view text, json& out, size_t max_depth);

/// An integer literal within int32: `1.5`, `3.0` and `"3"` are refused, as
/// an `int` parameter refuses them in ASP.NET. Null `val`: false.
bool read_int32(const json* val, int32_t& out);

/// A finite number (integer or not). JSON has no NaN or Infinity; numbers
/// too large for a double (`1e309`) parse as infinity and are refused here.
bool read_finite(const json* val, double& out);

/// A JSON string, copied.
bool read_string(const json* val, std::string& out);

} // namespace puzzle::transports::codec
