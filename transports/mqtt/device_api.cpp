#include "transports/mqtt/device_api.hpp"

#include <memory>
#include <optional>
#include <utility>
#include <vector>

#include <boost/beast/http/field.hpp>
#include <boost/beast/http/status.hpp>
#include <boost/beast/http/verb.hpp>
#include <nlohmann/json.hpp>

#include "actors/util/ids.hpp"
#include "transports/api/actor_bridge.hpp"
#include "transports/api/replies.hpp"
#include "transports/api/rest_body.hpp"
#include "transports/http/http_util.hpp"

namespace puzzle::transports::mqtt {

namespace {

namespace bhttp = boost::beast::http;
using json = nlohmann::ordered_json;
using http::request;
using http::responder;
using http::response;
using http::route_match;
using context_ptr = std::shared_ptr<const device_api_context>;
using api::dump;
using api::send_actor_error;
using api::send_error;
using api::send_invalid;
using api::send_json;

/// The most bytes of a command's `command` name.
constexpr size_t max_command_name = 64;

json time_or_null(int64_t ms) {
  return ms > 0 ? json(util::iso8601(ms)) : json(nullptr);
}

json text_or_null(const std::string& text) {
  return text.empty() ? json(nullptr) : json(text);
}

json device_json(const device_view& v) {
  auto readings = json::object();
  for (auto& r : v.readings) {
    auto data = json::parse(r.json, nullptr, false);
    readings[r.kind] = json{{"receivedAt", time_or_null(r.received_at)},
                            {"data", data.is_discarded() ? json() : data}};
  }
  return json{{"deviceId", v.device_id},
              {"userId", v.user_id},
              {"presence", v.presence},
              {"online", v.presence == "online"},
              {"presenceSince", time_or_null(v.presence_since)},
              {"firstSeen", time_or_null(v.first_seen)},
              {"lastSeen", time_or_null(v.last_seen)},
              {"messageRate", v.message_rate},
              {"messages", v.messages},
              {"flapsSuppressed", v.flaps_suppressed},
              {"sessionId", text_or_null(v.session_id)},
              {"boundBy", text_or_null(v.bound_by)},
              {"boundAt", time_or_null(v.bound_at)},
              {"joined", v.joined},
              {"readings", std::move(readings)},
              {"placements",
               json{{"applied", v.placements_applied},
                    {"refused", v.placements_refused}}},
              {"dropped", v.dropped}};
}

json devices_json(const std::vector<device_view>& xs) {
  auto out = json::array();
  for (auto& x : xs)
    out.push_back(device_json(x));
  return out;
}

/// The broker's URI without user info (`user:password@`), for display.
std::string display_uri(const std::string& uri) {
  auto scheme = uri.find("://");
  if (scheme == std::string::npos) return uri;
  auto at = uri.find('@', scheme + 3);
  auto slash = uri.find('/', scheme + 3);
  if (at == std::string::npos || (slash != std::string::npos && at > slash))
    return uri;
  return uri.substr(0, scheme + 3) + uri.substr(at + 1);
}

json counters_json(const device_counters& c) {
  auto load = [](const std::atomic<uint64_t>& x) {
    return x.load(std::memory_order_relaxed);
  };
  auto dropped = json::object();
  dropped["total"] = c.dropped_total();
  for (auto reason : all_device_drops)
    dropped[std::string{to_string(reason)}]
        = load(c.dropped[static_cast<size_t>(reason)]);
  return json{{"received", load(c.received)},
              {"published", load(c.published)},
              {"publishFailures", load(c.publish_failures)},
              {"connects", load(c.connects)},
              {"connectionLosses", load(c.connection_losses)},
              {"connectFailures", load(c.connect_failures)},
              {"placementsApplied", load(c.placements_applied)},
              {"placementsRefused", load(c.placements_refused)},
              {"devices", c.devices.load(std::memory_order_relaxed)},
              {"bindings", c.bindings.load(std::memory_order_relaxed)},
              {"dropped", std::move(dropped)}};
}

json mqtt_state_json(const config::settings& settings, const device_counters& c,
                     const std::string& client_id) {
  auto enabled = !settings.mqtt.uri.empty();
  auto out
      = json{{"enabled", enabled},
             {"connected", enabled && c.connected.load()},
             {"broker",
              enabled ? json(display_uri(settings.mqtt.uri)) : json(nullptr)},
             {"clientId", text_or_null(client_id)}};
  auto counters = counters_json(c);
  for (auto& [key, value] : counters.items())
    out[key] = value;
  return out;
}

/// Who the Bearer token speaks for, or nullopt after answering 401.
std::optional<user_identity> authenticate(const device_api_context& ctx,
                                          const request& req,
                                          responder& reply) {
  auto fail = [&](const std::string& message) {
    auto res = http::make_error(bhttp::status::unauthorized,
                                to_code(errc::unauthorized), message);
    res.set(bhttp::field::www_authenticate, "Bearer");
    reply(std::move(res));
    return std::nullopt;
  };
  auto token = http::bearer_token(req);
  if (!token) return fail("a Bearer token is required");
  auto user = ctx.tokens.verify(*token);
  if (!user) return fail(message_of(user.error()));
  return std::move(*user);
}

/// The JSON object of a request body, or nullopt after answering 415/400.
std::optional<nlohmann::json> parse_body(const request& req, responder& reply) {
  if (!http::has_json_content_type(req)) {
    send_error(reply, bhttp::status::unsupported_media_type,
               "UNSUPPORTED_MEDIA_TYPE",
               "Content-Type must be application/json");
    return std::nullopt;
  }
  nlohmann::json body;
  if (auto problem = api::parse_object_body(req.body(), body);
      !problem.empty()) {
    send_invalid(reply, problem);
    return std::nullopt;
  }
  return body;
}

std::string device_location(const std::string& session_id,
                            const std::string& device_id) {
  return "/api/sessions/" + session_id + "/devices/" + device_id;
}

// -- handlers -----------------------------------------------------------------

void bind_device(const context_ptr& ctx, request&& req, route_match match,
                 responder reply) {
  auto user = authenticate(*ctx, req, reply);
  if (!user) return;
  auto body = parse_body(req, reply);
  if (!body) return;
  auto it = body->find("deviceId");
  if (it == body->end() || !it->is_string()
      || !valid_device_id(it->get_ref<const std::string&>()))
    return send_invalid(reply,
                        "deviceId must be 1 to 64 letters, digits, "
                        "'.', '_' or '-' (no '/', '+' or '#')");
  auto session_id = match.params.at(0);
  auto device_id = it->get<std::string>();
  auto started = util::now_ms();
  api::ask(
      ctx->system, ctx->registry, ctx->ask_timeout,
      [reply, session_id, started](const device_view& v) mutable {
        // A device bound before this request was bound already: 200.
        auto created = v.bound_at >= started;
        auto res = http::make_json(created ? bhttp::status::created
                                           : bhttp::status::ok,
                                   dump(device_json(v)));
        res.set(bhttp::field::location,
                device_location(session_id, v.device_id));
        reply(std::move(res));
      },
      [reply](const caf::error& err) mutable {
        send_actor_error(reply, err);
      },
      bind_atom_v, session_id, device_id, std::move(*user));
}

void unbind_device(const context_ptr& ctx, request&& req, route_match match,
                   responder reply) {
  auto user = authenticate(*ctx, req, reply);
  if (!user) return;
  api::ask(
      ctx->system, ctx->registry, ctx->ask_timeout,
      [reply](bool removed) mutable {
        if (!removed)
          return send_error(reply, bhttp::status::not_found, "NOT_FOUND",
                            "this device is not bound to this session");
        reply(response{bhttp::status::no_content, 11});
      },
      [reply](const caf::error& err) mutable {
        send_actor_error(reply, err);
      },
      unbind_atom_v, match.params.at(0), match.params.at(1), std::move(*user));
}

void session_devices(const context_ptr& ctx, request&&, route_match match,
                     responder reply) {
  api::ask(
      ctx->system, ctx->registry, ctx->ask_timeout,
      [reply](const std::vector<device_view>& xs) mutable {
        send_json(reply, bhttp::status::ok, devices_json(xs));
      },
      [reply](const caf::error& err) mutable {
        send_actor_error(reply, err);
      },
      list_atom_v, device_atom_v, match.params.at(0));
}

void all_devices(const context_ptr& ctx, request&&, route_match,
                 responder reply) {
  api::ask(
      ctx->system, ctx->registry, ctx->ask_timeout,
      [ctx, reply](const std::vector<device_view>& xs) mutable {
        send_json(reply, bhttp::status::ok,
                  json{{"mqtt",
                        mqtt_state_json(ctx->settings, *ctx->counters,
                                        ctx->client_id)},
                       {"devices", devices_json(xs)}});
      },
      [reply](const caf::error& err) mutable {
        send_actor_error(reply, err);
      },
      list_atom_v, device_atom_v);
}

void command_device(const context_ptr& ctx, request&& req, route_match match,
                    responder reply) {
  auto user = authenticate(*ctx, req, reply);
  if (!user) return;
  if (ctx->settings.mqtt.uri.empty())
    return send_error(reply, bhttp::status::service_unavailable,
                      to_code(errc::internal),
                      "MQTT is off (mqtt.uri is empty)");
  auto body = parse_body(req, reply);
  if (!body) return;
  auto name = body->find("command");
  if (name == body->end() || !name->is_string()
      || name->get_ref<const std::string&>().empty()
      || name->get_ref<const std::string&>().size() > max_command_name)
    return send_invalid(reply, "command must be a string of 1 to 64 bytes");
  auto& session_id = match.params.at(0);
  (*body)["sessionId"] = session_id;
  (*body)["issuedBy"] = user->user_id;
  (*body)["issuedAt"] = util::iso8601(util::now_ms());
  auto text
      = body->dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  if (text.size() > ctx->settings.mqtt.max_payload_bytes)
    return send_error(reply, bhttp::status::payload_too_large,
                      to_code(errc::limit_exceeded),
                      "the command exceeds mqtt.max-payload-bytes");
  api::ask(
      ctx->system, ctx->registry, ctx->ask_timeout,
      [reply](bool) mutable {
        send_json(reply, bhttp::status::accepted, json{{"queued", true}});
      },
      [reply](const caf::error& err) mutable {
        send_actor_error(reply, err);
      },
      command_atom_v, session_id, match.params.at(1), std::move(*user),
      std::move(text));
}

} // namespace

void register_device_api(http::router& routes, device_api_context value) {
  using bhttp::verb;
  auto ctx = std::make_shared<const device_api_context>(std::move(value));
  auto with_ctx = [ctx](auto fn) {
    return [ctx, fn](request&& req, route_match m, responder reply) {
      fn(ctx, std::move(req), std::move(m), std::move(reply));
    };
  };
  routes.add(verb::post, "/api/sessions/{id}/devices", with_ctx(bind_device));
  routes.add(verb::get, "/api/sessions/{id}/devices",
             with_ctx(session_devices));
  routes.add(verb::delete_, "/api/sessions/{id}/devices/{deviceId}",
             with_ctx(unbind_device));
  routes.add(verb::post, "/api/sessions/{id}/devices/{deviceId}/commands",
             with_ctx(command_device));
  routes.add(verb::get, "/api/devices", with_ctx(all_devices));
}

std::string mqtt_health_entry(const config::settings& settings,
                              const device_counters& counters,
                              const std::string& client_id) {
  auto enabled = !settings.mqtt.uri.empty();
  auto connected = counters.connected.load();
  std::string status = !enabled || connected ? "Healthy" : "Degraded";
  std::string description = !enabled ? "MQTT is off (mqtt.uri is empty)"
      : connected ? "connected to " + display_uri(settings.mqtt.uri)
                  : "not connected to " + display_uri(settings.mqtt.uri)
          + " (reconnecting)";
  json entry{{"status", status},
             {"description", description},
             {"duration", util::timespan(std::chrono::microseconds{0})},
             {"exception", nullptr},
             {"data", mqtt_state_json(settings, counters, client_id)}};
  return dump(entry);
}

} // namespace puzzle::transports::mqtt
