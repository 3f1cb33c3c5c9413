#pragma once

#include <cstddef>
#include <string>

namespace puzzle::transports::auth {

/// `n` random bytes from OpenSSL's CSPRNG (falling back to
/// `std::random_device`, the kernel's generator, should OpenSSL fail).
std::string random_bytes(std::size_t n);

} // namespace puzzle::transports::auth
