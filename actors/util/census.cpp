#include "actors/util/census.hpp"

#include <mutex>
#include <unordered_map>

#include <caf/actor_cast.hpp>
#include <caf/local_actor.hpp>

namespace puzzle::census {

namespace {

struct enlisted {
  std::string kind;
  std::string key;
  caf::actor_addr addr; ///< Weak: the census keeps no actor alive.
};

struct registry {
  std::mutex mtx;
  std::unordered_map<uint64_t, enlisted> actors;
};

registry& the_registry() {
  static registry instance;
  return instance;
}

} // namespace

void enlist(caf::local_actor* self, std::string kind, std::string key) {
  auto id = self->id();
  {
    auto& reg = the_registry();
    std::lock_guard<std::mutex> guard{reg.mtx};
    reg.actors[id] = enlisted{std::move(kind), std::move(key), self->address()};
  }
  self->attach_functor([id] {
    auto& reg = the_registry();
    std::lock_guard<std::mutex> guard{reg.mtx};
    reg.actors.erase(id);
  });
}

std::vector<entry> everyone() {
  std::vector<entry> result;
  auto& reg = the_registry();
  std::lock_guard<std::mutex> guard{reg.mtx};
  result.reserve(reg.actors.size());
  for (auto& [id, x] : reg.actors) {
    auto handle = caf::actor_cast<caf::actor>(x.addr);
    if (handle) result.push_back(entry{x.kind, x.key, id, std::move(handle)});
  }
  return result;
}

} // namespace puzzle::census
