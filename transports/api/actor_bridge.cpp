#include "transports/api/actor_bridge.hpp"

#include <caf/sec.hpp>

namespace puzzle::transports::api {

namespace {

/// HTTP's "service unavailable": the actor did not answer in time.
constexpr unsigned unavailable = 503;

} // namespace

http_error to_http_error(const caf::error& err) {
  http_error result;
  if (err.category() == caf::atom("system")
      && err.code() == static_cast<uint8_t>(caf::sec::request_timeout)) {
    result.status = unavailable;
    result.code = to_code(errc::internal);
    result.message = "the service did not answer in time";
    return result;
  }
  auto code = code_of(err);
  if (code == errc::none) code = errc::internal;
  result.status = static_cast<unsigned>(http_status(code));
  result.code = to_code(code);
  result.message = message_of(err);
  return result;
}

} // namespace puzzle::transports::api
