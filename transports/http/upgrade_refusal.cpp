#include "transports/http/upgrade_refusal.hpp"

#include <chrono>
#include <memory>

#include <boost/beast/http/write.hpp>

#include "transports/http/http_util.hpp"
#include "transports/http/net_stream.hpp"

namespace puzzle::transports::http {

namespace beast = boost::beast;

void refuse_upgrade(net_stream&& stream, const request& req,
                    beast::http::status status, std::string_view code,
                    std::string_view message) {
  auto conn = std::make_shared<net_stream>(std::move(stream));
  auto res = std::make_shared<response>(make_error(status, code, message, req));
  res->keep_alive(false);
  conn->next_layer().expires_after(std::chrono::seconds(5));
  beast::http::async_write(
      *conn, *res, [conn, res](beast::error_code, std::size_t) {
        // Whether the answer arrived or not, the socket is done.
        beast::error_code ignored;
        conn->next_layer().socket().shutdown(
            boost::asio::ip::tcp::socket::shutdown_both, ignored);
      });
}

} // namespace puzzle::transports::http
