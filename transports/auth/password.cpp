#include "transports/auth/password.hpp"

#include <map>
#include <mutex>
#include <stdexcept>
#include <utility>

#include <sodium.h>

#include "transports/auth/uuid.hpp"

namespace puzzle::transports::auth {

namespace {

/// libsodium must be initialised once before use; thread-safe.
void init_sodium() {
  static const int rc = sodium_init();
  if (rc < 0) throw std::runtime_error("libsodium could not be initialised");
}

/// Code points of valid UTF-8, or -1 for invalid UTF-8 (overlong forms,
/// surrogates and values beyond U+10FFFF included).
int64_t utf8_code_points(std::string_view text) {
  int64_t count = 0;
  size_t i = 0;
  while (i < text.size()) {
    auto c = static_cast<unsigned char>(text[i]);
    size_t len = 0;
    uint32_t cp = 0;
    if (c < 0x80) {
      len = 1;
      cp = c;
    } else if ((c & 0xE0u) == 0xC0u) {
      len = 2;
      cp = c & 0x1Fu;
    } else if ((c & 0xF0u) == 0xE0u) {
      len = 3;
      cp = c & 0x0Fu;
    } else if ((c & 0xF8u) == 0xF0u) {
      len = 4;
      cp = c & 0x07u;
    } else {
      return -1;
    }
    if (i + len > text.size()) return -1;
    for (size_t k = 1; k < len; ++k) {
      auto d = static_cast<unsigned char>(text[i + k]);
      if ((d & 0xC0u) != 0x80u) return -1;
      cp = (cp << 6) | (d & 0x3Fu);
    }
    static constexpr uint32_t min_of_len[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < min_of_len[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
      return -1;
    i += len;
    ++count;
  }
  return count;
}

} // namespace

std::string check_new_password(std::string_view password,
                               const config::auth_settings& settings) {
  if (password.size() > settings.max_password_bytes)
    return "password must have at most "
        + std::to_string(settings.max_password_bytes)
        + " bytes (auth.max-password-bytes)";
  auto points = utf8_code_points(password);
  if (points < 0) return "password must be valid UTF-8";
  if (points < static_cast<int64_t>(settings.min_password_length))
    return "password must have at least "
        + std::to_string(settings.min_password_length)
        + " characters (auth.min-password-length)";
  return {};
}

std::string hash_password(std::string_view password, const hash_cost& cost) {
  init_sodium();
  char out[crypto_pwhash_STRBYTES];
  if (crypto_pwhash_str(out, password.data(), password.size(),
                        static_cast<unsigned long long>(cost.ops_limit),
                        static_cast<size_t>(cost.memory_kib) * 1024u)
      != 0)
    throw std::runtime_error("password hashing failed (out of memory?)");
  return out;
}

bool verify_password(const std::string& encoded, std::string_view password) {
  init_sodium();
  return crypto_pwhash_str_verify(encoded.c_str(), password.data(),
                                  password.size())
      == 0;
}

const std::string& dummy_hash(const hash_cost& cost) {
  static std::mutex mtx;
  static std::map<std::pair<uint64_t, uint64_t>, std::string> hashes;
  std::lock_guard<std::mutex> guard{mtx};
  auto& result = hashes[{cost.ops_limit, cost.memory_kib}];
  if (result.empty()) result = hash_password(random_bytes(32), cost);
  return result;
}

} // namespace puzzle::transports::auth
