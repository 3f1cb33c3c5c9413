#pragma once

#include <string>
#include <vector>

#include <caf/atom.hpp>
#include <caf/meta/type_name.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include "actors/message_types.hpp"

/// Who may enter a private session: its invite code and the users who
/// redeemed it. The owner and admins always may; public sessions need
/// none of this.
namespace puzzle {

struct session_access {
  /// The secret of the invite link (`/?session=<id>&invite=<code>`); empty
  /// for a public session.
  std::string invite_code;
  /// Users who redeemed the code, in no particular order.
  std::vector<std::string> allowed;
};

template<class Inspector>
typename Inspector::result_type inspect(Inspector& f, session_access& x) {
  return f(caf::meta::type_name("session_access"), x.invite_code, x.allowed);
}

} // namespace puzzle

CAF_ADD_ATOM(puzzle, puzzle, invite_atom, "invite")

namespace puzzle {

/// The access messages of the store actor (persistence/store_actor.hpp
/// implements them next to `store_actor`; `actor_cast` its handle). Each
/// commits the pending writes first, then runs in its own transaction.
///
/// - `(put_atom, invite_atom, session_id, code)` -> `bool`: stores the
///   invite code of a new private session.
/// - `(join_atom, invite_atom, session_id, user_id)` -> `bool`: records
///   that a user redeemed the invite (idempotent).
/// - `(load_atom, invite_atom, session_id)` -> `session_access` (empty
///   when nothing is stored).
using access_store_actor = caf::typed_actor<
    caf::replies_to<put_atom, invite_atom, std::string,
                    std::string>::with<bool>,
    caf::replies_to<join_atom, invite_atom, std::string,
                    std::string>::with<bool>,
    caf::replies_to<load_atom, invite_atom, std::string>::with<session_access>>;

/// Whether `who` may enter a session owned by `owner_id` with `access`,
/// public or not. Only verified identities (a valid token: the `player`
/// role) pass a private session: an anonymous connection picks its own
/// user id, so it could otherwise claim the owner's.
bool may_enter(bool is_public, const std::string& owner_id,
               const session_access& access, const user_identity& who);

/// Whether `who` sees the invite of a private session: its owner or an
/// admin.
bool may_invite(const std::string& owner_id, const user_identity& who);

/// Compares two codes in time that depends only on their lengths, so that
/// a wrong guess does not reveal how many leading characters were right.
bool same_code(const std::string& x, const std::string& y) noexcept;

/// A fresh invite code: 128 bits from the OS's CSPRNG, as 32 hex digits.
std::string new_invite_code();

} // namespace puzzle
