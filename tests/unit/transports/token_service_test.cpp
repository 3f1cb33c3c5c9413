#include "transports/auth/token_service.hpp"

#include <cstdint>
#include <memory>
#include <regex>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <jwt.h>
#include <nlohmann/json.hpp>

#include "actors/util/ids.hpp"
#include "actors/caf_errors.hpp"

using puzzle::transports::auth::token_service;
using puzzle::util::new_uuid;

namespace {

constexpr int64_t t0_ms = 1'700'000'000'000;
constexpr int64_t t0_s = 1'700'000'000;

puzzle::config::auth_settings settings(std::string secret = "0123456789abcdef0123456789abcdef",
                                       std::string issuer = "puzzle",
                                       std::string audience = "puzzle-clients") {
  puzzle::config::auth_settings s;
  s.jwt_secret = std::move(secret);
  s.issuer = std::move(issuer);
  s.audience = std::move(audience);
  s.token_lifetime = std::chrono::milliseconds{3'600'000};
  return s;
}

token_service::clock_fn fixed(int64_t ms) {
  return [ms] {
    return ms;
  };
}

std::string b64url_encode(const std::string& in) {
  static constexpr char table[]
      = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  uint32_t buf = 0;
  int bits = 0;
  for (char c : in) {
    buf = (buf << 8) | static_cast<unsigned char>(c);
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out += table[(buf >> bits) & 0x3F];
    }
  }
  if (bits > 0) out += table[(buf << (6 - bits)) & 0x3F];
  return out;
}

std::string b64url_decode(const std::string& in) {
  std::string out;
  uint32_t buf = 0;
  int bits = 0;
  for (char c : in) {
    int v;
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
      continue;
    buf = (buf << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((buf >> bits) & 0xFF);
    }
  }
  return out;
}

std::vector<std::string> split_token(const std::string& token) {
  std::vector<std::string> parts;
  size_t start = 0;
  for (;;) {
    auto dot = token.find('.', start);
    parts.push_back(token.substr(start, dot - start));
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  return parts;
}

std::string reason(const caf::expected<puzzle::user_identity>& x) {
  EXPECT_FALSE(x);
  if (x) return "accepted";
  EXPECT_EQ(puzzle::code_of(x.error()), puzzle::errc::unauthorized);
  return puzzle::message_of(x.error());
}

nlohmann::json claims_of(const std::string& token) {
  return nlohmann::json::parse(b64url_decode(split_token(token).at(1)));
}

bool is_uuid_v4(const std::string& x) {
  static const std::regex re{
      "^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$"};
  return std::regex_match(x, re);
}

} // namespace

TEST(Uuid, IsLowercaseVersion4AndUnique) {
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) {
    auto id = new_uuid();
    EXPECT_EQ(id.size(), 36u);
    EXPECT_TRUE(is_uuid_v4(id)) << id;
    seen.insert(id);
  }
  EXPECT_EQ(seen.size(), 1000u);
}

TEST(TokenService, IssuesGuestTokenWithAllClaims) {
  token_service tokens{settings(), fixed(t0_ms + 400)};
  auto t = tokens.issue_guest("Ada");
  EXPECT_TRUE(is_uuid_v4(t.user_id));
  EXPECT_EQ(t.display_name, "Ada");
  EXPECT_EQ(t.expires_at_ms, (t0_s + 3600) * 1000);
  auto parts = split_token(t.value);
  ASSERT_EQ(parts.size(), 3u);
  auto header = nlohmann::json::parse(b64url_decode(parts[0]));
  EXPECT_EQ(header.at("alg"), "HS256");
  auto claims = claims_of(t.value);
  EXPECT_EQ(claims.at("sub"), t.user_id);
  EXPECT_EQ(claims.at("name"), "Ada");
  EXPECT_EQ(claims.at("iss"), "puzzle");
  EXPECT_EQ(claims.at("aud"), "puzzle-clients");
  EXPECT_EQ(header.at("kid"), "default");
  EXPECT_EQ(claims.at("roles"), nlohmann::json::array({"player"}));
  EXPECT_EQ(claims.at("iat"), t0_s);
  EXPECT_EQ(claims.at("nbf"), t0_s);
  EXPECT_EQ(claims.at("exp"), t0_s + 3600);
  EXPECT_TRUE(is_uuid_v4(claims.at("jti").get<std::string>()));
  EXPECT_NE(claims.at("jti"), claims.at("sub"));
}

