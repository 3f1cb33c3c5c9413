#include "cluster/directory/placement.hpp"

namespace puzzle::cluster {

namespace {

constexpr uint64_t fnv_offset = 14695981039346656037ULL;
constexpr uint64_t fnv_prime = 1099511628211ULL;

uint64_t fnv1a(uint64_t h, const std::string& text) noexcept {
  for (char c : text) {
    h ^= static_cast<uint8_t>(c);
    h *= fnv_prime;
  }
  return h;
}

/// The finaliser of splitmix64: FNV alone leaves ids that differ in their
/// last characters close together in the high bits.
uint64_t mix(uint64_t z) noexcept {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

} // namespace

uint64_t rendezvous_weight(const std::string& key,
                           const std::string& incarnation) noexcept {
  auto h = fnv1a(fnv_offset, key);
  // A separator, so that ("ab", "c") and ("a", "bc") differ.
  h ^= 0xffU;
  h *= fnv_prime;
  return mix(fnv1a(h, incarnation));
}

std::string rendezvous_winner(const std::string& key,
                              const std::vector<std::string>& candidates) {
  const std::string* best = nullptr;
  uint64_t best_weight = 0;
  for (const auto& c : candidates) {
    auto w = rendezvous_weight(key, c);
    if (best == nullptr || w > best_weight || (w == best_weight && c < *best)) {
      best = &c;
      best_weight = w;
    }
  }
  return best == nullptr ? std::string{} : *best;
}

} // namespace puzzle::cluster
