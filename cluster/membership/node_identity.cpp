#include "cluster/membership/node_identity.hpp"

#include <algorithm>

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "actors/util/ids.hpp"

namespace puzzle::cluster {

namespace {

/// The first IPv4 address of `host` that is not 127.x; empty otherwise.
std::string first_ipv4(const std::string& host) {
  addrinfo hints{};
  hints.ai_family = AF_INET;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (::getaddrinfo(host.c_str(), nullptr, &hints, &found) != 0) return {};
  std::string out;
  for (auto* p = found; p != nullptr && out.empty(); p = p->ai_next) {
    auto* in = reinterpret_cast<sockaddr_in*>(p->ai_addr);
    char text[INET_ADDRSTRLEN] = {};
    if (::inet_ntop(AF_INET, &in->sin_addr, text, sizeof(text)) == nullptr)
      continue;
    std::string ip{text};
    if (ip.rfind("127.", 0) != 0) out = ip;
  }
  ::freeaddrinfo(found);
  return out;
}

} // namespace

std::string host_name() {
  char buf[256] = {};
  if (::gethostname(buf, sizeof(buf) - 1) != 0 || buf[0] == '\0')
    return "localhost";
  return buf;
}

std::string node_id_of(const std::string& configured, uint16_t http_port,
                       uint16_t cluster_port) {
  if (!configured.empty()) return configured;
  auto port = http_port != 0 ? http_port : cluster_port;
  if (port == 0) return util::new_uuid();
  return host_name() + ":" + std::to_string(port);
}

std::string advertised_address(const std::string& configured,
                               const std::string& bind, uint16_t cluster_port) {
  auto port = std::to_string(cluster_port);
  if (!configured.empty()) {
    // [v6]:port, [v6], host:port or host (a bare v6 has several colons).
    if (configured.front() == '[')
      return configured.find("]:") != std::string::npos
          ? configured
          : configured + ":" + port;
    if (std::count(configured.begin(), configured.end(), ':') == 1)
      return configured;
    if (configured.find(':') != std::string::npos)
      return "[" + configured + "]:" + port;
    return configured + ":" + port;
  }
  if (!bind.empty() && bind != "0.0.0.0" && bind != "::" && bind != "[::]")
    return (bind.find(':') != std::string::npos ? "[" + bind + "]" : bind) + ":"
        + port;
  auto ip = first_ipv4(host_name());
  return (ip.empty() ? std::string{"127.0.0.1"} : ip) + ":" + port;
}

} // namespace puzzle::cluster
