#include "transports/api/rest_api.hpp"

#include <algorithm>
#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <regex>
#include <string>
#include <vector>

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/send.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "actors/util/ids.hpp"
#include "actors/caf_errors.hpp"
#include "actors/type_ids.hpp"
#include "transports/api/actor_bridge.hpp"
#include "transports/auth/token_service.hpp"
#include "transports/auth/uuid.hpp"
#include "transports/http/server.hpp"

#include "support/http_client.hpp"

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using json = nlohmann::json;
using namespace puzzle;
using namespace std::chrono_literals;
using puzzle_test::http_client;
using puzzle_test::make_request;
using puzzle_test::test_response;
using transports::auth::token_service;

namespace {

constexpr int64_t t0_ms = 1'700'000'000'000;

// -- a directory actor with in-memory data ------------------------------------

struct fake_directory_state {
  std::map<std::string, session_summary> sessions;
  int64_t next_created_at = t0_ms;
  static inline const char* name = "fake_directory";
};

directory_actor::behavior_type
fake_directory(directory_actor::stateful_pointer<fake_directory_state> self) {
  return {
      [=](lookup_atom, const std::string&) -> caf::result<session_actor> {
        return make_error(errc::session_not_found, "no such session");
      },
      [=](create_atom, const create_request& req) -> caf::result<session_summary> {
        if (req.rows < 1 || req.cols < 1)
          return make_error(errc::invalid_argument, "rows and cols must be at least 1");
        if (int64_t{req.rows} * req.cols > 5000)
          return make_error(errc::limit_exceeded, "rows x cols exceeds limits.max_pieces (5000)");
        session_summary s;
        s.session_id = util::new_uuid();
        s.name = req.name;
        s.owner_id = req.owner.user_id;
        s.is_public = req.is_public;
        s.image = req.image;
        s.rows = req.rows;
        s.cols = req.cols;
        s.piece_count = req.rows * req.cols;
        s.created_at = self->state.next_created_at;
        self->state.next_created_at += 1000;
        self->state.sessions.emplace(s.session_id, s);
        return s;
      },
      [=](list_atom) {
        std::vector<session_summary> result;
        for (auto& [id, s] : self->state.sessions)
          result.push_back(s);
        std::sort(result.begin(), result.end(), [](auto& x, auto& y) {
          return x.created_at > y.created_at;
        });
        return result;
      },
      [=](state_atom, const std::string& id) -> caf::result<std::string> {
        auto i = self->state.sessions.find(id);
        if (i == self->state.sessions.end())
          return make_error(errc::session_not_found, "no session " + id);
        return R"({"sessionId":")" + id + R"(","name":")" + i->second.name + R"(","version":0})";
      },
      [=](delete_atom, const std::string& id, const std::string& user,
          bool is_admin) -> caf::result<bool> {
        auto i = self->state.sessions.find(id);
        if (i == self->state.sessions.end())
          return make_error(errc::session_not_found, "no session " + id);
        if (i->second.owner_id != user && !is_admin)
          return make_error(errc::forbidden, "only the owner may delete");
        self->state.sessions.erase(i);
        return true;
      },
      [=](stats_atom) {
        return static_cast<int32_t>(self->state.sessions.size());
      },
  };
}

/// A directory that never answers: every request parks its promise.
struct silent_state {
  std::vector<caf::response_promise> parked;
  static inline const char* name = "silent_directory";
};

using silent_actor = caf::typed_actor<caf::replies_to<state_atom, std::string>::with<std::string>>;

silent_actor::behavior_type silent_directory(silent_actor::stateful_pointer<silent_state> self) {
  return {
      [=](state_atom, const std::string&) -> caf::result<std::string> {
        self->state.parked.push_back(self->make_response_promise());
        return caf::delegated<std::string>{};
      },
  };
}

// -- fixture ------------------------------------------------------------------

class RestApi : public ::testing::Test {
protected:
  RestApi() {
    register_message_types(cfg_);
    system_ = std::make_unique<caf::actor_system>(cfg_);
    settings_.http.bind = "127.0.0.1";
    settings_.http.port = 0;
    settings_.auth.jwt_secret = "test secret, 32 bytes long......";
    tokens_ = std::make_unique<token_service>(settings_.auth, [] {
      return t0_ms;
    });
    directory_ = system_->spawn(fake_directory);
  }

