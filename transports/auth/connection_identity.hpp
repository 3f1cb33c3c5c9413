#pragma once

#include <optional>
#include <string>

#include "actors/message_types.hpp"

namespace puzzle::transports::auth {

class token_service;

/// Who a real-time connection acts as.
struct connection_identity {
  user_identity user;
  bool authenticated = false; ///< From a verified token, not a guest.
};

/// The identity of a new connection from its access token (from
/// `Authorization: Bearer` or the `access_token` query parameter; the same
/// rule for every transport).
///
/// - A valid token: its user, `authenticated`.
/// - No token (or an empty one): a fresh guest (`Guest-xxxx`) when
///   `allow_anonymous`, else the error "an access token is required".
/// - An invalid token: the token service's reason.
///
/// @returns an empty string on success, else the reason to refuse (401).
std::string identify_connection(const std::optional<std::string>& token,
                                const token_service& tokens,
                                bool allow_anonymous, connection_identity& out);

} // namespace puzzle::transports::auth
