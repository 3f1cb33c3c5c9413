#pragma once

#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

/// What this node knows about the members of its cluster.
namespace puzzle::cluster {

/// A member's state as this node sees it. `unreachable` is derived (its
/// heartbeat is older than `cluster.connection-timeout`), the others are
/// the status stored in the membership table.
enum class member_state : uint8_t { joining, up, unreachable, leaving, down };

/// "joining", "up", "unreachable", "leaving" or "down".
const char* to_string(member_state state) noexcept;

/// One incarnation of one node, as the node agent last saw it.
struct member_info {
  std::string node_id;
  std::string incarnation;
  std::string address; ///< host:port of the node's cluster endpoint.
  member_state state = member_state::joining;
  int64_t last_heartbeat_ms = 0; ///< Unix ms.
  int64_t started_at_ms = 0;     ///< Unix ms.
  bool self = false;             ///< This process.
};

/// Members by state, for `/health/detailed`.
struct member_counts {
  int64_t joining = 0;
  int64_t up = 0;
  int64_t unreachable = 0;
  int64_t leaving = 0;
  int64_t down = 0;
};

/// The node agent's latest view, published for readers on other threads
/// (HTTP handlers) that must not wait for the agent: the agent replaces
/// the whole list after each round, readers copy it. Thread-safe.
class membership_view {
public:
  void update(std::vector<member_info> members);

  /// Every member (down ones included), oldest start first.
  std::vector<member_info> members() const;

  member_counts counts() const;

  /// The `cluster` entry of `/health/detailed` (a JSON object `{status,
  /// description, duration, exception, data}`): Degraded while a member is
  /// unreachable, Healthy otherwise (down incarnations are history).
  std::string health_entry(const std::string& cluster_name) const;

private:
  mutable std::mutex mtx_;
  std::vector<member_info> members_;
};

} // namespace puzzle::cluster
