#include "config/settings.hpp"

namespace puzzle::config {

std::string settings::effective_store_url() const {
  if (!store.url.empty()) return store.url;
  auto dir = store.data_dir.empty() ? std::string{"."} : store.data_dir;
  // "data/" -> "data", so the URL reads sqlite:data/puzzle.db.
  while (dir.size() > 1 && dir.back() == '/')
    dir.pop_back();
  // "//srv" -> "/srv": "sqlite:" + "//srv" would read as the prefix
  // "sqlite://" and leave the relative path "srv/puzzle.db".
  while (dir.size() > 1 && dir[0] == '/' && dir[1] == '/')
    dir.erase(0, 1);
  if (dir == "/") return "sqlite:/puzzle.db";
  return "sqlite:" + dir + "/puzzle.db";
}

} // namespace puzzle::config
