#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/verb.hpp>

// The synchronous HTTP test client shared by the transport tests; defined in
// http_server_test.cpp.

namespace puzzle_test {

using test_request = boost::beast::http::request<boost::beast::http::string_body>;
using test_response = boost::beast::http::response<boost::beast::http::string_body>;

/// A blocking HTTP/1.1 client on 127.0.0.1 whose reads give up after a
/// deadline, so a broken server fails a test instead of hanging it.
class http_client {
public:
  explicit http_client(uint16_t port);
  ~http_client();
  void write(const test_request& req);
  void write_raw(const std::string& bytes);
  /// The next response; nullopt on error or deadline. `head`: no body.
  std::optional<test_response> read(bool head = false);
  /// Writes and reads; throws when no response arrives.
  test_response roundtrip(test_request req, bool head = false);
  /// True once the server closed the connection (EOF or reset).
  bool wait_closed();

private:
  boost::asio::io_context ioc_;
  boost::asio::ip::tcp::socket socket_;
  boost::beast::flat_buffer buffer_;
  char scratch_[512];
};

test_request make_request(boost::beast::http::verb method, const std::string& target,
                          std::string body = {},
                          const std::string& content_type = "application/json");

} // namespace puzzle_test
