#include "tools/puzzle-ctl/http_client.hpp"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <memory>

#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

namespace puzzle::ctl {

namespace {

/// Answers larger than this are refused: no operator answer comes near.
constexpr size_t max_response_bytes = 64u << 20;

/// A node that does not accept the connection within this time is taken
/// as unreachable (a blocking connect to a silent address waits minutes).
constexpr int max_connect_ms = 10'000;

struct socket_guard {
  int fd = -1;
  ~socket_guard() {
    if (fd >= 0) ::close(fd);
  }
};

void wait_for(int fd, short events, int timeout_ms, const char* what) {
  pollfd p{fd, events, 0};
  auto n = ::poll(&p, 1, timeout_ms);
  if (n == 0) throw transport_error(std::string{"timed out "} + what);
  if (n < 0) throw transport_error(std::string{what} + ": " + std::strerror(errno));
}

int connect_to(const endpoint& where, int timeout_ms) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (auto rc = ::getaddrinfo(where.host.c_str(), where.port.c_str(), &hints,
                              &found);
      rc != 0)
    throw transport_error("cannot resolve " + where.host + ": "
                          + ::gai_strerror(rc));
  std::unique_ptr<addrinfo, decltype(&::freeaddrinfo)> list{found,
                                                            &::freeaddrinfo};
  std::string last = "no address";
  auto wait_ms = std::min(timeout_ms, max_connect_ms);
  for (auto* a = found; a != nullptr; a = a->ai_next) {
    socket_guard s{::socket(a->ai_family, a->ai_socktype, a->ai_protocol)};
    if (s.fd < 0) continue;
    // Non-blocking while connecting, so the wait is bounded by poll.
    auto flags = ::fcntl(s.fd, F_GETFL, 0);
    if (flags < 0 || ::fcntl(s.fd, F_SETFL, flags | O_NONBLOCK) < 0) {
      last = std::strerror(errno);
      continue;
    }
    auto rc = ::connect(s.fd, a->ai_addr, a->ai_addrlen);
    if (rc != 0 && errno == EINPROGRESS) {
      pollfd p{s.fd, POLLOUT, 0};
      auto n = ::poll(&p, 1, wait_ms);
      if (n == 0) {
        last = "no answer within " + std::to_string(wait_ms / 1'000) + " s";
        continue;
      }
      int err = 0;
      socklen_t len = sizeof err;
      if (n < 0) err = errno;
      else if (::getsockopt(s.fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0)
        err = errno;
      rc = err == 0 ? 0 : -1;
      errno = err;
    }
    if (rc == 0 && ::fcntl(s.fd, F_SETFL, flags) == 0) {
      auto fd = s.fd;
      s.fd = -1;
      return fd;
    }
    last = std::strerror(errno);
  }
  throw transport_error("cannot connect to " + where.host + ":" + where.port
                        + ": " + last);
}

std::string lower(std::string x) {
  for (auto& c : x)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return x;
}

/// The size line of a chunk: hex digits, then maybe `;extensions`.
size_t chunk_size(const std::string& line) {
  size_t size = 0, digits = 0;
  for (char c : line) {
    auto x = static_cast<unsigned char>(c);
    if (!std::isxdigit(x)) break;
    // More than 16 digits cannot be a size (and would overflow).
    if (++digits > 16) throw transport_error("bad chunked answer");
    size = size * 16
        + static_cast<size_t>(std::isdigit(x) ? x - '0'
                                              : std::tolower(x) - 'a' + 10);
  }
  if (digits == 0) throw transport_error("bad chunked answer");
  return size;
}

std::string decode_chunked(const std::string& body) {
  std::string out;
  size_t pos = 0;
  for (;;) {
    auto eol = body.find("\r\n", pos);
    if (eol == std::string::npos) throw transport_error("bad chunked answer");
    auto size = chunk_size(body.substr(pos, eol - pos));
    pos = eol + 2;
    if (size == 0) return out;
    if (size > body.size() - pos) throw transport_error("bad chunked answer");
    out.append(body, pos, size);
    pos += size + 2;
  }
}

} // namespace

endpoint parse_url(const std::string& url) {
  const std::string scheme = "http://";
  if (url.compare(0, scheme.size(), scheme) != 0)
    throw url_error("--url must start with http:// (puzzle-ctl speaks plain "
                    "HTTP only): " + url);
  auto rest = url.substr(scheme.size());
  endpoint out;
  auto slash = rest.find('/');
  auto authority = rest.substr(0, slash);
  if (slash != std::string::npos) out.prefix = rest.substr(slash);
  while (!out.prefix.empty() && out.prefix.back() == '/') out.prefix.pop_back();
  if (!authority.empty() && authority.front() == '[') {
    auto close = authority.find(']');
    if (close == std::string::npos) throw url_error("bad IPv6 host in " + url);
    out.host = authority.substr(1, close - 1);
    if (close + 1 < authority.size() && authority[close + 1] == ':')
      out.port = authority.substr(close + 2);
  } else {
    auto colon = authority.rfind(':');
    out.host = authority.substr(0, colon);
    if (colon != std::string::npos) out.port = authority.substr(colon + 1);
  }
  if (out.host.empty() || out.port.empty() || out.port.size() > 5
      || out.port.find_first_not_of("0123456789") != std::string::npos
      || std::stoi(out.port) < 1 || std::stoi(out.port) > 65'535)
    throw url_error("--url must be http://host[:port] with a port from 1 to "
                    "65535: " + url);
  return out;
}

std::string encode_segment(const std::string& text) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (char ch : text) {
    auto c = static_cast<unsigned char>(ch);
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

http_response send_request(const endpoint& where, const std::string& method,
                           const std::string& path, const std::string& token,
                           const std::string& json_body, int timeout_ms) {
  socket_guard s{connect_to(where, timeout_ms)};
  std::string host = where.host.find(':') != std::string::npos
      ? "[" + where.host + "]"
      : where.host;
  std::string req = method + " " + where.prefix + path + " HTTP/1.1\r\n"
      + "Host: " + host + ":" + where.port + "\r\n"
      + "Accept: application/json\r\nConnection: close\r\n"
      + "User-Agent: puzzle-ctl\r\n";
  if (!token.empty()) req += "Authorization: Bearer " + token + "\r\n";
  if (method == "POST")
    req += "Content-Type: application/json\r\nContent-Length: "
        + std::to_string(json_body.size()) + "\r\n";
  req += "\r\n" + json_body;
  size_t sent = 0;
  while (sent < req.size()) {
    wait_for(s.fd, POLLOUT, timeout_ms, "sending the request");
    auto n = ::send(s.fd, req.data() + sent, req.size() - sent, MSG_NOSIGNAL);
    if (n < 0) throw transport_error(std::string{"send: "} + std::strerror(errno));
    sent += static_cast<size_t>(n);
  }
  std::string raw;
  char buf[16384];
  for (;;) {
    wait_for(s.fd, POLLIN, timeout_ms, "waiting for the answer");
    auto n = ::recv(s.fd, buf, sizeof buf, 0);
    if (n < 0) throw transport_error(std::string{"recv: "} + std::strerror(errno));
    if (n == 0) break;
    raw.append(buf, static_cast<size_t>(n));
    if (raw.size() > max_response_bytes)
      throw transport_error("the answer is larger than 64 MiB");
  }
  auto head_end = raw.find("\r\n\r\n");
  auto is_digit = [&](size_t i) {
    return i < raw.size() && std::isdigit(static_cast<unsigned char>(raw[i]));
  };
  if (raw.compare(0, 9, "HTTP/1.1 ") != 0 || head_end == std::string::npos
      || !is_digit(9) || !is_digit(10) || !is_digit(11))
    throw transport_error("not an HTTP/1.1 answer");
  http_response out;
  out.status = std::stoi(raw.substr(9, 3));
  auto head = lower(raw.substr(0, head_end));
  out.body = raw.substr(head_end + 4);
  if (head.find("transfer-encoding: chunked") != std::string::npos)
    out.body = decode_chunked(out.body);
  return out;
}

} // namespace puzzle::ctl
