#pragma once

#include <atomic>
#include <cstdint>
#include <memory>

namespace puzzle::transports::api {

/// Counts costly jobs running at once (image decodes, password hashes) and
/// refuses more than `max`: the caller answers 503 with `Retry-After`
/// instead of queueing work without bound. Thread-safe.
class work_slots {
public:
  explicit work_slots(uint32_t max) : max_(max) {
    // nop
  }

  /// A ticket that holds one slot until its last copy is gone, or null
  /// when every slot is taken.
  std::shared_ptr<void> try_take() {
    auto n = used_->load();
    do {
      if (n >= max_) return nullptr;
    } while (!used_->compare_exchange_weak(n, n + 1));
    return std::shared_ptr<void>{used_.get(), [used = used_](void*) {
                                   --*used;
                                 }};
  }

private:
  uint32_t max_;
  // Shared with the tickets, which may outlive this object.
  std::shared_ptr<std::atomic<uint32_t>> used_
      = std::make_shared<std::atomic<uint32_t>>(0);
};

} // namespace puzzle::transports::api
