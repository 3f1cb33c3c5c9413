#include "actors/device/device_port.hpp"

#include <caf/actor_cast.hpp>
#include <caf/send.hpp>
#include <nlohmann/json.hpp>

namespace puzzle {

namespace {

using json = nlohmann::json;

/// Parses what the client actor produced itself; never throws.
json parse(const std::string& text) {
  return json::parse(text, nullptr, false);
}

bool flag(const json& obj, const char* key) {
  auto it = obj.find(key);
  return it != obj.end() && it->is_boolean() && it->get<bool>();
}

} // namespace

device_port::device_port(std::string device_id, const device_actor& device,
                         device_registry_actor registry)
    : device_id_(std::move(device_id)), device_(device.address()),
      registry_(std::move(registry)) {
  // nop
}

void device_port::to_device(device_outcome x) {
  if (auto dev = caf::actor_cast<device_actor>(device_))
    caf::anon_send(dev, std::move(x));
}

send_status device_port::push_event(const session_event& event) {
  if (event.name == "Error") {
    // Aimed at this connection alone, e.g. the session was deleted:
    // arguments `[message, code]`.
    device_outcome out;
    out.code = errc::internal;
    auto args = event.payload ? parse(*event.payload) : json{};
    if (args.is_array() && !args.empty() && args[0].is_string())
      out.message = args[0].get<std::string>();
    if (args.is_array() && args.size() > 1 && args[1].is_string()
        && args[1].get<std::string>() == to_code(errc::session_not_found))
      out.code = errc::session_not_found;
    to_device(std::move(out));
    return send_status::queued;
  }
  caf::anon_send(registry_, feed_atom::value, device_id_, event);
  return send_status::queued;
}

send_status device_port::push_result(const std::string& call_id,
                                     std::shared_ptr<const std::string> text) {
  device_outcome out;
  out.call_id = call_id;
  out.ok = true;
  if (call_id.rfind(move_prefix, 0) == 0 && text) {
    auto result = parse(*text);
    if (result.is_object()) {
      out.ok = flag(result, "success");
      out.is_correctly_placed = flag(result, "isCorrectlyPlaced");
      auto v = result.find("version");
      if (v != result.end() && v->is_number_unsigned())
        out.version = v->get<uint64_t>();
    }
  }
  to_device(std::move(out));
  return send_status::queued;
}

send_status device_port::push_error(const std::string& call_id, errc code,
                                    const std::string& message) {
  device_outcome out;
  out.call_id = call_id;
  out.code = code;
  out.message = message;
  to_device(std::move(out));
  return send_status::queued;
}

void device_port::close(const std::string& reason) {
  device_outcome out;
  out.call_id = close_call;
  out.code = errc::rate_limited;
  out.message = reason;
  to_device(std::move(out));
}

} // namespace puzzle
