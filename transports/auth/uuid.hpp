#pragma once

#include <cstddef>
#include <string>

namespace puzzle::transports::auth {

/// A random (version 4) UUID in lowercase canonical form,
/// `xxxxxxxx-xxxx-4xxx-Nxxx-xxxxxxxxxxxx`, from OpenSSL's CSPRNG.
/// Thread-safe.
std::string new_uuid();

/// `n` random bytes from OpenSSL's CSPRNG (falling back to
/// `std::random_device`, the kernel's generator, should OpenSSL fail).
std::string random_bytes(std::size_t n);

} // namespace puzzle::transports::auth
