#include "transports/socketio/socketio_protocol.hpp"

#include <algorithm>
#include <array>
#include <utility>

#include "transports/codec/json_input.hpp"

namespace puzzle::transports::socketio {

namespace {

using json = nlohmann::json;

constexpr std::array<std::string_view, 6> reserved_event_names{
    "connect",       "connect_error", "disconnect",
    "disconnecting", "newListener",   "removeListener",
};

bool is_digit(char c) noexcept {
  return c >= '0' && c <= '9';
}

/// Bytes allowed in a namespace after its leading `/`: RFC 3986 path
/// characters (unreserved, sub-delims, `:`, `@`, `%` for escapes, `/`) minus
/// the comma that ends the namespace. socket.io-client takes the namespace
/// from a URL path, so honest clients never send anything else; refusing
/// the rest keeps quotes, brackets and control bytes out of echoed names.
bool is_namespace_char(char c) noexcept {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || is_digit(c))
    return true;
  switch (c) {
    case '-':
    case '.':
    case '_':
    case '~':
    case '!':
    case '$':
    case '&':
    case '\'':
    case '(':
    case ')':
    case '*':
    case '+':
    case ';':
    case '=':
    case ':':
    case '@':
    case '%':
    case '/': return true;
    default: return false;
  }
}

/// True when `rest` looks like `name,…` with no JSON before the comma: a
/// namespace that lost its leading slash rather than a broken payload.
bool looks_like_namespace_without_slash(std::string_view rest) noexcept {
  auto comma = rest.find(',');
  if (comma == std::string_view::npos || comma == 0) return false;
  return rest.substr(0, comma).find_first_of("[{\"") == std::string_view::npos;
}

bool is_placeholder(const json& value) {
  if (!value.is_object()) return false;
  auto flag = value.find("_placeholder");
  return flag != value.end() && flag->is_boolean() && flag->get<bool>();
}

/// Checks every placeholder in `value`: `num` must be an unsigned integer
/// below `attachments`. Recursion depth is bounded by the JSON depth limit.
bool placeholders_valid(const json& value, size_t attachments) {
  if (is_placeholder(value)) {
    auto num = value.find("num");
    return num != value.end() && num->is_number_unsigned()
        && num->get<uint64_t>() < attachments;
  }
  if (value.is_structured()) {
    for (const auto& child : value)
      if (!placeholders_valid(child, attachments)) return false;
  }
  return true;
}

/// Replaces each placeholder in `value` with its attachment as a binary
/// value. @pre `placeholders_valid(value, buffers.size())`.
void fill_placeholders(json& value, const std::vector<std::string>& buffers) {
  if (is_placeholder(value)) {
    const auto& bytes = buffers[value["num"].get<size_t>()];
    value = json::binary(std::vector<uint8_t>(bytes.begin(), bytes.end()));
    return;
  }
  if (value.is_structured()) {
    for (auto& child : value)
      fill_placeholders(child, buffers);
  }
}

bool contains_binary(const json& value) {
  if (value.is_binary()) return true;
  if (value.is_structured()) {
    for (const auto& child : value)
      if (contains_binary(child)) return true;
  }
  return false;
}

/// Moves binary values out of `value` into `out`, leaving placeholders.
void extract_binary(json& value, std::vector<std::string>& out) {
  if (value.is_binary()) {
    const auto& bytes = value.get_binary();
    json placeholder = json::object();
    placeholder["_placeholder"] = true;
    placeholder["num"] = out.size();
    out.emplace_back(bytes.begin(), bytes.end());
    value = std::move(placeholder);
    return;
  }
  if (value.is_structured()) {
    for (auto& child : value)
      extract_binary(child, out);
  }
}

std::string dump(const json& value) {
  // `replace` makes dump() total: invalid UTF-8 becomes U+FFFD instead of
  // an exception, and a browser never sees invalid UTF-8 in a text frame.
  return value.dump(-1, ' ', false, json::error_handler_t::replace);
}

void append_quoted(std::string& out, std::string_view str) {
  out += dump(json(std::string{str}));
}

/// `<type>[<nsp>,]`: the header shared by the direct encoders.
std::string begin_packet(sio_packet_type type, std::string_view nsp,
                         size_t extra) {
  std::string out;
  out.reserve(nsp.size() + extra + 24);
  out += static_cast<char>('0' + static_cast<int>(type));
  if (!nsp.empty() && nsp != default_namespace) {
    out += nsp;
    out += ',';
  }
  return out;
}

/// Checks the payload's shape for the packet's type.
std::optional<sio_errc> check_payload(const sio_packet& packet) {
  const auto& data = packet.data;
  switch (packet.type) {
    case sio_packet_type::connect:
      if (!data.is_null() && !data.is_object())
        return sio_errc::invalid_payload;
      break;
    case sio_packet_type::disconnect:
      if (!data.is_null()) return sio_errc::invalid_payload;
      break;
    case sio_packet_type::event:
    case sio_packet_type::binary_event: {
      if (!data.is_array() || data.empty() || !data.front().is_string())
        return sio_errc::invalid_payload;
      const auto& name = data.front().get_ref<const std::string&>();
      if (std::find(reserved_event_names.begin(), reserved_event_names.end(),
                    name)
          != reserved_event_names.end())
        return sio_errc::reserved_event_name;
      break;
    }
    case sio_packet_type::ack:
    case sio_packet_type::binary_ack:
      if (!data.is_array()) return sio_errc::invalid_payload;
      if (!packet.id) return sio_errc::invalid_ack_id;
      break;
    case sio_packet_type::connect_error: {
      if (!data.is_object()) return sio_errc::invalid_payload;
      auto message = data.find("message");
      if (message == data.end() || !message->is_string())
        return sio_errc::invalid_payload;
      break;
    }
  }
  if (packet.is_binary() && !placeholders_valid(data, packet.attachments))
    return sio_errc::invalid_placeholder;
  return std::nullopt;
}

} // namespace

