#include "transports/socketio/engineio_protocol.hpp"

#include <algorithm>
#include <array>

#include <nlohmann/json.hpp>

#include "transports/codec/json_input.hpp"

namespace puzzle::transports::socketio {

namespace {

using json = nlohmann::json;

/// The open packet is a flat object with one array, so 2 levels suffice;
/// a little slack tolerates servers that add nested extras.
constexpr size_t open_packet_max_depth = 8;

constexpr char base64_alphabet[]
    = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Marks bytes outside the base64 alphabet in `base64_values`.
constexpr uint8_t not_base64 = 0xFF;

constexpr std::array<uint8_t, 256> make_base64_values() {
  std::array<uint8_t, 256> values{};
  for (auto& v : values)
    v = not_base64;
  for (uint8_t i = 0; i < 64; ++i)
    values[static_cast<unsigned char>(base64_alphabet[i])] = i;
  return values;
}

constexpr auto base64_values = make_base64_values();

/// The type digit of `c`, or nothing.
std::optional<eio_packet_type> type_of(char c) noexcept {
  if (c < '0' || c > '6') return std::nullopt;
  return static_cast<eio_packet_type>(c - '0');
}

char digit_of(eio_packet_type type) noexcept {
  return static_cast<char>('0' + static_cast<int>(type));
}

/// Reads an unsigned integer property into `out`; false if absent or of
/// another JSON type.
bool read_unsigned(const json& obj, const char* name, uint64_t& out) {
  auto i = obj.find(name);
  if (i == obj.end() || !i->is_number_unsigned()) return false;
  out = i->get<uint64_t>();
  return true;
}

} // namespace

// -- names --------------------------------------------------------------------

std::string_view to_string(eio_packet_type type) noexcept {
  switch (type) {
    case eio_packet_type::open: return "open";
    case eio_packet_type::close: return "close";
    case eio_packet_type::ping: return "ping";
    case eio_packet_type::pong: return "pong";
    case eio_packet_type::message: return "message";
    case eio_packet_type::upgrade: return "upgrade";
    case eio_packet_type::noop: return "noop";
  }
  return "unknown";
}

std::string_view to_string(eio_errc err) noexcept {
  switch (err) {
    case eio_errc::empty_packet: return "empty_packet";
    case eio_errc::invalid_packet_type: return "invalid_packet_type";
    case eio_errc::invalid_base64: return "invalid_base64";
    case eio_errc::payload_too_large: return "payload_too_large";
    case eio_errc::too_many_packets: return "too_many_packets";
    case eio_errc::invalid_handshake: return "invalid_handshake";
  }
  return "unknown";
}

// -- packets ------------------------------------------------------------------

codec_result<eio_packet, eio_errc> decode_eio_packet(std::string_view text) {
  if (text.empty()) return eio_errc::empty_packet;
  if (text.front() == binary_prefix) {
    auto bytes = base64_decode(text.substr(1));
    if (!bytes) return eio_errc::invalid_base64;
    return eio_packet::bytes(std::move(*bytes));
  }
  auto type = type_of(text.front());
  if (!type) return eio_errc::invalid_packet_type;
  return eio_packet::text(*type, std::string{text.substr(1)});
}

eio_packet decode_binary_frame(std::string_view bytes) {
  return eio_packet::bytes(std::string{bytes});
}

std::string encode_eio_packet(const eio_packet& packet) {
  if (packet.binary) {
    std::string out;
    out.reserve(1 + (packet.data.size() + 2) / 3 * 4);
    out += binary_prefix;
    out += base64_encode(packet.data);
    return out;
  }
  return encode_eio_text(packet.type, packet.data);
}

std::string encode_eio_text(eio_packet_type type, std::string_view data) {
  std::string out;
  out.reserve(1 + data.size());
  out += digit_of(type);
  out += data;
  return out;
}

// -- long-polling payloads ----------------------------------------------------

codec_result<std::vector<eio_packet>, eio_errc>
decode_payload(std::string_view body, const payload_limits& limits) {
  if (body.size() > limits.max_payload_bytes)
    return eio_errc::payload_too_large;
  if (body.empty()) return eio_errc::empty_packet;
  // Count first, so that the vector is sized once and a body of separators
  // is refused before anything is allocated for it.
  auto count = static_cast<size_t>(
                   std::count(body.begin(), body.end(), record_separator))
      + 1;
  if (count > limits.max_packets) return eio_errc::too_many_packets;
  std::vector<eio_packet> packets;
  packets.reserve(count);
  size_t pos = 0;
  for (;;) {
    auto sep = body.find(record_separator, pos);
    auto record = body.substr(
        pos,
        sep == std::string_view::npos ? std::string_view::npos : sep - pos);
    auto packet = decode_eio_packet(record);
    if (!packet) return packet.error();
    packets.push_back(std::move(*packet));
    if (sep == std::string_view::npos) break;
    pos = sep + 1;
  }
  return packets;
}

void append_to_payload(std::string& body, const eio_packet& packet) {
  if (!body.empty()) body += record_separator;
  if (packet.binary) {
    body += binary_prefix;
    body += base64_encode(packet.data);
  } else {
    body += digit_of(packet.type);
    body += packet.data;
  }
}

void append_encoded_to_payload(std::string& body, std::string_view encoded) {
  if (!body.empty()) body += record_separator;
  body += encoded;
}

std::string encode_payload(const std::vector<eio_packet>& packets) {
  std::string body;
  for (const auto& packet : packets)
    append_to_payload(body, packet);
  return body;
}

// -- handshake ----------------------------------------------------------------

std::string encode_open_packet(const open_handshake& handshake) {
  // The replace handler keeps a hostile sid from making dump() throw; our
  // sids are ASCII anyway.
  auto quoted = [](const std::string& str) {
    return json(str).dump(-1, ' ', false, json::error_handler_t::replace);
  };
  std::string out;
  out.reserve(handshake.sid.size() + 128);
  out += digit_of(eio_packet_type::open);
  out += R"({"sid":)";
  out += quoted(handshake.sid);
  out += R"(,"upgrades":[)";
  for (size_t i = 0; i < handshake.upgrades.size(); ++i) {
    if (i > 0) out += ',';
    out += quoted(handshake.upgrades[i]);
  }
  out += R"(],"pingInterval":)";
  out += std::to_string(handshake.ping_interval_ms);
  out += R"(,"pingTimeout":)";
  out += std::to_string(handshake.ping_timeout_ms);
  out += R"(,"maxPayload":)";
  out += std::to_string(handshake.max_payload);
  out += '}';
  return out;
}

codec_result<open_handshake, eio_errc>
decode_open_packet(std::string_view json_text) {
  json root;
  if (!codec::parse_json(json_text, root, open_packet_max_depth).empty()
      || !root.is_object())
    return eio_errc::invalid_handshake;
  open_handshake result;
  auto sid = root.find("sid");
  auto upgrades = root.find("upgrades");
  if (sid == root.end() || !sid->is_string() || upgrades == root.end()
      || !upgrades->is_array())
    return eio_errc::invalid_handshake;
  result.sid = sid->get<std::string>();
  for (const auto& name : *upgrades) {
    if (!name.is_string()) return eio_errc::invalid_handshake;
    result.upgrades.push_back(name.get<std::string>());
  }
  if (!read_unsigned(root, "pingInterval", result.ping_interval_ms)
      || !read_unsigned(root, "pingTimeout", result.ping_timeout_ms)
      || !read_unsigned(root, "maxPayload", result.max_payload))
    return eio_errc::invalid_handshake;
  return result;
}

// -- base64 -------------------------------------------------------------------

std::string base64_encode(std::string_view bytes) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  auto at = [&](size_t i) {
    return static_cast<uint32_t>(static_cast<unsigned char>(bytes[i]));
  };
  auto put = [&](uint32_t sextet) {
    out += base64_alphabet[sextet & 0x3F];
  };
  size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    auto group = (at(i) << 16) | (at(i + 1) << 8) | at(i + 2);
    put(group >> 18);
    put(group >> 12);
    put(group >> 6);
    put(group);
  }
  auto rest = bytes.size() - i;
  if (rest == 1) {
    auto group = at(i) << 16;
    put(group >> 18);
    put(group >> 12);
    out += "==";
  } else if (rest == 2) {
    auto group = (at(i) << 16) | (at(i + 1) << 8);
    put(group >> 18);
    put(group >> 12);
    put(group >> 6);
    out += '=';
  }
  return out;
}

