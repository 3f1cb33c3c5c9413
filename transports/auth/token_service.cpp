#include "transports/auth/token_service.hpp"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <memory>
#include <new>
#include <optional>
#include <random>
#include <stdexcept>

#include <jwt.h>
#include <nlohmann/json.hpp>
#include <openssl/rand.h>

#include "actors/util/ids.hpp"
#include "actors/caf_errors.hpp"

namespace puzzle::transports::auth {

namespace {

/// Bytes of the secret drawn when none is configured (HS256's block).
constexpr std::size_t generated_secret_bytes = 32;

/// Longer tokens are refused before parsing; ours are a few hundred bytes.
constexpr std::size_t max_token_bytes = 8 * 1024;

/// The kid of a key given without one (`auth.jwt-secret`).
constexpr const char* default_key_id = config::default_jwt_key_id;

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

namespace {

struct role_name {
  user_role role;
  const char* name;
};

constexpr role_name role_names_table[] = {
    {user_role::player, "player"},
    {user_role::owner, "owner"},
    {user_role::admin, "admin"},
    {user_role::operator_, "operator"},
};

constexpr auto player_bit = static_cast<uint8_t>(user_role::player);

/// Decodes unpadded base64url; nullopt on a character outside its alphabet.
std::optional<std::string> b64url_decode(std::string_view in) {
  std::string out;
  out.reserve(in.size() * 3 / 4);
  uint32_t buf = 0;
  int bits = 0;
  for (char c : in) {
    int v = 0;
    if (c >= 'A' && c <= 'Z')
      v = c - 'A';
    else if (c >= 'a' && c <= 'z')
      v = c - 'a' + 26;
    else if (c >= '0' && c <= '9')
      v = c - '0' + 52;
    else if (c == '-')
      v = 62;
    else if (c == '_')
      v = 63;
    else
      return std::nullopt;
    buf = (buf << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((buf >> bits) & 0xFFu);
    }
  }
  return out;
}

/// The key a token names in its header's `kid`: `default_key_id` when
/// absent; nullopt when the header is not a JSON object, `kid` is not a
/// string, or the header lists critical extensions (`crit`): we implement
/// none, and RFC 7515 section 4.1.11 says to refuse what we do not
/// understand. libjwt 1.10 needs the key before it parses, so the header is
/// read here first. An empty `kid` stays empty (no key has that id).
std::optional<std::string> key_id_of(std::string_view token) {
  auto dot = token.find('.');
  if (dot == std::string_view::npos) return std::nullopt;
  auto text = b64url_decode(token.substr(0, dot));
  if (!text) return std::nullopt;
  auto header = nlohmann::json::parse(*text, nullptr, false);
  if (header.is_discarded() || !header.is_object()) return std::nullopt;
  if (header.contains("crit")) return std::nullopt;
  auto it = header.find("kid");
  if (it == header.end()) return std::string{default_key_id};
  if (!it->is_string()) return std::nullopt;
  return it->get<std::string>();
}

/// The bits of the `roles` claim; a player without one.
uint8_t roles_claim(jwt_t* jwt) {
  uint8_t result = player_bit;
  std::unique_ptr<char, c_string_deleter> text{
      jwt_get_grants_json(jwt, "roles")};
  if (!text) return result;
  auto roles = nlohmann::json::parse(text.get(), nullptr, false);
  if (!roles.is_array()) return result;
  for (auto& x : roles)
    if (x.is_string()) result |= role_of(x.get_ref<const std::string&>());
  return result;
}

} // namespace

std::vector<std::string> role_names(uint8_t roles) {
  std::vector<std::string> result;
  for (auto& x : role_names_table)
    if ((roles & static_cast<uint8_t>(x.role)) != 0)
      result.emplace_back(x.name);
  return result;
}

uint8_t role_of(std::string_view name) {
  for (auto& x : role_names_table)
    if (name == x.name) return static_cast<uint8_t>(x.role);
  return 0;
}

token_service::token_service(const config::auth_settings& settings,
                             clock_fn clock)
    : keys_(settings.keys), issuer_(settings.issuer),
      audience_(settings.audience),
      lifetime_ms_(settings.token_lifetime.count()),
      skew_s_(settings.clock_skew.count() / 1000), clock_(std::move(clock)) {
  if (keys_.empty())
    keys_.push_back(config::jwt_key{default_key_id,
                                    settings.jwt_secret.empty()
                                        ? random_bytes(generated_secret_bytes)
                                        : settings.jwt_secret});
  if (!settings.signing_key.empty()) {
    auto i = std::find_if(keys_.begin(), keys_.end(), [&](const auto& k) {
      return k.id == settings.signing_key;
    });
    if (i == keys_.end())
      throw std::invalid_argument("auth.signing-key: names no key ('"
                                  + settings.signing_key + "')");
    signing_ = static_cast<size_t>(i - keys_.begin());
  }
}

int64_t token_service::now_ms() const {
  if (clock_) return clock_();
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch())
      .count();
}

token_service::token
token_service::issue_guest(std::string display_name) const {
  return issue(util::new_uuid(), std::move(display_name), player_bit);
}

token_service::token token_service::issue(std::string user_id,
                                          std::string display_name,
                                          uint8_t roles) const {
  token result;
  result.user_id = std::move(user_id);
  result.display_name = std::move(display_name);
  result.roles = static_cast<uint8_t>(roles | player_bit);
  auto now = now_ms();
  auto iat = static_cast<long>(now / 1000);
  auto exp = static_cast<long>((now + lifetime_ms_) / 1000);
  result.expires_at_ms = static_cast<int64_t>(exp) * 1000;
  jwt_t* raw = nullptr;
  if (jwt_new(&raw) != 0) throw std::bad_alloc{};
  jwt_ptr jwt{raw};
  auto jti = util::new_uuid();
  auto& key = keys_[signing_];
  auto roles_json = nlohmann::json{{"roles", role_names(result.roles)}}.dump();
  int rc = 0;
  rc |= jwt_add_header(jwt.get(), "kid", key.id.c_str());
  rc |= jwt_add_grant(jwt.get(), "sub", result.user_id.c_str());
  rc |= jwt_add_grant(jwt.get(), "name", result.display_name.c_str());
  rc |= jwt_add_grant(jwt.get(), "iss", issuer_.c_str());
  rc |= jwt_add_grant(jwt.get(), "aud", audience_.c_str());
  rc |= jwt_add_grant(jwt.get(), "jti", jti.c_str());
  rc |= jwt_add_grants_json(jwt.get(), roles_json.c_str());
  rc |= jwt_add_grant_int(jwt.get(), "iat", iat);
  rc |= jwt_add_grant_int(jwt.get(), "nbf", iat);
  rc |= jwt_add_grant_int(jwt.get(), "exp", exp);
  rc |= jwt_set_alg(jwt.get(), JWT_ALG_HS256,
                    reinterpret_cast<const unsigned char*>(key.secret.data()),
                    static_cast<int>(key.secret.size()));
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
  auto kid = key_id_of(encoded);
  if (!kid) return unauthorized("invalid token (malformed or bad signature)");
  auto key = std::find_if(keys_.begin(), keys_.end(), [&](const auto& k) {
    return k.id == *kid;
  });
  if (key == keys_.end()) return unauthorized("invalid token key id");
  std::string text{encoded};
  jwt_t* raw = nullptr;
  auto rc
      = jwt_decode(&raw, text.c_str(),
                   reinterpret_cast<const unsigned char*>(key->secret.data()),
                   static_cast<int>(key->secret.size()));
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
  if (now >= exp + skew_s_) return unauthorized("token expired");
  long nbf = 0;
  if (int_claim(jwt.get(), "nbf", nbf) && now + skew_s_ < nbf)
    return unauthorized("token not yet valid");
  auto sub = string_claim(jwt.get(), "sub");
  if (sub == nullptr || *sub == '\0')
    return unauthorized("token without subject");
  auto name = string_claim(jwt.get(), "name");
  user_identity result{sub, name != nullptr ? name : ""};
  result.roles = roles_claim(jwt.get());
  return result;
}

} // namespace puzzle::transports::auth
