#include "transports/api/operator_api.hpp"

#include <algorithm>
#include <map>
#include <memory>
#include <optional>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/beast/http/field.hpp>
#include <boost/beast/http/status.hpp>
#include <boost/beast/http/verb.hpp>
#include <caf/actor_cast.hpp>
#include <caf/event_based_actor.hpp>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "actors/util/ids.hpp"
#include "transports/api/actor_bridge.hpp"
#include "transports/api/replies.hpp"
#include "transports/api/rest_body.hpp"
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

std::shared_ptr<spdlog::logger> operator_log() {
  static auto logger = [] {
    auto existing = spdlog::get("puzzle.operators");
    return existing ? existing
                    : spdlog::default_logger()->clone("puzzle.operators");
  }();
  return logger;
}

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

// -- fan-out -----------------------------------------------------------------

/// One destination's answer of `ask_all`: a value or an error.
template<class T>
struct node_reply {
  std::string node_id;
  std::string incarnation;
  std::optional<T> value;
  caf::error error;
};

template<class Handle>
struct destination {
  std::string node_id;
  std::string incarnation;
  Handle handle;
};

/// Sends `xs...` to every destination at once from one short-lived actor
/// and calls `done` with every answer (in the order of `dests`) once all
/// answered or timed out. `done` runs on a CAF worker thread.
template<class T, class Handle, class Done, class... Ts>
void ask_all(caf::actor_system& sys, std::vector<destination<Handle>> dests,
             std::chrono::milliseconds timeout, Done done, Ts... xs) {
  sys.spawn([dests = std::move(dests), timeout, done = std::move(done),
             xs...](caf::event_based_actor* self) mutable {
    struct run_t {
      std::vector<node_reply<T>> replies;
      size_t pending = 0;
      Done done;
    };
    auto run
        = std::make_shared<run_t>(run_t{{}, dests.size(), std::move(done)});
    for (auto& d : dests)
      run->replies.push_back(node_reply<T>{d.node_id, d.incarnation, {}, {}});
    auto finish = [self, run] {
      if (--run->pending > 0) return;
      run->done(std::move(run->replies));
      self->quit();
    };
    if (dests.empty()) {
      run->pending = 1;
      finish();
      return;
    }
    for (size_t i = 0; i < dests.size(); ++i)
      self->request(dests[i].handle, timeout, xs...)
          .then(
              [run, i, finish](T& value) {
                run->replies[i].value = std::move(value);
                finish();
              },
              [run, i, finish](caf::error& err) {
                run->replies[i].error = std::move(err);
                finish();
              });
  });
}

/// Runs `fn` and answers 500 when it throws (it runs on a CAF thread,
/// where an escaping exception would only drop the responder).
template<class Fn>
void guarded(responder& reply, Fn&& fn) {
  try {
    fn();
  } catch (const std::exception& e) {
    send_error(reply, bhttp::status::internal_server_error,
               to_code(errc::internal), e.what());
  }
}

void send_failure(responder& reply, const caf::error& err) {
  auto e = to_http_error(err);
  auto res = http::make_error(static_cast<bhttp::status>(e.status), e.code,
                              e.message);
  res.set(bhttp::field::cache_control, "no-store");
  reply(std::move(res));
}

std::string_view target_of(const request& req) {
  auto t = req.target();
  return {t.data(), t.size()};
}

/// A member that can answer: not down, not unreachable.
bool is_alive(const cluster_member& m) {
  return m.state == "up" || m.state == "joining" || m.state == "leaving";
}

/// Reads the directory's member list (every member with its endpoints;
/// on a single node this node alone), then calls `next(members)`, which
/// captures the responder itself.
template<class Next>
void with_members(const context_ptr& ctx, responder reply, Next next) {
  api::ask(
      ctx->system, ctx->directory, ctx->ask_timeout,
      [reply, next = std::move(next)](
          const std::vector<cluster_member>& members) mutable {
        guarded(reply, [&] {
          next(members);
        });
      },
      [reply](const caf::error& err) mutable {
        send_failure(reply, err);
      },
      members_atom_v);
}

cluster::inspector_actor inspector_of(const operator_context& ctx,
                                      const cluster_member& m) {
  if (m.self) return ctx.inspector;
  return caf::actor_cast<cluster::inspector_actor>(m.endpoints.inspector);
}

