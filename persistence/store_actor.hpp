#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <variant>
#include <vector>

#include <caf/fwd.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>
#include <caf/typed_response_promise.hpp>

#include "actors/account_interface.hpp"
#include "actors/cluster_interface.hpp"
#include "actors/message_types.hpp"
#include "actors/session/session_access.hpp"
#include "actors/store_interface.hpp"
#include "config/settings.hpp"
#include "persistence/sql/soci_store.hpp"

namespace puzzle::persistence {

/// The store actor's own interface: `store_actor` (actors/store_interface.hpp,
/// the contract every caller uses) plus one internal message.
///
/// - `(flush_atom)`: commits the pending writes as one transaction. The actor
///   sends it to itself when the first write of a batch arrives, so it
///   queues behind every write already in the mailbox and they all join the
///   batch (group commit). Nobody else needs to send it.
///
/// Ordering and durability (on top of the contract):
/// - a write is answered `true` only after the transaction holding it
///   committed; a failing write gets its own error and does not fail the
///   others; when the transaction itself fails, every write of the batch
///   gets that error (`errc::internal`) and none is stored;
/// - a batch holds at most `store.group_commit_max` writes;
/// - reads and deletes first commit the pending writes (read-your-writes),
///   so all requests are answered in arrival order;
/// - an image put commits the pending writes, then runs in its own
///   transaction: its blobs do not hold up the small writes of a batch;
/// - on exit the pending writes are committed before the state goes.
/// It also answers the account messages of `account_store_actor`
/// (actors/account_interface.hpp): reads and writes that commit the
/// pending writes first, like images; and the access messages of private
/// sessions (`access_store_actor`, actors/session/session_access.hpp), the
/// same way.
using store_actor_impl = store_actor::extend<
    caf::reacts_to<flush_atom>,
    caf::replies_to<put_atom, user_account>::with<bool>,
    caf::replies_to<load_atom, account_atom, std::string>::with<user_account>,
    caf::replies_to<put_atom, invite_atom, std::string,
                    std::string>::with<bool>,
    caf::replies_to<join_atom, invite_atom, std::string,
                    std::string>::with<bool>,
    caf::replies_to<load_atom, invite_atom, std::string>::with<session_access>,
    caf::replies_to<owner_atom, std::string>::with<session_location>,
    caf::replies_to<claim_atom, std::string, std::string, int64_t>::with<bool>,
    caf::replies_to<owner_atom, list_atom>::with<std::vector<session_location>>,
    caf::replies_to<put_atom, audit_record>::with<bool>,
    caf::replies_to<list_atom, audit_atom,
                    int32_t>::with<std::vector<audit_record>>>;

/// A write waiting for its batch.
struct pending_write {
  struct join {
    std::string session_id;
    participant who;
  };
  struct chat {
    std::string session_id;
    chat_entry line;
  };
  std::variant<session_state, drop_record, join, chat> op;
  caf::typed_response_promise<bool> promise;
};

struct store_actor_state {
  static inline const char* name = "puzzle.store";

  store_actor_state() = default;
  store_actor_state(const store_actor_state&) = delete;
  store_actor_state& operator=(const store_actor_state&) = delete;

  /// Commits what is still pending (the actor is exiting).
  ~store_actor_state();

  /// Runs the pending writes in one transaction and answers each of them.
  void flush();

  std::unique_ptr<soci_store> db;
  uint32_t group_commit_max = 1;
  uint32_t chat_history = 0;
  uint32_t max_images = 1;
  std::vector<pending_write> pending;
  /// A `flush_atom` to self is in the mailbox.
  bool flush_scheduled = false;
};

/// The behaviour of the store actor over `db` (already migrated).
store_actor_impl::behavior_type
store_behavior(store_actor_impl::stateful_pointer<store_actor_state> self,
               std::unique_ptr<soci_store> db, uint32_t group_commit_max,
               uint32_t chat_history,
               uint32_t max_images = config::image_settings{}.max_stored);

/// Spawns the store actor, which owns `db` from now on.
///
/// `detached` (production) gives it its own thread, because every request
/// blocks on the disk; tests may spawn it on the scheduler. Stop it with an
/// exit message: it commits pending writes first.
/// @param chat_history Chat lines kept per session (`limits.chat_history`).
/// @param max_images Uploaded images stored at most (`images.max_stored`).
/// @pre `db` is migrated and has no open batch.
store_actor
spawn_store(caf::actor_system& sys, std::unique_ptr<soci_store> db,
            const config::store_settings& settings, bool detached = true,
            uint32_t chat_history = config::limits_settings{}.chat_history,
            uint32_t max_images = config::image_settings{}.max_stored);

} // namespace puzzle::persistence
