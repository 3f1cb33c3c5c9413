#pragma once

#include <string_view>

#include <boost/beast/http/status.hpp>

#include "transports/http/router.hpp"

namespace puzzle::transports::http {

/// Answers an upgrade request that an endpoint refuses (no token, unknown
/// connection id, too many connections) with the contract's JSON error,
/// then shuts the socket down. Takes the stream over; returns at once.
void refuse_upgrade(net_stream&& stream, const request& req,
                    boost::beast::http::status status, std::string_view code,
                    std::string_view message);

} // namespace puzzle::transports::http