directory_actor directory_of(const operator_context& ctx,
                             const cluster_member& m) {
  if (m.self) return ctx.directory;
  return caf::actor_cast<directory_actor>(m.endpoints.directory);
}

/// The member a node id or an incarnation names; of several incarnations
/// of one node id the alive one, else the first listed.
const cluster_member* find_member(const std::vector<cluster_member>& members,
                                  const std::string& node) {
  const cluster_member* found = nullptr;
  for (auto& m : members) {
    if (m.incarnation == node) return &m;
    if (m.node_id == node && (!found || is_alive(m))) found = &m;
  }
  return found;
}

void send_unknown_node(responder& reply, const std::string& node) {
  send_invalid(reply,
               "unknown node '" + node
                   + "' (not a member's node id or incarnation)");
}

/// `node` and `kind` query values: printable, no spaces, bounded.
bool valid_name(const std::string& x, size_t max) {
  if (x.size() > max) return false;
  return std::all_of(x.begin(), x.end(), [](unsigned char c) {
    return c > 0x20 && c < 0x7f;
  });
}

constexpr size_t max_node_length = 128;
constexpr size_t max_key_length = 512;

/// The kinds the census knows (`?kind=`); empty lists them all.
bool known_kind(const std::string& kind) {
  return kind.empty() || kind == "session" || kind == "lock"
      || kind == "client";
}

/// Answers 400 for a `?node=` value that is not a node name; true when it
/// is absent or fine.
bool valid_node_query(const std::optional<std::string>& node,
                      responder& reply) {
  if (!node || valid_name(*node, max_node_length)) return true;
  send_invalid(reply,
               "node must be at most " + std::to_string(max_node_length)
                   + " printable characters without spaces");
  return false;
}

// -- the audit
// ------------------------------------------------------------------

/// Writes the record (logged as `event=operator_action`), then calls
/// `then()`: an action is answered only once its record is stored (or
/// storing it failed, which is logged).
template<class Then>
void audit(const context_ptr& ctx, const user_identity& who, std::string action,
           std::string target, std::string outcome, std::string detail,
           Then then) {
  audit_record rec;
  rec.at_ms = util::now_ms();
  rec.operator_id = who.user_id;
  rec.operator_name = who.username;
  rec.action = std::move(action);
  rec.target = std::move(target);
  rec.outcome = std::move(outcome);
  rec.detail = std::move(detail);
  auto log = operator_log();
  auto line = [&](auto level) {
    log->log(level,
             "event=operator_action operator={} operator_name=\"{}\" "
             "action={} target={} outcome={} detail=\"{}\"",
             rec.operator_id, rec.operator_name, rec.action, rec.target,
             rec.outcome, rec.detail);
  };
  line(rec.outcome == "ok" ? spdlog::level::info : spdlog::level::warn);
  if (!ctx->store) {
    then();
    return;
  }
  api::ask(
      ctx->system, ctx->store, ctx->ask_timeout,
      [then](bool) mutable {
        then();
      },
      [then, log](const caf::error& err) mutable {
        log->error("event=audit_write_failed error={}", message_of(err));
        then();
      },
      put_atom_v, std::move(rec));
}

/// The audit outcome of an error: its contract code.
std::string outcome_of(const caf::error& err) {
  return std::string{to_http_error(err).code};
}

