#include "transports/socketio/socketio_endpoint.hpp"

#include <vector>

#include <boost/beast/http/verb.hpp>
#include <spdlog/spdlog.h>

#include "actors/util/ids.hpp"
#include "config/logging.hpp"
#include "transports/http/http_util.hpp"
#include "transports/http/net_stream.hpp"
#include "transports/http/router.hpp"
#include "transports/http/upgrade_refusal.hpp"
#include "transports/socketio/socketio_connection.hpp"
#include "transports/socketio/socketio_websocket.hpp"

namespace puzzle::transports::socketio {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;

namespace {

std::shared_ptr<spdlog::logger> log() {
  static auto logger = config::module_logger("puzzle.transport.socketio");
  return logger;
}

/// Polling batches may hold many small packets (a burst of cursor moves);
/// this bounds the work one body can cause, far above what clients send.
constexpr size_t max_packets_per_payload = 4096;

std::string_view target_of(const http::request& req) {
  auto t = req.target();
  return {t.data(), t.size()};
}

std::optional<std::string_view> view(const std::optional<std::string>& x) {
  if (!x) return std::nullopt;
  return std::string_view{*x};
}

http_method method_of(bhttp::verb verb) {
  switch (verb) {
    case bhttp::verb::get:
    case bhttp::verb::head: return http_method::get;
    case bhttp::verb::post: return http_method::post;
    default: return http_method::other;
  }
}

http::response request_error(eio_request_error err, const http::request& req) {
  return http::make_json(static_cast<bhttp::status>(http_status(err)),
                         encode_request_error(err), req);
}

} // namespace

std::string new_session_id() {
  std::string bytes;
  bytes.reserve(16);
  for (int i = 0; i < 2; ++i) {
    auto r = util::random_u64();
    for (int j = 0; j < 8; ++j)
      bytes += static_cast<char>((r >> (8 * j)) & 0xFF);
  }
  bytes.resize(15);
  auto id = base64_encode(bytes);
  for (auto& c : id) {
    if (c == '+') c = '-';
    if (c == '/') c = '_';
  }
  return id;
}

socketio_endpoint::socketio_endpoint(caf::actor_system& sys,
                                     directory_actor directory,
                                     const auth::token_service& tokens,
                                     const config::settings& cfg,
                                     std::string path)
    : sys_(sys), directory_(std::move(directory)), tokens_(tokens), cfg_(cfg),
      path_(std::move(path)) {
  options_.ping_interval = cfg.socketio.ping_interval;
  options_.ping_timeout = cfg.socketio.ping_timeout;
  options_.payload.max_payload_bytes = cfg.socketio.max_payload;
  options_.payload.max_packets = max_packets_per_payload;
  options_.max_buffered_bytes = cfg.limits.outbound_queue_bytes;
  limits_.max_packet_bytes = cfg.limits.max_message_bytes;
  limits_.max_attachment_bytes = cfg.socketio.max_payload;
}

socketio_endpoint::~socketio_endpoint() = default;

void socketio_endpoint::set_io_context(boost::asio::io_context& ioc) {
  ioc_ = &ioc;
}

void socketio_endpoint::register_routes(http::router& routes) {
  auto self = shared_from_this();
  auto add = [&](const std::string& path, app_mode mode) {
    http::route_options options;
    options.body_limit = cfg_.socketio.max_payload;
    options.body_limit_key = "socketio.max-payload";
    for (auto verb : {bhttp::verb::get, bhttp::verb::post, bhttp::verb::put})
      routes.add(
          verb, path,
          [self, mode](http::request&& req, http::route_match,
                       http::responder respond) {
            self->handle_http(std::move(req), std::move(respond), mode);
          },
          options);
    routes.add_upgrade(
        path, [self, mode](http::net_stream&& stream, http::request&& req) {
          self->handle_upgrade(std::move(stream), std::move(req), mode);
        });
  };
  add(path_,
      cfg_.socketio.conformance ? app_mode::socketio_echo : app_mode::puzzle);
  if (cfg_.socketio.conformance) add("/engine.io", app_mode::engineio_echo);
}

template<class Request, class Responder>
void socketio_endpoint::handle_http(Request&& req, Responder respond,
                                    app_mode mode) {
  auto target = target_of(req);
  auto eio = http::query_param(target, "EIO");
  auto transport = http::query_param(target, "transport");
  auto sid = http::query_param(target, "sid");
  auto request = classify_request(method_of(req.method()), false, view(eio),
                                  view(transport), view(sid));
  if (!request) return respond(request_error(request.error(), req));
  switch (request->kind) {
    case eio_request_kind::polling_handshake: {
      // A session lives up to socketio.connect-timeout without a request
      // open: bound how many there are, as sockets are bounded.
      if (std::lock_guard<std::mutex> guard{mtx_};
          sessions_.size() >= cfg_.http.max_connections)
        return respond(http::make_error(
            bhttp::status::service_unavailable, to_code(errc::limit_exceeded),
            "too many Socket.IO sessions (http.max-connections)", req));
      auto conn = std::make_shared<socketio_connection>(
          shared_from_this(), new_session_id(), eio_transport::polling, mode,
          http::access_token(req));
      {
        std::lock_guard<std::mutex> guard{mtx_};
        sessions_.emplace(conn->sid(), conn);
      }
      auto body = conn->open_packet();
      conn->start(nullptr);
      http::response res{bhttp::status::ok, req.version()};
      res.set(bhttp::field::content_type, "text/plain; charset=UTF-8");
      res.set(bhttp::field::cache_control, "no-store");
      res.body() = std::move(body);
      return respond(std::move(res));
    }
    case eio_request_kind::poll: {
      auto conn = find(request->sid);
      if (!conn)
        return respond(request_error(eio_request_error::unknown_sid, req));
      return conn->on_get(std::move(respond));
    }
    case eio_request_kind::post: {
      auto conn = find(request->sid);
      if (!conn)
        return respond(request_error(eio_request_error::unknown_sid, req));
      return conn->on_post(req.body(), std::move(respond));
    }
    case eio_request_kind::websocket_handshake:
    case eio_request_kind::websocket_upgrade:
      // classify_request only returns these for upgrades.
      return respond(request_error(eio_request_error::bad_request, req));
  }
}

template<class Stream, class Request>
void socketio_endpoint::handle_upgrade(Stream&& stream, Request&& req,
                                       app_mode mode) {
  auto target = target_of(req);
  auto eio = http::query_param(target, "EIO");
  auto transport = http::query_param(target, "transport");
  auto sid = http::query_param(target, "sid");
  auto request = classify_request(http_method::get, true, view(eio),
                                  view(transport), view(sid));
  auto refuse = [&](eio_request_error err) {
    http::refuse_upgrade(
        std::move(stream), req, static_cast<bhttp::status>(http_status(err)),
        to_code(errc::invalid_argument), encode_request_error(err));
  };
  if (!request) return refuse(request.error());
  std::shared_ptr<socketio_connection> conn;
  if (request->kind == eio_request_kind::websocket_upgrade) {
    conn = find(request->sid);
    if (!conn) return refuse(eio_request_error::unknown_sid);
  }
  auto ws = std::make_shared<socketio_websocket>(
      std::move(stream), cfg_.socketio.max_payload,
      cfg_.limits.outbound_queue_bytes, cfg_.websocket.handshake_timeout,
      cfg_.limits.slow_write_timeout, websockets_);
  auto self = shared_from_this();
  if (conn) {
    ws->start(std::move(req), [conn, ws](bool ok) {
      if (ok && !conn->attach_probe(ws)) ws->close();
    });
    return;
  }
  auto token = http::access_token(req);
  ws->start(std::move(req), [self, ws, mode, token](bool ok) {
    if (!ok) return;
    auto fresh = std::make_shared<socketio_connection>(
        self, new_session_id(), eio_transport::websocket, mode, token);
    {
      std::lock_guard<std::mutex> guard{self->mtx_};
      self->sessions_.emplace(fresh->sid(), fresh);
    }
    fresh->start(ws);
  });
}

std::shared_ptr<socketio_connection>
socketio_endpoint::find(const std::string& sid) const {
  std::lock_guard<std::mutex> guard{mtx_};
  auto i = sessions_.find(sid);
  return i == sessions_.end() ? nullptr : i->second;
}

void socketio_endpoint::connection_closed(const std::string& sid) {
  std::lock_guard<std::mutex> guard{mtx_};
  sessions_.erase(sid);
}

void socketio_endpoint::shutdown() {
  std::vector<std::shared_ptr<socketio_connection>> open;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    for (auto& [sid, conn] : sessions_)
      open.push_back(conn);
  }
  // Close packets and frames go out first; then every session ends at once
  // so that no client actor outlives the node (the actor system waits for
  // them) and the sessions let go of this endpoint.
  for (auto& conn : open)
    conn->close("the node is shutting down");
  for (auto& conn : open)
    conn->terminate();
  log()->info("event=socketio_shutdown sessions={}", open.size());
}

size_t socketio_endpoint::open_connections() const {
  return websockets_->load();
}

} // namespace puzzle::transports::socketio
