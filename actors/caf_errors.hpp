#pragma once

#include <string>

#include <caf/atom.hpp>
#include <caf/error.hpp>

#include "actors/errc.hpp"

/// `errc` as CAF errors: how actors reply with the contract's codes.
namespace puzzle {

/// The CAF error category of `errc`.
constexpr caf::atom_value errc_category = caf::atom("puzzle");

/// Builds a CAF error in the `puzzle` category with a human-readable message.
caf::error make_error(errc code, std::string message);

/// Splits a CAF error into code and message. Errors of other categories
/// (timeouts, a dead actor) map to `errc::internal`.
errc code_of(const caf::error& err) noexcept;

/// The message of an error built by `make_error`, or CAF's rendering.
std::string message_of(const caf::error& err);

} // namespace puzzle
