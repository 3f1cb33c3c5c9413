#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <caf/fwd.hpp>

#include "actors/cluster_interface.hpp"
#include "actors/directory_interface.hpp"
#include "cluster/inspect/inspector_actor.hpp"
#include "config/settings.hpp"
#include "transports/auth/token_service.hpp"
#include "transports/http/router.hpp"

/// The operator API (contract section 8): `/api/cluster/...` for tokens with
/// the `operator` role, and the operators' console at `/console`, whose
/// data comes only from that API. Any node answers for the whole cluster:
/// it asks the other members' directories and inspectors (their handles
/// come with the directory's member list). docs/operators.md has the
/// routes, shapes, errors and the audit.
namespace puzzle::transports::api {

/// One member of the cluster as this node's agent last saw it
/// (cluster/membership; `state` is joining, up, unreachable, leaving or
/// down).
struct cluster_member_view {
  std::string node_id;
  std::string incarnation;
  std::string address;
  std::string state;
  int64_t last_heartbeat_ms = 0;
  int64_t started_at_ms = 0;
  bool self = false; ///< The node answering.
};

/// What the operator handlers read. References must outlive the server.
struct operator_context {
  caf::actor_system& system;
  directory_actor directory;
  auth::token_service& tokens;
  const config::settings& settings;
  /// This node's id (stable for the life of the process).
  std::string node_id;
  /// Milliseconds since the epoch when this process started: a restarted
  /// node keeps its address but gets a new incarnation.
  int64_t incarnation = 0;
  /// `host:port` the node answers on (known once the server listens).
  std::function<std::string()> address{};
  std::chrono::system_clock::time_point started_at
      = std::chrono::system_clock::now();
  /// Open sockets of the node, every transport included.
  std::function<std::size_t()> open_connections{};
  /// How long a handler waits for an actor before answering 503.
  std::chrono::milliseconds ask_timeout{5'000};
  /// In cluster mode: every member from the node agent's view (without
  /// blocking). Empty: a single node, listed alone.
  std::function<std::vector<cluster_member_view>()> members{};
  /// This node's inspector (cluster/inspect): its actors and the actions.
  cluster::inspector_actor inspector{};
  /// The store: directory rows (where each session lives) and the audit.
  cluster_store_actor store{};
};

/// `GET /api/cluster/audit?limit=N`: N defaults to this and may not exceed
/// `max_audit_limit`.
constexpr int32_t default_audit_limit = 100;
constexpr int32_t max_audit_limit = 1'000;

/// Whether a verified identity may use the operator API.
inline bool may_operate(const user_identity& user) noexcept {
  return user.has_role(user_role::operator_);
}

/// Registers (docs/operators.md has every shape and error):
///
/// - `GET /api/cluster/nodes` -> `[{id, incarnation, address, state: "up",
///   startedAt, uptime, uptimeSeconds, load: {connections, sessions}}]`;
///   in cluster mode one entry per member incarnation (down ones too) with
///   also `nodeId`, `lastHeartbeat`, `lastHeartbeatMs` and `this` (true
///   for the answering node, the only one with `load`);
/// - `GET /api/cluster/sessions` -> every stored session of the cluster,
///   ordered by id: `[{id, node, incarnation, generation, live, name,
///   ownerId, isPublic, version, pieceCount, completedPieces, participants:
///   [{userId, username, online}], participantsOnline}]`; `node` and
///   `incarnation` from the directory row (or the node holding it in
///   memory), the live fields from the owning node's directory;
/// - `GET /api/cluster/actors?node=&kind=` -> `{actors: [{key, kind, node,
///   incarnation, mailboxDepth, messagesHandled, messageRate?, summary}],
///   nodes: [{node, incarnation, actors}], unreachable: [{node,
///   incarnation, state, code, message}]}` from every live member's
///   inspector (or one node's);
/// - `GET /api/cluster/actors/<key>[?node=]` -> one actor's probe (keys
///   contain `/`: as the rest of the path or percent-encoded);
/// - `POST /api/cluster/sessions/<id>/migrate` `{node?}` -> `{sessionId,
///   node, incarnation}`;
/// - `POST /api/cluster/nodes/<node>/drain` -> `{node, incarnation,
///   sessionsMoved}`; that node then leaves the cluster and stops;
/// - `POST /api/cluster/actors/<key>/kill[?node=]` -> `{key, killed: true,
///   nodes: [...]}`;
/// - `GET /api/cluster/audit?limit=N` -> the newest audit records first.
///
/// Every action (migrate, drain, kill) is written to the audit through the
/// store before it is answered, failures included, and logged as
/// `event=operator_action`.
///
/// All need `Authorization: Bearer` (401 `UNAUTHORIZED` with
/// `WWW-Authenticate: Bearer`) with the `operator` role (403 `FORBIDDEN`),
/// and answer with `Cache-Control: no-store`.
///
/// - `GET /console`, `GET /console/console.js`, `GET /console/console.css`:
///   the console page (no data in it; its script reads the API above with
///   the operator's token, which the page keeps in `sessionStorage`).
void register_operator_api(http::router& routes, operator_context ctx);

} // namespace puzzle::transports::api
