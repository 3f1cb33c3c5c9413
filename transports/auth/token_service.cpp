#include "transports/auth/token_service.hpp"

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <memory>
#include <new>
#include <random>
#include <stdexcept>

#include <jwt.h>
#include <openssl/rand.h>

#include "actors/util/ids.hpp"
#include "actors/caf_errors.hpp"

namespace puzzle::transports::auth {

namespace {

/// Bytes of the secret drawn when none is configured (HS256's block).
constexpr std::size_t generated_secret_bytes = 32;

/// Longer tokens are refused before parsing; ours are a few hundred bytes.
constexpr std::size_t max_token_bytes = 8 * 1024;

constexpr const char* guest_role = "player";

struct jwt_deleter {
  void operator()(jwt_t* x) const noexcept {
    jwt_free(x);
  }
};

using jwt_ptr = std::unique_ptr<jwt_t, jwt_deleter>;

struct c_string_deleter {
  void operator()(char* x) const noexcept {
    std::free(x);
  }
};

caf::error unauthorized(std::string reason) {
  return make_error(errc::unauthorized, std::move(reason));
}

/// A string claim, or nullptr when absent or not a string.
const char* string_claim(jwt_t* jwt, const char* name) {
  errno = 0;
  return jwt_get_grant(jwt, name);
}

/// An integer claim, or false when absent or not an integer.
bool int_claim(jwt_t* jwt, const char* name, long& out) {
  errno = 0;
  out = jwt_get_grant_int(jwt, name);
  return errno == 0;
}

} // namespace

std::string random_bytes(std::size_t n) {
  std::string result(n, '\0');
  auto* data = reinterpret_cast<unsigned char*>(result.data());
  if (RAND_bytes(data, static_cast<int>(n)) != 1) {
    std::random_device rd;
    for (auto& c : result)
      c = static_cast<char>(rd() & 0xFFu);
  }
  return result;
}

token_service::token_service(const config::auth_settings& settings,
                             clock_fn clock)
    : secret_(settings.jwt_secret), issuer_(settings.issuer),
      audience_(settings.audience),
      lifetime_ms_(settings.token_lifetime.count()), clock_(std::move(clock)) {
  if (secret_.empty()) secret_ = random_bytes(generated_secret_bytes);
}

int64_t token_service::now_ms() const {
  if (clock_) return clock_();
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch())
      .count();
}

token_service::token
token_service::issue_guest(std::string display_name) const {
  token result;
  result.user_id = util::new_uuid();
  result.display_name = std::move(display_name);
  auto now = now_ms();
  auto iat = static_cast<long>(now / 1000);
  auto exp = static_cast<long>((now + lifetime_ms_) / 1000);
  result.expires_at_ms = static_cast<int64_t>(exp) * 1000;
  jwt_t* raw = nullptr;
  if (jwt_new(&raw) != 0) throw std::bad_alloc{};
  jwt_ptr jwt{raw};
  auto jti = util::new_uuid();
  int rc = 0;
  rc |= jwt_add_grant(jwt.get(), "sub", result.user_id.c_str());
  rc |= jwt_add_grant(jwt.get(), "name", result.display_name.c_str());
  rc |= jwt_add_grant(jwt.get(), "iss", issuer_.c_str());
  rc |= jwt_add_grant(jwt.get(), "aud", audience_.c_str());
  rc |= jwt_add_grant(jwt.get(), "jti", jti.c_str());
  rc |= jwt_add_grant(jwt.get(), "role", guest_role);
  rc |= jwt_add_grant_int(jwt.get(), "iat", iat);
  rc |= jwt_add_grant_int(jwt.get(), "nbf", iat);
  rc |= jwt_add_grant_int(jwt.get(), "exp", exp);
  rc |= jwt_set_alg(jwt.get(), JWT_ALG_HS256,
                    reinterpret_cast<const unsigned char*>(secret_.data()),
                    static_cast<int>(secret_.size()));
  if (rc != 0) throw std::runtime_error("libjwt refused a claim");
  std::unique_ptr<char, c_string_deleter> encoded{jwt_encode_str(jwt.get())};
  if (!encoded) throw std::runtime_error("libjwt could not encode the token");
  result.value = encoded.get();
  return result;
}

caf::expected<user_identity>
token_service::verify(std::string_view encoded) const {
  if (encoded.empty()) return unauthorized("missing token");
  if (encoded.size() > max_token_bytes) return unauthorized("token too long");
  std::string text{encoded};
  jwt_t* raw = nullptr;
  auto rc = jwt_decode(&raw, text.c_str(),
                       reinterpret_cast<const unsigned char*>(secret_.data()),
                       static_cast<int>(secret_.size()));
  jwt_ptr jwt{raw};
  if (rc != 0 || !jwt)
    return unauthorized("invalid token (malformed or bad signature)");
  if (jwt_get_alg(jwt.get()) != JWT_ALG_HS256)
    return unauthorized("invalid token algorithm (HS256 required)");
  auto iss = string_claim(jwt.get(), "iss");
  if (iss == nullptr || issuer_ != iss)
    return unauthorized("invalid token issuer");
  auto aud = string_claim(jwt.get(), "aud");
  if (aud == nullptr || audience_ != aud)
    return unauthorized("invalid token audience");
  auto now = static_cast<long>(now_ms() / 1000);
  long exp = 0;
  if (!int_claim(jwt.get(), "exp", exp))
    return unauthorized("token without expiry");
  if (now >= exp + clock_skew_seconds) return unauthorized("token expired");
  long nbf = 0;
  if (int_claim(jwt.get(), "nbf", nbf) && now + clock_skew_seconds < nbf)
    return unauthorized("token not yet valid");
  auto sub = string_claim(jwt.get(), "sub");
  if (sub == nullptr || *sub == '\0')
    return unauthorized("token without subject");
  auto name = string_claim(jwt.get(), "name");
  return user_identity{sub, name != nullptr ? name : ""};
}

} // namespace puzzle::transports::auth
