// One text message of the raw WebSocket protocol (/ws).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "transports/ws/ws_protocol.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text{reinterpret_cast<const char*>(data), size};
  (void)puzzle::transports::ws::decode(text, {});
  return 0;
}