/// Every stored session (the directory's list), with its owner from the
/// directory rows and, where a node holds it in memory, its live state.
json cluster_sessions(
    const std::map<std::string, std::string>& node_of_incarnation,
    const std::vector<node_reply<std::vector<std::string>>>& live,
    const std::vector<session_summary>& summaries,
    const std::vector<session_location>& rows) {
  std::map<std::string, const session_location*> row_of;
  for (auto& r : rows)
    row_of[r.session_id] = &r;
  std::map<std::string, json> views;
  for (auto& node : live) {
    if (!node.value) continue;
    for (auto& state : *node.value)
      if (auto view = session_view(node.node_id, state)) {
        (*view)["incarnation"] = node.incarnation;
        auto id = (*view)["id"].get<std::string>();
        views[id] = std::move(*view);
      }
  }
  auto out = json::array();
  auto emit = [&](const std::string& id, json view, bool is_live) {
    json entry{{"id", id}};
    auto row = row_of.find(id);
    if (row != row_of.end()) {
      auto& inc = row->second->owner_incarnation;
      auto node = node_of_incarnation.find(inc);
      entry["node"] = node != node_of_incarnation.end() ? json(node->second)
                                                        : json(nullptr);
      entry["incarnation"] = inc;
      entry["generation"] = row->second->generation;
    } else {
      // A single node writes no rows: what it holds in memory is its own.
      entry["node"] = is_live ? view["node"] : json(nullptr);
      entry["incarnation"] = is_live ? view["incarnation"] : json(nullptr);
      entry["generation"] = 0;
    }
    if (is_live && row != row_of.end()) {
      // The node holding it in memory wins over a row being moved.
      entry["node"] = view["node"];
      entry["incarnation"] = view["incarnation"];
    }
    entry["live"] = is_live;
    for (auto& [k, v] : view.items())
      if (k != "id" && k != "node" && k != "incarnation") entry[k] = v;
    out.push_back(std::move(entry));
  };
  std::map<std::string, const session_summary*> stored;
  for (auto& s : summaries)
    stored[s.session_id] = &s;
  for (auto& [id, view] : views)
    stored.emplace(id, nullptr);
  for (auto& [id, summary] : stored) {
    if (auto v = views.find(id); v != views.end()) {
      emit(id, v->second, true);
    } else if (summary) {
      emit(id,
           json{{"name", summary->name},
                {"ownerId", summary->owner_id},
                {"isPublic", summary->is_public},
                {"version", nullptr},
                {"pieceCount", summary->piece_count},
                {"completedPieces", summary->placed_count},
                {"participants", json::array()},
                {"participantsOnline", summary->participants_online}},
           false);
    }
  }
  return out;
}

// -- sessions
// -------------------------------------------------------------------

void sessions(const context_ptr& ctx, request&& req, route_match,
              responder reply) {
  if (!operator_of(*ctx, req, reply)) return;
  with_members(
      ctx, reply,
      [ctx, reply](const std::vector<cluster_member>& members) mutable {
        // The live state of each node's sessions, from its directory.
        std::vector<destination<directory_actor>> dests;
        for (auto& m : members)
          if (is_alive(m))
            if (auto dir = directory_of(*ctx, m))
              dests.push_back({m.node_id, m.incarnation, dir});
        std::map<std::string, std::string> node_of_incarnation;
        for (auto& m : members)
          node_of_incarnation[m.incarnation] = m.node_id;
        ask_all<std::vector<std::string>>(
            ctx->system, std::move(dests), ctx->ask_timeout,
            [ctx, reply, node_of_incarnation](
                std::vector<node_reply<std::vector<std::string>>>
                    live) mutable {
              api::ask(
                  ctx->system, ctx->directory, ctx->ask_timeout,
                  [ctx, reply, node_of_incarnation, live = std::move(live)](
                      const std::vector<session_summary>& summaries) mutable {
                    auto done =
                        [ctx, reply, node_of_incarnation, live, summaries](
                            const std::vector<session_location>& rows) mutable {
                          guarded(reply, [&] {
                            send_json(reply,
                                      cluster_sessions(node_of_incarnation,
                                                       live, summaries, rows));
                          });
                        };
                    if (!ctx->store) {
                      done({});
                      return;
                    }
                    api::ask(
                        ctx->system, ctx->store, ctx->ask_timeout, done,
                        [reply](const caf::error& err) mutable {
                          send_failure(reply, err);
                        },
                        owner_atom_v, list_atom_v);
                  },
                  [reply](const caf::error& err) mutable {
                    send_failure(reply, err);
                  },
                  list_atom_v);
            },
            list_atom_v, state_atom_v);
      });
}

// -- actors
// ---------------------------------------------------------------------

/// One probe as the API shows it; a `messageRate` the inspector put into
/// the summary moves up beside the counters.
json probe_json(const actor_probe& p) {
  auto summary = json::parse(p.summary_json, nullptr, false);
  if (!summary.is_object()) summary = json::object();
  json out{{"key", p.key},
           {"kind", p.kind},
           {"node", p.node_id},
           {"incarnation", p.incarnation},
           {"mailboxDepth", p.mailbox_depth},
           {"messagesHandled", p.messages_handled}};
  if (auto rate = summary.find("messageRate"); rate != summary.end()) {
    out["messageRate"] = *rate;
    summary.erase(rate);
  }
  out["summary"] = std::move(summary);
  return out;
}

