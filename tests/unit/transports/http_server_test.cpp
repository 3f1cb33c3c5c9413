#include "transports/http/server.hpp"

#include <atomic>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "actors/util/ids.hpp"
#include "transports/api/rest_body.hpp"
#include "transports/auth/uuid.hpp"
#include "transports/http/http_util.hpp"
#include "transports/http/net_stream.hpp"
#include "transports/http/router.hpp"
#include "transports/http/static_files.hpp"

#include "support/http_client.hpp"

namespace net = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace websocket = boost::beast::websocket;
using json = nlohmann::json;
using namespace puzzle::transports::http;
using puzzle_test::http_client;
using puzzle_test::make_request;
using puzzle_test::test_response;

namespace {

std::string header(const test_response& res, std::string_view name) {
  auto it = res.find(beast::string_view{name.data(), name.size()});
  return it == res.end() ? std::string{"<none>"} : std::string{it->value()};
}

json body_json(const test_response& res) {
  return json::parse(res.body());
}

json error_json(unsigned status, const std::string& code, const std::string& message) {
  return json{{"status", status}, {"code", code}, {"message", message}};
}

void expect_security_headers(const test_response& res) {
  EXPECT_EQ(header(res, "X-Content-Type-Options"), "nosniff");
  EXPECT_EQ(header(res, "Referrer-Policy"), "no-referrer");
  EXPECT_EQ(header(res, "X-Frame-Options"), "DENY");
}

// -- unit tests of the helpers ------------------------------------------------

TEST(HttpUtil, PercentDecodesAndRefusesMalformedEscapes) {
  EXPECT_EQ(percent_decode("a%20b%2Fc"), "a b/c");
  EXPECT_EQ(percent_decode("a+b"), "a+b");
  EXPECT_EQ(percent_decode("a+b", true), "a b");
  EXPECT_EQ(percent_decode("%e2%9c%93"), "\xe2\x9c\x93");
  EXPECT_EQ(percent_decode("%"), std::nullopt);
  EXPECT_EQ(percent_decode("%4"), std::nullopt);
  EXPECT_EQ(percent_decode("%zz"), std::nullopt);
}

TEST(HttpUtil, SplitsPathAndQuery) {
  EXPECT_EQ(path_of("/a/b?x=1#f"), "/a/b");
  EXPECT_EQ(path_of("/a/b#f"), "/a/b");
  EXPECT_EQ(path_of("/a"), "/a");
  EXPECT_EQ(query_param("/p?a=1&b=x%20y+z&c", "b"), "x y z");
  EXPECT_EQ(query_param("/p?a=1&b=2", "a"), "1");
  EXPECT_EQ(query_param("/p?a=1&c", "c"), "");
  EXPECT_EQ(query_param("/p?a=1&c", "d"), std::nullopt);
  EXPECT_EQ(query_param("/p", "a"), std::nullopt);
  EXPECT_EQ(query_param("/p?a=%zz", "a"), std::nullopt);
  EXPECT_EQ(query_param("/p?access%5Ftoken=t#x", "access_token"), "t");
  EXPECT_EQ(query_param("/p?a=1&a=2", "a"), "1");
}

TEST(HttpUtil, ReadsBearerTokensAndJsonContentTypes) {
  request req;
  EXPECT_EQ(bearer_token(req), std::nullopt);
  req.set(bhttp::field::authorization, "Bearer abc.def");
  EXPECT_EQ(bearer_token(req), "abc.def");
  req.set(bhttp::field::authorization, "bearer   xyz  ");
  EXPECT_EQ(bearer_token(req), "xyz");
  req.set(bhttp::field::authorization, "Basic abc");
  EXPECT_EQ(bearer_token(req), std::nullopt);
  req.set(bhttp::field::authorization, "Bearer ");
  EXPECT_EQ(bearer_token(req), std::nullopt);
  EXPECT_FALSE(has_json_content_type(req));
  req.set(bhttp::field::content_type, "Application/JSON; charset=utf-8");
  EXPECT_TRUE(has_json_content_type(req));
  req.set(bhttp::field::content_type, "text/plain");
  EXPECT_FALSE(has_json_content_type(req));
}

TEST(HttpUtil, BuildsTheErrorShape) {
  request req;
  req.version(10);
  auto res = make_error(bhttp::status::conflict, "CONFLICT", "he said \"no\"", req);
  EXPECT_EQ(res.result(), bhttp::status::conflict);
  EXPECT_EQ(res.version(), 10u);
  EXPECT_EQ(std::string{res[bhttp::field::content_type]}, "application/json; charset=utf-8");
  EXPECT_EQ(res.body(), R"({"status":409,"code":"CONFLICT","message":"he said \"no\""})");
  auto domain = make_error(puzzle::errc::forbidden, "not yours", req);
  EXPECT_EQ(domain.result(), bhttp::status::forbidden);
  EXPECT_EQ(json::parse(domain.body()), error_json(403, "FORBIDDEN", "not yours"));
}

TEST(HttpUtil, ContentTypesByExtension) {
  EXPECT_EQ(content_type_of("index.html"), "text/html; charset=utf-8");
  EXPECT_EQ(content_type_of("a/b/APP.JS"), "text/javascript; charset=utf-8");
  EXPECT_EQ(content_type_of("m.mjs"), "text/javascript; charset=utf-8");
  EXPECT_EQ(content_type_of("s.css"), "text/css; charset=utf-8");
  EXPECT_EQ(content_type_of("i.svg"), "image/svg+xml");
  EXPECT_EQ(content_type_of("i.png"), "image/png");
  EXPECT_EQ(content_type_of("i.jpg"), "image/jpeg");
  EXPECT_EQ(content_type_of("d.json"), "application/json");
  EXPECT_EQ(content_type_of("favicon.ico"), "image/x-icon");
  EXPECT_EQ(content_type_of("c.wasm"), "application/wasm");
  EXPECT_EQ(content_type_of("f.woff2"), "font/woff2");
  EXPECT_EQ(content_type_of("app.js.map"), "application/json");
  EXPECT_EQ(content_type_of("README"), "application/octet-stream");
  EXPECT_EQ(content_type_of("dir.d/file"), "application/octet-stream");
}

// -- REST bodies ---------------------------------------------------------------

TEST(RestBody, ParsesObjectsAndRefusesDeepNestingWhileParsing) {
  json out;
  EXPECT_EQ(puzzle::transports::api::parse_object_body(R"({"a":[1,{"b":2}]})", out), "");
  EXPECT_EQ(out, json::parse(R"({"a":[1,{"b":2}]})"));
  EXPECT_EQ(puzzle::transports::api::parse_object_body("[1]", out),
            "the request body must be a JSON object");
  EXPECT_EQ(puzzle::transports::api::parse_object_body("{", out).rfind("invalid JSON: ", 0), 0u);
  // 32 levels are accepted, the 33rd is refused (and the rest never read:
  // the tail here is not even JSON).
  auto nest = [](size_t levels, const std::string& tail) {
    std::string text = "{\"a\":";
    for (size_t i = 1; i < levels; ++i)
      text += "[";
    text += "1";
    for (size_t i = 1; i < levels; ++i)
      text += "]";
    return text + tail;
  };
  EXPECT_EQ(puzzle::transports::api::parse_object_body(nest(32, "}"), out), "");
  EXPECT_EQ(puzzle::transports::api::parse_object_body(nest(33, "} garbage"), out),
            "JSON nests deeper than 32 levels");
  EXPECT_TRUE(out.is_null());
}

