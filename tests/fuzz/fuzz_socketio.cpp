// Socket.IO: one packet's text, and the puzzle event it may carry.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "transports/socketio/socketio_calls.hpp"
#include "transports/socketio/socketio_protocol.hpp"

using namespace puzzle::transports::socketio;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text{reinterpret_cast<const char*>(data), size};
  auto packet = decode_sio_packet(text, sio_limits{});
  if (packet && packet.value().data.is_array()) (void)decode_puzzle_event(packet.value().data);
  return 0;
}
