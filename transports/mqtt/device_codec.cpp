#include "transports/mqtt/device_codec.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <vector>

#include <nlohmann/json.hpp>

#include "actors/util/ids.hpp"
#include "transports/codec/json_input.hpp"
#include "transports/mqtt/topic.hpp"

namespace puzzle::transports::mqtt {

namespace {

using json = nlohmann::json;

constexpr size_t max_msg_id_bytes = 128;
constexpr size_t max_session_id_bytes = 64;

device_message dropped(device_drop reason, std::string detail,
                       std::string device_id = {}) {
  device_message out;
  out.type = device_message::kind::dropped;
  out.reason = reason;
  out.detail = std::move(detail);
  out.device_id = std::move(device_id);
  return out;
}

std::vector<std::string_view> split(std::string_view text) {
  std::vector<std::string_view> out;
  size_t start = 0;
  for (;;) {
    auto end = text.find('/', start);
    if (end == std::string_view::npos) {
      out.push_back(text.substr(start));
      return out;
    }
    out.push_back(text.substr(start, end - start));
    start = end + 1;
  }
}

std::string_view trim(std::string_view text) {
  auto is_space = [](char c) {
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
  };
  while (!text.empty() && is_space(text.front()))
    text.remove_prefix(1);
  while (!text.empty() && is_space(text.back()))
    text.remove_suffix(1);
  return text;
}

bool equals_nocase(std::string_view a, std::string_view b) {
  return a.size() == b.size()
      && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x))
               == std::tolower(static_cast<unsigned char>(y));
         });
}

/// Whether undecodable `text` holds, outside strings, `NaN` or `Infinity`
/// (what JavaScript's and Python's serialisers write for non-finite
/// numbers) or a number beyond the range of a double (`1e999`), which the
/// JSON parser refuses as a syntax error.
bool has_non_finite_number(std::string_view text) {
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    auto c = text[i];
    if (in_string) {
      if (c == '\\')
        ++i;
      else if (c == '"')
        in_string = false;
      continue;
    }
    if (c == '"') {
      in_string = true;
      continue;
    }
    auto rest = text.substr(i);
    if (rest.substr(0, 3) == "NaN" || rest.substr(0, 8) == "Infinity")
      return true;
    if (c == '-' || (c >= '0' && c <= '9')) {
      auto end = i;
      while (end < text.size()
             && std::string_view{"0123456789+-.eE"}.find(text[end])
                 != std::string_view::npos)
        ++end;
      std::string number{text.substr(i, end - i)};
      if (!std::isfinite(std::strtod(number.c_str(), nullptr))) return true;
      i = end - 1;
    }
  }
  return false;
}

/// Parses a JSON payload; on failure returns the drop reason.
bool parse_payload(std::string_view payload, size_t max_depth, json& out,
                   device_message& failure) {
  auto error = codec::parse_json(payload, out, max_depth);
  if (error.empty()) return true;
  if (has_non_finite_number(payload))
    failure = dropped(device_drop::non_finite,
                      "NaN or Infinity is not a JSON number");
  else if (error.rfind("JSON nests", 0) == 0)
    failure = dropped(device_drop::wrong_shape, error);
  else
    failure = dropped(device_drop::not_json, error);
  return false;
}

/// The path of the first non-finite number in `j`, or empty.
bool find_non_finite(const json& j, std::string& path) {
  if (j.is_number_float()) return !std::isfinite(j.get<double>());
  if (j.is_object()) {
    for (auto& [key, value] : j.items())
      if (find_non_finite(value, path)) {
        path = "." + key + path;
        return true;
      }
  } else if (j.is_array()) {
    for (size_t i = 0; i < j.size(); ++i)
      if (find_non_finite(j[i], path)) {
        path = "[" + std::to_string(i) + "]" + path;
        return true;
      }
  }
  return false;
}

/// Reads a number field; sets `failure` when absent, not a number or not
/// finite.
bool number_field(const json& obj, const char* key, double& out,
                  device_message& failure) {
  auto it = obj.find(key);
  if (it == obj.end() || !it->is_number()) {
    failure = dropped(device_drop::wrong_shape,
                      std::string{key} + " must be a number");
    return false;
  }
  out = it->get<double>();
  if (!std::isfinite(out)) {
    failure = dropped(device_drop::non_finite,
                      std::string{key} + " must be a finite number");
    return false;
  }
  return true;
}

