#pragma once

#include <cstdint>
#include <string>

#include <caf/atom.hpp>
#include <caf/meta/type_name.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include "actors/message_types.hpp"

/// Registered accounts (as opposed to guests, who exist only in their
/// token). The store keeps them; the REST API registers and logs in.
namespace puzzle {

/// One account as stored. `username_key` and `email` are lower case so
/// that `Ada` and `ada` are the same account.
struct user_account {
  std::string id; ///< A UUID, the token's `sub`.
  std::string username;
  std::string email;
  std::string password_hash; ///< libsodium `crypto_pwhash_str` (Argon2id).
  uint8_t roles = 0;         ///< Stored roles (`user_role` bits).
  int64_t created_at = 0;    ///< Milliseconds since the epoch.
};

template<class Inspector>
typename Inspector::result_type inspect(Inspector& f, user_account& x) {
  return f(caf::meta::type_name("user_account"), x.id, x.username, x.email,
           x.password_hash, x.roles, x.created_at);
}

} // namespace puzzle

CAF_ADD_ATOM(puzzle, puzzle, account_atom, "account")

namespace puzzle {

/// The account messages of the store actor (persistence/store_actor.hpp
/// implements them next to `store_actor`; `actor_cast` its handle):
///
/// - `(put_atom, user_account)` -> `bool`: stores a new account;
///   `errc::conflict` when the username or the email is taken.
/// - `(load_atom, account_atom, login)` -> `user_account` by username or
///   email (either, case-insensitive); `errc::unauthorized` when there is
///   none (callers answer unknown users like wrong passwords).
using account_store_actor = caf::typed_actor<
    caf::replies_to<put_atom, user_account>::with<bool>,
    caf::replies_to<load_atom, account_atom, std::string>::with<user_account>>;

} // namespace puzzle
