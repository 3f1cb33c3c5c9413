#include "actors/caf_errors.hpp"

#include <caf/message.hpp>
#include <caf/sec.hpp>

namespace puzzle {

caf::error make_error(errc code, std::string message) {
  return caf::error{static_cast<uint8_t>(code), errc_category,
                    caf::make_message(std::move(message))};
}

errc code_of(const caf::error& err) noexcept {
  if (!err) return errc::none;
  if (err.category() != errc_category) return errc::internal;
  return static_cast<errc>(err.code());
}

std::string message_of(const caf::error& err) {
  if (err.category() == errc_category
      && err.context().match_elements<std::string>())
    return err.context().get_as<std::string>(0);
  if (err.category() == caf::atom("system"))
    return caf::to_string(static_cast<caf::sec>(err.code()));
  return std::string{to_code(code_of(err))};
}

} // namespace puzzle
