#include "actors/device/presence_tracker.hpp"

#include <algorithm>

namespace puzzle {

void presence_tracker::cancel_pending() noexcept {
  if (pending_offline_) {
    pending_offline_.reset();
    ++flaps_suppressed_;
  }
}

bool presence_tracker::on_status(bool online, bool retained,
                                 time_point now) noexcept {
  auto before = state_;
  if (online) {
    if (retained) {
      // The broker's memory: show it, but it proves nothing about now. The
      // silence window starts here so that a stale `online` expires.
      if (state_ != presence::online && !pending_offline_) {
        state_ = presence::online;
        last_live_ = now;
      }
    } else {
      heard_live_ = true;
      last_live_ = now;
      cancel_pending();
      state_ = presence::online;
    }
    return state_ != before;
  }
  if (retained && state_ == presence::offline) return false;
  if (state_ == presence::online) {
    // Offline only after the grace period without live traffic; a second
    // offline during the grace does not restart it.
    if (!pending_offline_) pending_offline_ = now;
    if (grace_.count() <= 0) return tick(now);
    return false;
  }
  state_ = presence::offline;
  return state_ != before;
}

bool presence_tracker::on_traffic(time_point now) noexcept {
  auto before = state_;
  heard_live_ = true;
  last_live_ = now;
  cancel_pending();
  state_ = presence::online;
  return state_ != before;
}

bool presence_tracker::tick(time_point now) noexcept {
  if (state_ != presence::online) return false;
  if (pending_offline_ && now - *pending_offline_ >= grace_) {
    pending_offline_.reset();
    state_ = presence::offline;
    return true;
  }
  if (offline_after_.count() > 0 && now - last_live_ >= offline_after_) {
    pending_offline_.reset();
    state_ = presence::offline;
    return true;
  }
  return false;
}

std::optional<presence_tracker::time_point>
presence_tracker::next_deadline() const noexcept {
  if (state_ != presence::online) return std::nullopt;
  std::optional<time_point> next;
  if (pending_offline_) next = *pending_offline_ + grace_;
  if (offline_after_.count() > 0) {
    auto silence = last_live_ + offline_after_;
    next = next ? std::min(*next, silence) : silence;
  }
  return next;
}

} // namespace puzzle
