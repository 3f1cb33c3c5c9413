#pragma once

#include <cstddef>
#include <deque>
#include <string>
#include <unordered_set>

namespace puzzle {

/// The last `capacity` message ids of one device, for at-most-once
/// processing: an id is remembered until `capacity` newer ids have come.
/// Memory is bounded by `capacity` ids (`mqtt.dedupe-window`).
class recent_ids {
public:
  explicit recent_ids(size_t capacity = 0) : capacity_(capacity) {
    // nop
  }

  /// Remembers `id`; returns false when it is remembered already (a
  /// duplicate), true when it is new.
  bool insert(const std::string& id);

  bool contains(const std::string& id) const {
    return set_.count(id) != 0;
  }

  size_t size() const noexcept {
    return order_.size();
  }

private:
  size_t capacity_;
  std::deque<std::string> order_; ///< Oldest first.
  std::unordered_set<std::string> set_;
};

} // namespace puzzle
