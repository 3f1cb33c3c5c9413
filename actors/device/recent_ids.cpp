#include "actors/device/recent_ids.hpp"

namespace puzzle {

bool recent_ids::insert(const std::string& id) {
  if (set_.count(id) != 0) return false;
  if (capacity_ == 0) return true;
  if (order_.size() == capacity_) {
    set_.erase(order_.front());
    order_.pop_front();
  }
  order_.push_back(id);
  set_.insert(id);
  return true;
}

} // namespace puzzle
