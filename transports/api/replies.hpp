#pragma once

#include <string>
#include <string_view>

#include <boost/beast/http/status.hpp>
#include <caf/error.hpp>
#include <nlohmann/json.hpp>

#include "actors/errc.hpp"
#include "transports/api/actor_bridge.hpp"
#include "transports/http/http_util.hpp"
#include "transports/http/router.hpp"

/// The JSON answers every REST handler sends: one way to write a body and an
/// error, shared by the REST, account, operator and device routes.
namespace puzzle::transports::api {

/// `j` as compact JSON; invalid UTF-8 in strings is replaced, never thrown.
inline std::string dump(const nlohmann::ordered_json& j) {
  return j.dump(-1, ' ', false,
                nlohmann::ordered_json::error_handler_t::replace);
}

inline void send_json(http::responder& reply, boost::beast::http::status status,
                      const nlohmann::ordered_json& body) {
  reply(http::make_json(status, dump(body)));
}

inline void send_error(http::responder& reply,
                       boost::beast::http::status status, std::string_view code,
                       std::string_view message) {
  reply(http::make_error(status, code, message));
}

/// 400 `INVALID_ARGUMENT` with `message`.
inline void send_invalid(http::responder& reply, std::string_view message) {
  send_error(reply, boost::beast::http::status::bad_request,
             to_code(errc::invalid_argument), message);
}

/// The HTTP status and code of an actor's error.
inline void send_actor_error(http::responder& reply, const caf::error& err) {
  auto e = to_http_error(err);
  send_error(reply, static_cast<boost::beast::http::status>(e.status), e.code,
             e.message);
}

} // namespace puzzle::transports::api
