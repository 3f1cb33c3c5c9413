#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include <caf/expected.hpp>

#include "actors/message_types.hpp"
#include "config/settings.hpp"
#include "transports/auth/uuid.hpp"

namespace puzzle::transports::auth {

/// Issues and checks the node's access tokens: JWTs signed with HS256
/// (libjwt).
///
/// Keys: `auth_settings::keys` (kid and secret), or `jwt_secret` alone as
/// kid `default` when `keys` is empty. `signing_key` (default: the first)
/// signs new tokens and its kid goes into the header; every key verifies,
/// chosen by the header's `kid` (an unknown kid is refused; a token without
/// `kid` is checked with key `default`). This is key rotation: add the new
/// key, make it the signing key, drop the old one after a token lifetime.
///
/// A token's claims: `sub` (the user id), `name` (display name), `iss`,
/// `aud` (from `auth_settings`), `iat`, `nbf`, `exp` (seconds since the
/// epoch; `exp = iat + token_lifetime`), `jti` (random) and `roles` (array
/// of `player`, `owner`, `admin`, `operator`).
///
/// With no key at all the service draws a random 32-byte secret at
/// construction: its tokens are then valid only for this process.
/// All members are safe to call from several threads at once.
class token_service {
public:
  /// A clock in milliseconds since the Unix epoch.
  using clock_fn = std::function<int64_t()>;

  /// An issued token and what it says.
  struct token {
    std::string value;
    std::string user_id;
    std::string display_name;
    int64_t expires_at_ms = 0;
    uint8_t roles = 0; ///< Bit set of `user_role`.
  };

  /// @param clock "now" for issuing and checking; the system clock unless
  ///        a test injects its own.
  /// @throws std::invalid_argument when `signing_key` names no key.
  explicit token_service(const config::auth_settings& settings,
                         clock_fn clock = {});

  /// A token for a new guest with a fresh user id (roles: player).
  /// @pre `display_name` is validated (trimmed, length-checked) already.
  token issue_guest(std::string display_name) const;

  /// A token for `user_id` with `roles` (player is always added).
  token issue(std::string user_id, std::string display_name,
              uint8_t roles) const;

  /// Checks signature (HS256 only: `none` and every other algorithm are
  /// refused) with the key named by `kid`, issuer, audience, `exp` and
  /// `nbf` (with `auth.clock-skew`) and returns who the token speaks for,
  /// roles included (unknown role names are ignored; every valid token is
  /// a player); `errc::unauthorized` with the reason otherwise.
  caf::expected<user_identity> verify(std::string_view token) const;

  /// The kid that signs new tokens.
  const std::string& signing_key_id() const noexcept {
    return keys_[signing_].id;
  }

private:
  int64_t now_ms() const;

  std::vector<config::jwt_key> keys_;
  size_t signing_ = 0;
  std::string issuer_;
  std::string audience_;
  int64_t lifetime_ms_;
  int64_t skew_s_;
  clock_fn clock_;
};

/// `roles` as the names of the `roles` claim, e.g. `["player","owner"]`.
std::vector<std::string> role_names(uint8_t roles);

/// The role named `name` (`player`, `owner`, `admin`, `operator`), or 0.
uint8_t role_of(std::string_view name);

} // namespace puzzle::transports::auth
