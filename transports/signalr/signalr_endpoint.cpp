#include "transports/signalr/signalr_endpoint.hpp"

#include <boost/asio/write.hpp>
#include <boost/beast/http/write.hpp>
#include <spdlog/spdlog.h>

#include "actors/caf_errors.hpp"
#include "actors/util/ids.hpp"
#include "config/logging.hpp"
#include "transports/auth/token_service.hpp"
#include "transports/http/http_util.hpp"
#include "transports/http/net_stream.hpp"
#include "transports/http/router.hpp"
#include "transports/http/upgrade_refusal.hpp"
#include "transports/signalr/hub_connection.hpp"
#include "transports/signalr/hub_protocol.hpp"

namespace puzzle::transports::signalr {

namespace beast = boost::beast;
using clock_type = std::chrono::steady_clock;

namespace {

std::shared_ptr<spdlog::logger> log() {
  static auto logger = config::module_logger("puzzle.transport.signalr");
  return logger;
}

std::string_view target_of(const http::request& req) {
  auto t = req.target();
  return {t.data(), t.size()};
}

} // namespace

signalr_endpoint::signalr_endpoint(hub_factory hub,
                                   const auth::token_service& tokens,
                                   const config::settings& cfg,
                                   std::string path)
    : hub_(std::move(hub)), tokens_(tokens), cfg_(cfg), path_(std::move(path)) {
}

template<class Request>
bool signalr_endpoint::identify(const Request& req, negotiated_identity& out,
                                std::string& error) const {
  error = auth::identify_connection(http::access_token(req), tokens_,
                                    cfg_.auth.allow_anonymous, out);
  return error.empty();
}

void signalr_endpoint::drop_expired(clock_type::time_point now) {
  for (auto i = connections_.begin(); i != connections_.end();) {
    if (!i->second.connected && i->second.expires <= now)
      i = connections_.erase(i);
    else
      ++i;
  }
}

void signalr_endpoint::register_routes(http::router& routes) {
  auto self = shared_from_this();
  routes.add(
      beast::http::verb::post, path_ + "/negotiate",
      [self](http::request&& req, http::route_match, http::responder respond) {
        negotiated_identity identity;
        std::string error;
        if (!self->identify(req, identity, error)) {
          respond(http::make_error(beast::http::status::unauthorized,
                                   to_code(errc::unauthorized), error, req));
          return;
        }
        // Missing negotiateVersion means version 0 (spec); anything
        // above 1 gets our highest, 1.
        int version = 0;
        if (auto v = http::query_param(target_of(req), "negotiateVersion"))
          version = (*v == "0") ? 0 : 1;
        auto connection_id = util::new_uuid();
        auto token = version >= 1 ? util::new_uuid() : connection_id;
        auto now = clock_type::now();
        {
          std::lock_guard<std::mutex> guard{self->mtx_};
          self->drop_expired(now);
          if (self->connections_.size() >= self->cfg_.http.max_connections) {
            respond(http::make_error(
                beast::http::status::service_unavailable,
                to_code(errc::limit_exceeded),
                "too many connections (http.max-connections)", req));
            return;
          }
          self->connections_[token]
              = pending_connection{connection_id,
                                   std::move(identity),
                                   now + self->cfg_.signalr.negotiate_ttl,
                                   false,
                                   {}};
        }
        respond(http::make_json(
            beast::http::status::ok,
            encode_negotiate_response(connection_id, token, version), req));
      });
  routes.add_upgrade(
      path_, [self](http::net_stream&& stream, http::request&& req) {
        auto id = http::query_param(target_of(req), "id");
        std::string token;
        std::string connection_id;
        negotiated_identity identity;
        if (!id) {
          // skipNegotiation: the connection is created on the fly.
          std::string error;
          if (!self->identify(req, identity, error))
            return http::refuse_upgrade(std::move(stream), req,
                                        beast::http::status::unauthorized,
                                        to_code(errc::unauthorized), error);
          token = connection_id = util::new_uuid();
          std::lock_guard<std::mutex> guard{self->mtx_};
          self->connections_[token] = pending_connection{
              connection_id, identity, clock_type::now(), true, {}};
        } else {
          std::lock_guard<std::mutex> guard{self->mtx_};
          auto i = self->connections_.find(*id);
          if (i == self->connections_.end())
            return http::refuse_upgrade(
                std::move(stream), req, beast::http::status::not_found,
                "NOT_FOUND", "No Connection with that ID");
          if (i->second.connected)
            return http::refuse_upgrade(
                std::move(stream), req, beast::http::status::conflict,
                "CONFLICT", "a WebSocket is already open for this connection");
          i->second.connected = true;
          token = *id;
          connection_id = i->second.connection_id;
          identity = i->second.identity;
        }
        auto conn = std::make_shared<hub_connection>(
            std::move(stream), self, connection_id, token, std::move(identity));
        {
          std::lock_guard<std::mutex> guard{self->mtx_};
          auto i = self->connections_.find(token);
          if (i != self->connections_.end()) i->second.connection = conn;
        }
        conn->start(std::move(req));
      });
}

void signalr_endpoint::connection_closed(const std::string& token) {
  std::lock_guard<std::mutex> guard{mtx_};
  connections_.erase(token);
}

size_t signalr_endpoint::open_connections() const {
  std::lock_guard<std::mutex> guard{mtx_};
  size_t n = 0;
  for (auto& [token, pending] : connections_)
    if (pending.connected) ++n;
  return n;
}

void signalr_endpoint::shutdown() {
  std::vector<std::shared_ptr<hub_connection>> open;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    for (auto& [token, pending] : connections_)
      if (auto conn = pending.connection.lock())
        open.push_back(std::move(conn));
  }
  for (auto& conn : open)
    conn->close_with("the server is shutting down", true);
  log()->info("event=hub_shutdown connections={}", open.size());
}

} // namespace puzzle::transports::signalr