TEST(RestBody, BracketsInStringsDoNotCountAsNesting) {
  json out;
  std::string text = "{\"a\":\"" + std::string(100, '[') + "\\\"{\"}";
  ASSERT_EQ(puzzle::transports::api::parse_object_body(text, out), "");
  EXPECT_EQ(out["a"], std::string(100, '[') + "\"{");
}

// Regression: the depth limit was a parser callback, which rescans a
// container whenever one of its children closes; a body of 300000 empty
// objects (under 1 MiB) held an HTTP thread for minutes. It must parse
// (CTest's timeout fails this test if it does not).
TEST(RestBody, AWideBodyOfSmallContainersParses) {
  std::string text = "{\"a\":[";
  constexpr size_t count = 300000;
  for (size_t i = 0; i < count; ++i)
    text += i == 0 ? "{}" : ",{}";
  text += "]}";
  json out;
  ASSERT_EQ(puzzle::transports::api::parse_object_body(text, out), "");
  EXPECT_EQ(out["a"].size(), count);
}

// -- router -------------------------------------------------------------------

handler noop() {
  return [](request&&, route_match, responder) {};
}

TEST(Router, CapturesDecodedParamsAndPrefersLiterals) {
  router r;
  r.add(bhttp::verb::get, "/api/sessions/{id}", noop());
  r.add(bhttp::verb::get, "/api/sessions/stats", noop());
  r.add(bhttp::verb::get, "/api/{kind}/{id}/parts/{part}", noop());
  r.add(bhttp::verb::get, "/files/{*rest}", noop());
  auto a = r.find(bhttp::verb::get, "/api/sessions/a%20b");
  ASSERT_EQ(a.result, router::outcome::found);
  EXPECT_EQ(a.match.params, (std::vector<std::string>{"a b"}));
  auto stats = r.find(bhttp::verb::get, "/api/sessions/stats");
  ASSERT_EQ(stats.result, router::outcome::found);
  EXPECT_TRUE(stats.match.params.empty());
  auto parts = r.find(bhttp::verb::get, "/api/x/7/parts/9/");
  ASSERT_EQ(parts.result, router::outcome::found);
  EXPECT_EQ(parts.match.params, (std::vector<std::string>{"x", "7", "9"}));
  auto rest = r.find(bhttp::verb::get, "/files/a/b/c.txt");
  ASSERT_EQ(rest.result, router::outcome::found);
  EXPECT_EQ(rest.match.params, (std::vector<std::string>{"a/b/c.txt"}));
  auto empty_rest = r.find(bhttp::verb::get, "/files");
  ASSERT_EQ(empty_rest.result, router::outcome::found);
  EXPECT_EQ(empty_rest.match.params, (std::vector<std::string>{""}));
  EXPECT_EQ(r.find(bhttp::verb::get, "/api/sessions").result, router::outcome::not_found);
  EXPECT_EQ(r.find(bhttp::verb::get, "/api/sessions//").result, router::outcome::not_found);
  EXPECT_EQ(r.find(bhttp::verb::get, "/api/sessions/%zz").result, router::outcome::not_found);
  EXPECT_EQ(r.find(bhttp::verb::get, "*").result, router::outcome::not_found);
}

TEST(Router, ReportsMethodNotAllowedAndHeadFallsBackToGet) {
  router r;
  r.add(bhttp::verb::get, "/a/{id}", noop());
  r.add(bhttp::verb::delete_, "/a/{id}", noop());
  r.add(bhttp::verb::post, "/a", noop());
  auto put = r.find(bhttp::verb::put, "/a/1");
  EXPECT_EQ(put.result, router::outcome::method_not_allowed);
  EXPECT_EQ(put.allow, "GET, HEAD, DELETE, OPTIONS");
  EXPECT_EQ(r.find(bhttp::verb::head, "/a/1").result, router::outcome::found);
  EXPECT_EQ(r.allowed_methods("/a"), "POST, OPTIONS");
  EXPECT_EQ(r.allowed_methods("/b"), "");
  EXPECT_TRUE(r.serves("/a/1"));
  EXPECT_FALSE(r.serves("/b"));
  r.add_upgrade("/ws", [](net_stream&&, request&&) {});
  EXPECT_TRUE(r.serves("/ws"));
  EXPECT_NE(r.find_upgrade("/ws/"), nullptr);
  EXPECT_EQ(r.find_upgrade("/ws2"), nullptr);
  EXPECT_EQ(r.allowed_methods("/ws"), "GET, OPTIONS");
  r.set_fallback(noop());
  EXPECT_EQ(r.allowed_methods("/anything"), "GET, HEAD, OPTIONS");
  EXPECT_THROW(r.add(bhttp::verb::get, "relative", noop()), std::invalid_argument);
  EXPECT_THROW(r.add(bhttp::verb::get, "/{*rest}/more", noop()), std::invalid_argument);
  EXPECT_THROW(r.add(bhttp::verb::get, "/{}", noop()), std::invalid_argument);
}

// -- the server over real sockets ---------------------------------------------

