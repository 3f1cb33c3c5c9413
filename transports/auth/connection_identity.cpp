#include "transports/auth/connection_identity.hpp"

#include "actors/caf_errors.hpp"
#include "actors/util/ids.hpp"
#include "transports/auth/token_service.hpp"

namespace puzzle::transports::auth {

std::string identify_connection(const std::optional<std::string>& token,
                                const token_service& tokens,
                                bool allow_anonymous,
                                connection_identity& out) {
  if (!token || token->empty()) {
    if (!allow_anonymous) return "an access token is required";
    // A guest for this connection; a join may name its own userId.
    out.user.user_id = util::new_uuid();
    out.user.username = "Guest-" + out.user.user_id.substr(0, 4);
    out.authenticated = false;
    return {};
  }
  auto user = tokens.verify(*token);
  if (!user) return message_of(user.error());
  out.user = std::move(*user);
  out.authenticated = true;
  return {};
}

} // namespace puzzle::transports::auth
