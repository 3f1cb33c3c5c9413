#include "transports/api/operator_api.hpp"

#include <algorithm>
#include <memory>
#include <optional>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/beast/http/field.hpp>
#include <boost/beast/http/status.hpp>
#include <boost/beast/http/verb.hpp>
#include <nlohmann/json.hpp>

#include "actors/util/ids.hpp"
#include "transports/api/actor_bridge.hpp"
#include "transports/api/replies.hpp"
#include "transports/http/http_util.hpp"
#include "transports/http/static_files.hpp"

namespace puzzle::transports::api {

namespace {

namespace bhttp = boost::beast::http;
using json = nlohmann::ordered_json;
using http::request;
using http::responder;
using http::response;
using http::route_match;
using context_ptr = std::shared_ptr<const operator_context>;

/// Operator answers describe live state: never cached anywhere.
void send_json(responder& reply, const json& body) {
  auto res = http::make_json(bhttp::status::ok, dump(body));
  res.set(bhttp::field::cache_control, "no-store");
  reply(std::move(res));
}

/// The identity of an operator's token; answers 401 (no or bad token) or
/// 403 (a valid token without the operator role) and returns nullopt
/// otherwise.
std::optional<user_identity> operator_of(const operator_context& ctx,
                                         const request& req, responder& reply) {
  auto unauthorized = [&](const std::string& message) {
    auto res = http::make_error(bhttp::status::unauthorized,
                                to_code(errc::unauthorized), message);
    res.set(bhttp::field::www_authenticate, "Bearer");
    reply(std::move(res));
    return std::nullopt;
  };
  auto token = http::bearer_token(req);
  if (!token) return unauthorized("a Bearer token is required");
  auto user = ctx.tokens.verify(*token);
  if (!user) return unauthorized(message_of(user.error()));
  if (!may_operate(*user)) {
    reply(http::make_error(bhttp::status::forbidden, to_code(errc::forbidden),
                           "the operator API needs the operator role"));
    return std::nullopt;
  }
  return std::move(*user);
}

/// The members seen by the node agent; the answering node carries its load.
json cluster_nodes(const std::vector<cluster_member_view>& members,
                   std::size_t connections, int32_t sessions) {
  auto now = util::now_ms();
  auto out = json::array();
  for (const auto& m : members) {
    auto uptime = std::chrono::milliseconds{
        m.state == "down" ? 0 : std::max<int64_t>(now - m.started_at_ms, 0)};
    json node{{"id", m.node_id},
              {"nodeId", m.node_id},
              {"incarnation", m.incarnation},
              {"address", m.address},
              {"state", m.state},
              {"this", m.self},
              {"startedAt", util::iso8601(m.started_at_ms)},
              {"lastHeartbeat", util::iso8601(m.last_heartbeat_ms)},
              {"lastHeartbeatMs", m.last_heartbeat_ms},
              {"uptime", util::timespan(uptime)},
              {"uptimeSeconds", uptime.count() / 1'000}};
    if (m.self)
      node["load"] = json{{"connections", connections}, {"sessions", sessions}};
    out.push_back(std::move(node));
  }
  return out;
}

void nodes(const context_ptr& ctx, request&& req, route_match,
           responder reply) {
  if (!operator_of(*ctx, req, reply)) return;
  auto uptime = std::chrono::duration_cast<std::chrono::microseconds>(
      std::chrono::system_clock::now() - ctx->started_at);
  auto started_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                        ctx->started_at.time_since_epoch())
                        .count();
  auto connections = ctx->open_connections ? ctx->open_connections() : 0;
  auto address = ctx->address ? ctx->address() : std::string{};
  api::ask(
      ctx->system, ctx->directory, ctx->ask_timeout,
      [ctx, reply, uptime, started_ms, connections,
       address](int32_t sessions) mutable {
        if (ctx->members) {
          send_json(reply,
                    cluster_nodes(ctx->members(), connections, sessions));
          return;
        }
        json node{{"id", ctx->node_id},
                  {"incarnation", ctx->incarnation},
                  {"address", address},
                  {"state", "up"},
                  {"startedAt", util::iso8601(started_ms)},
                  {"uptime", util::timespan(uptime)},
                  {"uptimeSeconds", uptime.count() / 1'000'000},
                  {"load",
                   json{{"connections", connections}, {"sessions", sessions}}}};
        send_json(reply, json::array({std::move(node)}));
      },
      [reply](const caf::error& err) mutable {
        auto e = to_http_error(err);
        reply(http::make_error(static_cast<bhttp::status>(e.status), e.code,
                               e.message));
      },
      stats_atom_v);
}

/// One session as the operators see it, from its `SessionState` JSON.
std::optional<json> session_view(const std::string& node_id,
                                 const std::string& state) {
  auto s = nlohmann::json::parse(state, nullptr, false);
  if (!s.is_object()) return std::nullopt;
  auto people = json::array();
  int64_t online = 0;
  if (auto ps = s.find("participants"); ps != s.end() && ps->is_array()) {
    for (auto& p : *ps) {
      auto is_online = p.value("online", false);
      online += is_online ? 1 : 0;
      people.push_back(json{{"userId", p.value("userId", std::string{})},
                            {"username", p.value("username", std::string{})},
                            {"online", is_online}});
    }
  }
  return json{{"id", s.value("sessionId", std::string{})},
              {"node", node_id},
              {"name", s.value("name", std::string{})},
              {"ownerId", s.value("ownerId", std::string{})},
              {"isPublic", s.value("isPublic", true)},
              {"version", s.value("version", uint64_t{0})},
              {"pieceCount", s.value("pieceCount", int64_t{0})},
              {"completedPieces", s.value("completedPieces", int64_t{0})},
              {"participants", std::move(people)},
              {"participantsOnline", online}};
}

void sessions(const context_ptr& ctx, request&& req, route_match,
              responder reply) {
  if (!operator_of(*ctx, req, reply)) return;
  api::ask(
      ctx->system, ctx->directory, ctx->ask_timeout,
      [ctx, reply](const std::vector<std::string>& states) mutable {
        std::vector<json> views;
        for (auto& state : states)
          if (auto view = session_view(ctx->node_id, state))
            views.push_back(std::move(*view));
        std::sort(views.begin(), views.end(), [](const json& x, const json& y) {
          return x["id"].get_ref<const std::string&>()
              < y["id"].get_ref<const std::string&>();
        });
        send_json(reply, json(std::move(views)));
      },
      [reply](const caf::error& err) mutable {
        auto e = to_http_error(err);
        reply(http::make_error(static_cast<bhttp::status>(e.status), e.code,
                               e.message));
      },
      list_atom_v, state_atom_v);
}

// -- the console --------------------------------------------------------------
//
// The page holds no data: its script asks the operator for a token (kept in
// sessionStorage, so it dies with the tab) and reads the gated API. No
// inline script or style, so the page works under the node's CSP.

constexpr std::string_view console_html = R"html(<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Puzzle operators' console</title>
<link rel="stylesheet" href="/console/console.css">
<script src="/console/console.js" defer></script>
</head>
<body>
<h1>Operators' console</h1>
<form id="login">
<label>Operator token <input id="token" type="password" autocomplete="off" required></label>
<button type="submit">Use token</button>
<button type="button" id="forget">Forget token</button>
</form>
<p id="status" role="status"></p>
<h2>Nodes</h2>
<table id="nodes"><thead><tr><th>id</th><th>incarnation</th><th>address</th><th>state</th><th>uptime</th><th>connections</th><th>sessions</th></tr></thead><tbody></tbody></table>
<h2>Sessions on this node</h2>
<table id="sessions"><thead><tr><th>id</th><th>name</th><th>version</th><th>pieces</th><th>participants online</th></tr></thead><tbody></tbody></table>
</body>
</html>
)html";

constexpr std::string_view console_css
    = R"css(body{font-family:sans-serif;margin:1.5rem;color:#222}
table{border-collapse:collapse;margin-bottom:1.5rem}
th,td{border:1px solid #ccc;padding:.25rem .5rem;text-align:left}
#status{color:#a00}
)css";

constexpr std::string_view console_js = R"js('use strict';
const key = 'puzzle.operatorToken';
const statusLine = document.getElementById('status');

function cell(row, text) {
  const td = document.createElement('td');
  td.textContent = String(text);
  row.appendChild(td);
}

function fill(id, rows, columns) {
  const body = document.querySelector('#' + id + ' tbody');
  body.replaceChildren();
  for (const item of rows) {
    const row = document.createElement('tr');
    for (const column of columns) cell(row, column(item));
    body.appendChild(row);
  }
}

async function read(path) {
  const token = sessionStorage.getItem(key);
  if (!token) throw new Error('enter an operator token');
  const res = await fetch(path, { headers: { Authorization: 'Bearer ' + token } });
  if (!res.ok) {
    const body = await res.json().catch(() => ({}));
    throw new Error(res.status + ' ' + (body.code || '') + ' ' + (body.message || ''));
  }
  return res.json();
}

async function refresh() {
  try {
    const [nodes, sessions] = await Promise.all([read('/api/cluster/nodes'), read('/api/cluster/sessions')]);
    fill('nodes', nodes, [n => n.id, n => n.incarnation, n => n.address, n => n.state, n => n.uptime,
      n => n.load.connections, n => n.load.sessions]);
    fill('sessions', sessions, [s => s.id, s => s.name, s => s.version,
      s => s.completedPieces + '/' + s.pieceCount, s => s.participantsOnline]);
    statusLine.textContent = '';
  } catch (e) {
    statusLine.textContent = e.message;
  }
}

document.getElementById('login').addEventListener('submit', event => {
  event.preventDefault();
  sessionStorage.setItem(key, document.getElementById('token').value.trim());
  document.getElementById('token').value = '';
  refresh();
});
document.getElementById('forget').addEventListener('click', () => {
  sessionStorage.removeItem(key);
  fill('nodes', [], []);
  fill('sessions', [], []);
});
refresh();
setInterval(refresh, 5000);
)js";

void send_text(responder& reply, std::string_view type, std::string_view body,
               bool html) {
  response res{bhttp::status::ok, 11};
  res.set(bhttp::field::content_type, http::to_beast(type));
  res.set(bhttp::field::cache_control, "no-cache");
  res.set("X-Content-Type-Options", "nosniff");
  if (html) res.set("Content-Security-Policy", http::to_beast(http::html_csp));
  res.body() = std::string{body};
  res.prepare_payload();
  reply(std::move(res));
}

} // namespace

void register_operator_api(http::router& routes, operator_context value) {
  using bhttp::verb;
  auto ctx = std::make_shared<const operator_context>(std::move(value));
  auto with_ctx = [ctx](auto fn) {
    return [ctx, fn](request&& req, route_match m, responder reply) {
      fn(ctx, std::move(req), std::move(m), std::move(reply));
    };
  };
  routes.add(verb::get, "/api/cluster/nodes", with_ctx(nodes));
  routes.add(verb::get, "/api/cluster/sessions", with_ctx(sessions));
  routes.add(verb::get, "/console",
             [](request&&, route_match, responder reply) {
               send_text(reply, "text/html; charset=utf-8", console_html, true);
             });
  routes.add(verb::get, "/console/console.js",
             [](request&&, route_match, responder reply) {
               send_text(reply, "text/javascript; charset=utf-8", console_js,
                         false);
             });
  routes.add(verb::get, "/console/console.css",
             [](request&&, route_match, responder reply) {
               send_text(reply, "text/css; charset=utf-8", console_css, false);
             });
}

} // namespace puzzle::transports::api
