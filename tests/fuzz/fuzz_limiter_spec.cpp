// Rate limiter specifications as written in config.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "actors/util/rate_limiter.hpp"

using namespace puzzle::util;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text{reinterpret_cast<const char*>(data), size};
  limiter_spec spec;
  std::string error;
  if (!limiter_spec::parse(text, spec, error)) return 0;
  // What parses must print back to the same spec, and work.
  limiter_spec again;
  if (!limiter_spec::parse(spec.to_string(), again, error)) __builtin_trap();
  rate_limiter limiter{spec};
  limiter_clock::time_point now{};
  for (int i = 0; i < 8; ++i)
    (void)limiter.acquire(now += std::chrono::milliseconds{i * 37});
  return 0;
}
