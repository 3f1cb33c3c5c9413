#include "transports/ws/ws_endpoint.hpp"

#include <vector>

#include <spdlog/spdlog.h>

#include "actors/errc.hpp"
#include "config/logging.hpp"
#include "transports/auth/connection_identity.hpp"
#include "transports/http/http_util.hpp"
#include "transports/http/net_stream.hpp"
#include "transports/http/router.hpp"
#include "transports/http/upgrade_refusal.hpp"
#include "transports/ws/ws_connection.hpp"

namespace puzzle::transports::ws {

namespace beast = boost::beast;

ws_endpoint::ws_endpoint(caf::actor_system& sys, directory_actor directory,
                         channel_registry_actor channels,
                         const auth::token_service& tokens,
                         const config::settings& cfg, std::string path)
    : sys_(sys), directory_(std::move(directory)),
      channels_(std::move(channels)), tokens_(tokens), cfg_(cfg),
      path_(std::move(path)) {}

void ws_endpoint::register_routes(http::router& routes) {
  auto self = shared_from_this();
  routes.add_upgrade(
      path_, [self](http::net_stream&& stream, http::request&& req) {
        auth::connection_identity identity;
        auto error = auth::identify_connection(
            http::access_token(req), self->tokens_,
            self->cfg_.auth.allow_anonymous, identity);
        if (!error.empty())
          return http::refuse_upgrade(std::move(stream), req,
                                      beast::http::status::unauthorized,
                                      to_code(errc::unauthorized), error);
        auto conn = std::make_shared<ws_connection>(std::move(stream), self,
                                                    std::move(identity));
        {
          std::lock_guard<std::mutex> guard{self->mtx_};
          self->open_.emplace(conn.get(), conn);
        }
        conn->start(std::move(req));
      });
}

void ws_endpoint::shutdown() {
  std::vector<std::shared_ptr<ws_connection>> open;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    for (auto& [ptr, weak] : open_)
      if (auto conn = weak.lock()) open.push_back(std::move(conn));
  }
  for (auto& conn : open)
    conn->close_with(beast::websocket::close_code::going_away,
                     "the node is shutting down");
}

size_t ws_endpoint::open_connections() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return open_.size();
}

void ws_endpoint::connection_closed(const ws_connection* conn) {
  std::lock_guard<std::mutex> guard{mtx_};
  open_.erase(conn);
}

} // namespace puzzle::transports::ws