TEST(TokenService, VerifiesItsOwnToken) {
  token_service tokens{settings(), fixed(t0_ms)};
  auto t = tokens.issue_guest("Zoë 🧩");
  auto user = tokens.verify(t.value);
  ASSERT_TRUE(user) << puzzle::message_of(user.error());
  EXPECT_EQ(user->user_id, t.user_id);
  EXPECT_EQ(user->username, "Zoë 🧩");
}

TEST(TokenService, EachGuestGetsANewUserId) {
  token_service tokens{settings(), fixed(t0_ms)};
  auto a = tokens.issue_guest("A");
  auto b = tokens.issue_guest("A");
  EXPECT_NE(a.user_id, b.user_id);
  EXPECT_NE(a.value, b.value);
}

TEST(TokenService, RejectsTamperedPayload) {
  token_service tokens{settings(), fixed(t0_ms)};
  auto t = tokens.issue_guest("Ada");
  auto parts = split_token(t.value);
  auto claims = claims_of(t.value);
  claims["sub"] = "00000000-0000-4000-8000-000000000000";
  auto forged = parts[0] + "." + b64url_encode(claims.dump()) + "." + parts[2];
  EXPECT_EQ(reason(tokens.verify(forged)), "invalid token (malformed or bad signature)");
}

TEST(TokenService, RejectsTamperedSignature) {
  token_service tokens{settings(), fixed(t0_ms)};
  auto t = tokens.issue_guest("Ada");
  auto forged = t.value;
  auto& last = forged[forged.size() - 5];
  last = last == 'A' ? 'B' : 'A';
  EXPECT_EQ(reason(tokens.verify(forged)), "invalid token (malformed or bad signature)");
}

TEST(TokenService, RejectsGarbageAndEmptyTokens) {
  token_service tokens{settings(), fixed(t0_ms)};
  EXPECT_EQ(reason(tokens.verify("")), "missing token");
  EXPECT_EQ(reason(tokens.verify("not-a-jwt")), "invalid token (malformed or bad signature)");
  EXPECT_EQ(reason(tokens.verify(std::string(9000, 'a'))), "token too long");
}

TEST(TokenService, RejectsTokenSignedWithAnotherSecret) {
  token_service mine{settings(), fixed(t0_ms)};
  token_service theirs{settings("another secret of enough length!!"), fixed(t0_ms)};
  EXPECT_EQ(reason(mine.verify(theirs.issue_guest("Eve").value)),
            "invalid token (malformed or bad signature)");
}

TEST(TokenService, EmptySecretDrawsARandomOnePerInstance) {
  token_service a{settings(""), fixed(t0_ms)};
  token_service b{settings(""), fixed(t0_ms)};
  auto t = a.issue_guest("Ada");
  EXPECT_TRUE(a.verify(t.value));
  EXPECT_EQ(reason(b.verify(t.value)), "invalid token (malformed or bad signature)");
}

TEST(TokenService, RejectsWrongIssuer) {
  token_service mine{settings(), fixed(t0_ms)};
  token_service theirs{settings("0123456789abcdef0123456789abcdef", "other"), fixed(t0_ms)};
  EXPECT_EQ(reason(mine.verify(theirs.issue_guest("Eve").value)), "invalid token issuer");
}

TEST(TokenService, RejectsWrongAudience) {
  token_service mine{settings(), fixed(t0_ms)};
  token_service theirs{settings("0123456789abcdef0123456789abcdef", "puzzle", "someone-else"),
                       fixed(t0_ms)};
  EXPECT_EQ(reason(mine.verify(theirs.issue_guest("Eve").value)), "invalid token audience");
}

