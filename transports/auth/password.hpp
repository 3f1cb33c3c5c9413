#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "config/settings.hpp"

/// Passwords of accounts: checked against the configured limits, hashed
/// with Argon2id (libsodium `crypto_pwhash_str`) and verified in constant
/// time (`crypto_pwhash_str_verify`).
///
/// Hashing takes tens of milliseconds and `auth.hash-memory-kib` of memory
/// on purpose: never call these on an I/O thread (the REST API runs them
/// on detached actors, at most `auth.max-hashing` at once).
namespace puzzle::transports::auth {

/// Argon2id costs (`auth.hash-ops-limit`, `auth.hash-memory-kib`).
struct hash_cost {
  uint64_t ops_limit = 2;       ///< The default of auth.hash-ops-limit.
  uint64_t memory_kib = 65'536; ///< The default of auth.hash-memory-kib.

  static hash_cost of(const config::auth_settings& settings) {
    return {settings.hash_ops_limit, settings.hash_memory_kib};
  }
};

/// Why `password` is not acceptable for a new account, or an empty string.
/// Bytes are checked first (`auth.max-password-bytes`, before anything else
/// looks at the text), then UTF-8 validity, then the code points
/// (`auth.min-password-length`).
std::string check_new_password(std::string_view password,
                               const config::auth_settings& settings);

/// The encoded Argon2id hash of `password` (salt and costs included).
/// @throws std::runtime_error when libsodium fails (out of memory).
std::string hash_password(std::string_view password, const hash_cost& cost);

/// Whether `password` matches `encoded`, in constant time; false for an
/// encoded string that is not a valid hash.
bool verify_password(const std::string& encoded, std::string_view password);

/// The hash of a random password at `cost`, computed once per cost: logins
/// of unknown users verify against it so that they take as long as logins
/// with a wrong password (no user enumeration by timing).
const std::string& dummy_hash(const hash_cost& cost);

} // namespace puzzle::transports::auth
