// A what-if for the benchmarks, not product code: loaded into puzzle-node with
// LD_PRELOAD, it sets TCP_NODELAY on every accepted TCP socket, which the node
// does not do (yet). The runner's `node-ws+nodelay` target uses it to show
// what disabling Nagle's algorithm changes, before anyone edits transports/.
#include <dlfcn.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

namespace {

void no_delay(int fd) {
  if (fd < 0) return;
  sockaddr_storage addr{};
  socklen_t len = sizeof addr;
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) return;
  if (addr.ss_family != AF_INET && addr.ss_family != AF_INET6) return;
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

template<class Fn>
Fn next(const char* name) {
  return reinterpret_cast<Fn>(dlsym(RTLD_NEXT, name));
}

} // namespace

extern "C" int accept(int fd, sockaddr* addr, socklen_t* len) {
  static auto real = next<int (*)(int, sockaddr*, socklen_t*)>("accept");
  int out = real(fd, addr, len);
  no_delay(out);
  return out;
}

extern "C" int accept4(int fd, sockaddr* addr, socklen_t* len, int flags) {
  static auto real = next<int (*)(int, sockaddr*, socklen_t*, int)>("accept4");
  int out = real(fd, addr, len, flags);
  no_delay(out);
  return out;
}
