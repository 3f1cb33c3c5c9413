#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include <caf/expected.hpp>

#include "actors/message_types.hpp"
#include "config/settings.hpp"
#include "transports/auth/uuid.hpp"

namespace puzzle::transports::auth {

/// Issues and checks the node's access tokens: JWTs signed with HS256
/// (libjwt) under `auth.jwt_secret`.
///
/// A token's claims: `sub` (the user id, a random UUID), `name` (display
/// name), `iss`, `aud` (from `auth_settings`), `iat`, `nbf`, `exp` (seconds
/// since the epoch; `exp = iat + token_lifetime`), `jti` (random) and
/// `role: "player"`.
///
/// With an empty secret the service draws a random 32-byte secret at
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
  };

  /// Tolerated clock difference between issuer and verifier, in seconds.
  static constexpr int64_t clock_skew_seconds = 30;

  /// @param clock "now" for issuing and checking; the system clock unless
  ///        a test injects its own.
  explicit token_service(const config::auth_settings& settings,
                         clock_fn clock = {});

  /// A token for a new guest with a fresh user id.
  /// @pre `display_name` is validated (trimmed, length-checked) already.
  token issue_guest(std::string display_name) const;

  /// Checks signature (HS256 only: `none` and every other algorithm are
  /// refused), issuer, audience, `exp` and `nbf` (with `clock_skew_seconds`)
  /// and returns who the token speaks for; `errc::unauthorized` with the
  /// reason otherwise.
  caf::expected<user_identity> verify(std::string_view token) const;

private:
  int64_t now_ms() const;

  std::string secret_;
  std::string issuer_;
  std::string audience_;
  int64_t lifetime_ms_;
  clock_fn clock_;
};

} // namespace puzzle::transports::auth