  ~RestApi() override {
    if (server_) server_->stop();
    caf::anon_send_exit(directory_, caf::exit_reason::user_shutdown);
  }

  void start(std::chrono::milliseconds ask_timeout = 5s) {
    routes_ = std::make_shared<transports::http::router>();
    // A stand-in for the SignalR endpoint, so /api/demo sees it served.
    routes_->add_upgrade("/puzzlehub", [](beast::tcp_stream&&, transports::http::request&&) {});
    transports::api::rest_context ctx{*system_,
                                      directory_,
                                      *tokens_,
                                      settings_,
                                      [this](transports::api::database_report report) {
                                        report(db_ok_, db_description_, 1234us);
                                      },
                                      std::chrono::system_clock::now() - 90s,
                                      [this] {
                                        return server_ ? server_->open_connections() : 0;
                                      },
                                      ask_timeout,
                                      "9.9.9"};
    transports::api::register_rest_api(*routes_, std::move(ctx));
    server_ = std::make_unique<transports::http::server>(settings_.http, routes_);
    ASSERT_FALSE(server_->start());
    server_->run(2);
  }

  test_response send(bhttp::verb method, const std::string& target, std::string body = {},
                     const std::string& token = {},
                     const std::string& content_type = "application/json") {
    http_client c{server_->port()};
    auto req = make_request(method, target, std::move(body), content_type);
    if (!token.empty()) req.set(bhttp::field::authorization, "Bearer " + token);
    return c.roundtrip(std::move(req));
  }

  /// Creates a session through the API and returns its JSON.
  json create(const std::string& token, const std::string& name, bool is_public = true) {
    json body{
        {"name", name}, {"imageId", "coral-reef"}, {"rows", 3}, {"cols", 4}, {"public", is_public}};
    auto res = send(bhttp::verb::post, "/api/sessions", body.dump(), token);
    EXPECT_EQ(res.result(), bhttp::status::created) << res.body();
    return json::parse(res.body());
  }

