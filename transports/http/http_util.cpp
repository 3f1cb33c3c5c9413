#include "transports/http/http_util.hpp"

#include <cstdio>

#include <boost/beast/http/field.hpp>
#include <nlohmann/json.hpp>

namespace puzzle::transports::http {

namespace bhttp = boost::beast::http;

namespace {

constexpr std::string_view json_content_type = "application/json; "
                                               "charset=utf-8";

int hex_value(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

char lower(char c) noexcept {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

bool iequals(std::string_view x, std::string_view y) noexcept {
  if (x.size() != y.size()) return false;
  for (size_t i = 0; i < x.size(); ++i)
    if (lower(x[i]) != lower(y[i])) return false;
  return true;
}

std::string_view trim(std::string_view x) noexcept {
  while (!x.empty() && (x.front() == ' ' || x.front() == '\t'))
    x.remove_prefix(1);
  while (!x.empty() && (x.back() == ' ' || x.back() == '\t'))
    x.remove_suffix(1);
  return x;
}

} // namespace

response make_json(bhttp::status status, std::string body, const request& req) {
  response res{status, req.version()};
  res.set(bhttp::field::content_type, to_beast(json_content_type));
  res.keep_alive(req.keep_alive());
  res.body() = std::move(body);
  res.prepare_payload();
  return res;
}

response make_json(bhttp::status status, std::string body) {
  request req;
  req.version(11);
  return make_json(status, std::move(body), req);
}

std::string error_body(unsigned status, std::string_view code,
                       std::string_view message) {
  // Ordered: the contract shows status, code, message in this order.
  nlohmann::ordered_json j{{"status", status},
                           {"code", std::string{code}},
                           {"message", std::string{message}}};
  return j.dump(-1, ' ', false,
                nlohmann::ordered_json::error_handler_t::replace);
}

response make_error(bhttp::status status, std::string_view code,
                    std::string_view message, const request& req) {
  return make_json(
      status, error_body(static_cast<unsigned>(status), code, message), req);
}

response make_error(bhttp::status status, std::string_view code,
                    std::string_view message) {
  return make_json(status,
                   error_body(static_cast<unsigned>(status), code, message));
}

response make_error(errc code, std::string_view message, const request& req) {
  auto status = static_cast<bhttp::status>(http_status(code));
  return make_error(status, to_code(code), message, req);
}

std::optional<std::string> percent_decode(std::string_view text,
                                          bool plus_is_space) {
  std::string result;
  result.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    auto c = text[i];
    if (c == '%') {
      if (i + 2 >= text.size()) return std::nullopt;
      auto hi = hex_value(text[i + 1]);
      auto lo = hex_value(text[i + 2]);
      if (hi < 0 || lo < 0) return std::nullopt;
      result += static_cast<char>(hi * 16 + lo);
      i += 2;
    } else if (c == '+' && plus_is_space) {
      result += ' ';
    } else {
      result += c;
    }
  }
  return result;
}

std::string_view path_of(std::string_view target) noexcept {
  auto end = target.find_first_of("?#");
  return end == std::string_view::npos ? target : target.substr(0, end);
}

std::optional<std::string> query_param(std::string_view target,
                                       std::string_view name) {
  auto start = target.find('?');
  if (start == std::string_view::npos) return std::nullopt;
  auto query = target.substr(start + 1);
  if (auto hash = query.find('#'); hash != std::string_view::npos)
    query = query.substr(0, hash);
  while (!query.empty()) {
    auto amp = query.find('&');
    auto pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view{}
                                          : query.substr(amp + 1);
    auto eq = pair.find('=');
    auto key = percent_decode(pair.substr(0, eq), true);
    if (!key || *key != name) continue;
    if (eq == std::string_view::npos) return std::string{};
    if (auto value = percent_decode(pair.substr(eq + 1), true)) return value;
    return std::nullopt;
  }
  return std::nullopt;
}

std::optional<std::string> bearer_token(const request& req) {
  auto it = req.find(bhttp::field::authorization);
  if (it == req.end()) return std::nullopt;
  auto value = trim(std::string_view{it->value().data(), it->value().size()});
  constexpr std::string_view scheme = "bearer";
  if (value.size() <= scheme.size()
      || !iequals(value.substr(0, scheme.size()), scheme)
      || (value[scheme.size()] != ' ' && value[scheme.size()] != '\t'))
    return std::nullopt;
  auto token = trim(value.substr(scheme.size()));
  if (token.empty()) return std::nullopt;
  return std::string{token};
}

std::optional<std::string> access_token(const request& req) {
  if (auto token = bearer_token(req)) return token;
  auto target = req.target();
  return query_param({target.data(), target.size()}, "access_token");
}

bool has_json_content_type(const request& req) {
  auto it = req.find(bhttp::field::content_type);
  if (it == req.end()) return false;
  std::string_view value{it->value().data(), it->value().size()};
  auto semi = value.find(';');
  return iequals(trim(value.substr(0, semi)), "application/json");
}

} // namespace puzzle::transports::http
