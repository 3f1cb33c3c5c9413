// Engine.IO: a polling body (packets at the record separator), one packet,
// and base64 as the binary packets carry it.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "transports/socketio/engineio_protocol.hpp"

using namespace puzzle::transports::socketio;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text{reinterpret_cast<const char*>(data), size};
  (void)decode_payload(text, payload_limits{});
  (void)decode_eio_packet(text);
  (void)decode_binary_frame(text);
  (void)base64_decode(text);
  (void)decode_open_packet(text);
  return 0;
}
