#include "actors/session/session_access.hpp"

#include <algorithm>
#include <cstdint>

#include "actors/util/ids.hpp"

namespace puzzle {

bool may_invite(const std::string& owner_id, const user_identity& who) {
  if (!who.has_role(user_role::player)) return false;
  return who.user_id == owner_id || who.has_role(user_role::admin);
}

bool may_enter(bool is_public, const std::string& owner_id,
               const session_access& access, const user_identity& who) {
  if (is_public) return true;
  if (may_invite(owner_id, who)) return true;
  if (!who.has_role(user_role::player) || who.user_id.empty()) return false;
  return std::find(access.allowed.begin(), access.allowed.end(), who.user_id)
      != access.allowed.end();
}

bool same_code(const std::string& x, const std::string& y) noexcept {
  // Walks the longer of the two whatever their contents; any difference,
  // length included, sets a bit.
  auto n = std::max(x.size(), y.size());
  unsigned diff = x.size() == y.size() ? 0u : 1u;
  for (size_t i = 0; i < n; ++i) {
    auto a = i < x.size() ? static_cast<unsigned char>(x[i]) : 0u;
    auto b = i < y.size() ? static_cast<unsigned char>(y[i]) : 0u;
    diff |= a ^ b;
  }
  return diff == 0 && !x.empty();
}

std::string new_invite_code() {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  out.reserve(32);
  for (int half = 0; half < 2; ++half) {
    auto bits = util::random_u64();
    for (int i = 0; i < 16; ++i) {
      out += digits[bits & 0xfu];
      bits >>= 4;
    }
  }
  return out;
}

} // namespace puzzle
