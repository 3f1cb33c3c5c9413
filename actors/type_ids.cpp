#include "actors/type_ids.hpp"

#include <caf/actor_system_config.hpp>
#include <caf/message.hpp>

#include "actors/caf_errors.hpp"

namespace puzzle {

void register_message_types(caf::actor_system_config& cfg) {
  cfg.add_message_types<caf::id_block::puzzle>();
  cfg.add_error_category(
      errc_category,
      [](uint8_t code, caf::atom_value, const caf::message& ctx) {
        auto result = to_string(static_cast<errc>(code));
        if (ctx.match_elements<std::string>()) {
          result += " (";
          result += ctx.get_as<std::string>(0);
          result += ')';
        }
        return result;
      });
}

} // namespace puzzle
