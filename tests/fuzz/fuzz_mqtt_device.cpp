// What the MQTT bridge reads from the broker: topic names and filters
// (validation and matching) and device messages (status, readings,
// placements). Input: the first byte's low bit is the retain flag, then the
// topic up to the first newline, then the payload.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "transports/mqtt/device_codec.hpp"
#include "transports/mqtt/topic.hpp"

using namespace puzzle::transports::mqtt;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  bool retained = (data[0] & 1) != 0;
  std::string_view rest{reinterpret_cast<const char*>(data) + 1, size - 1};
  auto newline = rest.find('\n');
  auto topic = rest.substr(0, newline);
  auto payload = newline == std::string_view::npos ? std::string_view{} : rest.substr(newline + 1);
  auto name_error = check_topic_name(topic);
  auto filter_error = check_topic_filter(topic);
  (void)to_string(name_error);
  (void)to_string(filter_error);
  // Matching is defined for valid input; try it both ways round against the
  // node's own filters and names.
  static const std::string status = status_filter("iot");
  static const std::string sensor = sensor_filter("iot");
  if (name_error == topic_error::none) {
    (void)topic_matches(status, topic);
    (void)topic_matches(sensor, topic);
    (void)topic_matches("#", topic);
  }
  if (filter_error == topic_error::none) {
    (void)topic_matches(topic, "iot/box-1/status");
    (void)topic_matches(topic, "$SYS/broker/load");
  }
  device_codec_options opts;
  opts.max_payload_bytes = 4096;
  auto msg = decode_device_message(opts, topic, payload, retained);
  // A message is either dropped with a reason or names a valid device.
  if (msg.type != device_message::kind::dropped && msg.device_id.empty()) __builtin_trap();
  return 0;
}