std::optional<std::string> base64_decode(std::string_view text) {
  if (text.size() % 4 != 0) return std::nullopt;
  size_t padding = 0;
  if (!text.empty() && text.back() == '=') {
    padding = text[text.size() - 2] == '=' ? 2 : 1;
  }
  std::string out;
  out.reserve(text.size() / 4 * 3 - padding);
  for (size_t i = 0; i < text.size(); i += 4) {
    auto last = i + 4 == text.size();
    // Padding may only appear in the last group.
    auto data_chars = last ? 4 - padding : size_t{4};
    uint32_t group = 0;
    for (size_t j = 0; j < 4; ++j) {
      uint32_t value = 0;
      if (j < data_chars) {
        auto v = base64_values[static_cast<unsigned char>(text[i + j])];
        if (v == not_base64) return std::nullopt;
        value = v;
      }
      group = (group << 6) | value;
    }
    out += static_cast<char>((group >> 16) & 0xFF);
    if (data_chars >= 3) out += static_cast<char>((group >> 8) & 0xFF);
    if (data_chars == 4) out += static_cast<char>(group & 0xFF);
    // Canonical form only: the bits below the last output byte are zero.
    if (data_chars == 2 && (group & 0xFFFF) != 0) return std::nullopt;
    if (data_chars == 3 && (group & 0xFF) != 0) return std::nullopt;
  }
  return out;
}

} // namespace puzzle::transports::socketio