json unreachable_json(const std::string& node, const std::string& incarnation,
                      const std::string& state, std::string_view code,
                      const std::string& message) {
  return json{{"node", node},
              {"incarnation", incarnation},
              {"state", state},
              {"code", code},
              {"message", message}};
}

/// The members to ask: the alive ones (or the one `node` names); the
/// others go to `unreachable`. False after answering 400 for an unknown
/// node.
bool pick_inspectors(const operator_context& ctx,
                     const std::vector<cluster_member>& members,
                     const std::optional<std::string>& node,
                     std::vector<destination<cluster::inspector_actor>>& dests,
                     json& unreachable, responder& reply) {
  const cluster_member* only = nullptr;
  if (node && !node->empty()) {
    only = find_member(members, *node);
    if (!only) {
      send_unknown_node(reply, *node);
      return false;
    }
  }
  for (auto& m : members) {
    if (only && &m != only) continue;
    if (!only && m.state == "down") continue;
    auto handle = inspector_of(ctx, m);
    if (!is_alive(m))
      unreachable.push_back(unreachable_json(
          m.node_id, m.incarnation, m.state, to_code(errc::internal),
          "node " + m.node_id + " is " + m.state));
    else if (!handle)
      unreachable.push_back(unreachable_json(
          m.node_id, m.incarnation, m.state, to_code(errc::internal),
          "node " + m.node_id + " is not linked yet"));
    else
      dests.push_back({m.node_id, m.incarnation, handle});
  }
  return true;
}

void actors(const context_ptr& ctx, request&& req, route_match,
            responder reply) {
  if (!operator_of(*ctx, req, reply)) return;
  auto node = http::query_param(target_of(req), "node");
  auto kind = http::query_param(target_of(req), "kind");
  if (!valid_node_query(node, reply)) return;
  if (kind && !known_kind(*kind))
    return send_invalid(reply,
                        "kind must be session, lock or client "
                        "(or empty for all)");
  with_members(
      ctx, reply,
      [ctx, reply, node, kind = kind.value_or("")](
          const std::vector<cluster_member>& members) mutable {
        std::vector<destination<cluster::inspector_actor>> dests;
        auto unreachable = json::array();
        if (!pick_inspectors(*ctx, members, node, dests, unreachable, reply))
          return;
        ask_all<std::vector<actor_probe>>(
            ctx->system, std::move(dests), ctx->ask_timeout,
            [reply,
             unreachable](std::vector<node_reply<std::vector<actor_probe>>>
                              answers) mutable {
              guarded(reply, [&] {
                auto all = json::array();
                auto nodes = json::array();
                for (auto& a : answers) {
                  if (!a.value) {
                    auto e = to_http_error(a.error);
                    unreachable.push_back(unreachable_json(
                        a.node_id, a.incarnation, "up", e.code, e.message));
                    continue;
                  }
                  nodes.push_back(json{{"node", a.node_id},
                                       {"incarnation", a.incarnation},
                                       {"actors", a.value->size()}});
                  for (auto& p : *a.value)
                    all.push_back(probe_json(p));
                }
                send_json(reply,
                          json{{"actors", std::move(all)},
                               {"nodes", std::move(nodes)},
                               {"unreachable", std::move(unreachable)}});
              });
            },
            actors_atom_v, kind);
      });
}

/// The session id of a `session/<id>` key, else empty.
std::string session_of_key(const std::string& key) {
  constexpr std::string_view prefix = "session/";
  if (key.compare(0, prefix.size(), prefix) != 0) return {};
  return key.substr(prefix.size());
}

/// Finds the inspectors that may hold `key`: `node` when given; for a
/// session the owner in its directory row when that member is alive;
/// otherwise every alive member. Calls `next(dests)`, which captures the
/// responder itself.
template<class Next>
void locate(const context_ptr& ctx, const std::string& key,
            const std::optional<std::string>& node, responder reply,
            Next next) {
  with_members(
      ctx, reply,
      [ctx, reply, key, node, next = std::move(next)](
          const std::vector<cluster_member>& members) mutable {
        std::vector<destination<cluster::inspector_actor>> all;
        auto unreachable = json::array();
        if (!pick_inspectors(*ctx, members, node, all, unreachable, reply))
          return;
        auto session = session_of_key(key);
        if ((node && !node->empty()) || session.empty() || !ctx->store) {
          next(std::move(all));
          return;
        }
        api::ask(
            ctx->system, ctx->store, ctx->ask_timeout,
            [all, next, reply](const session_location& row) mutable {
              guarded(reply, [&] {
                std::vector<destination<cluster::inspector_actor>> owner;
                for (auto& d : all)
                  if (d.incarnation == row.owner_incarnation)
                    owner.push_back(d);
                next(owner.empty() ? std::move(all) : std::move(owner));
              });
            },
            [all, next](const caf::error&) mutable {
              next(std::move(all));
            },
            owner_atom_v, std::move(session));
      });
}