// -- names --------------------------------------------------------------------

std::string_view to_string(sio_packet_type type) noexcept {
  switch (type) {
    case sio_packet_type::connect: return "CONNECT";
    case sio_packet_type::disconnect: return "DISCONNECT";
    case sio_packet_type::event: return "EVENT";
    case sio_packet_type::ack: return "ACK";
    case sio_packet_type::connect_error: return "CONNECT_ERROR";
    case sio_packet_type::binary_event: return "BINARY_EVENT";
    case sio_packet_type::binary_ack: return "BINARY_ACK";
  }
  return "UNKNOWN";
}

std::string_view to_string(sio_errc err) noexcept {
  switch (err) {
    case sio_errc::empty_packet: return "empty_packet";
    case sio_errc::packet_too_large: return "packet_too_large";
    case sio_errc::invalid_packet_type: return "invalid_packet_type";
    case sio_errc::invalid_attachments: return "invalid_attachments";
    case sio_errc::too_many_attachments: return "too_many_attachments";
    case sio_errc::invalid_namespace: return "invalid_namespace";
    case sio_errc::invalid_ack_id: return "invalid_ack_id";
    case sio_errc::invalid_json: return "invalid_json";
    case sio_errc::invalid_payload: return "invalid_payload";
    case sio_errc::reserved_event_name: return "reserved_event_name";
    case sio_errc::invalid_placeholder: return "invalid_placeholder";
    case sio_errc::unexpected_attachment: return "unexpected_attachment";
    case sio_errc::missing_attachment: return "missing_attachment";
    case sio_errc::attachments_too_large: return "attachments_too_large";
  }
  return "unknown";
}

std::string_view sio_packet::event_name() const noexcept {
  if ((type == sio_packet_type::event || type == sio_packet_type::binary_event)
      && data.is_array() && !data.empty() && data.front().is_string())
    return data.front().get_ref<const std::string&>();
  return {};
}

// -- decoding -----------------------------------------------------------------

codec_result<sio_packet, sio_errc> decode_sio_packet(std::string_view text,
                                                     const sio_limits& limits) {
  if (text.size() > limits.max_packet_bytes) return sio_errc::packet_too_large;
  if (text.empty()) return sio_errc::empty_packet;
  if (text.front() < '0' || text.front() > '6')
    return sio_errc::invalid_packet_type;
  sio_packet packet;
  packet.type = static_cast<sio_packet_type>(text.front() - '0');
  size_t pos = 1;
  // Attachment count: `<digits>-`, binary types only.
  if (packet.is_binary()) {
    size_t count = 0;
    auto start = pos;
    while (pos < text.size() && is_digit(text[pos])) {
      auto digit = static_cast<size_t>(text[pos] - '0');
      // Compare before multiplying, so no limit can make `count` wrap.
      if (digit > limits.max_attachments
          || count > (limits.max_attachments - digit) / 10)
        return sio_errc::too_many_attachments;
      count = count * 10 + digit;
      ++pos;
    }
    if (pos == start || pos == text.size() || text[pos] != '-')
      return sio_errc::invalid_attachments;
    ++pos;
    packet.attachments = count;
  }
  // Set once a namespace or an ack id was read: then a payload that fails
  // to parse cannot be a namespace without its slash.
  auto header_done = false;
  // Namespace: from `/` to the next comma or the end.
  if (pos < text.size() && text[pos] == '/') {
    header_done = true;
    auto end = text.find(',', pos);
    auto nsp = text.substr(
        pos,
        end == std::string_view::npos ? std::string_view::npos : end - pos);
    if (nsp.size() > limits.max_namespace_bytes
        || !std::all_of(nsp.begin(), nsp.end(), is_namespace_char))
      return sio_errc::invalid_namespace;
    packet.nsp = std::string{nsp};
    pos = end == std::string_view::npos ? text.size() : end + 1;
  }
  // Ack id: digits, bounded so that a JavaScript peer can represent it.
  if (pos < text.size() && is_digit(text[pos])) {
    header_done = true;
    uint64_t id = 0;
    while (pos < text.size() && is_digit(text[pos])) {
      id = id * 10 + static_cast<uint64_t>(text[pos] - '0');
      if (id > max_ack_id) return sio_errc::invalid_ack_id;
      ++pos;
    }
    packet.id = id;
  }
  // Payload: the rest, one JSON value.
  if (pos < text.size()) {
    auto rest = text.substr(pos);
    if (!codec::parse_json(rest, packet.data, limits.max_json_depth).empty()) {
      if (!header_done && looks_like_namespace_without_slash(rest))
        return sio_errc::invalid_namespace;
      return sio_errc::invalid_json;
    }
    // `null` would be indistinguishable from "no payload"; no type allows it.
    if (packet.data.is_null()) return sio_errc::invalid_payload;
  }
  if (auto err = check_payload(packet)) return *err;
  return packet;
}