class HttpServer : public ::testing::Test {
protected:
  HttpServer() : routes_(std::make_shared<router>()) {
    settings_.bind = "127.0.0.1";
    settings_.port = 0;
    settings_.threads = 2;
    settings_.body_limit = 1024;
    settings_.header_limit = 1024;
    settings_.cors_origins = {"https://app.example"};
    auto json_reply = [](std::string body) {
      return [body](request&& req, route_match, responder reply) {
        reply(make_json(bhttp::status::ok, body, req));
      };
    };
    routes_->add(bhttp::verb::get, "/ping", json_reply(R"({"pong":true})"));
    routes_->add(bhttp::verb::get, "/api/items/{id}/parts/{part}",
                 [](request&& req, route_match m, responder reply) {
                   json j{{"id", m.params.at(0)}, {"part", m.params.at(1)}};
                   reply(make_json(bhttp::status::ok, j.dump(), req));
                 });
    routes_->add(bhttp::verb::post, "/api/items", [](request&& req, route_match, responder reply) {
      json j{{"size", req.body().size()}};
      reply(make_json(bhttp::status::created, j.dump(), req));
    });
    routes_->add(bhttp::verb::delete_, "/api/items/{id}",
                 [](request&&, route_match, responder reply) {
                   reply(response{bhttp::status::no_content, 11});
                 });
    routes_->add(bhttp::verb::get, "/throw", [](request&&, route_match, responder) {
      throw std::runtime_error("boom");
    });
    routes_->add(bhttp::verb::get, "/drop", [](request&&, route_match, responder) {});
    routes_->add(bhttp::verb::get, "/twice", [](request&& req, route_match, responder reply) {
      reply(make_json(bhttp::status::ok, R"({"n":1})", req));
      reply(make_json(bhttp::status::ok, R"({"n":2})", req));
    });
    routes_->add(bhttp::verb::get, "/thread", [this](request&& req, route_match, responder reply) {
      std::lock_guard<std::mutex> guard{mtx_};
      auto version = req.version();
      threads_.emplace_back([reply, version]() mutable {
        request r;
        r.version(version);
        reply(make_json(bhttp::status::accepted, R"({"from":"thread"})", r));
      });
    });
    routes_->add(bhttp::verb::get, "/close", [](request&& req, route_match, responder reply) {
      auto res = make_json(bhttp::status::ok, "{}", req);
      res.keep_alive(false);
      reply(std::move(res));
    });
    // Answers whether the handed-over socket has TCP_NODELAY set.
    routes_->add_upgrade("/probe-nodelay", [](net_stream&& stream, request&&) {
      net::ip::tcp::no_delay option;
      stream.next_layer().socket().get_option(option);
      auto answer = std::make_shared<std::string>(
          std::string{"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\n"}
          + (option.value() ? "1" : "0"));
      auto socket = std::make_shared<net_stream>(std::move(stream));
      net::async_write(*socket, net::buffer(*answer),
                       [socket, answer](beast::error_code, std::size_t) {});
    });
    // Keeps the handed-over socket open until the test lets go of it.
    routes_->add_upgrade("/hold", [this](net_stream&& stream, request&&) {
      std::lock_guard<std::mutex> guard{mtx_};
      held_.push_back(std::make_shared<net_stream>(std::move(stream)));
    });
    routes_->add_upgrade("/echo-ws", [](net_stream&& stream, request&& req) {
      auto ws = std::make_shared<websocket::stream<net_stream>>(std::move(stream));
      auto upgrade = std::make_shared<request>(std::move(req));
      ws->async_accept(*upgrade, [ws, upgrade](beast::error_code ec) {
        if (ec) return;
        static const std::string hello = "hello over the handed-over socket";
        ws->async_write(net::buffer(hello), [ws](beast::error_code, std::size_t) {});
      });
    });
  }

  ~HttpServer() override {
    if (server_) server_->stop();
    for (auto& t : threads_)
      t.join();
  }

  void start() {
    server_ = std::make_unique<server>(settings_, routes_);
    auto ec = server_->start();
    ASSERT_FALSE(ec) << ec.message();
    ASSERT_NE(server_->port(), 0);
    server_->run(settings_.threads);
  }

  uint16_t port() const {
    return server_->port();
  }

  puzzle::config::http_settings settings_;
  std::shared_ptr<router> routes_;
  std::unique_ptr<server> server_;
  std::mutex mtx_;
  std::vector<std::thread> threads_;
  std::vector<std::shared_ptr<net_stream>> held_;
};

/// Polls `pred` until it holds or five seconds pass.
template<class Pred>
bool eventually(Pred pred) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds{5};
  while (!pred()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::yield();
  }
  return true;
}

TEST_F(HttpServer, BindsAnEphemeralPort) {
  start();
  EXPECT_GT(port(), 1023);
  http_client c{port()};
  auto res = c.roundtrip(make_request(bhttp::verb::get, "/ping"));
  EXPECT_EQ(res.result(), bhttp::status::ok);
  EXPECT_EQ(res.body(), R"({"pong":true})");
  EXPECT_EQ(header(res, "Content-Type"), "application/json; charset=utf-8");
  EXPECT_EQ(header(res, "Content-Length"), "13");
}

TEST_F(HttpServer, ReportsBindFailures) {
  start();
  settings_.port = port();
  server second{settings_, routes_};
  auto ec = second.start();
  EXPECT_TRUE(ec == std::errc::address_in_use) << ec.message();
}

TEST_F(HttpServer, RoutesWithDecodedParams) {
  start();
  http_client c{port()};
  auto res = c.roundtrip(make_request(bhttp::verb::get, "/api/items/a%2Fb/parts/%E2%9C%93?x=1"));
  EXPECT_EQ(res.result(), bhttp::status::ok);
  EXPECT_EQ(body_json(res), (json{{"id", "a/b"}, {"part", "\xE2\x9C\x93"}}));
}

TEST_F(HttpServer, UnknownPathIs404Json) {
  start();
  http_client c{port()};
  auto res = c.roundtrip(make_request(bhttp::verb::get, "/nope"));
  EXPECT_EQ(res.result(), bhttp::status::not_found);
  EXPECT_EQ(body_json(res), error_json(404, "NOT_FOUND", "no resource at this path"));
  auto post = c.roundtrip(make_request(bhttp::verb::post, "/nope", "{}"));
  EXPECT_EQ(post.result(), bhttp::status::not_found);
}

TEST_F(HttpServer, WrongMethodIs405WithAllow) {
  start();
  http_client c{port()};
  auto res = c.roundtrip(make_request(bhttp::verb::put, "/api/items/1"));
  EXPECT_EQ(res.result(), bhttp::status::method_not_allowed);
  EXPECT_EQ(header(res, "Allow"), "DELETE, OPTIONS");
  EXPECT_EQ(body_json(res),
            error_json(405, "METHOD_NOT_ALLOWED", "method not allowed on this path"));
}

TEST_F(HttpServer, BodyOverLimitIs413AndCloses) {
  start();
  http_client c{port()};
  auto ok = c.roundtrip(make_request(bhttp::verb::post, "/api/items", std::string(1024, 'x')));
  EXPECT_EQ(ok.result(), bhttp::status::created);
  EXPECT_EQ(body_json(ok), (json{{"size", 1024}}));
  auto res = c.roundtrip(make_request(bhttp::verb::post, "/api/items", std::string(4096, 'x')));
  EXPECT_EQ(res.result(), bhttp::status::payload_too_large);
  EXPECT_EQ(body_json(res),
            error_json(413, "LIMIT_EXCEEDED", "request body exceeds http.body-limit (1024 bytes)"));
  EXPECT_EQ(header(res, "Connection"), "close");
  expect_security_headers(res);
  EXPECT_TRUE(c.wait_closed());
}

TEST_F(HttpServer, AnOversizedBodySentWholeStillGets413NotAReset) {
  // Browsers send the whole body before they read the answer. Larger than
  // the socket buffers, it only gets through if the server keeps reading
  // after refusing it; closing at once would reset the connection and the
  // client would never see the 413.
  start();
  http_client c{port()};
  ASSERT_NO_THROW(
      c.write(make_request(bhttp::verb::post, "/api/items", std::string(8 << 20, 'x'))));
  auto res = c.read();
  ASSERT_TRUE(res);
  EXPECT_EQ(res->result(), bhttp::status::payload_too_large);
}

