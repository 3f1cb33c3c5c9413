#pragma once

#include <memory>
#include <string>

namespace spdlog {
class logger;
} // namespace spdlog

namespace puzzle::config {

/// Sets up spdlog: one stderr sink, key=value lines, the given level
/// (`log.level`) for every module logger.
void setup_logging(const std::string& level);

/// The named module logger (e.g. `puzzle.transport.signalr`), created on
/// first use with the global level.
std::shared_ptr<spdlog::logger> module_logger(const std::string& name);

} // namespace puzzle::config