  caf::actor_system_config cfg_;
  std::unique_ptr<caf::actor_system> system_;
  config::settings settings_;
  std::unique_ptr<token_service> tokens_;
  directory_actor directory_;
  std::shared_ptr<transports::http::router> routes_;
  std::unique_ptr<transports::http::server> server_;
  bool db_ok_ = true;
  std::string db_description_ = "SQLite is reachable";
};

json error_json(unsigned status, const std::string& code, const std::string& message) {
  return json{{"status", status}, {"code", code}, {"message", message}};
}

json body_of(const test_response& res) {
  return json::parse(res.body());
}

std::string header(const test_response& res, bhttp::field f) {
  auto it = res.find(f);
  return it == res.end() ? std::string{"<none>"} : std::string{it->value()};
}

bool is_iso(const json& x) {
  static const std::regex re{R"(^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$)"};
  return x.is_string() && std::regex_match(x.get<std::string>(), re);
}

bool is_timespan(const json& x) {
  static const std::regex re{R"(^(\d+\.)?\d{2}:\d{2}:\d{2}\.\d{7}$)"};
  return x.is_string() && std::regex_match(x.get<std::string>(), re);
}

std::string parse_error_of(const std::string& text) {
  try {
    auto parsed = json::parse(text);
    return "parsed: " + parsed.dump();
  } catch (const json::exception& e) {
    return std::string{"invalid JSON: "} + e.what();
  }
}

// -- auth and images ----------------------------------------------------------

TEST_F(RestApi, GuestTokenForATrimmedDisplayName) {
  start();
  auto res = send(bhttp::verb::post, "/api/auth/guest", R"({"displayName":"  Ada 🧩\u00a0 "})");
  ASSERT_EQ(res.result(), bhttp::status::ok) << res.body();
  auto body = body_of(res);
  auto user = tokens_->verify(body.at("token").get<std::string>());
  ASSERT_TRUE(user);
  EXPECT_EQ(body,
            (json{{"token", body.at("token")},
                  {"userId", user->user_id},
                  {"displayName", "Ada 🧩"},
                  {"expiresAt", "2023-11-15T22:13:20.000Z"}}));
  EXPECT_EQ(user->username, "Ada 🧩");
  // Field order as ASP.NET writes it.
  EXPECT_EQ(res.body().find(R"({"token":)"), 0u);
}

TEST_F(RestApi, GuestNameLimitsCountCodePoints) {
  start();
  std::string hundred;
  for (int i = 0; i < 100; ++i)
    hundred += "🧩";
  auto ok = send(bhttp::verb::post, "/api/auth/guest", json{{"displayName", hundred}}.dump());
  EXPECT_EQ(ok.result(), bhttp::status::ok);
  auto too_long = error_json(400, "INVALID_ARGUMENT",
                             "displayName must be a string of 1 to 100 "
                             "characters");
  for (auto body : {json{{"displayName", hundred + "x"}}, json{{"displayName", "   "}},
                    json{{"displayName", ""}}, json{{"displayName", 42}}, json{{"name", "Ada"}}}) {
    auto res = send(bhttp::verb::post, "/api/auth/guest", body.dump());
    EXPECT_EQ(res.result(), bhttp::status::bad_request) << body;
    EXPECT_EQ(body_of(res), too_long) << body;
  }
}

TEST_F(RestApi, BadJsonAndWrongContentTypes) {
  start();
  auto bad = send(bhttp::verb::post, "/api/auth/guest", "{");
  EXPECT_EQ(bad.result(), bhttp::status::bad_request);
  EXPECT_EQ(body_of(bad), error_json(400, "INVALID_ARGUMENT", parse_error_of("{")));
  auto array = send(bhttp::verb::post, "/api/auth/guest", "[]");
  EXPECT_EQ(body_of(array),
            error_json(400, "INVALID_ARGUMENT", "the request body must be a JSON object"));
  auto text
      = send(bhttp::verb::post, "/api/auth/guest", R"({"displayName":"Ada"})", {}, "text/plain");
  EXPECT_EQ(text.result(), bhttp::status::unsupported_media_type);
  EXPECT_EQ(body_of(text),
            error_json(415, "UNSUPPORTED_MEDIA_TYPE", "Content-Type must be application/json"));
}

TEST_F(RestApi, ListsAndFindsBuiltInImages) {
  start();
  auto res = send(bhttp::verb::get, "/api/images");
  EXPECT_EQ(res.result(), bhttp::status::ok);
  auto image = [](std::string id, std::string name, int w, int h) {
    auto url = "/images/" + id + ".svg";
    return json{{"id", id},   {"name", name}, {"url", url},
                {"width", w}, {"height", h},  {"thumbnailUrl", url}};
  };
  EXPECT_EQ(body_of(res),
            json::array({image("aurora-lake", "Aurora Lake", 1600, 1200),
                         image("autumn-mosaic", "Autumn Mosaic", 1600, 1000),
                         image("coral-reef", "Coral Reef", 1200, 1200)}));
  auto one = send(bhttp::verb::get, "/api/images/autumn-mosaic");
  EXPECT_EQ(body_of(one), image("autumn-mosaic", "Autumn Mosaic", 1600, 1000));
  auto missing = send(bhttp::verb::get, "/api/images/nope");
  EXPECT_EQ(missing.result(), bhttp::status::not_found);
  EXPECT_EQ(body_of(missing), error_json(404, "IMAGE_NOT_FOUND", "no image with this id"));
}

// -- sessions -----------------------------------------------------------------

TEST_F(RestApi, CreatingASessionNeedsAValidToken) {
  start();
  json body{{"name", "x"}, {"imageId", "coral-reef"}, {"rows", 2}, {"cols", 2}};
  auto none = send(bhttp::verb::post, "/api/sessions", body.dump());
  EXPECT_EQ(none.result(), bhttp::status::unauthorized);
  EXPECT_EQ(header(none, bhttp::field::www_authenticate), "Bearer");
  EXPECT_EQ(body_of(none), error_json(401, "UNAUTHORIZED", "a Bearer token is required"));
  auto bad = send(bhttp::verb::post, "/api/sessions", body.dump(), "abc.def.ghi");
  EXPECT_EQ(bad.result(), bhttp::status::unauthorized);
  EXPECT_EQ(body_of(bad),
            error_json(401, "UNAUTHORIZED", "invalid token (malformed or bad signature)"));
  token_service other_issuer{[] {
                               config::auth_settings s;
                               s.jwt_secret = "test secret, 32 bytes long......";
                               s.issuer = "elsewhere";
                               return s;
                             }(),
                             [] {
                               return t0_ms;
                             }};
  auto foreign = send(bhttp::verb::post, "/api/sessions", body.dump(),
                      other_issuer.issue_guest("Eve").value);
  EXPECT_EQ(body_of(foreign), error_json(401, "UNAUTHORIZED", "invalid token issuer"));
}

TEST_F(RestApi, CreatesASessionWithLocation) {
  start();
  auto ada = tokens_->issue_guest("Ada");
  json body{{"name", "  Reef  "}, {"imageId", "coral-reef"}, {"rows", 3},
            {"cols", 4},          {"rotation", true},        {"public", true}};
  auto res = send(bhttp::verb::post, "/api/sessions", body.dump(), ada.value);
  ASSERT_EQ(res.result(), bhttp::status::created) << res.body();
  auto created = body_of(res);
  auto id = created.at("id").get<std::string>();
  EXPECT_EQ(header(res, bhttp::field::location), "/api/sessions/" + id);
  EXPECT_EQ(created,
            (json{{"id", id},
                  {"name", "Reef"},
                  {"image",
                   {{"id", "coral-reef"},
                    {"url", "/images/coral-reef.svg"},
                    {"width", 1200},
                    {"height", 1200}}},
                  {"rows", 3},
                  {"cols", 4},
                  {"pieceCount", 12},
                  {"completedPieces", 0},
                  {"participantsOnline", 0},
                  {"completionPercentage", 0.0},
                  {"isCompleted", false},
                  {"isPublic", true},
                  {"ownerId", ada.user_id},
                  {"createdAt", "2023-11-14T22:13:20.000Z"}}));
}

TEST_F(RestApi, ValidatesSessionFieldsNamingThem) {
  start();
  auto token = tokens_->issue_guest("Ada").value;
  json good{{"name", "x"}, {"imageId", "coral-reef"}, {"rows", 2}, {"cols", 2}};
  auto with = [&](const char* key, json value) {
    auto body = good;
    if (value.is_discarded())
      body.erase(key);
    else
      body[key] = value;
    return body_of(send(bhttp::verb::post, "/api/sessions", body.dump(), token));
  };
  auto invalid = [](const std::string& message) {
    return error_json(400, "INVALID_ARGUMENT", message);
  };
  auto missing = json(json::value_t::discarded);
  EXPECT_EQ(with("name", missing), invalid("name must be a string of 1 to 100 characters"));
  EXPECT_EQ(with("name", std::string(101, 'n')),
            invalid("name must be a string of 1 to 100 characters"));
  EXPECT_EQ(with("imageId", "mona-lisa"), invalid("imageId names no known image"));
  EXPECT_EQ(with("imageId", 7), invalid("imageId must be a string"));
  EXPECT_EQ(with("rows", "3"), invalid("rows must be a 32-bit integer"));
  EXPECT_EQ(with("rows", 2.5), invalid("rows must be a 32-bit integer"));
  EXPECT_EQ(with("cols", 10'000'000'000), invalid("cols must be a 32-bit integer"));
  EXPECT_EQ(with("cols", missing), invalid("cols must be a 32-bit integer"));
  EXPECT_EQ(with("rotation", "yes"), invalid("rotation must be a boolean"));
  EXPECT_EQ(with("public", 1), invalid("public must be a boolean"));
}

TEST_F(RestApi, MapsDirectoryErrorsToStatusCodes) {
  start();
  auto token = tokens_->issue_guest("Ada").value;
  json big{{"name", "x"}, {"imageId", "coral-reef"}, {"rows", 100}, {"cols", 100}};
  auto res = send(bhttp::verb::post, "/api/sessions", big.dump(), token);
  EXPECT_EQ(res.result(), bhttp::status::payload_too_large);
  EXPECT_EQ(body_of(res),
            error_json(413, "LIMIT_EXCEEDED", "rows x cols exceeds limits.max_pieces (5000)"));
  json zero{{"name", "x"}, {"imageId", "coral-reef"}, {"rows", 0}, {"cols", 3}};
  auto res2 = send(bhttp::verb::post, "/api/sessions", zero.dump(), token);
  EXPECT_EQ(res2.result(), bhttp::status::bad_request);
  EXPECT_EQ(body_of(res2), error_json(400, "INVALID_ARGUMENT", "rows and cols must be at least 1"));
}

TEST_F(RestApi, ListsPublicSessionsNewestFirst) {
  start();
  auto token = tokens_->issue_guest("Ada").value;
  auto empty = send(bhttp::verb::get, "/api/sessions");
  EXPECT_EQ(empty.result(), bhttp::status::ok);
  EXPECT_EQ(body_of(empty), json::array());
  auto first = create(token, "first");
  create(token, "hidden", false);
  auto third = create(token, "third");
  auto res = send(bhttp::verb::get, "/api/sessions");
  EXPECT_EQ(body_of(res), json::array({third, first}));
}

TEST_F(RestApi, ReturnsTheSessionStateAsIs) {
  start();
  auto token = tokens_->issue_guest("Ada").value;
  auto id = create(token, "Reef").at("id").get<std::string>();
  auto res = send(bhttp::verb::get, "/api/sessions/" + id);
  EXPECT_EQ(res.result(), bhttp::status::ok);
  EXPECT_EQ(header(res, bhttp::field::content_type), "application/json; charset=utf-8");
  EXPECT_EQ(res.body(), R"({"sessionId":")" + id + R"(","name":"Reef","version":0})");
  auto missing = send(bhttp::verb::get, "/api/sessions/nope");
  EXPECT_EQ(missing.result(), bhttp::status::not_found);
  EXPECT_EQ(body_of(missing), error_json(404, "SESSION_NOT_FOUND", "no session nope"));
}

TEST_F(RestApi, OnlyTheOwnerDeletesASession) {
  start();
  auto ada = tokens_->issue_guest("Ada").value;
  auto bob = tokens_->issue_guest("Bob").value;
  auto id = create(ada, "Reef").at("id").get<std::string>();
  auto anonymous = send(bhttp::verb::delete_, "/api/sessions/" + id);
  EXPECT_EQ(anonymous.result(), bhttp::status::unauthorized);
  auto other = send(bhttp::verb::delete_, "/api/sessions/" + id, {}, bob);
  EXPECT_EQ(other.result(), bhttp::status::forbidden);
  EXPECT_EQ(body_of(other), error_json(403, "FORBIDDEN", "only the owner may delete"));
  auto owner = send(bhttp::verb::delete_, "/api/sessions/" + id, {}, ada);
  EXPECT_EQ(owner.result(), bhttp::status::no_content);
  EXPECT_EQ(owner.body(), "");
  EXPECT_EQ(send(bhttp::verb::get, "/api/sessions/" + id).result(), bhttp::status::not_found);
  auto again = send(bhttp::verb::delete_, "/api/sessions/" + id, {}, ada);
  EXPECT_EQ(again.result(), bhttp::status::not_found);
  EXPECT_EQ(body_of(again), error_json(404, "SESSION_NOT_FOUND", "no session " + id));
}

TEST_F(RestApi, AnActorThatDoesNotAnswerIs503) {
  auto silent = system_->spawn(silent_directory);
  caf::anon_send_exit(directory_, caf::exit_reason::user_shutdown);
  directory_ = caf::actor_cast<directory_actor>(silent);
  start(100ms);
  auto res = send(bhttp::verb::get, "/api/sessions/any");
  EXPECT_EQ(res.result(), bhttp::status::service_unavailable);
  EXPECT_EQ(body_of(res), error_json(503, "INTERNAL", "the service did not answer in time"));
}

TEST(ActorBridge, MapsErrors) {
  auto timeout = transports::api::to_http_error(caf::make_error(caf::sec::request_timeout));
  EXPECT_EQ(timeout.status, 503u);
  EXPECT_EQ(timeout.code, "INTERNAL");
  auto forbidden = transports::api::to_http_error(make_error(errc::forbidden, "not yours"));
  EXPECT_EQ(forbidden.status, 403u);
  EXPECT_EQ(forbidden.code, "FORBIDDEN");
  EXPECT_EQ(forbidden.message, "not yours");
  auto down = transports::api::to_http_error(caf::make_error(caf::sec::request_receiver_down));
  EXPECT_EQ(down.status, 500u);
  EXPECT_EQ(down.code, "INTERNAL");
  EXPECT_EQ(down.message, "request_receiver_down");
}

// -- health -------------------------------------------------------------------

TEST_F(RestApi, HealthAndLiveness) {
  start();
  auto health = send(bhttp::verb::get, "/health");
  EXPECT_EQ(health.result(), bhttp::status::ok);
  auto body = body_of(health);
  EXPECT_TRUE(is_iso(body.at("timestamp")));
  EXPECT_EQ(body, (json{{"status", "Healthy"}, {"timestamp", body["timestamp"]}}));
  EXPECT_EQ(header(health, bhttp::field::cache_control), "no-store, no-cache");
  auto live = body_of(send(bhttp::verb::get, "/health/live"));
  EXPECT_TRUE(is_iso(live.at("timestamp")));
  EXPECT_EQ(live, (json{{"status", "Alive"}, {"timestamp", live["timestamp"]}}));
}

TEST_F(RestApi, ReadinessFollowsTheDatabaseCheck) {
  start();
  auto ready = send(bhttp::verb::get, "/health/ready");
  EXPECT_EQ(ready.result(), bhttp::status::ok);
  auto body = body_of(ready);
  EXPECT_TRUE(is_timespan(body.at("totalDuration")));
  EXPECT_TRUE(is_iso(body.at("timestamp")));
  EXPECT_EQ(body,
            (json{{"status", "Healthy"},
                  {"totalDuration", body["totalDuration"]},
                  {"timestamp", body["timestamp"]}}));
  db_ok_ = false;
  auto down = send(bhttp::verb::get, "/health/ready");
  EXPECT_EQ(down.result(), bhttp::status::service_unavailable);
  EXPECT_EQ(body_of(down).at("status"), "Unhealthy");
}

TEST_F(RestApi, DetailedHealthReportsEachCheck) {
  start();
  auto res = send(bhttp::verb::get, "/health/detailed");
  EXPECT_EQ(res.result(), bhttp::status::ok);
  auto body = body_of(res);
  EXPECT_TRUE(is_timespan(body.at("totalDuration")));
  EXPECT_TRUE(is_iso(body.at("timestamp")));
  auto database = json{{"status", "Healthy"},
                       {"description", "SQLite is reachable"},
                       {"duration", "00:00:00.0012340"},
                       {"exception", nullptr},
                       {"data", json::object()}};
  EXPECT_EQ(body,
            (json{{"status", "Healthy"},
                  {"totalDuration", body["totalDuration"]},
                  {"timestamp", body["timestamp"]},
                  {"results", {{"database", database}}}}));
  db_ok_ = false;
  db_description_ = "database is locked";
  auto down = send(bhttp::verb::get, "/health/detailed");
  EXPECT_EQ(down.result(), bhttp::status::service_unavailable);
  auto down_body = body_of(down);
  EXPECT_EQ(down_body.at("status"), "Unhealthy");
  EXPECT_EQ(down_body.at("results").at("database").at("status"), "Unhealthy");
  EXPECT_EQ(down_body.at("results").at("database").at("description"), "database is locked");
}

// -- demo ---------------------------------------------------------------------

TEST_F(RestApi, DemoStatusListsServedFeatures) {
  start();
  auto res = send(bhttp::verb::get, "/api/demo/status");
  EXPECT_EQ(res.result(), bhttp::status::ok);
  auto body = body_of(res);
  EXPECT_TRUE(is_iso(body.at("timestamp")));
  // Started 90 s before the test: uptime is 00:01:30 and a little.
  EXPECT_EQ(body.at("uptime").get<std::string>().substr(0, 8), "00:01:30");
  EXPECT_EQ(body,
            (json{{"status", "running"},
                  {"version", "9.9.9"},
                  {"timestamp", body["timestamp"]},
                  {"uptime", body["uptime"]},
                  {"openConnections", 1},
                  {"features", {"REST API", "Health Checks", "SignalR Hub"}}}));
}

TEST_F(RestApi, DemoConnectionsMarkWhatIsServed) {
  start();
  auto res = send(bhttp::verb::get, "/api/demo/connections");
  EXPECT_EQ(res.result(), bhttp::status::ok);
  auto endpoint = [](std::string type, json url, std::string protocol, bool available) {
    return json{{"type", type}, {"url", url}, {"protocol", protocol}, {"available", available}};
  };
  EXPECT_EQ(body_of(res),
            (json{{"endpoints",
                   {endpoint("SignalR", "/puzzlehub", "WebSocket", true),
                    endpoint("WebRTC", "/webrtchub", "WebSocket", false),
                    endpoint("Raw WebSocket", "/ws", "WebSocket", false),
                    endpoint("Socket.IO", "/socket.io", "WebSocket", false),
                    endpoint("MQTT", nullptr, "MQTT", false)}}}));
}

TEST_F(RestApi, DemoEchoesAMessage) {
  start();
  auto res = send(bhttp::verb::post, "/api/demo/echo", R"({"message":"héllo 👋"})");
  EXPECT_EQ(res.result(), bhttp::status::ok);
  auto body = body_of(res);
  EXPECT_TRUE(is_iso(body.at("timestamp")));
  EXPECT_EQ(body,
            (json{{"message", "héllo 👋"},
                  {"timestamp", body["timestamp"]},
                  {"echoedAt", body["timestamp"]}}));
  auto bad = send(bhttp::verb::post, "/api/demo/echo", R"({"text":"x"})");
  EXPECT_EQ(bad.result(), bhttp::status::bad_request);
  EXPECT_EQ(body_of(bad), error_json(400, "INVALID_ARGUMENT", "message must be a string"));
}

TEST_F(RestApi, UnknownApiPathsAre404And405) {
  start();
  auto res = send(bhttp::verb::get, "/api/nothing");
  EXPECT_EQ(res.result(), bhttp::status::not_found);
  EXPECT_EQ(body_of(res).at("code"), "NOT_FOUND");
  auto put = send(bhttp::verb::put, "/api/sessions/x");
  EXPECT_EQ(put.result(), bhttp::status::method_not_allowed);
  EXPECT_EQ(header(put, bhttp::field::allow), "GET, HEAD, DELETE, OPTIONS");
}

} // namespace
