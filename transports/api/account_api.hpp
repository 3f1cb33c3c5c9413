#pragma once

#include <memory>

#include "transports/api/rest_api.hpp"

/// Accounts over REST (contract section 2): register and log in.
namespace puzzle::transports::api {

/// Registers on `routes`:
///
/// - `POST /api/auth/register {username, email, password}` -> 201
///   `{token, userId, displayName, expiresAt, roles}`. `username`: 3 to 32
///   of `A-Z a-z 0-9 . _ -`, starting with a letter or digit; `email`: one
///   `@`, at most 254 printable ASCII characters; `password`: see
///   `auth::check_new_password`. 400 `INVALID_ARGUMENT` naming the field;
///   409 `CONFLICT` when the username or the email is taken (either in
///   any case).
/// - `POST /api/auth/login {username | email, password}` -> 200, the same
///   shape. An unknown user and a wrong password both get 401
///   `UNAUTHORIZED` "invalid username or password" after the same work (a
///   hash verification against a dummy hash for unknown users).
///
/// Accounts get the roles player and owner; usernames listed in
/// `auth.admins` / `auth.operators` get admin / operator at each login.
/// Hashing runs on its own thread (a blocking actor), at most
/// `auth.max-hashing` at once: beyond that 503 `LIMIT_EXCEEDED` with
/// `Retry-After: 1`. Without a store both answer 503.
void register_account_api(http::router& routes,
                          std::shared_ptr<const rest_context> ctx);

} // namespace puzzle::transports::api