TEST(TokenService, ExpiryAllowsThirtySecondsOfSkew) {
  token_service issuer{settings(), fixed(t0_ms)};
  auto t = issuer.issue_guest("Ada");
  auto exp_ms = (t0_s + 3600) * 1000;
  token_service just_in_time{settings(), fixed(exp_ms + 29'999)};
  EXPECT_TRUE(just_in_time.verify(t.value));
  token_service too_late{settings(), fixed(exp_ms + 30'000)};
  EXPECT_EQ(reason(too_late.verify(t.value)), "token expired");
}

TEST(TokenService, NotBeforeAllowsThirtySecondsOfSkew) {
  token_service issuer{settings(), fixed(t0_ms)};
  auto t = issuer.issue_guest("Ada");
  token_service slightly_behind{settings(), fixed(t0_ms - 30'000)};
  EXPECT_TRUE(slightly_behind.verify(t.value));
  token_service far_behind{settings(), fixed(t0_ms - 31'000)};
  EXPECT_EQ(reason(far_behind.verify(t.value)), "token not yet valid");
}

TEST(TokenService, RejectsAlgNone) {
  token_service tokens{settings(), fixed(t0_ms)};
  auto t = tokens.issue_guest("Ada");
  auto claims = claims_of(t.value);
  auto header = b64url_encode(R"({"alg":"none","typ":"JWT"})");
  auto payload = b64url_encode(claims.dump());
  EXPECT_FALSE(tokens.verify(header + "." + payload + "."));
  EXPECT_FALSE(tokens.verify(header + "." + payload));
  // The original signature under an alg=none header is refused as well.
  auto original_sig = split_token(t.value).at(2);
  EXPECT_FALSE(tokens.verify(header + "." + payload + "." + original_sig));
}

TEST(TokenService, RejectsOtherHmacAlgorithmsEvenWithTheRightKey) {
  std::string secret = "0123456789abcdef0123456789abcdef";
  token_service tokens{settings(secret), fixed(t0_ms)};
  jwt_t* raw = nullptr;
  ASSERT_EQ(jwt_new(&raw), 0);
  std::unique_ptr<jwt_t, void (*)(jwt_t*)> jwt{raw, jwt_free};
  jwt_add_grant(jwt.get(), "sub", "00000000-0000-4000-8000-000000000000");
  jwt_add_grant(jwt.get(), "name", "Eve");
  jwt_add_grant(jwt.get(), "iss", "puzzle");
  jwt_add_grant(jwt.get(), "aud", "puzzle-clients");
  jwt_add_grant_int(jwt.get(), "nbf", t0_s);
  jwt_add_grant_int(jwt.get(), "exp", t0_s + 60);
  ASSERT_EQ(jwt_set_alg(jwt.get(), JWT_ALG_HS384,
                        reinterpret_cast<const unsigned char*>(secret.data()),
                        static_cast<int>(secret.size())),
            0);
  char* encoded = jwt_encode_str(jwt.get());
  ASSERT_NE(encoded, nullptr);
  std::string token = encoded;
  free(encoded);
  EXPECT_EQ(reason(tokens.verify(token)), "invalid token algorithm (HS256 required)");
  // The same claims under HS256 pass: only the algorithm was wrong.
  ASSERT_EQ(jwt_set_alg(jwt.get(), JWT_ALG_HS256,
                        reinterpret_cast<const unsigned char*>(secret.data()),
                        static_cast<int>(secret.size())),
            0);
  encoded = jwt_encode_str(jwt.get());
  ASSERT_NE(encoded, nullptr);
  token = encoded;
  free(encoded);
  auto user = tokens.verify(token);
  ASSERT_TRUE(user);
  EXPECT_EQ(user->user_id, "00000000-0000-4000-8000-000000000000");
  EXPECT_EQ(user->username, "Eve");
}

TEST(TokenService, RejectsTokenWithoutExpiryOrSubject) {
  std::string secret = "0123456789abcdef0123456789abcdef";
  token_service tokens{settings(secret), fixed(t0_ms)};
  auto make = [&](bool with_exp, bool with_sub) {
    jwt_t* raw = nullptr;
    jwt_new(&raw);
    std::unique_ptr<jwt_t, void (*)(jwt_t*)> jwt{raw, jwt_free};
    if (with_sub) jwt_add_grant(jwt.get(), "sub", "u1");
    jwt_add_grant(jwt.get(), "iss", "puzzle");
    jwt_add_grant(jwt.get(), "aud", "puzzle-clients");
    if (with_exp) jwt_add_grant_int(jwt.get(), "exp", t0_s + 60);
    jwt_set_alg(jwt.get(), JWT_ALG_HS256, reinterpret_cast<const unsigned char*>(secret.data()),
                static_cast<int>(secret.size()));
    char* encoded = jwt_encode_str(jwt.get());
    std::string token = encoded;
    free(encoded);
    return token;
  };
  EXPECT_EQ(reason(tokens.verify(make(false, true))), "token without expiry");
  EXPECT_EQ(reason(tokens.verify(make(true, false))), "token without subject");
  auto user = tokens.verify(make(true, true));
  ASSERT_TRUE(user);
  EXPECT_EQ(user->user_id, "u1");
  EXPECT_EQ(user->username, "");
}

// -- key rotation, roles, configured skew -------------------------------------

namespace {

const std::string old_secret = "old-secret-old-secret-old-secret!";
const std::string new_secret = "new-secret-new-secret-new-secret!";

puzzle::config::auth_settings rotated(std::vector<puzzle::config::jwt_key> keys,
                                      std::string signing_key) {
  auto s = settings("");
  s.keys = std::move(keys);
  s.signing_key = std::move(signing_key);
  return s;
}

/// An HS256 token for `u1`, with `kid` in its header unless empty and the
/// members of `extra_header` (a JSON object) added to the header.
std::string sign_with_kid(const std::string& kid, const std::string& secret, int64_t exp_s,
                          const char* extra_header = nullptr) {
  jwt_t* raw = nullptr;
  jwt_new(&raw);
  std::unique_ptr<jwt_t, void (*)(jwt_t*)> jwt{raw, jwt_free};
  if (!kid.empty()) jwt_add_header(jwt.get(), "kid", kid.c_str());
  if (extra_header != nullptr) jwt_add_headers_json(jwt.get(), extra_header);
  jwt_add_grant(jwt.get(), "sub", "u1");
  jwt_add_grant(jwt.get(), "iss", "puzzle");
  jwt_add_grant(jwt.get(), "aud", "puzzle-clients");
  jwt_add_grant_int(jwt.get(), "exp", exp_s);
  jwt_set_alg(jwt.get(), JWT_ALG_HS256, reinterpret_cast<const unsigned char*>(secret.data()),
              static_cast<int>(secret.size()));
  char* encoded = jwt_encode_str(jwt.get());
  std::string token = encoded;
  free(encoded);
  return token;
}

} // namespace

TEST(TokenRotation, SigningKeyGoesIntoTheHeader) {
  token_service tokens{rotated({{"k1", old_secret}, {"k2", new_secret}}, "k2"), fixed(t0_ms)};
  EXPECT_EQ(tokens.signing_key_id(), "k2");
  auto t = tokens.issue_guest("Ada");
  auto header = nlohmann::json::parse(b64url_decode(split_token(t.value).at(0)));
  EXPECT_EQ(header.at("kid"), "k2");
  EXPECT_EQ(header.at("alg"), "HS256");
  EXPECT_TRUE(tokens.verify(t.value));
}

TEST(TokenRotation, TokenOfAnOldAcceptedKeyStillVerifies) {
  token_service before{rotated({{"k1", old_secret}}, "k1"), fixed(t0_ms)};
  auto old_token = before.issue_guest("Ada");
  token_service after{rotated({{"k1", old_secret}, {"k2", new_secret}}, "k2"), fixed(t0_ms)};
  auto user = after.verify(old_token.value);
  ASSERT_TRUE(user) << puzzle::message_of(user.error());
  EXPECT_EQ(user->user_id, old_token.user_id);
  // Once k1 is dropped, its tokens are refused.
  token_service later{rotated({{"k2", new_secret}}, "k2"), fixed(t0_ms)};
  EXPECT_EQ(reason(later.verify(old_token.value)), "invalid token key id");
}

TEST(TokenRotation, UnknownKidIsRefusedEvenWithAKnownSecret) {
  token_service tokens{rotated({{"k1", old_secret}}, "k1"), fixed(t0_ms)};
  EXPECT_TRUE(tokens.verify(sign_with_kid("k1", old_secret, t0_s + 60)));
  EXPECT_EQ(reason(tokens.verify(sign_with_kid("k9", old_secret, t0_s + 60))),
            "invalid token key id");
}

TEST(TokenRotation, KidNamesTheKeyThatMustMatch) {
  // Signed with k1's secret but claiming k2: checked with k2, so refused.
  token_service tokens{rotated({{"k1", old_secret}, {"k2", new_secret}}, "k1"), fixed(t0_ms)};
  EXPECT_EQ(reason(tokens.verify(sign_with_kid("k2", old_secret, t0_s + 60))),
            "invalid token (malformed or bad signature)");
}

TEST(TokenRotation, TokenWithoutKidUsesTheDefaultKeyOnly) {
  token_service with_default{settings(old_secret), fixed(t0_ms)};
  EXPECT_TRUE(with_default.verify(sign_with_kid("", old_secret, t0_s + 60)));
  token_service without_default{rotated({{"k1", old_secret}}, "k1"), fixed(t0_ms)};
  EXPECT_EQ(reason(without_default.verify(sign_with_kid("", old_secret, t0_s + 60))),
            "invalid token key id");
}

TEST(TokenRotation, AnEmptyKidIsNotTheDefaultKey) {
  token_service tokens{settings(old_secret), fixed(t0_ms)};
  EXPECT_EQ(reason(tokens.verify(sign_with_kid("", old_secret, t0_s + 60, R"({"kid":""})"))),
            "invalid token key id");
}

TEST(TokenRotation, CriticalHeaderExtensionsAreRefused) {
  // We implement no JWS extension, so a `crit` header is refused even when
  // the signature is right (RFC 7515, section 4.1.11).
  token_service tokens{settings(old_secret), fixed(t0_ms)};
  ASSERT_TRUE(tokens.verify(sign_with_kid("", old_secret, t0_s + 60, R"({"x":1})")));
  EXPECT_EQ(
      reason(tokens.verify(sign_with_kid("", old_secret, t0_s + 60, R"({"crit":["x"],"x":1})"))),
      "invalid token (malformed or bad signature)");
}

TEST(TokenRotation, UnknownSigningKeyThrows) {
  EXPECT_THROW((token_service{rotated({{"k1", old_secret}}, "k2")}), std::invalid_argument);
}

TEST(TokenRoles, RoundTrip) {
  using puzzle::user_role;
  token_service tokens{settings(), fixed(t0_ms)};
  auto bits = static_cast<uint8_t>(static_cast<uint8_t>(user_role::owner)
                                   | static_cast<uint8_t>(user_role::admin));
  auto t = tokens.issue("u-42", "ada", bits);
  EXPECT_EQ(claims_of(t.value).at("roles"), nlohmann::json::array({"player", "owner", "admin"}));
  auto user = tokens.verify(t.value);
  ASSERT_TRUE(user);
  EXPECT_EQ(user->user_id, "u-42");
  EXPECT_TRUE(user->has_role(user_role::player));
  EXPECT_TRUE(user->has_role(user_role::owner));
  EXPECT_TRUE(user->has_role(user_role::admin));
  EXPECT_FALSE(user->has_role(user_role::operator_));
  auto op
      = tokens.verify(tokens.issue("u-43", "op", static_cast<uint8_t>(user_role::operator_)).value);
  ASSERT_TRUE(op);
  EXPECT_TRUE(op->has_role(user_role::operator_));
  EXPECT_FALSE(op->has_role(user_role::admin));
}

TEST(TokenRoles, GuestIsOnlyAPlayer) {
  token_service tokens{settings(), fixed(t0_ms)};
  auto user = tokens.verify(tokens.issue_guest("Ada").value);
  ASSERT_TRUE(user);
  EXPECT_EQ(user->roles, static_cast<uint8_t>(puzzle::user_role::player));
}

TEST(TokenRoles, MissingOrUnknownRolesMakeAPlayer) {
  std::string secret = "0123456789abcdef0123456789abcdef";
  token_service tokens{settings(secret), fixed(t0_ms)};
  auto make = [&](const char* roles_json) {
    jwt_t* raw = nullptr;
    jwt_new(&raw);
    std::unique_ptr<jwt_t, void (*)(jwt_t*)> jwt{raw, jwt_free};
    jwt_add_grant(jwt.get(), "sub", "u1");
    jwt_add_grant(jwt.get(), "iss", "puzzle");
    jwt_add_grant(jwt.get(), "aud", "puzzle-clients");
    jwt_add_grant_int(jwt.get(), "exp", t0_s + 60);
    if (roles_json != nullptr) jwt_add_grants_json(jwt.get(), roles_json);
    jwt_set_alg(jwt.get(), JWT_ALG_HS256, reinterpret_cast<const unsigned char*>(secret.data()),
                static_cast<int>(secret.size()));
    char* encoded = jwt_encode_str(jwt.get());
    std::string token = encoded;
    free(encoded);
    return token;
  };
  auto player = static_cast<uint8_t>(puzzle::user_role::player);
  for (auto roles :
       {static_cast<const char*>(nullptr), R"({"roles":[]})", R"({"roles":["root","superuser"]})",
        R"({"roles":"admin"})", R"({"roles":[1,true,null]})"}) {
    auto user = tokens.verify(make(roles));
    ASSERT_TRUE(user) << (roles ? roles : "none");
    EXPECT_EQ(user->roles, player) << (roles ? roles : "none");
  }
  auto user = tokens.verify(make(R"({"roles":["ghost","admin"]})"));
  ASSERT_TRUE(user);
  EXPECT_EQ(user->roles, player | static_cast<uint8_t>(puzzle::user_role::admin));
}

TEST(TokenSkew, ConfiguredSkewMovesTheEdges) {
  auto s = settings();
  s.clock_skew = std::chrono::milliseconds{5'000};
  token_service issuer{s, fixed(t0_ms)};
  auto t = issuer.issue_guest("Ada");
  auto exp_ms = (t0_s + 3600) * 1000;
  EXPECT_TRUE((token_service{s, fixed(exp_ms + 4'999)}.verify(t.value)));
  EXPECT_EQ(reason(token_service{s, fixed(exp_ms + 5'000)}.verify(t.value)), "token expired");
  EXPECT_TRUE((token_service{s, fixed(t0_ms - 5'000)}.verify(t.value)));
  EXPECT_EQ(reason(token_service{s, fixed(t0_ms - 6'000)}.verify(t.value)), "token not yet valid");
  s.clock_skew = std::chrono::milliseconds{0};
  EXPECT_TRUE((token_service{s, fixed(exp_ms - 1)}.verify(t.value)));
  EXPECT_EQ(reason(token_service{s, fixed(exp_ms)}.verify(t.value)), "token expired");
  EXPECT_EQ(reason(token_service{s, fixed(t0_ms - 1'000)}.verify(t.value)), "token not yet valid");
}