TEST_F(HttpServer, AcceptedSocketsSendSmallFramesAtOnce) {
  // Regression: without TCP_NODELAY small real-time frames waited for the
  // peer's delayed ACK (S1 delivery p50 18 ms).
  start();
  http_client c{port()};
  auto req = make_request(bhttp::verb::get, "/probe-nodelay");
  req.set(bhttp::field::connection, "Upgrade");
  req.set(bhttp::field::upgrade, "websocket");
  req.set(bhttp::field::sec_websocket_key, "dGhlIHNhbXBsZSBub25jZQ==");
  req.set(bhttp::field::sec_websocket_version, "13");
  c.write(req);
  auto res = c.read();
  ASSERT_TRUE(res);
  EXPECT_EQ(res->body(), "1");
}

TEST_F(HttpServer, ChunkedBodyOverLimitIs413) {
  start();
  http_client c{port()};
  std::string chunk(800, 'y');
  std::string raw = "POST /api/items HTTP/1.1\r\nHost: t\r\n"
                    "Transfer-Encoding: chunked\r\n\r\n";
  for (int i = 0; i < 2; ++i)
    raw += "320\r\n" + chunk + "\r\n";
  raw += "0\r\n\r\n";
  c.write_raw(raw);
  auto res = c.read();
  ASSERT_TRUE(res);
  EXPECT_EQ(res->result(), bhttp::status::payload_too_large);
  EXPECT_TRUE(c.wait_closed());
}

/// A route with its own body limit, above the server's 1024 bytes.
void add_upload_route(router& routes) {
  routes.add(
      bhttp::verb::post, "/upload",
      [](request&& req, route_match, responder reply) {
        json j{{"size", req.body().size()}};
        reply(make_json(bhttp::status::created, j.dump(), req));
      },
      route_options{8192, "upload.max-bytes"});
}

TEST_F(HttpServer, ARouteMayAcceptLargerBodiesThanTheServer) {
  add_upload_route(*routes_);
  start();
  http_client c{port()};
  auto ok = c.roundtrip(make_request(bhttp::verb::post, "/upload", std::string(8192, 'u')));
  EXPECT_EQ(ok.result(), bhttp::status::created);
  EXPECT_EQ(body_json(ok), (json{{"size", 8192}}));
  // Other routes keep the server's limit, on the same connection too.
  auto other = c.roundtrip(make_request(bhttp::verb::post, "/api/items", std::string(2000, 'x')));
  EXPECT_EQ(other.result(), bhttp::status::payload_too_large);
  EXPECT_EQ(body_json(other),
            error_json(413, "LIMIT_EXCEEDED", "request body exceeds http.body-limit (1024 bytes)"));
  http_client c2{port()};
  auto big = c2.roundtrip(make_request(bhttp::verb::post, "/upload", std::string(9000, 'u')));
  EXPECT_EQ(big.result(), bhttp::status::payload_too_large);
  EXPECT_EQ(
      body_json(big),
      error_json(413, "LIMIT_EXCEEDED", "request body exceeds upload.max-bytes (8192 bytes)"));
  EXPECT_TRUE(c2.wait_closed());
}

TEST_F(HttpServer, ChunkedBodyOverARouteLimitIs413) {
  add_upload_route(*routes_);
  start();
  http_client c{port()};
  std::string chunk(5000, 'y');
  c.write_raw("POST /upload HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n1388\r\n"
              + chunk + "\r\n1388\r\n" + chunk + "\r\n0\r\n\r\n");
  auto res = c.read();
  ASSERT_TRUE(res);
  EXPECT_EQ(res->result(), bhttp::status::payload_too_large);
  EXPECT_EQ(
      body_json(*res),
      error_json(413, "LIMIT_EXCEEDED", "request body exceeds upload.max-bytes (8192 bytes)"));
  http_client ok{port()};
  ok.write_raw("POST /upload HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n1388\r\n"
               + chunk + "\r\n0\r\n\r\n");
  auto accepted = ok.read();
  ASSERT_TRUE(accepted);
  EXPECT_EQ(accepted->result(), bhttp::status::created);
}

TEST_F(HttpServer, ExpectContinueGetsAnInterimAnswerOrAnEarly413) {
  add_upload_route(*routes_);
  start();
  http_client c{port()};
  c.write_raw("POST /upload HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n"
              "Expect: 100-continue\r\n\r\n");
  auto interim = c.read();
  ASSERT_TRUE(interim);
  EXPECT_EQ(interim->result_int(), 100u);
  c.write_raw("hello");
  auto res = c.read();
  ASSERT_TRUE(res);
  EXPECT_EQ(res->result(), bhttp::status::created);
  EXPECT_EQ(body_json(*res), (json{{"size", 5}}));
  // Refused from the declared length alone: the body is never sent.
  http_client early{port()};
  early.write_raw("POST /upload HTTP/1.1\r\nHost: t\r\nContent-Length: 1000000\r\n"
                  "Expect: 100-continue\r\n\r\n");
  auto refused = early.read();
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->result(), bhttp::status::payload_too_large);
  EXPECT_TRUE(early.wait_closed());
}

TEST_F(HttpServer, HeadersOverLimitAre431AndClose) {
  start();
  http_client c{port()};
  auto req = make_request(bhttp::verb::get, "/ping");
  req.set("X-Big", std::string(2000, 'a'));
  auto res = c.roundtrip(std::move(req));
  EXPECT_EQ(res.result(), bhttp::status::request_header_fields_too_large);
  EXPECT_EQ(
      body_json(res),
      error_json(431, "LIMIT_EXCEEDED", "request headers exceed http.header-limit (1024 bytes)"));
  EXPECT_EQ(header(res, "Connection"), "close");
  EXPECT_TRUE(c.wait_closed());
}

TEST_F(HttpServer, MalformedRequestIs400AndCloses) {
  start();
  http_client c{port()};
  c.write_raw("GET /ping HTTP/1.1\r\nHost t\r\n\r\n");
  auto res = c.read();
  ASSERT_TRUE(res);
  EXPECT_EQ(res->result(), bhttp::status::bad_request);
  EXPECT_EQ(body_json(*res).at("code"), "INVALID_ARGUMENT");
  EXPECT_TRUE(c.wait_closed());
}

TEST_F(HttpServer, KeepAliveServesTwoRequestsOnOneSocket) {
  start();
  http_client c{port()};
  auto first = c.roundtrip(make_request(bhttp::verb::get, "/ping"));
  EXPECT_EQ(first.result(), bhttp::status::ok);
  EXPECT_TRUE(first.keep_alive());
  auto second = c.roundtrip(make_request(bhttp::verb::get, "/api/items/1/parts/2"));
  EXPECT_EQ(second.result(), bhttp::status::ok);
  EXPECT_EQ(body_json(second), (json{{"id", "1"}, {"part", "2"}}));
  EXPECT_EQ(server_->open_connections(), 1u);
}

