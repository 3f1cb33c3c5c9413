#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

/// REST request bodies as pure functions on text: parsing with a nesting
/// limit. No sockets and no actors, so unit tests and the fuzzer
/// (`fuzz_rest_body`) call it directly.
namespace puzzle::transports::api {

/// Deepest nesting of a REST request body; deeper bodies are refused while
/// parsing, before the rest is read into memory.
inline constexpr size_t max_body_depth = 32;

/// Parses a request body that must be a JSON object into `out`. Returns an
/// empty string on success, otherwise the message of the 400
/// `INVALID_ARGUMENT` answer (`invalid JSON: ...`, `JSON nests deeper
/// than 32 levels`, `the request body must be a JSON object`).
std::string parse_object_body(std::string_view text, nlohmann::json& out);

/// The same into an `ordered_json` (the REST API keeps members in order).
std::string parse_object_body(std::string_view text,
                              nlohmann::ordered_json& out);

} // namespace puzzle::transports::api
