// multipart/form-data upload bodies. The first line of the input is the
// Content-Type header's value, the rest the body.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "transports/http/multipart.hpp"

using namespace puzzle::transports::http;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input{reinterpret_cast<const char*>(data), size};
  auto eol = input.find('\n');
  if (eol == std::string_view::npos) return 0;
  auto boundary = multipart_boundary(input.substr(0, eol));
  if (!boundary) return 0;
  (void)parse_multipart(input.substr(eol + 1), *boundary);
  return 0;
}
