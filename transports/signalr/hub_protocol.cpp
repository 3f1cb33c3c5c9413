#include "transports/signalr/hub_protocol.hpp"

#include <cstring>
#include <exception>
#include <type_traits>
#include <utility>

#include "transports/codec/json_input.hpp"

namespace puzzle::transports::signalr {

namespace {

using json = nlohmann::json;

bool iequals_ascii(std::string_view lhs, std::string_view rhs) noexcept {
  if (lhs.size() != rhs.size()) return false;
  for (size_t i = 0; i < lhs.size(); ++i) {
    auto a = static_cast<unsigned char>(lhs[i]);
    auto b = static_cast<unsigned char>(rhs[i]);
    if (a >= 'A' && a <= 'Z') a = static_cast<unsigned char>(a - 'A' + 'a');
    if (b >= 'A' && b <= 'Z') b = static_cast<unsigned char>(b - 'A' + 'a');
    if (a != b) return false;
  }
  return true;
}

// -- message field helpers ----------------------------------------------------

std::string missing(std::string_view name) {
  std::string result = "Missing required property '";
  result += name;
  result += "'.";
  return result;
}

std::string wrong_type(std::string_view name, std::string_view type) {
  std::string result = "Expected '";
  result += name;
  result += "' to be of type ";
  result += type;
  result += '.';
  return result;
}

/// Reads a string property. Returns false with `err` set when it is present
/// but not a string, or absent while `required`.
bool read_string(json& obj, const char* name, bool required,
                 std::optional<std::string>& out, std::string& err) {
  auto i = obj.find(name);
  if (i == obj.end()) {
    if (required) err = missing(name);
    return !required;
  }
  if (!i->is_string()) {
    err = wrong_type(name, "String");
    return false;
  }
  out = std::move(i->get_ref<std::string&>());
  return true;
}

bool read_required_string(json& obj, const char* name, std::string& out,
                          std::string& err) {
  std::optional<std::string> tmp;
  if (!read_string(obj, name, true, tmp, err)) return false;
  out = std::move(*tmp);
  return true;
}

bool read_arguments(json& obj, json& out, std::string& err) {
  auto i = obj.find("arguments");
  if (i == obj.end()) {
    err = missing("arguments");
    return false;
  }
  if (!i->is_array()) {
    err = wrong_type("arguments", "Array");
    return false;
  }
  out = std::move(*i);
  return true;
}

bool read_stream_ids(json& obj, std::vector<std::string>& out,
                     std::string& err) {
  auto i = obj.find("streamIds");
  if (i == obj.end()) return true;
  if (!i->is_array()) {
    err = wrong_type("streamIds", "Array");
    return false;
  }
  out.reserve(i->size());
  for (auto& id : *i) {
    if (!id.is_string()) {
      err = "Expected 'streamIds' to contain only strings.";
      return false;
    }
    out.push_back(std::move(id.get_ref<std::string&>()));
  }
  return true;
}

bool read_sequence_id(json& obj, uint64_t& out, std::string& err) {
  auto i = obj.find("sequenceId");
  if (i == obj.end()) {
    err = missing("sequenceId");
    return false;
  }
  if (i->is_number_unsigned()) {
    out = i->get<uint64_t>();
    return true;
  }
  // Non-negative literals parse as unsigned, so a signed one is negative.
  err = "Expected 'sequenceId' to be a non-negative integer.";
  return false;
}

hub_message make_error(std::string reason) {
  return parse_error{std::move(reason)};
}

template<class Message>
hub_message parse_call(json& obj, bool id_required) {
  Message msg;
  std::string err;
  std::optional<std::string> id;
  if (!read_string(obj, "invocationId", id_required, id, err)
      || !read_required_string(obj, "target", msg.target, err)
      || !read_arguments(obj, msg.arguments, err)
      || !read_stream_ids(obj, msg.stream_ids, err))
    return make_error(std::move(err));
  if constexpr (std::is_same_v<Message, invocation>)
    msg.invocation_id = std::move(id);
  else
    msg.invocation_id = std::move(*id);
  return msg;
}

hub_message parse_stream_item(json& obj) {
  stream_item msg;
  std::string err;
  if (!read_required_string(obj, "invocationId", msg.invocation_id, err))
    return make_error(std::move(err));
  auto i = obj.find("item");
  if (i == obj.end()) return make_error(missing("item"));
  msg.item = std::move(*i);
  return msg;
}

hub_message parse_completion(json& obj) {
  completion msg;
  std::string err;
  if (!read_required_string(obj, "invocationId", msg.invocation_id, err))
    return make_error(std::move(err));
  auto err_i = obj.find("error");
  // A null error means "no error", as ASP.NET reads it as a nullable string.
  if (err_i != obj.end() && !err_i->is_null()) {
    if (!err_i->is_string()) return make_error(wrong_type("error", "String"));
    msg.error = std::move(err_i->get_ref<std::string&>());
  }
  auto res_i = obj.find("result");
  if (res_i != obj.end()) {
    if (msg.error)
      return make_error(
          "The 'error' and 'result' properties are mutually exclusive.");
    msg.result = std::move(*res_i);
  }
  return msg;
}

hub_message parse_cancel(json& obj) {
  cancel_invocation msg;
  std::string err;
  if (!read_required_string(obj, "invocationId", msg.invocation_id, err))
    return make_error(std::move(err));
  return msg;
}

hub_message parse_close(json& obj) {
  close_message msg;
  auto err_i = obj.find("error");
  if (err_i != obj.end() && !err_i->is_null()) {
    if (!err_i->is_string()) return make_error(wrong_type("error", "String"));
    msg.error = std::move(err_i->get_ref<std::string&>());
  }
  auto rec_i = obj.find("allowReconnect");
  if (rec_i != obj.end()) {
    if (!rec_i->is_boolean())
      return make_error(wrong_type("allowReconnect", "Boolean"));
    msg.allow_reconnect = rec_i->get<bool>();
  }
  return msg;
}

template<class Message>
hub_message parse_sequence_message(json& obj) {
  Message msg;
  std::string err;
  if (!read_sequence_id(obj, msg.sequence_id, err))
    return make_error(std::move(err));
  return msg;
}

// -- encoding helpers ---------------------------------------------------------

/// Length of the valid UTF-8 sequence starting at `str[pos]` (a byte >=
/// 0x80), or 0 when it is not one (RFC 3629: no overlongs, no surrogates,
/// nothing above U+10FFFF).
size_t utf8_sequence_length(std::string_view str, size_t pos) noexcept {
  auto at = [&](size_t i) -> unsigned {
    return pos + i < str.size() ? static_cast<unsigned char>(str[pos + i]) : 0u;
  };
  auto cont = [](unsigned c, unsigned lo = 0x80, unsigned hi = 0xBF) {
    return c >= lo && c <= hi;
  };
  auto lead = at(0);
  if (lead >= 0xC2 && lead <= 0xDF) return cont(at(1)) ? 2 : 0;
  if (lead >= 0xE0 && lead <= 0xEF) {
    auto lo = lead == 0xE0 ? 0xA0u : 0x80u;
    auto hi = lead == 0xED ? 0x9Fu : 0xBFu;
    return cont(at(1), lo, hi) && cont(at(2)) ? 3 : 0;
  }
  if (lead >= 0xF0 && lead <= 0xF4) {
    auto lo = lead == 0xF0 ? 0x90u : 0x80u;
    auto hi = lead == 0xF4 ? 0x8Fu : 0xBFu;
    return cont(at(1), lo, hi) && cont(at(2)) && cont(at(3)) ? 4 : 0;
  }
  return 0;
}

std::string begin_completion(std::string_view invocation_id, size_t extra) {
  std::string out;
  out.reserve(invocation_id.size() + extra + 40);
  out += R"({"type":3,"invocationId":)";
  append_json_string(out, invocation_id);
  return out;
}

void end_record(std::string& out) {
  out += '}';
  out += record_separator;
}

} // namespace

// -- record_reader ------------------------------------------------------------

record_reader::status record_reader::append(std::string_view chunk) {
  // Check every record the chunk touches before copying anything, so that a
  // peer cannot make us buffer more than the limit.
  auto partial = partial_;
  size_t pos = 0;
  for (;;) {
    auto rest = chunk.substr(pos);
    auto sep = static_cast<const char*>(
        std::memchr(rest.data(), record_separator, rest.size()));
    if (sep == nullptr) {
      if (partial + rest.size() > max_record_size_)
        return status::limit_exceeded;
      break;
    }
    auto len = static_cast<size_t>(sep - rest.data());
    if (partial + len > max_record_size_) return status::limit_exceeded;
    partial = 0;
    pos += len + 1;
  }
  partial_ = partial + (chunk.size() - pos);
  if (read_pos_ == buf_.size()) {
    buf_.clear();
    read_pos_ = 0;
  } else if (read_pos_ > 0) {
    buf_.erase(0, read_pos_);
    read_pos_ = 0;
  }
  buf_.append(chunk);
  return status::ok;
}

std::optional<std::string_view> record_reader::next() noexcept {
  auto rest = std::string_view{buf_}.substr(read_pos_);
  auto sep = static_cast<const char*>(
      std::memchr(rest.data(), record_separator, rest.size()));
  if (sep == nullptr) return std::nullopt;
  auto len = static_cast<size_t>(sep - rest.data());
  read_pos_ += len + 1;
  return rest.substr(0, len);
}

void record_reader::clear() noexcept {
  buf_.clear();
  read_pos_ = 0;
  partial_ = 0;
}

// -- handshake ----------------------------------------------------------------

handshake_result parse_handshake(std::string_view record) {
  handshake_result result;
  json root;
  if (auto err = codec::parse_json(record, root, max_json_depth);
      !err.empty()) {
    result.error = "Handshake is not valid JSON: " + err;
    return result;
  }
  if (!root.is_object()) {
    result.error = "Handshake is not a JSON object.";
    return result;
  }
  std::string protocol;
  if (!read_required_string(root, "protocol", protocol, result.error))
    return result;
  auto ver = root.find("version");
  if (ver == root.end()) {
    result.error = missing("version");
    return result;
  }
  if (!ver->is_number_integer()) {
    result.error = wrong_type("version", "Integer");
    return result;
  }
  // ASP.NET resolves protocol names case-insensitively.
  if (!iequals_ascii(protocol, "json")) {
    result.error = "Requested protocol '" + protocol + "' is not available.";
    return result;
  }
  // Non-negative literals parse as unsigned, negative ones as signed.
  auto version = ver->is_number_unsigned() ? ver->get<uint64_t>() : 0u;
  if (version != 1 && version != 2) {
    result.error = "The server does not support version " + ver->dump()
        + " of the 'json' protocol.";
    return result;
  }
  result.protocol = "json";
  result.version = static_cast<int64_t>(version);
  return result;
}

std::string encode_handshake_response() {
  return std::string{"{}"} + record_separator;
}

std::string encode_handshake_error(std::string_view text) {
  std::string out;
  out.reserve(text.size() + 16);
  out += R"({"error":)";
  append_json_string(out, text);
  end_record(out);
  return out;
}

// -- parse_message ------------------------------------------------------------

hub_message parse_message(std::string_view record) {
  json root;
  if (auto err = codec::parse_json(record, root, max_json_depth); !err.empty())
    return make_error(std::move(err));
  if (!root.is_object()) return make_error("Message is not a JSON object.");
  auto type_i = root.find("type");
  if (type_i == root.end()) return make_error(missing("type"));
  if (!type_i->is_number_integer())
    return make_error(wrong_type("type", "Integer"));
  // Negative numbers parse as signed and fall through as unknown.
  if (type_i->is_number_unsigned()) {
    switch (type_i->get<uint64_t>()) {
      case static_cast<uint64_t>(message_type::invocation):
        return parse_call<invocation>(root, false);
      case static_cast<uint64_t>(message_type::stream_invocation):
        return parse_call<stream_invocation>(root, true);
      case static_cast<uint64_t>(message_type::stream_item):
        return parse_stream_item(root);
      case static_cast<uint64_t>(message_type::completion):
        return parse_completion(root);
      case static_cast<uint64_t>(message_type::cancel_invocation):
        return parse_cancel(root);
      case static_cast<uint64_t>(message_type::ping): return ping_message{};
      case static_cast<uint64_t>(message_type::close): return parse_close(root);
      case static_cast<uint64_t>(message_type::ack):
        return parse_sequence_message<ack_message>(root);
      case static_cast<uint64_t>(message_type::sequence):
        return parse_sequence_message<sequence_message>(root);
      default: break;
    }
  }
  return make_error("Unknown message type: " + type_i->dump() + ".");
}

// -- encoders -----------------------------------------------------------------

void append_json_string(std::string& out, std::string_view str) {
  static constexpr char hex[] = "0123456789abcdef";
  out.reserve(out.size() + str.size() + 2);
  out += '"';
  size_t run = 0; // Start of the bytes that need no escaping.
  size_t i = 0;
  auto flush = [&] {
    out.append(str.data() + run, i - run);
  };
  while (i < str.size()) {
    auto c = static_cast<unsigned char>(str[i]);
    if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\') {
      ++i;
      continue;
    }
    if (c >= 0x80) {
      if (auto len = utf8_sequence_length(str, i); len > 0) {
        i += len;
        continue;
      }
      flush();
      out += "\xEF\xBF\xBD"; // U+FFFD REPLACEMENT CHARACTER
    } else if (c == '"' || c == '\\') {
      flush();
      out += '\\';
      out += static_cast<char>(c);
    } else {
      flush();
      out += "\\u00";
      out += hex[c >> 4];
      out += hex[c & 0xF];
    }
    run = ++i;
  }
  flush();
  out += '"';
}