TEST_F(HttpServer, PipelinedRequestsAreAnsweredInOrder) {
  start();
  http_client c{port()};
  c.write_raw("GET /api/items/1/parts/a HTTP/1.1\r\nHost: t\r\n\r\n"
              "GET /thread HTTP/1.1\r\nHost: t\r\n\r\n"
              "GET /api/items/3/parts/c HTTP/1.1\r\nHost: t\r\n\r\n");
  auto a = c.read();
  auto b = c.read();
  auto d = c.read();
  ASSERT_TRUE(a && b && d);
  EXPECT_EQ(body_json(*a), (json{{"id", "1"}, {"part", "a"}}));
  EXPECT_EQ(b->result(), bhttp::status::accepted);
  EXPECT_EQ(body_json(*b), (json{{"from", "thread"}}));
  EXPECT_EQ(body_json(*d), (json{{"id", "3"}, {"part", "c"}}));
}

TEST_F(HttpServer, HonoursConnectionCloseAndHttp10) {
  start();
  http_client c{port()};
  auto req = make_request(bhttp::verb::get, "/ping");
  req.keep_alive(false);
  auto res = c.roundtrip(std::move(req));
  EXPECT_EQ(res.result(), bhttp::status::ok);
  EXPECT_EQ(header(res, "Connection"), "close");
  EXPECT_TRUE(c.wait_closed());
  http_client old{port()};
  auto req10 = make_request(bhttp::verb::get, "/ping");
  req10.version(10);
  auto res10 = old.roundtrip(std::move(req10));
  EXPECT_EQ(res10.version(), 10u);
  EXPECT_FALSE(res10.keep_alive());
  EXPECT_TRUE(old.wait_closed());
  http_client asked{port()};
  auto handler_close = asked.roundtrip(make_request(bhttp::verb::get, "/close"));
  EXPECT_EQ(header(handler_close, "Connection"), "close");
  EXPECT_TRUE(asked.wait_closed());
}

TEST_F(HttpServer, CorsPreflightFromAllowedOrigin) {
  start();
  http_client c{port()};
  auto req = make_request(bhttp::verb::options, "/api/items/5");
  req.set(bhttp::field::origin, "https://app.example");
  req.set(bhttp::field::access_control_request_method, "DELETE");
  req.set(bhttp::field::access_control_request_headers, "authorization");
  auto res = c.roundtrip(std::move(req));
  EXPECT_EQ(res.result(), bhttp::status::no_content);
  EXPECT_EQ(header(res, "Access-Control-Allow-Origin"), "https://app.example");
  EXPECT_EQ(header(res, "Access-Control-Allow-Credentials"), "true");
  EXPECT_EQ(header(res, "Access-Control-Allow-Methods"), "DELETE, OPTIONS");
  EXPECT_EQ(header(res, "Access-Control-Allow-Headers"),
            "x-requested-with, x-signalr-user-agent, authorization, "
            "content-type");
  EXPECT_EQ(header(res, "Access-Control-Max-Age"), "600");
  EXPECT_EQ(header(res, "Vary"), "Origin");
  EXPECT_EQ(header(res, "Allow"), "DELETE, OPTIONS");
  EXPECT_EQ(res.body(), "");
  expect_security_headers(res);
}

TEST_F(HttpServer, CorsPreflightFromDisallowedOriginGetsNoGrant) {
  start();
  http_client c{port()};
  auto req = make_request(bhttp::verb::options, "/api/items");
  req.set(bhttp::field::origin, "https://evil.example");
  req.set(bhttp::field::access_control_request_method, "POST");
  auto res = c.roundtrip(std::move(req));
  EXPECT_EQ(res.result(), bhttp::status::no_content);
  EXPECT_EQ(header(res, "Access-Control-Allow-Origin"), "<none>");
  EXPECT_EQ(header(res, "Access-Control-Allow-Credentials"), "<none>");
  EXPECT_EQ(header(res, "Access-Control-Allow-Methods"), "<none>");
  EXPECT_EQ(header(res, "Allow"), "POST, OPTIONS");
  auto unknown = make_request(bhttp::verb::options, "/nothing-here");
  unknown.set(bhttp::field::origin, "https://app.example");
  EXPECT_EQ(c.roundtrip(std::move(unknown)).result(), bhttp::status::not_found);
}

TEST_F(HttpServer, CorsHeadersOnActualResponsesOnlyForAllowedOrigins) {
  start();
  http_client c{port()};
  auto allowed = make_request(bhttp::verb::get, "/ping");
  allowed.set(bhttp::field::origin, "https://app.example");
  auto res = c.roundtrip(std::move(allowed));
  EXPECT_EQ(header(res, "Access-Control-Allow-Origin"), "https://app.example");
  EXPECT_EQ(header(res, "Access-Control-Allow-Credentials"), "true");
  EXPECT_EQ(header(res, "Access-Control-Expose-Headers"), "Location");
  EXPECT_EQ(header(res, "Vary"), "Origin");
  auto other = make_request(bhttp::verb::get, "/ping");
  other.set(bhttp::field::origin, "https://evil.example");
  auto res2 = c.roundtrip(std::move(other));
  EXPECT_EQ(res2.result(), bhttp::status::ok);
  EXPECT_EQ(header(res2, "Access-Control-Allow-Origin"), "<none>");
  auto same_origin = c.roundtrip(make_request(bhttp::verb::get, "/ping"));
  EXPECT_EQ(header(same_origin, "Access-Control-Allow-Origin"), "<none>");
  EXPECT_EQ(header(same_origin, "Access-Control-Allow-Credentials"), "<none>");
  EXPECT_EQ(header(same_origin, "Vary"), "Origin");
}

TEST_F(HttpServer, CorsWildcardEchoesTheOriginNeverAStar) {
  settings_.cors_origins = {"*"};
  start();
  http_client c{port()};
  auto req = make_request(bhttp::verb::options, "/ping");
  req.set(bhttp::field::origin, "http://localhost:5173");
  req.set(bhttp::field::access_control_request_method, "GET");
  auto res = c.roundtrip(std::move(req));
  EXPECT_EQ(res.result(), bhttp::status::no_content);
  EXPECT_EQ(header(res, "Access-Control-Allow-Origin"), "http://localhost:5173");
  EXPECT_EQ(header(res, "Access-Control-Allow-Credentials"), "true");
  EXPECT_EQ(header(res, "Access-Control-Allow-Methods"), "GET, HEAD, OPTIONS");
}

TEST_F(HttpServer, WithoutCorsOriginsNoCorsHeadersAtAll) {
  settings_.cors_origins.clear();
  start();
  http_client c{port()};
  auto req = make_request(bhttp::verb::get, "/ping");
  req.set(bhttp::field::origin, "https://app.example");
  auto res = c.roundtrip(std::move(req));
  EXPECT_EQ(res.result(), bhttp::status::ok);
  EXPECT_EQ(header(res, "Access-Control-Allow-Origin"), "<none>");
  EXPECT_EQ(header(res, "Vary"), "<none>");
}