device_message decode_status(std::string_view payload, bool retained,
                             const device_codec_options& opts) {
  device_message out;
  auto text = trim(payload);
  int online = -1;
  if (equals_nocase(text, "online"))
    online = 1;
  else if (equals_nocase(text, "offline"))
    online = 0;
  else {
    json doc;
    if (!parse_payload(payload, opts.max_depth, doc, out)) return out;
    const json* value = &doc;
    if (doc.is_object()) {
      auto it = doc.find("status");
      value = it == doc.end() ? nullptr : &*it;
    }
    if (value != nullptr && value->is_string()) {
      auto& s = value->get_ref<const std::string&>();
      if (equals_nocase(s, "online"))
        online = 1;
      else if (equals_nocase(s, "offline"))
        online = 0;
    }
    if (online < 0)
      return dropped(device_drop::wrong_shape,
                     "a status is \"online\" or \"offline\"");
  }
  out.type = device_message::kind::status;
  out.status.online = online == 1;
  out.status.retained = retained;
  return out;
}

device_message decode_reading(std::string_view kind, std::string_view payload,
                              bool retained, const device_codec_options& opts) {
  device_message out;
  json doc;
  if (!parse_payload(payload, opts.max_depth, doc, out)) return out;
  if (!doc.is_object())
    return dropped(device_drop::wrong_shape, "a reading is a JSON object");
  std::string path;
  if (find_non_finite(doc, path))
    return dropped(device_drop::non_finite, "non-finite number at " + path);
  out.type = device_message::kind::reading;
  out.reading.kind = std::string{kind};
  out.reading.json = doc.dump(-1, ' ', false, json::error_handler_t::replace);
  out.reading.retained = retained;
  return out;
}

device_message decode_placement(std::string_view payload, bool retained,
                                const device_codec_options& opts) {
  device_message out;
  json doc;
  if (!parse_payload(payload, opts.max_depth, doc, out)) return out;
  if (!doc.is_object())
    return dropped(device_drop::wrong_shape,
                   "a placement is a JSON object {msgId, sessionId, pieceId, "
                   "x, y, rotation}");
  auto& p = out.placement;
  auto msg_id = doc.find("msgId");
  if (msg_id != doc.end() && msg_id->is_string()
      && !msg_id->get_ref<const std::string&>().empty()
      && msg_id->get_ref<const std::string&>().size() <= max_msg_id_bytes)
    p.msg_id = msg_id->get<std::string>();
  else if (msg_id != doc.end() && msg_id->is_number_unsigned())
    p.msg_id = std::to_string(msg_id->get<uint64_t>());
  else if (msg_id != doc.end() && msg_id->is_number_integer()
           && msg_id->get<int64_t>() >= 0)
    p.msg_id = std::to_string(msg_id->get<int64_t>());
  else
    return dropped(device_drop::wrong_shape,
                   "msgId must be a string of 1 to 128 bytes or a "
                   "non-negative integer");
  auto session = doc.find("sessionId");
  if (!codec::read_string(session == doc.end() ? nullptr : &*session,
                          p.session_id)
      || p.session_id.empty() || p.session_id.size() > max_session_id_bytes)
    return dropped(device_drop::wrong_shape,
                   "sessionId must be a session id string");
  auto piece = doc.find("pieceId");
  if (piece != doc.end() && piece->is_number_float()
      && !std::isfinite(piece->get<double>()))
    return dropped(device_drop::non_finite, "pieceId must be finite");
  if (!codec::read_int32(piece == doc.end() ? nullptr : &*piece, p.piece_id))
    return dropped(device_drop::wrong_shape, "pieceId must be an integer");
  if (!number_field(doc, "x", p.x, out) || !number_field(doc, "y", p.y, out))
    return out;
  double rotation = 0;
  if (!number_field(doc, "rotation", rotation, out)) return out;
  if (std::trunc(rotation) != rotation
      || rotation < static_cast<double>(std::numeric_limits<int32_t>::min())
      || rotation > static_cast<double>(std::numeric_limits<int32_t>::max()))
    return dropped(device_drop::wrong_shape,
                   "rotation must be a whole number of degrees");
  p.rotation = static_cast<int32_t>(rotation);
  p.retained = retained;
  out.type = device_message::kind::placement;
  return out;
}

std::string quote(std::string_view text) {
  return json(std::string{text})
      .dump(-1, ' ', false, json::error_handler_t::replace);
}

} // namespace