std::string encode_invocation(std::string_view target,
                              std::string_view raw_arguments) {
  std::string out;
  out.reserve(target.size() + raw_arguments.size() + 40);
  out += R"({"type":1,"target":)";
  append_json_string(out, target);
  out += R"(,"arguments":)";
  out += raw_arguments;
  end_record(out);
  return out;
}

std::string encode_completion_result(std::string_view invocation_id,
                                     std::string_view raw_result) {
  auto out = begin_completion(invocation_id, raw_result.size() + 12);
  out += R"(,"result":)";
  out += raw_result;
  end_record(out);
  return out;
}

std::string encode_completion_void(std::string_view invocation_id) {
  auto out = begin_completion(invocation_id, 0);
  end_record(out);
  return out;
}

std::string encode_completion_error(std::string_view invocation_id,
                                    std::string_view error_text) {
  auto out = begin_completion(invocation_id, error_text.size() + 12);
  out += R"(,"error":)";
  append_json_string(out, error_text);
  end_record(out);
  return out;
}

std::string encode_ping() {
  return std::string{R"({"type":6})"} + record_separator;
}

std::string encode_close(std::optional<std::string_view> error,
                         bool allow_reconnect) {
  std::string out = R"({"type":7)";
  if (error) {
    out += R"(,"error":)";
    append_json_string(out, *error);
  }
  if (allow_reconnect) out += R"(,"allowReconnect":true)";
  end_record(out);
  return out;
}

std::string encode_negotiate_response(std::string_view connection_id,
                                      std::string_view connection_token,
                                      int negotiate_version) {
  std::string out;
  out.reserve(connection_id.size() + connection_token.size() + 160);
  out += '{';
  if (negotiate_version >= 1) {
    out += R"("connectionToken":)";
    append_json_string(out, connection_token);
    out += ',';
  }
  out += R"("connectionId":)";
  append_json_string(out, connection_id);
  out += negotiate_version >= 1 ? R"(,"negotiateVersion":1)"
                                : R"(,"negotiateVersion":0)";
  out += R"(,"availableTransports":[)"
         R"({"transport":"WebSockets","transferFormats":["Text"]}]})";
  return out;
}

} // namespace puzzle::transports::signalr