TEST_F(HttpServer, SecurityHeadersOnEveryResponse) {
  start();
  http_client c{port()};
  for (auto target : {"/ping", "/nope", "/throw"})
    expect_security_headers(c.roundtrip(make_request(bhttp::verb::get, target)));
  expect_security_headers(c.roundtrip(make_request(bhttp::verb::put, "/ping")));
  expect_security_headers(c.roundtrip(make_request(bhttp::verb::delete_, "/api/items/1")));
}

TEST_F(HttpServer, HandlerExceptionIs500Internal) {
  start();
  http_client c{port()};
  auto res = c.roundtrip(make_request(bhttp::verb::get, "/throw"));
  EXPECT_EQ(res.result(), bhttp::status::internal_server_error);
  EXPECT_EQ(body_json(res), error_json(500, "INTERNAL", "internal error"));
  // The connection survives.
  EXPECT_EQ(c.roundtrip(make_request(bhttp::verb::get, "/ping")).result(), bhttp::status::ok);
}

TEST_F(HttpServer, DroppedResponderIs500AndSecondCallIsIgnored) {
  start();
  http_client c{port()};
  auto res = c.roundtrip(make_request(bhttp::verb::get, "/drop"));
  EXPECT_EQ(res.result(), bhttp::status::internal_server_error);
  EXPECT_EQ(body_json(res), error_json(500, "INTERNAL", "the request was dropped unanswered"));
  auto twice = c.roundtrip(make_request(bhttp::verb::get, "/twice"));
  EXPECT_EQ(body_json(twice), (json{{"n", 1}}));
  auto next = c.roundtrip(make_request(bhttp::verb::get, "/ping"));
  EXPECT_EQ(next.body(), R"({"pong":true})");
}

TEST_F(HttpServer, ResponderWorksFromAnotherThread) {
  start();
  http_client c{port()};
  auto res = c.roundtrip(make_request(bhttp::verb::get, "/thread"));
  EXPECT_EQ(res.result(), bhttp::status::accepted);
  EXPECT_EQ(body_json(res), (json{{"from", "thread"}}));
}

TEST_F(HttpServer, NoContentHasNoBody) {
  start();
  http_client c{port()};
  auto res = c.roundtrip(make_request(bhttp::verb::delete_, "/api/items/9"));
  EXPECT_EQ(res.result(), bhttp::status::no_content);
  EXPECT_EQ(res.body(), "");
  EXPECT_EQ(header(res, "Content-Length"), "<none>");
}

TEST_F(HttpServer, HeadHasTheLengthButNoBody) {
  start();
  http_client c{port()};
  auto res = c.roundtrip(make_request(bhttp::verb::head, "/ping"), true);
  EXPECT_EQ(res.result(), bhttp::status::ok);
  EXPECT_EQ(header(res, "Content-Length"), "13");
  EXPECT_EQ(res.body(), "");
  // The stream is still in sync: the next answer parses.
  auto next = c.roundtrip(make_request(bhttp::verb::get, "/ping"));
  EXPECT_EQ(next.body(), R"({"pong":true})");
}

TEST_F(HttpServer, RefusesConnectionsBeyondTheLimitWith503) {
  settings_.max_connections = 2;
  start();
  http_client a{port()};
  http_client b{port()};
  EXPECT_EQ(a.roundtrip(make_request(bhttp::verb::get, "/ping")).result(), bhttp::status::ok);
  EXPECT_EQ(b.roundtrip(make_request(bhttp::verb::get, "/ping")).result(), bhttp::status::ok);
  EXPECT_EQ(server_->open_connections(), 2u);
  http_client c{port()};
  auto res = c.roundtrip(make_request(bhttp::verb::get, "/ping"));
  EXPECT_EQ(res.result(), bhttp::status::service_unavailable);
  EXPECT_EQ(body_json(res),
            error_json(503, "LIMIT_EXCEEDED", "too many connections (http.max-connections = 2)"));
  expect_security_headers(res);
  EXPECT_TRUE(c.wait_closed());
  // The admitted connections are unaffected.
  EXPECT_EQ(a.roundtrip(make_request(bhttp::verb::get, "/ping")).result(), bhttp::status::ok);
}

TEST_F(HttpServer, LimitsOpenSocketsPerAddressUpgradedOrNot) {
  settings_.max_connections_per_address = 3;
  start();
  http_client a{port()};
  EXPECT_EQ(a.roundtrip(make_request(bhttp::verb::get, "/ping")).result(), bhttp::status::ok);
  // An upgraded socket stays counted while its endpoint holds it.
  http_client b{port()};
  b.write_raw("GET /hold HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\n"
              "Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\n"
              "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n");
  ASSERT_TRUE(eventually([this] {
    std::lock_guard<std::mutex> guard{mtx_};
    return held_.size() == 1;
  }));
  EXPECT_EQ(server_->open_connections(), 1u);
  http_client c{port()};
  EXPECT_EQ(c.roundtrip(make_request(bhttp::verb::get, "/ping")).result(), bhttp::status::ok);
  EXPECT_EQ(server_->connections_from("127.0.0.1"), 3u);
  // The fourth is answered without its request being read, then closed.
  http_client d{port()};
  auto res = d.read();
  ASSERT_TRUE(res);
  EXPECT_EQ(res->result(), bhttp::status::service_unavailable);
  EXPECT_EQ(body_json(*res),
            error_json(503, "LIMIT_EXCEEDED",
                       "too many connections from this address "
                       "(http.max-connections-per-address = 3)"));
  expect_security_headers(*res);
  EXPECT_TRUE(d.wait_closed());
  EXPECT_EQ(server_->connections_from("127.0.0.1"), 3u);
  // The admitted ones carry on.
  EXPECT_EQ(a.roundtrip(make_request(bhttp::verb::get, "/ping")).result(), bhttp::status::ok);
  // Closing the upgraded socket frees its place.
  {
    std::lock_guard<std::mutex> guard{mtx_};
    held_.clear();
  }
  ASSERT_TRUE(eventually([this] {
    return server_->connections_from("127.0.0.1") == 2;
  }));
  http_client e{port()};
  EXPECT_EQ(e.roundtrip(make_request(bhttp::verb::get, "/ping")).result(), bhttp::status::ok);
}

TEST_F(HttpServer, PerAddressLimitZeroCountsNothing) {
  settings_.max_connections_per_address = 0;
  start();
  http_client a{port()};
  EXPECT_EQ(a.roundtrip(make_request(bhttp::verb::get, "/ping")).result(), bhttp::status::ok);
  EXPECT_EQ(server_->connections_from("127.0.0.1"), 0u);
}

TEST_F(HttpServer, CountsUpgradedSocketsTowardsTheLimit) {
  settings_.max_connections = 2;
  std::atomic<std::size_t> upgraded{2};
  start();
  server_->stop();
  server_ = std::make_unique<server>(settings_, routes_);
  server_->count_upgraded([&upgraded] {
    return upgraded.load();
  });
  ASSERT_FALSE(server_->start());
  server_->run(1);
  EXPECT_EQ(server_->open_connections(), 2u);
  http_client c{port()};
  auto res = c.roundtrip(make_request(bhttp::verb::get, "/ping"));
  EXPECT_EQ(res.result(), bhttp::status::service_unavailable);
  upgraded = 0;
  http_client d{port()};
  EXPECT_EQ(d.roundtrip(make_request(bhttp::verb::get, "/ping")).result(), bhttp::status::ok);
}

