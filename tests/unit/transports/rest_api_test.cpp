#include "transports/api/rest_api.hpp"

#include <algorithm>
#include <atomic>
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
#include "actors/image/image_codec.hpp"
#include "actors/type_ids.hpp"
#include "persistence/sql/soci_store.hpp"
#include "persistence/store_actor.hpp"
#include "transports/api/actor_bridge.hpp"
#include "transports/auth/token_service.hpp"
#include "transports/auth/uuid.hpp"
#include "transports/http/net_stream.hpp"
#include "transports/http/server.hpp"

#include "support/http_client.hpp"
#include "tests/unit/support/test_images.hpp"

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
        auto& image = i->second.image;
        return R"({"sessionId":")" + id + R"(","name":")" + i->second.name
            + R"(","version":0,"image":{"id":")" + image.id + R"(","url":")" + image.url
            + R"(","width":)" + std::to_string(image.width) + R"(,"height":)"
            + std::to_string(image.height) + "}}";
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
      [=](list_atom, state_atom) {
        return std::vector<std::string>{};
      },
      [=](state_atom, const std::string& id, const user_identity&) -> caf::result<std::string> {
        // Every fake session is public: the same answer as without a user.
        auto i = self->state.sessions.find(id);
        if (i == self->state.sessions.end())
          return make_error(errc::session_not_found, "no session " + id);
        auto& image = i->second.image;
        return R"({"sessionId":")" + id + R"(","name":")" + i->second.name
            + R"(","version":0,"image":{"id":")" + image.id + R"(","url":")" + image.url
            + R"(","width":)" + std::to_string(image.width) + R"(,"height":)"
            + std::to_string(image.height) + "}}";
      },
      [=](invite_atom, const std::string&, const user_identity&) -> caf::result<std::string> {
        return std::string{};
      },
      [=](invite_atom, const std::string&, const user_identity&,
          const std::string&) -> caf::result<bool> {
        return true;
      },
      // The cluster's messages: not used by the REST routes.
      [=](adopt_atom, const session_snapshot&) -> caf::result<session_actor> {
        return make_error(errc::invalid_argument, "not a cluster");
      },
      [=](migrate_atom, const std::string&, const std::string&) -> caf::result<std::string> {
        return make_error(errc::invalid_argument, "not a cluster");
      },
      [=](drain_atom) {
        return int32_t{0};
      },
      [=](members_atom, const std::vector<cluster_member>&) {},
      [=](members_atom) {
        return std::vector<cluster_member>{};
      },
      [=](moved_atom, const std::string&, const session_actor&) {},
  };
}

/// A directory that never answers: every request parks its promise.
struct silent_state {
  std::vector<caf::response_promise> parked;
  static inline const char* name = "silent_directory";
};

using silent_actor
    = caf::typed_actor<caf::replies_to<state_atom, std::string>::with<std::string>,
                       caf::replies_to<state_atom, std::string, user_identity>::with<std::string>>;

