// The operator API (transports/api/operator_api) over a real HTTP server,
// with a stand-in directory (its member list is the test's input) and a
// stand-in inspector that counts the drains it is asked for.

#include "transports/api/operator_api.hpp"

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <boost/beast/http.hpp>
#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/send.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "actors/caf_errors.hpp"
#include "actors/type_ids.hpp"
#include "transports/auth/token_service.hpp"
#include "transports/http/server.hpp"

#include "support/http_client.hpp"

namespace bhttp = boost::beast::http;
using json = nlohmann::json;
using namespace puzzle;
using namespace std::chrono_literals;
using puzzle_test::http_client;
using puzzle_test::make_request;
using transports::auth::token_service;

namespace {

/// The member list the stand-in directory answers, set by each test.
struct shared_members {
  std::mutex mtx;
  std::vector<cluster_member> members;
};

/// A directory that only answers the member list; anything else is an
/// error.
caf::behavior members_only(caf::event_based_actor* self, std::shared_ptr<shared_members> view) {
  self->set_default_handler(
      [](caf::scheduled_actor*, caf::message_view&) -> caf::result<caf::message> {
        return make_error(errc::internal, "not in this test");
      });
  return {
      [view](members_atom) {
        std::lock_guard<std::mutex> guard{view->mtx};
        return view->members;
      },
  };
}

/// Answers every drain with `moved` and counts them.
cluster::inspector_actor::behavior_type counting_inspector(cluster::inspector_actor::pointer,
                                                           std::shared_ptr<std::atomic<int>> drains,
                                                           int32_t moved) {
  return {
      [](actors_atom, const std::string&) {
        return std::vector<actor_probe>{};
      },
      [](inspect_atom, const std::string& key) -> caf::result<actor_probe> {
        return make_error(errc::session_not_found, "no actor '" + key + "'");
      },
      [](kill_atom, const std::string& key) -> caf::result<bool> {
        return make_error(errc::session_not_found, "no actor '" + key + "'");
      },
      [drains, moved](drain_atom) -> int32_t {
        ++*drains;
        return moved;
      },
  };
}

cluster_member member(std::string node, std::string state, bool self) {
  cluster_member m;
  m.node_id = node;
  m.incarnation = "inc-" + node;
  m.address = "127.0.0.1:1";
  m.state = std::move(state);
  m.self = self;
  return m;
}

class OperatorApi : public ::testing::Test {
protected:
  OperatorApi() {
    register_message_types(cfg_);
    system_ = std::make_unique<caf::actor_system>(cfg_);
    settings_.http.bind = "127.0.0.1";
    settings_.http.port = 0;
    settings_.auth.jwt_secret = "test secret, 32 bytes long......";
    tokens_ = std::make_unique<token_service>(settings_.auth);
    directory_ = caf::actor_cast<directory_actor>(system_->spawn(members_only, view_));
    inspector_ = system_->spawn(counting_inspector, drains_, 7);
    operator_token_
        = tokens_->issue("op-1", "Ops", static_cast<uint8_t>(user_role::operator_)).value;
  }

  ~OperatorApi() override {
    if (server_) server_->stop();
    caf::anon_send_exit(directory_, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(inspector_, caf::exit_reason::user_shutdown);
  }

  /// Serves the operator API of node `n1`; `cluster_mode` as puzzle-node
  /// sets it (a member view only in a cluster).
  void start(bool cluster_mode) {
    routes_ = std::make_shared<transports::http::router>();
    transports::api::operator_context ctx{*system_, directory_, *tokens_, settings_, "n1", 0};
    ctx.inspector = inspector_;
    if (cluster_mode)
      ctx.members = [] {
        return std::vector<transports::api::cluster_member_view>{};
      };
    transports::api::register_operator_api(*routes_, std::move(ctx));
    server_ = std::make_unique<transports::http::server>(settings_.http, routes_);
    ASSERT_FALSE(server_->start());
    server_->run(2);
  }

  void set_members(std::vector<cluster_member> members) {
    std::lock_guard<std::mutex> guard{view_->mtx};
    view_->members = std::move(members);
  }

  puzzle_test::test_response post(const std::string& target) {
    http_client c{server_->port()};
    auto req = make_request(bhttp::verb::post, target);
    req.set(bhttp::field::authorization, "Bearer " + operator_token_);
    return c.roundtrip(std::move(req));
  }

  caf::actor_system_config cfg_;
  std::unique_ptr<caf::actor_system> system_;
  config::settings settings_;
  std::unique_ptr<token_service> tokens_;
  std::shared_ptr<shared_members> view_ = std::make_shared<shared_members>();
  std::shared_ptr<std::atomic<int>> drains_ = std::make_shared<std::atomic<int>>(0);
  directory_actor directory_;
  cluster::inspector_actor inspector_;
  std::string operator_token_;
  std::shared_ptr<transports::http::router> routes_;
  std::unique_ptr<transports::http::server> server_;
};

TEST_F(OperatorApi, DrainOfTheLastLiveNodeOfAClusterIsRefused) {
  start(true);
  set_members(
      {member("n1", "up", true), member("n2", "down", false), member("n3", "unreachable", false)});
  auto res = post("/api/cluster/nodes/n1/drain");
  ASSERT_EQ(res.result(), bhttp::status::bad_request) << res.body();
  auto body = json::parse(res.body());
  EXPECT_EQ(body["code"], "INVALID_ARGUMENT");
  EXPECT_NE(body["message"].get<std::string>().find("only live node"), std::string::npos)
      << res.body();
  // The node was not asked: it keeps running.
  EXPECT_EQ(drains_->load(), 0);
}

TEST_F(OperatorApi, DrainWithAnotherUpMemberReachesTheInspector) {
  start(true);
  set_members({member("n1", "up", true), member("n2", "up", false)});
  auto res = post("/api/cluster/nodes/n1/drain");
  ASSERT_EQ(res.result(), bhttp::status::ok) << res.body();
  auto body = json::parse(res.body());
  EXPECT_EQ(body["node"], "n1");
  EXPECT_EQ(body["incarnation"], "inc-n1");
  EXPECT_EQ(body["sessionsMoved"], 7);
  EXPECT_EQ(drains_->load(), 1);
}

} // namespace