TEST_F(HttpServer, HandsWebSocketUpgradesOverWithTheSocket) {
  start();
  net::io_context ioc;
  websocket::stream<net::ip::tcp::socket> ws{ioc};
  ws.next_layer().connect({net::ip::make_address("127.0.0.1"), port()});
  beast::error_code ec;
  ws.handshake("127.0.0.1", "/echo-ws", ec);
  ASSERT_FALSE(ec) << ec.message();
  EXPECT_EQ(server_->open_connections(), 0u);
  beast::flat_buffer buffer;
  ws.read(buffer, ec);
  ASSERT_FALSE(ec) << ec.message();
  EXPECT_EQ(beast::buffers_to_string(buffer.data()), "hello over the handed-over socket");
}

TEST_F(HttpServer, UpgradeOnUnknownPathIs404) {
  start();
  net::io_context ioc;
  websocket::stream<net::ip::tcp::socket> ws{ioc};
  ws.next_layer().connect({net::ip::make_address("127.0.0.1"), port()});
  websocket::response_type res;
  beast::error_code ec;
  ws.handshake(res, "127.0.0.1", "/nowhere", ec);
  EXPECT_EQ(ec, websocket::error::upgrade_declined);
  // The same request by hand, to see the answer.
  http_client c{port()};
  auto req = make_request(bhttp::verb::get, "/nowhere");
  req.set(bhttp::field::connection, "Upgrade");
  req.set(bhttp::field::upgrade, "websocket");
  req.set(bhttp::field::sec_websocket_key, "dGhlIHNhbXBsZSBub25jZQ==");
  req.set(bhttp::field::sec_websocket_version, "13");
  auto answer = c.roundtrip(std::move(req));
  EXPECT_EQ(answer.result(), bhttp::status::not_found);
  EXPECT_EQ(body_json(answer), error_json(404, "NOT_FOUND", "no WebSocket endpoint at this path"));
}

TEST_F(HttpServer, ClosesIdleKeepAliveConnections) {
  settings_.idle_timeout = std::chrono::milliseconds{100};
  start();
  http_client c{port()};
  EXPECT_EQ(c.roundtrip(make_request(bhttp::verb::get, "/ping")).result(), bhttp::status::ok);
  EXPECT_TRUE(c.wait_closed());
}

TEST_F(HttpServer, ClosesConnectionsThatSendTooSlowly) {
  settings_.request_timeout = std::chrono::milliseconds{100};
  start();
  http_client c{port()};
  c.write_raw("GET /ping HTTP/1.1\r\nHost: t\r\n");
  EXPECT_TRUE(c.wait_closed());
}

TEST_F(HttpServer, StopClosesOpenConnections) {
  start();
  http_client c{port()};
  EXPECT_EQ(c.roundtrip(make_request(bhttp::verb::get, "/ping")).result(), bhttp::status::ok);
  server_->stop();
  EXPECT_TRUE(c.wait_closed());
  EXPECT_EQ(server_->open_connections(), 0u);
}

// -- static files -------------------------------------------------------------

class StaticFiles : public HttpServer {
protected:
  StaticFiles() {
    base_ = std::filesystem::temp_directory_path() / ("puzzle-static-" + puzzle::util::new_uuid());
    root_ = base_ / "web";
    std::filesystem::create_directories(root_ / "assets");
    std::filesystem::create_directories(root_ / "images");
    std::filesystem::create_directories(root_ / "docs");
    write(base_ / "secret.txt", "top secret");
    write(root_ / "index.html", "<!doctype html><title>puzzle</title>");
    write(root_ / "docs" / "index.html", "<p>docs</p>");
    write(root_ / "assets" / "app-3f2a.js", "console.log(1);");
    write(root_ / "style.css", "body{}");
    write(root_ / "images" / "coral-reef.svg", "<svg/>");
    write(root_ / "data.json", "{}");
    write(root_ / "favicon.ico", "ico");
    write(root_ / "blob.bin", "bin");
    std::filesystem::create_symlink(base_ / "secret.txt", root_ / "link.txt");
    settings_.web_root = root_.string();
    routes_->set_fallback(static_files{settings_.web_root});
  }

  ~StaticFiles() override {
    std::error_code ec;
    std::filesystem::remove_all(base_, ec);
  }

  static void write(const std::filesystem::path& p, const std::string& text) {
    std::ofstream out{p, std::ios::binary};
    out << text;
  }

  test_response get(http_client& c, const std::string& target) {
    return c.roundtrip(make_request(bhttp::verb::get, target));
  }

  std::filesystem::path base_;
  std::filesystem::path root_;
};

TEST_F(StaticFiles, ServesIndexForRootWithCspAndNoCache) {
  start();
  http_client c{port()};
  auto res = get(c, "/");
  EXPECT_EQ(res.result(), bhttp::status::ok);
  EXPECT_EQ(res.body(), "<!doctype html><title>puzzle</title>");
  EXPECT_EQ(header(res, "Content-Type"), "text/html; charset=utf-8");
  EXPECT_EQ(header(res, "Cache-Control"), "no-cache");
  EXPECT_EQ(header(res, "Content-Security-Policy"),
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src "
            "'self'; media-src 'self'; connect-src 'self'; object-src 'none'; "
            "base-uri 'none'; form-action 'self'; frame-ancestors 'none'");
  expect_security_headers(res);
  auto docs = get(c, "/docs/");
  EXPECT_EQ(docs.body(), "<p>docs</p>");
  auto docs2 = get(c, "/docs");
  EXPECT_EQ(docs2.body(), "<p>docs</p>");
}

TEST_F(StaticFiles, SetsContentTypesAndCaching) {
  start();
  http_client c{port()};
  auto js = get(c, "/assets/app-3f2a.js");
  EXPECT_EQ(js.body(), "console.log(1);");
  EXPECT_EQ(header(js, "Content-Type"), "text/javascript; charset=utf-8");
  EXPECT_EQ(header(js, "Cache-Control"), "public, max-age=31536000, immutable");
  EXPECT_EQ(header(js, "Content-Security-Policy"), "<none>");
  auto css = get(c, "/style.css");
  EXPECT_EQ(header(css, "Content-Type"), "text/css; charset=utf-8");
  EXPECT_EQ(header(css, "Cache-Control"), "public, max-age=300");
  auto svg = get(c, "/images/coral-reef.svg");
  EXPECT_EQ(svg.body(), "<svg/>");
  EXPECT_EQ(header(svg, "Content-Type"), "image/svg+xml");
  EXPECT_EQ(header(get(c, "/data.json"), "Content-Type"), "application/json");
  EXPECT_EQ(header(get(c, "/favicon.ico"), "Content-Type"), "image/x-icon");
  EXPECT_EQ(header(get(c, "/blob.bin"), "Content-Type"), "application/octet-stream");
  auto query = get(c, "/style.css?v=2");
  EXPECT_EQ(query.body(), "body{}");
}