silent_actor::behavior_type silent_directory(silent_actor::stateful_pointer<silent_state> self) {
  return {
      [=](state_atom, const std::string&) -> caf::result<std::string> {
        self->state.parked.push_back(self->make_response_promise());
        return caf::delegated<std::string>{};
      },
      [=](state_atom, const std::string&, const user_identity&) -> caf::result<std::string> {
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
    // A real store on an in-memory SQLite database, for uploaded images.
    auto db = persistence::soci_store::open("sqlite::memory:");
    if (!db || !(*db)->migrate()) {
      ADD_FAILURE() << "no in-memory store";
      return;
    }
    store_ = persistence::spawn_store(*system_, std::move(*db), settings_.store);
  }

  ~RestApi() override {
    if (server_) server_->stop();
    caf::anon_send_exit(directory_, caf::exit_reason::user_shutdown);
    if (store_) caf::anon_send_exit(store_, caf::exit_reason::user_shutdown);
  }

  void start(std::chrono::milliseconds ask_timeout = 5s) {
    routes_ = std::make_shared<transports::http::router>();
    // A stand-in for the SignalR endpoint, so /api/demo sees it served.
    routes_->add_upgrade("/puzzlehub",
                         [](transports::http::net_stream&&, transports::http::request&&) {});
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
    if (with_store_) ctx.store = store_;
    // Each upload one second after the one before: a stable list order.
    ctx.clock = [this] {
      return image_clock_ += 1000;
    };
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

  /// Uploads a file as `multipart/form-data`, with a `name` part unless
  /// `name` is empty.
  test_response upload_form(const std::string& bytes, const std::string& filename,
                            const std::string& token, const std::string& name = {},
                            const std::string& part_type = "image/jpeg") {
    std::string body = "--" + boundary
        + "\r\nContent-Disposition: form-data; name=\"file\"; "
          "filename=\""
        + filename + "\"\r\nContent-Type: " + part_type + "\r\n\r\n" + bytes + "\r\n";
    if (!name.empty())
      body += "--" + boundary + "\r\nContent-Disposition: form-data; name=\"name\"\r\n\r\n" + name
          + "\r\n";
    body += "--" + boundary + "--\r\n";
    return send(bhttp::verb::post, "/api/images", std::move(body), token,
                "multipart/form-data; boundary=" + boundary);
  }

  /// Uploads a PNG and returns its JSON.
  json upload_png(const std::string& token, uint32_t w, uint32_t h) {
    auto res
        = send(bhttp::verb::post, "/api/images", puzzle_test::make_png(w, h), token, "image/png");
    EXPECT_EQ(res.result(), bhttp::status::created) << res.body();
    return json::parse(res.body());
  }

  static inline const std::string boundary = "----PuzzleFormBoundary7MA4YWxkTrZu0gW";

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
  store_actor store_;
  bool with_store_ = true;
  std::atomic<int64_t> image_clock_{t0_ms};
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
                  {"expiresAt", "2023-11-15T22:13:20.000Z"},
                  {"roles", json::array({"player"})}}));
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
    return json{{"id", id},
                {"name", name},
                {"url", url},
                {"width", w},
                {"height", h},
                {"thumbnailUrl", url},
                {"contentType", "image/svg+xml"},
                {"builtIn", true}};
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

// -- uploaded images ----------------------------------------------------------

/// Bytes that do not compress: a PNG of them stays about as large.
puzzle_test::rgba noise(uint32_t x, uint32_t y) {
  auto h = (x * 2654435761u) ^ (y * 40503u + 0x9e3779b9u);
  h ^= h >> 13;
  h *= 0x5bd1e995u;
  return {static_cast<uint8_t>(h), static_cast<uint8_t>(h >> 8), static_cast<uint8_t>(h >> 16),
          255};
}

json uploaded(const std::string& id, const std::string& name, int w, int h, const std::string& type,
              size_t bytes, const std::string& owner, const std::string& created_at) {
  return json{{"id", id},
              {"name", name},
              {"url", "/api/images/" + id + "/file"},
              {"thumbnailUrl", "/api/images/" + id + "/thumbnail"},
              {"width", w},
              {"height", h},
              {"contentType", type},
              {"bytes", bytes},
              {"ownerId", owner},
              {"createdAt", created_at},
              {"builtIn", false}};
}