// -- sio_decoder --------------------------------------------------------------

sio_decoder::step sio_decoder::on_text(std::string_view text) {
  if (pending_) {
    reset();
    return sio_errc::missing_attachment;
  }
  auto packet = decode_sio_packet(text, limits_);
  if (!packet) return packet.error();
  if (!packet->is_binary() || packet->attachments == 0)
    return std::optional<sio_packet>{std::move(*packet)};
  pending_ = std::move(*packet);
  buffers_.reserve(pending_->attachments);
  return std::optional<sio_packet>{};
}

sio_decoder::step sio_decoder::on_binary(std::string_view bytes) {
  if (!pending_) return sio_errc::unexpected_attachment;
  if (bytes.size() > limits_.max_attachment_bytes - buffered_bytes_) {
    reset();
    return sio_errc::attachments_too_large;
  }
  buffered_bytes_ += bytes.size();
  buffers_.emplace_back(bytes);
  if (buffers_.size() < pending_->attachments)
    return std::optional<sio_packet>{};
  return finish();
}

sio_decoder::step sio_decoder::finish() {
  auto packet = std::move(*pending_);
  fill_placeholders(packet.data, buffers_);
  reset();
  return std::optional<sio_packet>{std::move(packet)};
}

void sio_decoder::reset() noexcept {
  pending_.reset();
  buffers_.clear();
  buffered_bytes_ = 0;
}

// -- encoding -----------------------------------------------------------------

sio_encoded encode_sio_packet(const sio_packet& packet) {
  sio_encoded result;
  auto type = packet.type;
  const json* data = &packet.data;
  json stripped;
  if (contains_binary(packet.data)) {
    stripped = packet.data;
    extract_binary(stripped, result.attachments);
    data = &stripped;
    if (type == sio_packet_type::event) type = sio_packet_type::binary_event;
    if (type == sio_packet_type::ack) type = sio_packet_type::binary_ack;
  }
  auto& out = result.text;
  out += static_cast<char>('0' + static_cast<int>(type));
  if (type == sio_packet_type::binary_event
      || type == sio_packet_type::binary_ack) {
    out += std::to_string(result.attachments.size());
    out += '-';
  }
  if (!packet.nsp.empty() && packet.nsp != default_namespace) {
    out += packet.nsp;
    out += ',';
  }
  if (packet.id) out += std::to_string(*packet.id);
  if (!data->is_null()) out += dump(*data);
  return result;
}

std::string encode_sio_event(std::string_view nsp, std::string_view event,
                             std::string_view raw_args,
                             std::optional<uint64_t> ack_id) {
  auto out = begin_packet(sio_packet_type::event, nsp,
                          event.size() + raw_args.size());
  if (ack_id) out += std::to_string(*ack_id);
  out += '[';
  append_quoted(out, event);
  if (!raw_args.empty()) {
    out += ',';
    out += raw_args;
  }
  out += ']';
  return out;
}

std::string encode_sio_ack(std::string_view nsp, uint64_t id,
                           std::string_view raw_args) {
  auto out = begin_packet(sio_packet_type::ack, nsp, raw_args.size());
  out += std::to_string(id);
  out += '[';
  out += raw_args;
  out += ']';
  return out;
}

std::string encode_sio_connect(std::string_view nsp, std::string_view sid) {
  auto out = begin_packet(sio_packet_type::connect, nsp, sid.size());
  out += R"({"sid":)";
  append_quoted(out, sid);
  out += '}';
  return out;
}

std::string encode_sio_connect_error(std::string_view nsp,
                                     std::string_view message,
                                     std::optional<std::string_view> raw_data) {
  auto out = begin_packet(sio_packet_type::connect_error, nsp,
                          message.size() + (raw_data ? raw_data->size() : 0));
  out += R"({"message":)";
  append_quoted(out, message);
  if (raw_data) {
    out += R"(,"data":)";
    out += *raw_data;
  }
  out += '}';
  return out;
}

std::string encode_sio_disconnect(std::string_view nsp) {
  return begin_packet(sio_packet_type::disconnect, nsp, 0);
}

} // namespace puzzle::transports::socketio
