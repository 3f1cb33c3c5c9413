#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <caf/actor.hpp>
#include <caf/meta/type_name.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include "actors/message_types.hpp"

/// The vocabulary of the cluster (docs/cluster.md): where sessions live,
/// who the members are, what operators see of an actor, and the store's
/// part in it. Everything here crosses node boundaries.
namespace puzzle {

/// One row of the shared session directory: where a session lives. An
/// empty `owner_incarnation` (and generation 0) means no row.
struct session_location {
  std::string session_id;
  std::string owner_incarnation;
  int64_t generation = 0;
};

/// The endpoints a node offers its peers, handed out by its node agent.
/// Dynamically typed so that this struct can travel inside the interfaces
/// it names; receivers `actor_cast` to `directory_actor` and
/// `inspector_actor`.
struct node_endpoints {
  caf::actor directory;
  caf::actor inspector;
};

/// One member as the local node agent sees it, with the peer's endpoints
/// once linked (empty handles for this node's own entry are filled by the
/// receiver, and for members not linked yet).
struct cluster_member {
  std::string node_id;
  std::string incarnation;
  std::string address;
  /// `membership_view`'s state name: joining, up, unreachable, leaving, down.
  std::string state;
  bool self = false;
  node_endpoints endpoints;
};

/// What an operator sees of one actor, measured by the actor itself
/// (CAF's mailbox size is only readable from inside).
struct actor_probe {
  std::string kind; ///< session, lock, client, transport, device, ...
  std::string key;  ///< session/<uuid>, lock/<session>/<piece>, client/<id>
  std::string node_id;
  std::string incarnation;
  uint64_t mailbox_depth = 0;
  uint64_t messages_handled = 0;
  std::string summary_json; ///< A JSON object summarising the state.
};

/// One audited operator action.
struct audit_record {
  int64_t at_ms = 0;
  std::string operator_id; ///< The token's user id.
  std::string operator_name;
  std::string action;  ///< migrate, drain, kill, ...
  std::string target;  ///< An actor key or a node id.
  std::string outcome; ///< ok, or the error code.
  std::string detail;
};

template<class Inspector>
typename Inspector::result_type inspect(Inspector& f, session_location& x) {
  return f(caf::meta::type_name("session_location"), x.session_id,
           x.owner_incarnation, x.generation);
}

template<class Inspector>
typename Inspector::result_type inspect(Inspector& f, node_endpoints& x) {
  return f(caf::meta::type_name("node_endpoints"), x.directory, x.inspector);
}

template<class Inspector>
typename Inspector::result_type inspect(Inspector& f, cluster_member& x) {
  return f(caf::meta::type_name("cluster_member"), x.node_id, x.incarnation,
           x.address, x.state, x.self, x.endpoints);
}

template<class Inspector>
typename Inspector::result_type inspect(Inspector& f, actor_probe& x) {
  return f(caf::meta::type_name("actor_probe"), x.kind, x.key, x.node_id,
           x.incarnation, x.mailbox_depth, x.messages_handled, x.summary_json);
}

template<class Inspector>
typename Inspector::result_type inspect(Inspector& f, audit_record& x) {
  return f(caf::meta::type_name("audit_record"), x.at_ms, x.operator_id,
           x.operator_name, x.action, x.target, x.outcome, x.detail);
}

/// The store's part in the cluster, a view of the store actor:
/// - `(owner_atom, session_id)` -> `session_location` (empty owner: none).
/// - `(claim_atom, session_id, incarnation, expected_generation)` -> `bool`:
///   compare-and-set (persistence::claim_session); the winner's generation
///   is `expected_generation + 1`.
/// - `(owner_atom, list_atom)` -> every row of the directory.
/// - `(put_atom, audit_record)` -> `bool` once stored.
/// - `(list_atom, audit_atom, limit)` -> the newest `limit` records, newest
///   first.
using cluster_store_actor = caf::typed_actor<
    caf::replies_to<owner_atom, std::string>::with<session_location>,
    caf::replies_to<claim_atom, std::string, std::string, int64_t>::with<bool>,
    caf::replies_to<owner_atom, list_atom>::with<std::vector<session_location>>,
    caf::replies_to<put_atom, audit_record>::with<bool>,
    caf::replies_to<list_atom, audit_atom,
                    int32_t>::with<std::vector<audit_record>>>;

} // namespace puzzle