TEST_F(RestApi, UploadsARawPngAndServesItBack) {
  start();
  auto ada = tokens_->issue_guest("Ada");
  auto png = puzzle_test::make_png(640, 480);
  auto res = send(bhttp::verb::post, "/api/images?name=%20Sea%20view%F0%9F%8C%8A", png, ada.value,
                  "image/png");
  ASSERT_EQ(res.result(), bhttp::status::created) << res.body();
  auto body = body_of(res);
  auto id = body.at("id").get<std::string>();
  EXPECT_TRUE(util::is_uuid(id)) << id;
  EXPECT_EQ(header(res, bhttp::field::location), "/api/images/" + id);
  EXPECT_EQ(body,
            uploaded(id, "Sea view🌊", 640, 480, "image/png", png.size(), ada.user_id,
                     "2023-11-14T22:13:21.000Z"));
  // Field order as the API documents it.
  EXPECT_EQ(res.body().find(R"({"id":")"), 0u);
  auto file = send(bhttp::verb::get, "/api/images/" + id + "/file");
  ASSERT_EQ(file.result(), bhttp::status::ok);
  EXPECT_TRUE(file.body() == png) << "the file differs from the upload";
  EXPECT_EQ(header(file, bhttp::field::content_type), "image/png");
  EXPECT_EQ(header(file, bhttp::field::cache_control), "public, max-age=31536000, immutable");
  EXPECT_EQ(file["X-Content-Type-Options"], "nosniff");
  auto thumb = send(bhttp::verb::get, "/api/images/" + id + "/thumbnail");
  ASSERT_EQ(thumb.result(), bhttp::status::ok);
  EXPECT_EQ(header(thumb, bhttp::field::content_type), "image/jpeg");
  EXPECT_EQ(header(thumb, bhttp::field::cache_control), "public, max-age=31536000, immutable");
  auto pixels = puzzle_test::read_jpeg(thumb.body());
  EXPECT_EQ(pixels.width, 320u);
  EXPECT_EQ(pixels.height, 240u);
  EXPECT_EQ(body_of(send(bhttp::verb::get, "/api/images/" + id)), body);
  auto list = body_of(send(bhttp::verb::get, "/api/images"));
  ASSERT_EQ(list.size(), 4u);
  EXPECT_EQ(list[0].at("builtIn"), true);
  EXPECT_EQ(list[3], body);
}

TEST_F(RestApi, UploadsAJpegAsMultipartNamedByItsFileOrItsNamePart) {
  start();
  auto bob = tokens_->issue_guest("Bob");
  auto jpeg = puzzle_test::make_jpeg(300, 200);
  auto res = upload_form(jpeg, "C:\\fakepath\\holiday.jpg", bob.value);
  ASSERT_EQ(res.result(), bhttp::status::created) << res.body();
  auto first = body_of(res);
  auto id = first.at("id").get<std::string>();
  EXPECT_EQ(first,
            uploaded(id, "holiday.jpg", 300, 200, "image/jpeg", jpeg.size(), bob.user_id,
                     "2023-11-14T22:13:21.000Z"));
  auto file = send(bhttp::verb::get, "/api/images/" + id + "/file");
  EXPECT_TRUE(file.body() == jpeg) << "the file differs from the upload";
  EXPECT_EQ(header(file, bhttp::field::content_type), "image/jpeg");
  // Smaller than a thumbnail: the thumbnail keeps the size.
  auto thumb
      = puzzle_test::read_jpeg(send(bhttp::verb::get, "/api/images/" + id + "/thumbnail").body());
  EXPECT_EQ(thumb.width, 300u);
  EXPECT_EQ(thumb.height, 200u);
  auto named = upload_form(jpeg, "x.jpg", bob.value, "  Beach  ");
  ASSERT_EQ(named.result(), bhttp::status::created) << named.body();
  EXPECT_EQ(body_of(named).at("name"), "Beach");
  // The content type of the part does not matter, the bytes do.
  auto png = puzzle_test::make_png(10, 10);
  auto sniffed = upload_form(png, "a.jpg", bob.value, {}, "application/octet-stream");
  ASSERT_EQ(sniffed.result(), bhttp::status::created) << sniffed.body();
  EXPECT_EQ(body_of(sniffed).at("contentType"), "image/png");
}

TEST_F(RestApi, TransparentUploadsGetAPngThumbnail) {
  start();
  auto token = tokens_->issue_guest("Ada").value;
  auto png = puzzle_test::make_png(
      50, 50,
      [](uint32_t x, uint32_t) {
        return puzzle_test::rgba{1, 2, 3, x < 25 ? uint8_t{255} : uint8_t{0}};
      },
      true);
  auto res = send(bhttp::verb::post, "/api/images", png, token, "image/png");
  ASSERT_EQ(res.result(), bhttp::status::created) << res.body();
  auto id = body_of(res).at("id").get<std::string>();
  auto thumb = send(bhttp::verb::get, "/api/images/" + id + "/thumbnail");
  EXPECT_EQ(header(thumb, bhttp::field::content_type), "image/png");
  EXPECT_EQ(puzzle_test::read_png(thumb.body()).width, 50u);
}

TEST_F(RestApi, ListsBuiltInImagesFirstThenUploadsNewestFirst) {
  start();
  auto token = tokens_->issue_guest("Ada").value;
  auto first = upload_png(token, 20, 10);
  auto second = upload_png(token, 30, 10);
  EXPECT_EQ(first.at("name"), "Uploaded image");
  auto list = body_of(send(bhttp::verb::get, "/api/images"));
  ASSERT_EQ(list.size(), 5u);
  EXPECT_EQ(list[0].at("id"), "aurora-lake");
  EXPECT_EQ(list[2].at("id"), "coral-reef");
  EXPECT_EQ(list[3], second);
  EXPECT_EQ(list[4], first);
}

TEST_F(RestApi, UploadOverTheByteLimitIs413NamingTheKey) {
  settings_.http.body_limit = 4096;
  settings_.images.max_bytes = 64 * 1024;
  start();
  auto token = tokens_->issue_guest("Ada").value;
  // Larger than http.body-limit, within images.max-bytes: accepted.
  auto png = puzzle_test::make_png(100, 100, noise);
  ASSERT_GT(png.size(), 4096u);
  ASSERT_LT(png.size(), 64u * 1024);
  auto ok = send(bhttp::verb::post, "/api/images", png, token, "image/png");
  EXPECT_EQ(ok.result(), bhttp::status::created) << ok.body();
  auto res = send(bhttp::verb::post, "/api/images", std::string(64 * 1024 + 1000, 'x'), token,
                  "image/png");
  EXPECT_EQ(res.result(), bhttp::status::payload_too_large);
  EXPECT_EQ(
      body_of(res),
      error_json(413, "LIMIT_EXCEEDED", "request body exceeds images.max-bytes (65536 bytes)"));
  // Every other route keeps http.body-limit.
  auto other = send(bhttp::verb::post, "/api/auth/guest", std::string(5000, ' '));
  EXPECT_EQ(other.result(), bhttp::status::payload_too_large);
  EXPECT_EQ(body_of(other),
            error_json(413, "LIMIT_EXCEEDED", "request body exceeds http.body-limit (4096 bytes)"));
}

TEST_F(RestApi, WhatDoesNotDecodeIs400InvalidImage) {
  start();
  auto token = tokens_->issue_guest("Ada").value;
  auto not_image = error_json(400, "INVALID_IMAGE", "not a PNG or JPEG image");
  auto text = send(bhttp::verb::post, "/api/images", "just text\n", token, "image/png");
  EXPECT_EQ(text.result(), bhttp::status::bad_request);
  EXPECT_EQ(body_of(text), not_image);
  auto text_file = upload_form("hello, world\n", "notes.txt", token, {}, "text/plain");
  EXPECT_EQ(body_of(text_file), not_image);
  auto empty = send(bhttp::verb::post, "/api/images", "", token, "image/jpeg");
  EXPECT_EQ(body_of(empty), not_image);
  auto png = puzzle_test::make_png(200, 200, noise);
  auto truncated
      = send(bhttp::verb::post, "/api/images", png.substr(0, png.size() / 2), token, "image/png");
  EXPECT_EQ(body_of(truncated),
            error_json(400, "INVALID_IMAGE", "corrupt PNG: the file is truncated"));
  auto jpeg = puzzle_test::make_jpeg(64, 64);
  auto cut = upload_form(jpeg.substr(0, jpeg.size() - 2), "a.jpg", token);
  EXPECT_EQ(body_of(cut),
            error_json(400, "INVALID_IMAGE", "corrupt JPEG: Premature end of JPEG file"));
  // Nothing of it was stored.
  EXPECT_EQ(body_of(send(bhttp::verb::get, "/api/images")).size(), 3u);
}

TEST_F(RestApi, OtherContentTypesAre415) {
  start();
  auto token = tokens_->issue_guest("Ada").value;
  for (std::string type : {"text/plain", "application/json", "image/gif", "image/svg+xml"}) {
    auto res = send(bhttp::verb::post, "/api/images", puzzle_test::make_png(4, 4), token, type);
    EXPECT_EQ(res.result(), bhttp::status::unsupported_media_type) << type;
    EXPECT_EQ(body_of(res),
              error_json(415, "UNSUPPORTED_MEDIA_TYPE",
                         "Content-Type must be image/png, image/jpeg or "
                         "multipart/form-data"));
  }
  auto upper = send(bhttp::verb::post, "/api/images", puzzle_test::make_png(4, 4), token,
                    "Image/PNG; charset=binary");
  EXPECT_EQ(upper.result(), bhttp::status::created) << upper.body();
}

TEST_F(RestApi, ImagesOverThePixelOrSideLimitAre413) {
  settings_.images.max_pixels = 1000;
  settings_.limits.max_image_side = 30;
  start();
  auto token = tokens_->issue_guest("Ada").value;
  auto big
      = send(bhttp::verb::post, "/api/images", puzzle_test::make_png(40, 40), token, "image/png");
  EXPECT_EQ(big.result(), bhttp::status::payload_too_large);
  EXPECT_EQ(body_of(big),
            error_json(413, "LIMIT_EXCEEDED",
                       "image is 40x40 pixels; at most 1000 pixels "
                       "(images.max-pixels)"));
  auto wide = upload_form(puzzle_test::make_jpeg(31, 10), "w.jpg", token);
  EXPECT_EQ(body_of(wide),
            error_json(413, "LIMIT_EXCEEDED",
                       "image is 31x10 pixels; each side at most 30 pixels "
                       "(limits.max-image-side)"));
  EXPECT_EQ(
      send(bhttp::verb::post, "/api/images", puzzle_test::make_png(30, 30), token, "image/png")
          .result(),
      bhttp::status::created);
}

TEST_F(RestApi, UploadingNeedsAToken) {
  start();
  auto png = puzzle_test::make_png(4, 4);
  auto none = send(bhttp::verb::post, "/api/images", png, {}, "image/png");
  EXPECT_EQ(none.result(), bhttp::status::unauthorized);
  EXPECT_EQ(header(none, bhttp::field::www_authenticate), "Bearer");
  EXPECT_EQ(body_of(none), error_json(401, "UNAUTHORIZED", "a Bearer token is required"));
  auto bad = send(bhttp::verb::post, "/api/images", png, "abc.def.ghi", "image/png");
  EXPECT_EQ(bad.result(), bhttp::status::unauthorized);
}

TEST_F(RestApi, MalformedUploadFormsAre400) {
  start();
  auto token = tokens_->issue_guest("Ada").value;
  auto jpeg = puzzle_test::make_jpeg(8, 8);
  auto invalid = [](const std::string& message) {
    return error_json(400, "INVALID_ARGUMENT", message);
  };
  auto no_boundary = send(bhttp::verb::post, "/api/images", "x", token, "multipart/form-data");
  EXPECT_EQ(body_of(no_boundary), invalid("multipart/form-data needs a boundary parameter"));
  std::string only_name = "--" + boundary
      + "\r\nContent-Disposition: form-data; name=\"name\"\r\n\r\nx\r\n--" + boundary + "--";
  auto no_file = send(bhttp::verb::post, "/api/images", only_name, token,
                      "multipart/form-data; boundary=" + boundary);
  EXPECT_EQ(body_of(no_file), invalid("multipart part 'file' is missing"));
  auto cut = send(bhttp::verb::post, "/api/images", only_name.substr(0, 60), token,
                  "multipart/form-data; boundary=" + boundary);
  EXPECT_EQ(body_of(cut), invalid("multipart body has no closing boundary"));
  auto long_name = upload_form(jpeg, "a.jpg", token, std::string(101, 'n'));
  EXPECT_EQ(body_of(long_name), invalid("name must be a string of 1 to 100 characters"));
  auto blank_name = send(bhttp::verb::post, "/api/images?name=%20%20", jpeg, token, "image/jpeg");
  EXPECT_EQ(body_of(blank_name), invalid("name must be a string of 1 to 100 characters"));
}

TEST_F(RestApi, UnknownImagesAre404AndBuiltInFilesRedirect) {
  start();
  auto not_found = error_json(404, "IMAGE_NOT_FOUND", "no image with this id");
  for (std::string path :
       {std::string{"/api/images/nope"}, std::string{"/api/images/nope/file"},
        std::string{"/api/images/nope/thumbnail"}, "/api/images/" + util::new_uuid()}) {
    auto res = send(bhttp::verb::get, path);
    EXPECT_EQ(res.result(), bhttp::status::not_found) << path;
    EXPECT_EQ(body_of(res), not_found) << path;
  }
  auto builtin = send(bhttp::verb::get, "/api/images/coral-reef/thumbnail");
  EXPECT_EQ(builtin.result(), bhttp::status::found);
  EXPECT_EQ(header(builtin, bhttp::field::location), "/images/coral-reef.svg");
}

TEST_F(RestApi, TooManyUploadsAtOnceAre503WithRetryAfter) {
  settings_.images.max_decoding = 0; // every slot taken
  start();
  auto token = tokens_->issue_guest("Ada").value;
  auto res
      = send(bhttp::verb::post, "/api/images", puzzle_test::make_png(4, 4), token, "image/png");
  EXPECT_EQ(res.result(), bhttp::status::service_unavailable);
  EXPECT_EQ(header(res, bhttp::field::retry_after), "1");
  EXPECT_EQ(body_of(res),
            error_json(503, "LIMIT_EXCEEDED",
                       "too many uploads in progress (images.max-decoding = 0); "
                       "retry shortly"));
}

TEST_F(RestApi, WithoutAStoreOnlyBuiltInImagesExist) {
  with_store_ = false;
  start();
  auto token = tokens_->issue_guest("Ada").value;
  auto res
      = send(bhttp::verb::post, "/api/images", puzzle_test::make_png(4, 4), token, "image/png");
  EXPECT_EQ(res.result(), bhttp::status::service_unavailable);
  EXPECT_EQ(body_of(res), error_json(503, "INTERNAL", "no store for uploaded images"));
  EXPECT_EQ(body_of(send(bhttp::verb::get, "/api/images")).size(), 3u);
  EXPECT_EQ(send(bhttp::verb::get, "/api/images/x/file").result(), bhttp::status::not_found);
}

TEST_F(RestApi, CreatesASessionFromAnUploadedImage) {
  start();
  auto ada = tokens_->issue_guest("Ada").value;
  auto image = upload_png(ada, 800, 600);
  auto id = image.at("id").get<std::string>();
  json body{{"name", "Mine"}, {"imageId", id}, {"rows", 3}, {"cols", 4}};
  auto res = send(bhttp::verb::post, "/api/sessions", body.dump(), ada);
  ASSERT_EQ(res.result(), bhttp::status::created) << res.body();
  auto expected_image = json{{"id", id},
                             {"url", "/api/images/" + id + "/file"},
                             {"thumbnailUrl", "/api/images/" + id + "/thumbnail"},
                             {"width", 800},
                             {"height", 600}};
  auto summary = body_of(res);
  EXPECT_EQ(summary.at("image"), expected_image);
  auto state
      = body_of(send(bhttp::verb::get, "/api/sessions/" + summary.at("id").get<std::string>()));
  auto state_image = expected_image;
  state_image.erase("thumbnailUrl"); // SessionState's image is the contract's
  EXPECT_EQ(state.at("image"), state_image);
  body["imageId"] = util::new_uuid();
  auto unknown = send(bhttp::verb::post, "/api/sessions", body.dump(), ada);
  EXPECT_EQ(body_of(unknown), error_json(400, "INVALID_ARGUMENT", "imageId names no known image"));
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
                    {"thumbnailUrl", "/images/coral-reef.svg"},
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
  EXPECT_EQ(res.body(),
            R"({"sessionId":")" + id
                + R"(","name":"Reef","version":0,"image":{"id":"coral-reef",)"
                  R"("url":"/images/coral-reef.svg","width":1200,"height":1200}})");
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
