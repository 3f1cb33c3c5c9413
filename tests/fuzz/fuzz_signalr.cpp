// The SignalR hub protocol as the hub reads it: the handshake, records split
// at the separator, each record parsed, invocations mapped to puzzle and
// WebRTC hub calls.
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <variant>

#include "transports/signalr/hub_calls.hpp"
#include "transports/signalr/hub_protocol.hpp"
#include "transports/signalr/webrtc_calls.hpp"

using namespace puzzle::transports::signalr;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input{reinterpret_cast<const char*>(data), size};
  (void)parse_handshake(input);
  record_reader reader{64 * 1024};
  if (reader.append(input) != record_reader::status::ok) return 0;
  while (auto record = reader.next()) {
    auto msg = parse_message(*record);
    if (auto call = std::get_if<invocation>(&msg)) {
      (void)decode_hub_call(*call);
      (void)decode_webrtc_call(*call, webrtc_call_limits{});
    }
  }
  return 0;
}