device_message decode_device_message(const device_codec_options& opts,
                                     std::string_view topic,
                                     std::string_view payload, bool retained) {
  if (auto err = check_topic_name(topic); err != topic_error::none)
    return dropped(device_drop::bad_topic, std::string{to_string(err)});
  auto prefix = opts.device_prefix;
  if (topic.size() <= prefix.size() + 1
      || topic.substr(0, prefix.size()) != prefix
      || topic[prefix.size()] != '/')
    return dropped(device_drop::unknown_topic,
                   "not under " + prefix + "/: " + std::string{topic});
  auto levels = split(topic.substr(prefix.size() + 1));
  bool is_status = levels.size() == 2 && levels[1] == "status";
  bool is_sensor = levels.size() == 3 && levels[1] == "sensor";
  if (!is_status && !is_sensor)
    return dropped(device_drop::unknown_topic, std::string{topic});
  std::string device_id{levels[0]};
  if (!valid_device_id(device_id))
    return dropped(device_drop::bad_device_id,
                   "device id '" + device_id.substr(0, 80)
                       + "' is not 1 to 64 letters, digits, '.', '_' or '-'");
  std::string_view kind;
  if (is_sensor) {
    kind = levels[2];
    auto known = kind == "placement"
        || std::find(std::begin(reading_kinds), std::end(reading_kinds), kind)
            != std::end(reading_kinds);
    if (!known)
      return dropped(device_drop::unknown_topic,
                     "unknown sensor kind '" + std::string{kind} + "'",
                     device_id);
  }
  if (payload.size() > opts.max_payload_bytes)
    return dropped(device_drop::oversized,
                   std::to_string(payload.size())
                       + " bytes (mqtt.max-payload-bytes = "
                       + std::to_string(opts.max_payload_bytes) + ")",
                   device_id);
  if (payload.empty())
    return dropped(device_drop::empty_payload, "no payload", device_id);
  device_message out;
  if (is_status)
    out = decode_status(payload, retained, opts);
  else if (kind == "placement")
    out = decode_placement(payload, retained, opts);
  else
    out = decode_reading(kind, payload, retained, opts);
  out.device_id = device_id;
  out.status.device_id = device_id;
  out.reading.device_id = device_id;
  out.placement.device_id = device_id;
  return out;
}

std::string status_filter(std::string_view device_prefix) {
  return std::string{device_prefix} + "/+/status";
}

std::string sensor_filter(std::string_view device_prefix) {
  return std::string{device_prefix} + "/+/sensor/+";
}

std::string events_topic(std::string_view session_prefix,
                         std::string_view session_id) {
  return std::string{session_prefix} + '/' + std::string{session_id}
  + "/events";
}

std::string progress_topic(std::string_view session_prefix,
                           std::string_view session_id) {
  return std::string{session_prefix} + '/' + std::string{session_id}
  + "/progress";
}

std::string command_topic(std::string_view device_prefix,
                          std::string_view device_id) {
  return std::string{device_prefix} + '/' + std::string{device_id} + "/command";
}

std::string node_status_topic(std::string_view session_prefix,
                              std::string_view client_id) {
  return std::string{session_prefix} + "/nodes/" + std::string{client_id}
  + "/status";
}

std::string encode_event(const session_event& ev) {
  // `[x]` -> `x`: the session builds the argument array once for every
  // transport; its single element is this protocol's `data`.
  std::string_view args = ev.payload ? std::string_view{*ev.payload} : "";
  std::string_view data = "null";
  if (args.size() >= 2 && args.front() == '[' && args.back() == ']')
    data = trim(args.substr(1, args.size() - 2));
  if (data.empty()) data = "null";
  std::string out = R"({"event":)";
  out += quote(ev.name);
  out += R"(,"sessionId":)";
  out += quote(ev.session_id);
  if (ev.version > 0) {
    out += R"(,"version":)";
    out += std::to_string(ev.version);
  }
  out += R"(,"data":)";
  out += data;
  out += '}';
  return out;
}

std::string encode_progress(const session_progress& p) {
  double percentage
      = p.piece_count > 0 ? 100.0 * p.completed_pieces / p.piece_count : 0.0;
  nlohmann::ordered_json j{{"sessionId", p.session_id},
                           {"completedPieces", p.completed_pieces},
                           {"pieceCount", p.piece_count},
                           {"completionPercentage", percentage},
                           {"isCompleted", p.is_completed}};
  return j.dump();
}

std::string encode_node_status(std::string_view client_id, bool online,
                               int64_t since_ms) {
  nlohmann::ordered_json j{{"status", online ? "online" : "offline"},
                           {"clientId", std::string{client_id}}};
  if (since_ms > 0) j["since"] = util::iso8601(since_ms);
  return j.dump(-1, ' ', false,
                nlohmann::ordered_json::error_handler_t::replace);
}

} // namespace puzzle::transports::mqtt
