#include "config/settings.hpp"

namespace puzzle::config {

std::string settings::effective_store_url() const {
  if (!store.url.empty())
    return store.url;
  auto dir = store.data_dir.empty() ? std::string{"."} : store.data_dir;
  return "sqlite:" + dir + "/puzzle.db";
}

} // namespace puzzle::config
