#include "cluster/membership/membership_view.hpp"

#include <chrono>
#include <string>
#include <utility>

#include <nlohmann/json.hpp>

#include "actors/util/ids.hpp"

namespace puzzle::cluster {

const char* to_string(member_state state) noexcept {
  switch (state) {
    case member_state::joining: return "joining";
    case member_state::up: return "up";
    case member_state::unreachable: return "unreachable";
    case member_state::leaving: return "leaving";
    case member_state::down: return "down";
  }
  return "down";
}

void membership_view::update(std::vector<member_info> members) {
  std::lock_guard<std::mutex> guard{mtx_};
  members_ = std::move(members);
}

std::vector<member_info> membership_view::members() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return members_;
}

member_counts membership_view::counts() const {
  member_counts result;
  std::lock_guard<std::mutex> guard{mtx_};
  for (const auto& member : members_) {
    switch (member.state) {
      case member_state::joining: ++result.joining; break;
      case member_state::up: ++result.up; break;
      case member_state::unreachable: ++result.unreachable; break;
      case member_state::leaving: ++result.leaving; break;
      case member_state::down: ++result.down; break;
    }
  }
  return result;
}

std::string
membership_view::health_entry(const std::string& cluster_name) const {
  auto c = counts();
  auto status = c.unreachable > 0 ? "Degraded" : "Healthy";
  auto description = std::to_string(c.up) + " up, "
      + std::to_string(c.unreachable) + " unreachable, "
      + std::to_string(c.down) + " down in cluster " + cluster_name;
  nlohmann::ordered_json entry{
      {"status", status},
      {"description", description},
      {"duration", util::timespan(std::chrono::microseconds{0})},
      {"exception", nullptr},
      {"data",
       {{"cluster", cluster_name},
        {"joining", c.joining},
        {"up", c.up},
        {"unreachable", c.unreachable},
        {"leaving", c.leaving},
        {"down", c.down}}}};
  return entry.dump(-1, ' ', false,
                    nlohmann::ordered_json::error_handler_t::replace);
}

} // namespace puzzle::cluster