TEST_F(StaticFiles, RefusesPathTraversal) {
  start();
  http_client c{port()};
  auto invalid = error_json(400, "INVALID_ARGUMENT", "invalid path");
  for (auto target :
       {"/../secret.txt", "/%2e%2e/secret.txt", "/%2E%2E%2Fsecret.txt", "/assets/../../secret.txt",
        "/assets/%2e%2e/%2e%2e/secret.txt", "/..%2fsecret.txt", "/.%2e/secret.txt", "/./index.html",
        "/assets/..%5c..%5csecret.txt", "/index.html%00.js"}) {
    auto res = get(c, target);
    EXPECT_EQ(res.result(), bhttp::status::bad_request) << target;
    EXPECT_EQ(body_json(res), invalid) << target;
    EXPECT_EQ(res.body().find("top secret"), std::string::npos);
  }
  // A symbolic link out of the root is not followed.
  auto link = get(c, "/link.txt");
  EXPECT_EQ(link.result(), bhttp::status::not_found);
  // Double encoding is one decode only: a literal file name, missing.
  EXPECT_EQ(get(c, "/%252e%252e/secret.txt").result(), bhttp::status::not_found);
}

TEST_F(StaticFiles, MissingFilesAre404JsonAndHeadWorks) {
  start();
  http_client c{port()};
  auto res = get(c, "/missing.js");
  EXPECT_EQ(res.result(), bhttp::status::not_found);
  EXPECT_EQ(body_json(res), error_json(404, "NOT_FOUND", "no resource at this path"));
  auto head = c.roundtrip(make_request(bhttp::verb::head, "/style.css"), true);
  EXPECT_EQ(head.result(), bhttp::status::ok);
  EXPECT_EQ(header(head, "Content-Length"), "6");
  EXPECT_EQ(header(head, "Content-Type"), "text/css; charset=utf-8");
  EXPECT_EQ(head.body(), "");
  auto post = c.roundtrip(make_request(bhttp::verb::post, "/style.css", "x"));
  EXPECT_EQ(post.result(), bhttp::status::not_found);
  // Routes win over files.
  EXPECT_EQ(get(c, "/ping").body(), R"({"pong":true})");
}

TEST(StaticFilesBuiltIn, EmptyRootServesABuiltInPage) {
  static_files files{""};
  request req{bhttp::verb::get, "/", 11};
  auto res = files.serve(req);
  EXPECT_EQ(res.result(), bhttp::status::ok);
  EXPECT_EQ(std::string{res[bhttp::field::content_type]}, "text/html; charset=utf-8");
  EXPECT_NE(res.body().find("<h1>Puzzle node</h1>"), std::string::npos);
  request other{bhttp::verb::get, "/app.js", 11};
  EXPECT_EQ(files.serve(other).result(), bhttp::status::not_found);
}

} // namespace

// -- the synchronous test client (shared with rest_api_test.cpp) -------------

namespace puzzle_test {

namespace {

/// Upper bound for one read; a broken server fails the test, never hangs it.
constexpr std::chrono::seconds read_deadline{10};

} // namespace

http_client::http_client(uint16_t port) : socket_(ioc_) {
  socket_.connect({net::ip::make_address("127.0.0.1"), port});
}

http_client::~http_client() = default;

void http_client::write(const test_request& req) {
  bhttp::write(socket_, req);
}

void http_client::write_raw(const std::string& bytes) {
  net::write(socket_, net::buffer(bytes));
}

std::optional<test_response> http_client::read(bool head) {
  bhttp::response_parser<bhttp::string_body> parser;
  parser.skip(head);
  bool done = false;
  beast::error_code result;
  bhttp::async_read(socket_, buffer_, parser, [&](beast::error_code ec, std::size_t) {
    done = true;
    result = ec;
  });
  ioc_.restart();
  ioc_.run_for(read_deadline);
  if (!done) {
    socket_.cancel();
    ioc_.restart();
    ioc_.run();
    return std::nullopt;
  }
  if (result) return std::nullopt;
  return parser.release();
}

test_response http_client::roundtrip(test_request req, bool head) {
  write(req);
  auto res = read(head);
  if (!res) throw std::runtime_error("no HTTP response");
  return std::move(*res);
}

bool http_client::wait_closed() {
  bool done = false;
  beast::error_code result;
  socket_.async_read_some(net::buffer(scratch_), [&](beast::error_code ec, std::size_t) {
    done = true;
    result = ec;
  });
  ioc_.restart();
  ioc_.run_for(read_deadline);
  if (!done) {
    socket_.cancel();
    ioc_.restart();
    ioc_.run();
    return false;
  }
  return result == net::error::eof || result == net::error::connection_reset;
}

test_request make_request(bhttp::verb method, const std::string& target, std::string body,
                          const std::string& content_type) {
  test_request req{method, target, 11};
  req.set(bhttp::field::host, "127.0.0.1");
  if (!body.empty() || method == bhttp::verb::post) {
    req.set(bhttp::field::content_type, content_type);
    req.body() = std::move(body);
  }
  req.prepare_payload();
  return req;
}

} // namespace puzzle_test

namespace {

TEST_F(HttpServer, RefusesRequestsOverTheRateLimitWith429AndRetryAfter) {
  puzzle::config::rate_limit_settings limits;
  limits.http_read = "fixed-window 2/1min";
  server_ = std::make_unique<server>(settings_, routes_);
  server_->limit_rates(std::make_shared<rate_limit_gate>(limits), [](const request& req) {
    auto it = req.find(bhttp::field::authorization);
    return it == req.end() ? std::string{} : std::string{it->value()};
  });
  ASSERT_FALSE(server_->start());
  server_->run(settings_.threads);
  http_client c{port()};
  for (int i = 0; i < 2; ++i)
    EXPECT_EQ(c.roundtrip(make_request(bhttp::verb::get, "/api/items/a/parts/b")).result(),
              bhttp::status::ok);
  auto refused = c.roundtrip(make_request(bhttp::verb::get, "/api/items/a/parts/b"));
  EXPECT_EQ(refused.result(), bhttp::status::too_many_requests);
  auto wait = std::stoi(header(refused, "Retry-After"));
  EXPECT_GE(wait, 1);
  EXPECT_LE(wait, 60);
  auto body = json::parse(refused.body());
  EXPECT_EQ(body["code"], "RATE_LIMITED");
  EXPECT_NE(body["message"].get<std::string>().find("rate-limits.http-read"), std::string::npos);
  EXPECT_EQ(c.roundtrip(make_request(bhttp::verb::get, "/ping")).result(), bhttp::status::ok)
      << "routes outside /api are not limited";
  EXPECT_EQ(c.roundtrip(make_request(bhttp::verb::delete_, "/api/items/x")).result(),
            bhttp::status::no_content)
      << "writes have a budget of their own";
}

} // namespace
