#pragma once

#include <cstdint>
#include <string>
#include <vector>

/// Where a session should live: rendezvous (highest random weight) hashing
/// of the session id over the incarnations of the live members. Every node
/// computes the same winner from the same member list, and when a member
/// leaves only its own sessions move (docs/cluster.md, "Placement").
namespace puzzle::cluster {

/// The weight of `incarnation` for `key`: a 64-bit FNV-1a hash of both,
/// finished with a mixing step so that similar ids spread evenly. The same
/// on every node and every build (no std::hash).
uint64_t rendezvous_weight(const std::string& key,
                           const std::string& incarnation) noexcept;

/// The incarnation of `candidates` with the highest weight for `key`; equal
/// weights (practically impossible) go to the smaller incarnation, so the
/// answer never depends on the order of the list. Empty for no candidates.
std::string rendezvous_winner(const std::string& key,
                              const std::vector<std::string>& candidates);

} // namespace puzzle::cluster