/// The answer when no node had the actor: 404 when every asked node said
/// so, 503 when one of them did not answer.
template<class T>
void send_not_found(responder& reply, const std::string& key,
                    const std::vector<node_reply<T>>& answers) {
  for (auto& a : answers)
    if (!a.value && code_of(a.error) != errc::session_not_found) {
      auto e = to_http_error(a.error);
      send_error(reply, bhttp::status::service_unavailable, e.code,
                 "actor '" + key + "' not found on the nodes that answered; "
                     + a.node_id + ": " + e.message);
      return;
    }
  send_error(reply, bhttp::status::not_found, to_code(errc::session_not_found),
             "no actor '" + key + "' in the cluster");
}

std::optional<std::string> key_of(const route_match& m, responder& reply) {
  auto key = m.params.empty() ? std::string{} : m.params.front();
  if (key.empty() || key.size() > max_key_length
      || !valid_name(key, max_key_length)) {
    send_invalid(reply,
                 "an actor key is 1 to " + std::to_string(max_key_length)
                     + " printable characters, like session/<id>, "
                       "lock/<session>/<piece> or client/<user id>");
    return std::nullopt;
  }
  return key;
}

void inspect_one(const context_ptr& ctx, request&& req, route_match m,
                 responder reply) {
  if (m.params.empty() || m.params.front().empty())
    return actors(ctx, std::move(req), std::move(m), std::move(reply));
  if (!operator_of(*ctx, req, reply)) return;
  auto key = key_of(m, reply);
  if (!key) return;
  auto node = http::query_param(target_of(req), "node");
  if (!valid_node_query(node, reply)) return;
  locate(
      ctx, *key, node, reply,
      [ctx, reply, key = *key](
          std::vector<destination<cluster::inspector_actor>> dests) mutable {
        ask_all<actor_probe>(
            ctx->system, std::move(dests), ctx->ask_timeout,
            [reply, key](std::vector<node_reply<actor_probe>> answers) mutable {
              guarded(reply, [&] {
                for (auto& a : answers)
                  if (a.value) return send_json(reply, probe_json(*a.value));
                send_not_found(reply, key, answers);
              });
            },
            inspect_atom_v, key);
      });
}

// -- actions
// --------------------------------------------------------------------

void kill_actor(const context_ptr& ctx, request&& req, route_match m,
                responder reply) {
  auto who = operator_of(*ctx, req, reply);
  if (!who) return;
  auto rest = m.params.empty() ? std::string{} : m.params.front();
  constexpr std::string_view suffix = "/kill";
  if (rest.size() <= suffix.size()
      || rest.compare(rest.size() - suffix.size(), suffix.size(), suffix) != 0)
    return send_error(reply, bhttp::status::not_found, "NOT_FOUND",
                      "POST /api/cluster/actors/<key>/kill is the only action "
                      "on an actor");
  m.params.front() = rest.substr(0, rest.size() - suffix.size());
  auto key = key_of(m, reply);
  if (!key) return;
  auto node = http::query_param(target_of(req), "node");
  if (!valid_node_query(node, reply)) return;
  locate(ctx, *key, node, reply,
         [ctx, reply, key = *key, who = *who](
             std::vector<destination<cluster::inspector_actor>> dests) mutable {
           ask_all<bool>(
               ctx->system, std::move(dests), ctx->ask_timeout,
               [ctx, reply, key,
                who](std::vector<node_reply<bool>> answers) mutable {
                 auto nodes = json::array();
                 for (auto& a : answers)
                   if (a.value && *a.value) nodes.push_back(a.node_id);
                 if (nodes.empty()) {
                   // Audited with the code the caller gets.
                   std::string code{to_code(errc::session_not_found)};
                   for (auto& a : answers)
                     if (!a.value
                         && code_of(a.error) != errc::session_not_found)
                       code = std::string{to_http_error(a.error).code};
                   audit(ctx, who, "kill", key, code, "no node killed it",
                         [reply, key, answers]() mutable {
                           send_not_found(reply, key, answers);
                         });
                   return;
                 }
                 auto detail = "killed on " + nodes.dump();
                 audit(ctx, who, "kill", key, "ok", detail,
                       [reply, key, nodes]() mutable {
                         send_json(reply,
                                   json{{"key", key},
                                        {"killed", true},
                                        {"nodes", nodes}});
                       });
               },
               kill_atom_v, key);
         });
}

void migrate(const context_ptr& ctx, request&& req, route_match m,
             responder reply) {
  auto who = operator_of(*ctx, req, reply);
  if (!who) return;
  auto id = m.params.at(0);
  if (id.size() > max_node_length || !valid_name(id, max_node_length))
    return send_invalid(reply,
                        "session id must be at most "
                            + std::to_string(max_node_length)
                            + " printable characters");
  std::string target;
  if (!req.body().empty()) {
    if (!http::has_json_content_type(req))
      return send_error(reply, bhttp::status::unsupported_media_type,
                        "UNSUPPORTED_MEDIA_TYPE",
                        "Content-Type must be application/json");
    json body;
    if (auto error = parse_object_body(req.body(), body); !error.empty())
      return send_invalid(reply, error);
    if (auto it = body.find("node"); it != body.end() && !it->is_null()) {
      if (!it->is_string() || it->get<std::string>().empty()
          || !valid_name(it->get<std::string>(), max_node_length))
        return send_invalid(reply,
                            "node must be a node id or incarnation "
                            "(a string of 1 to "
                                + std::to_string(max_node_length)
                                + " printable characters; null or no "
                                  "node: the rendezvous winner)");
      target = it->get<std::string>();
    }
  }
  auto& cl = ctx->settings.cluster;
  auto timeout = std::max(ctx->ask_timeout,
                          2 * cl.connection_timeout + cl.migration_timeout);
  auto detail = target.empty() ? std::string{"to the rendezvous winner"}
                               : "to " + target;
  api::ask(
      ctx->system, ctx->directory, timeout,
      [ctx, reply, id, who = *who,
       detail](const std::string& incarnation) mutable {
        with_members(
            ctx, reply,
            [ctx, reply, id, who, detail,
             incarnation](const std::vector<cluster_member>& members) mutable {
              std::string node = incarnation;
              for (auto& member : members)
                if (member.incarnation == incarnation) node = member.node_id;
              audit(ctx, who, "migrate", "session/" + id, "ok",
                    detail + ": now on " + node + " (" + incarnation + ")",
                    [reply, id, node, incarnation]() mutable {
                      send_json(reply,
                                json{{"sessionId", id},
                                     {"node", node},
                                     {"incarnation", incarnation}});
                    });
            });
      },
      [ctx, reply, id, who = *who, detail](const caf::error& err) mutable {
        audit(ctx, who, "migrate", "session/" + id, outcome_of(err),
              detail + ": " + message_of(err), [reply, err]() mutable {
                send_failure(reply, err);
              });
      },
      migrate_atom_v, id, target);
}

void drain(const context_ptr& ctx, request&& req, route_match m,
           responder reply) {
  auto who = operator_of(*ctx, req, reply);
  if (!who) return;
  auto node = m.params.at(0);
  if (!valid_name(node, max_node_length))
    return send_invalid(reply,
                        "node must be at most "
                            + std::to_string(max_node_length)
                            + " printable characters without spaces");
  with_members(
      ctx, reply,
      [ctx, reply, node,
       who = *who](const std::vector<cluster_member>& members) mutable {
        auto member = find_member(members, node);
        if (!member) {
          auto message = "unknown node '" + node
              + "' (not a member's node id or incarnation)";
          audit(ctx, who, "drain", node, to_string(errc::invalid_argument),
                message, [reply, message]() mutable {
                  send_invalid(reply, message);
                });
          return;
        }
        auto inspector = inspector_of(*ctx, *member);
        if (!is_alive(*member) || !inspector) {
          auto message = "node " + member->node_id + " is "
              + (is_alive(*member) ? std::string{"not linked yet"}
                                   : member->state);
          audit(ctx, who, "drain", member->node_id,
                to_string(errc::invalid_argument), message,
                [reply, message]() mutable {
                  send_invalid(reply, message);
                });
          return;
        }
        // In a cluster whose other members are all gone, a drain would only
        // stop the last node: refused like the drain of a single node.
        auto others_up = std::any_of(
            members.begin(), members.end(), [&](const cluster_member& other) {
              return other.state == "up" && other.node_id != member->node_id;
            });
        if (ctx->members && !others_up) {
          auto message = "node " + member->node_id
              + " is the only live node of the cluster: there is no other node "
                "to move its sessions to (stop it instead)";
          audit(ctx, who, "drain", member->node_id,
                to_string(errc::invalid_argument), message,
                [reply, message]() mutable {
                  send_invalid(reply, message);
                });
          return;
        }
        auto timeout = ctx->settings.cluster.drain_timeout + ctx->ask_timeout;
        api::ask(
            ctx->system, inspector, timeout,
            [ctx, reply, who, node = member->node_id,
             incarnation = member->incarnation](int32_t moved) mutable {
              audit(ctx, who, "drain", node, "ok",
                    "sessions moved: " + std::to_string(moved)
                        + "; the node leaves",
                    [reply, node, incarnation, moved]() mutable {
                      send_json(reply,
                                json{{"node", node},
                                     {"incarnation", incarnation},
                                     {"sessionsMoved", moved}});
                    });
            },
            [ctx, reply, who,
             node = member->node_id](const caf::error& err) mutable {
              audit(ctx, who, "drain", node, outcome_of(err), message_of(err),
                    [reply, err]() mutable {
                      send_failure(reply, err);
                    });
            },
            drain_atom_v);
      });
}

void audit_log(const context_ptr& ctx, request&& req, route_match,
               responder reply) {
  if (!operator_of(*ctx, req, reply)) return;
  int32_t limit = default_audit_limit;
  if (auto text = http::query_param(target_of(req), "limit")) {
    auto bad = [&] {
      send_invalid(reply,
                   "limit must be an integer from 1 to "
                       + std::to_string(max_audit_limit));
    };
    if (text->empty() || text->size() > 6
        || !std::all_of(text->begin(), text->end(), [](unsigned char c) {
             return c >= '0' && c <= '9';
           }))
      return bad();
    auto value = std::stol(*text);
    if (value < 1 || value > max_audit_limit) return bad();
    limit = static_cast<int32_t>(value);
  }
  if (!ctx->store) return send_json(reply, json::array());
  api::ask(
      ctx->system, ctx->store, ctx->ask_timeout,
      [reply](const std::vector<audit_record>& records) mutable {
        auto out = json::array();
        for (auto& r : records)
          out.push_back(json{{"at", util::iso8601(r.at_ms)},
                             {"atMs", r.at_ms},
                             {"operatorId", r.operator_id},
                             {"operatorName", r.operator_name},
                             {"action", r.action},
                             {"target", r.target},
                             {"outcome", r.outcome},
                             {"detail", r.detail}});
        send_json(reply, out);
      },
      [reply](const caf::error& err) mutable {
        send_failure(reply, err);
      },
      list_atom_v, audit_atom_v, limit);
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
<h2>Sessions</h2>
<table id="sessions"><thead><tr><th>id</th><th>name</th><th>node</th><th>version</th><th>pieces</th><th>participants online</th></tr></thead><tbody></tbody></table>
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
      n => n.load ? n.load.connections : '-', n => n.load ? n.load.sessions : '-']);
    fill('sessions', sessions, [s => s.id, s => s.name, s => s.node ?? '-', s => s.version ?? '-',
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
  routes.add(verb::get, "/api/cluster/actors", with_ctx(actors));
  routes.add(verb::get, "/api/cluster/actors/{*key}", with_ctx(inspect_one));
  routes.add(verb::post, "/api/cluster/actors/{*key}", with_ctx(kill_actor));
  routes.add(verb::post, "/api/cluster/sessions/{id}/migrate",
             with_ctx(migrate));
  routes.add(verb::post, "/api/cluster/nodes/{node}/drain", with_ctx(drain));
  routes.add(verb::get, "/api/cluster/audit", with_ctx(audit_log));
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
