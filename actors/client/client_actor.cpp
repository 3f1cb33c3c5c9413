#include "actors/client/client_actor.hpp"

#include <algorithm>

#include <caf/all.hpp>

#include "actors/caf_errors.hpp"
#include "actors/session/session_json.hpp"
#include "actors/util/census.hpp"
#include "actors/util/ids.hpp"
#include "config/settings.hpp"

namespace puzzle {

namespace {

using self_ptr = client_actor::stateful_pointer<client_actor_state>;

namespace sj = session_json;

std::shared_ptr<const std::string> json(std::string text) {
  return std::make_shared<const std::string>(std::move(text));
}

const std::shared_ptr<const std::string>& json_null() {
  static const auto null = json("null");
  return null;
}

void fail(self_ptr self, const client_command& cmd, const caf::error& err) {
  self->state.port->push_error(cmd.call_id, code_of(err), message_of(err));
}

void fail(self_ptr self, const client_command& cmd, errc code,
          const std::string& message) {
  self->state.port->push_error(cmd.call_id, code, message);
}

void reply(self_ptr self, const client_command& cmd,
           std::shared_ptr<const std::string> result) {
  if (!cmd.call_id.empty())
    self->state.port->push_result(cmd.call_id, std::move(result));
}

std::string lock_json(const lock_result& r) {
  std::string out = "{\"granted\":";
  out += r.granted ? "true" : "false";
  out += ",\"lockedBy\":" + sj::quote(r.locked_by);
  out += ",\"expiresAt\":" + sj::quote(util::iso8601(r.expires_at));
  out += ",\"pieceIds\":[";
  for (size_t i = 0; i < r.piece_ids.size(); ++i) {
    if (i > 0) out += ',';
    out += std::to_string(r.piece_ids[i]);
  }
  out += "]}";
  return out;
}

std::string move_json(const move_result& r) {
  return std::string{"{\"success\":"} + (r.success ? "true" : "false")
      + ",\"isCorrectlyPlaced\":" + (r.is_correctly_placed ? "true" : "false")
      + ",\"version\":" + std::to_string(r.version) + '}';
}

// -- moves and re-joins (docs/cluster.md, "Migration")
// -------------------------

/// Monitors a session's handle once, to notice its end.
void watch(self_ptr self, const session_actor& session) {
  auto addr = caf::actor_cast<caf::actor_addr>(session);
  if (session && self->state.watched.insert(addr).second)
    self->monitor(session);
}

void switch_to(self_ptr self, const std::string& id, session_actor handle) {
  auto& st = self->state;
  st.moved_to.erase(id);
  auto i = st.sessions.find(id);
  if (i == st.sessions.end() || i->second == handle) return;
  watch(self, handle);
  i->second = std::move(handle);
}

/// One request to session `id` was answered (or failed): a pending "moved"
/// hint takes effect once none is left.
void settle(self_ptr self, const std::string& id) {
  auto& st = self->state;
  auto i = st.outstanding.find(id);
  if (i != st.outstanding.end() && i->second > 0) --i->second;
  if (i != st.outstanding.end() && i->second > 0) return;
  auto hint = st.moved_to.find(id);
  if (hint != st.moved_to.end()) switch_to(self, id, hint->second);
}

/// A response handler for type `T` that settles the session's count.
template<class T, class F>
auto settled(self_ptr self, std::string id, F f) {
  return [self, id = std::move(id), f = std::move(f)](T& x) mutable {
    f(x);
    settle(self, id);
  };
}

/// The session is gone for good: forget it and tell the connection.
void forget(self_ptr self, const std::string& id, const std::string& why) {
  auto& st = self->state;
  st.sessions.erase(id);
  st.outstanding.erase(id);
  st.moved_to.erase(id);
  st.rejoining.erase(id);
  st.deleted.insert(id);
  st.port->push_error({}, errc::session_not_found, why);
}

void try_rejoin(self_ptr self, const std::string& id);

/// A re-join attempt failed: again in `rejoin_retry_interval`, or give up
/// once `request_timeout` has passed since the session went away.
void retry_rejoin(self_ptr self, const std::string& id, const caf::error& err) {
  auto& st = self->state;
  auto i = st.rejoining.find(id);
  if (i == st.rejoining.end()) return;
  if (code_of(err) == errc::session_not_found || code_of(err) == errc::forbidden
      || self->clock().now() >= i->second.deadline)
    return forget(self, id,
                  "session " + id + " is no longer available ("
                      + message_of(err) + ")");
  // An empty handle from this actor itself: "ask the directory again".
  self->delayed_send(self, rejoin_retry_interval, moved_atom::value, id,
                     session_actor{});
}

/// Asks the directory where session `id` lives now and joins it there with
/// the same identity; the session answers with a full SessionStateUpdate.
void try_rejoin(self_ptr self, const std::string& id) {
  auto& st = self->state;
  if (st.rejoining.count(id) == 0 || st.sessions.count(id) == 0) return;
  self->request(st.directory, st.options.request_timeout, lookup_atom::value,
                id)
      .then(
          [self, id](session_actor& session) {
            auto& state = self->state;
            auto pending = state.rejoining.find(id);
            if (pending != state.rejoining.end()
                && caf::actor_cast<caf::actor_addr>(session)
                    == pending->second.lost)
              return retry_rejoin(self, id,
                                  make_error(errc::internal,
                                             "the directory still names the "
                                             "lost actor of session "
                                                 + id));
            self->request(session,
                          std::min(state.options.request_timeout,
                                   rejoin_attempt_timeout),
                          join_atom::value, state.identity,
                          client_events_actor{self})
                .then(
                    [self, id, session](std::string&) {
                      auto& now_st = self->state;
                      if (now_st.rejoining.erase(id) == 0
                          || now_st.sessions.count(id) == 0)
                        return; // left meanwhile
                      now_st.moved_to.erase(id);
                      watch(self, session);
                      now_st.sessions[id] = session;
                    },
                    [self, id](caf::error& err) {
                      retry_rejoin(self, id, err);
                    });
          },
          [self, id](caf::error& err) {
            retry_rejoin(self, id, err);
          });
}

/// The actor of joined session `id` is gone (node lost, crashed, or a
/// forwarder that quit before this actor followed its hint).
void start_rejoin(self_ptr self, const std::string& id) {
  auto& st = self->state;
  auto i = st.sessions.find(id);
  if (i == st.sessions.end() || st.rejoining.count(id) > 0) return;
  st.rejoining.emplace(
      id,
      client_actor_state::rejoin{self->clock().now() + st.options.rejoin_window,
                                 caf::actor_cast<caf::actor_addr>(i->second)});
  try_rejoin(self, id);
}

void join(self_ptr self, client_command cmd) {
  auto& st = self->state;
  if (!cmd.user_id.empty() && cmd.user_id != st.identity.user_id) {
    // A token's user can never act as another; an anonymous connection may
    // pick its id (the seed's JoinPuzzleSession(sessionId, userId)).
    if (st.authenticated)
      return fail(self, cmd, errc::forbidden,
                  "userId does not match the access token");
    if (cmd.user_id.size() > 64)
      return fail(self, cmd, errc::invalid_argument,
                  "userId has at most 64 characters");
    st.identity.user_id = cmd.user_id;
  }
  if (st.sessions.count(cmd.session_id) == 0
      && st.sessions.size() >= st.options.max_sessions)
    return fail(self, cmd, errc::limit_exceeded,
                "a connection joins at most "
                    + std::to_string(st.options.max_sessions) + " sessions");
  self->request(st.directory, st.options.request_timeout, lookup_atom::value,
                cmd.session_id)
      .then(
          [self, cmd](session_actor& session) {
            auto& state = self->state;
            self->request(session, state.options.request_timeout,
                          join_atom::value, state.identity,
                          client_events_actor{self})
                .then(
                    [self, cmd, session](std::string& snapshot) {
                      auto& now_st = self->state;
                      watch(self, session);
                      now_st.deleted.erase(cmd.session_id);
                      now_st.rejoining.erase(cmd.session_id);
                      now_st.moved_to.erase(cmd.session_id);
                      now_st.sessions[cmd.session_id] = session;
                      reply(self, cmd, json(std::move(snapshot)));
                    },
                    [self, cmd](caf::error& err) {
                      fail(self, cmd, err);
                    });
          },
          [self, cmd](caf::error& err) {
            fail(self, cmd, err);
          });
}

void get_state(self_ptr self, const client_command& cmd) {
  // Reading needs no join: it is what GET /api/sessions/{id} shows too,
  // private sessions hidden from who may not enter them.
  self->request(self->state.directory, self->state.options.request_timeout,
                state_atom::value, cmd.session_id, self->state.identity)
      .then(
          [self, cmd](std::string& state) {
            reply(self, cmd, json(state));
          },
          [self, cmd](caf::error& err) {
            fail(self, cmd, err);
          });
}

call_budget budget_of(command_kind kind) noexcept {
  switch (kind) {
    case command_kind::drag: return call_budget::drag;
    case command_kind::move:
    case command_kind::lock:
    case command_kind::unlock: return call_budget::move;
    case command_kind::chat: return call_budget::chat;
    case command_kind::cursor: return call_budget::cursor;
    case command_kind::join:
    case command_kind::leave:
    case command_kind::get_state: break;
  }
  return call_budget::session;
}

const char* budget_key(call_budget budget) noexcept {
  switch (budget) {
    case call_budget::drag: return "rate-limits.drags";
    case call_budget::move: return "rate-limits.moves";
    case call_budget::chat: return "rate-limits.chats";
    case call_budget::cursor: return "rate-limits.cursors";
    case call_budget::session: break;
  }
  return "rate-limits.session-calls";
}

/// Spends one call of `cmd`'s budget. A refusal is answered with
/// RATE_LIMITED (for calls without an answer, at most once a second per
/// kind, so a flood is not mirrored back), and a connection refused too
/// often is closed. Returns whether the call may go on.
bool within_budget(self_ptr self, const client_command& cmd) {
  auto& st = self->state;
  auto now = self->clock().now();
  auto budget = budget_of(cmd.kind);
  auto& slot = st.budgets[static_cast<size_t>(budget)];
  auto decision = slot.limiter.acquire(now);
  if (decision.allowed) return true;
  if (st.options.close_after_refusals > 0
      && !st.refusals.acquire(now).allowed) {
    st.port->close("closed: too many calls refused by rate limits "
                   "(rate-limits.close-after-refusals)");
    return false;
  }
  if (cmd.call_id.empty()) {
    if (slot.reported && now - *slot.reported < std::chrono::seconds(1))
      return false;
    slot.reported = now;
  }
  fail(self, cmd, errc::rate_limited,
       "too many calls; retry in "
           + std::to_string(decision.retry_after.count()) + " ms ("
           + budget_key(budget) + ")");
  return false;
}

void handle(self_ptr self, client_command& cmd) {
  auto& st = self->state;
  if (!within_budget(self, cmd)) return;
  if (cmd.kind == command_kind::join) return join(self, std::move(cmd));
  if (cmd.kind == command_kind::get_state) return get_state(self, cmd);
  auto i = st.sessions.find(cmd.session_id);
  if (i == st.sessions.end()) {
    if (st.deleted.count(cmd.session_id) > 0)
      return fail(self, cmd, errc::session_not_found,
                  "session " + cmd.session_id + " no longer exists");
    return fail(self, cmd, errc::not_joined,
                "join session " + cmd.session_id + " first");
  }
  // Its actor is gone and a new one is being looked for: a call sent to
  // the lost one might wait for its whole timeout unanswered.
  if (st.rejoining.count(cmd.session_id) > 0 && cmd.kind != command_kind::leave)
    return fail(self, cmd, errc::internal,
                "session " + cmd.session_id
                    + " is being re-joined on its new node; retry");
  auto session = i->second;
  auto timeout = st.options.request_timeout;
  auto on_error
      = settled<caf::error>(self, cmd.session_id, [self, cmd](caf::error& err) {
          // The session's actor is gone: deleted (it said so, and its monitor
          // told this actor), or moved or lost with its node, then it is asked
          // for again through the directory. This call is not repeated (it may
          // or may not have been applied); the caller learns it with a contract
          // code rather than CAF's.
          if (err == caf::sec::request_receiver_down) {
            auto& now_st = self->state;
            if (now_st.deleted.count(cmd.session_id) > 0
                || now_st.sessions.count(cmd.session_id) == 0)
              return fail(self, cmd, errc::session_not_found,
                          "session " + cmd.session_id + " no longer exists");
            start_rejoin(self, cmd.session_id);
            return fail(self, cmd, errc::internal,
                        "session " + cmd.session_id
                            + " is being re-joined on its new node; retry");
          }
          fail(self, cmd, err);
        });
  // Counted until answered: see `client_actor_state::outstanding`.
  if (cmd.kind != command_kind::leave) ++st.outstanding[cmd.session_id];
  switch (cmd.kind) {
    case command_kind::leave:
      st.sessions.erase(i);
      st.outstanding.erase(cmd.session_id);
      st.moved_to.erase(cmd.session_id);
      st.rejoining.erase(cmd.session_id);
      // Not counted: the session is forgotten here already.
      self->request(session, timeout, leave_atom::value)
          .then(
              [self, cmd](bool) {
                reply(self, cmd, json_null());
              },
              [self, cmd](caf::error& err) {
                if (err == caf::sec::request_receiver_down)
                  return reply(self, cmd, json_null()); // gone anyway
                fail(self, cmd, err);
              });
      break;
    case command_kind::lock:
      self->request(session, timeout, lock_atom::value, cmd.piece_id)
          .then(settled<lock_result>(self, cmd.session_id,
                                     [self, cmd](lock_result& r) {
                                       reply(self, cmd, json(lock_json(r)));
                                     }),
                on_error);
      break;
    case command_kind::drag:
      self->request(session, timeout, drag_atom::value, cmd.piece_id, cmd.x,
                    cmd.y, cmd.rotation)
          .then(settled<uint64_t>(self, cmd.session_id,
                                  [self, cmd](uint64_t) {
                                    reply(self, cmd, json_null());
                                  }),
                on_error);
      break;
    case command_kind::move:
      self->request(session, timeout, move_atom::value, cmd.piece_id, cmd.x,
                    cmd.y, cmd.rotation)
          .then(settled<move_result>(self, cmd.session_id,
                                     [self, cmd](move_result& r) {
                                       reply(self, cmd, json(move_json(r)));
                                     }),
                on_error);
      break;
    case command_kind::unlock:
      self->request(session, timeout, unlock_atom::value, cmd.piece_id)
          .then(settled<bool>(self, cmd.session_id,
                              [self, cmd](bool) {
                                reply(self, cmd, json_null());
                              }),
                on_error);
      break;
    case command_kind::chat:
      self->request(session, timeout, chat_atom::value, cmd.text)
          .then(settled<bool>(self, cmd.session_id,
                              [self, cmd](bool) {
                                reply(self, cmd, json_null());
                              }),
                on_error);
      break;
    case command_kind::cursor:
      self->request(session, timeout, cursor_atom::value, cmd.x, cmd.y)
          .then(settled<bool>(self, cmd.session_id,
                              [self, cmd](bool) {
                                reply(self, cmd, json_null());
                              }),
                on_error);
      break;
    case command_kind::join:
    case command_kind::get_state: break;
  }
}

} // namespace

client_options client_options_of(const config::settings& cfg) {
  client_options out;
  out.max_sessions = cfg.limits.max_sessions_per_connection;
  auto& rl = cfg.rate_limits;
  const std::string* texts[call_budget_count]
      = {&rl.drags, &rl.moves, &rl.chats, &rl.cursors, &rl.session_calls};
  for (size_t i = 0; i < call_budget_count; ++i) {
    std::string error; // validated when the config was read
    util::limiter_spec::parse(*texts[i], out.budgets[i], error);
  }
  out.close_after_refusals = rl.close_after_refusals;
  out.abuse_window = rl.abuse_window;
  // A session of a node that died comes back once the node is declared
  // down (docs/cluster.md, "Failover"); its clients keep looking that long.
  if (cfg.cluster.multi_node())
    out.rejoin_window = cfg.cluster.connection_timeout + cfg.cluster.down_after
        + out.request_timeout;
  return out;
}

client_actor::behavior_type
client_behavior(self_ptr self, client_port_ptr port, directory_actor directory,
                user_identity identity, bool authenticated,
                client_options options) {
  auto& init = self->state;
  init.port = std::move(port);
  init.directory = std::move(directory);
  init.identity = std::move(identity);
  // An anonymous connection picks its own user id, so it holds no role at
  // all: private sessions (which trust the user id) stay closed to it.
  if (!authenticated) init.identity.roles = 0;
  init.authenticated = authenticated;
  init.options = options;
  auto now = self->clock().now();
  for (auto& spec : init.options.budgets)
    init.budgets.push_back(
        client_actor_state::budget_state{util::rate_limiter{spec, now}, {}});
  // At most close_after_refusals refusals per abuse window.
  util::limiter_spec abuse;
  abuse.kind = util::limiter_spec::algorithm::fixed_window;
  abuse.permits = std::max<uint32_t>(1, init.options.close_after_refusals);
  abuse.window = init.options.abuse_window;
  init.refusals = util::rate_limiter{abuse, now};
  census::enlist(self, "client", "client/" + init.identity.user_id);
  // Ended otherwise than by its connection's close (killed by an operator,
  // an exception): the connection goes with it and the client reconnects.
  // Left open, its calls would wait for an actor that is gone.
  self->attach_functor([port = init.port](const caf::error& reason) {
    if (reason != caf::exit_reason::normal)
      port->close("this connection's client actor ended ("
                  + caf::to_string(reason) + "); reconnect");
  });
  // A joined session's actor ended. Deleted (`user_shutdown`): it sent
  // Error to its members already, later calls get SESSION_NOT_FOUND.
  // Otherwise (its node died, it crashed, or it moved and this actor had
  // not followed yet) it is asked for again through the directory.
  self->set_down_handler([self](caf::down_msg& msg) {
    auto& st = self->state;
    st.watched.erase(msg.source);
    std::vector<std::string> ids;
    for (auto& [id, session] : st.sessions)
      if (caf::actor_cast<caf::actor_addr>(session) == msg.source)
        ids.push_back(id);
    for (auto& id : ids) {
      if (msg.reason == caf::exit_reason::user_shutdown) {
        st.sessions.erase(id);
        st.outstanding.erase(id);
        st.moved_to.erase(id);
        st.deleted.insert(id);
        continue;
      }
      // A hint is pending: the switch follows the last answer.
      if (st.moved_to.count(id) > 0) continue;
      start_rejoin(self, id);
    }
  });
  return {
      // By const reference: the session shares one message among all its
      // members, and a mutable handler would make CAF copy it.
      [self](const session_event& ev) {
        self->state.port->push_event(ev);
      },
      [self](client_command& cmd) {
        handle(self, cmd);
      },
      [self](const channel_message& msg) {
        self->state.port->push_channel(msg);
      },
      [self](close_atom) {
        // Leaving explicitly tells the others at once; the sessions' monitors
        // would notice the exit too, this is just faster and ordered. The
        // request carries this actor as sender, which is how sessions know
        // who leaves; the answers are not awaited.
        for (auto& [id, session] : self->state.sessions)
          self->request(session, self->state.options.request_timeout,
                        leave_atom::value)
              .then([](bool) {}, [](caf::error&) {});
        self->state.sessions.clear();
        self->quit();
      },
      [self](moved_atom, std::string& session_id, session_actor& handle) {
        auto& st = self->state;
        if (!handle) {
          // This actor's own retry timer of a re-join.
          if (caf::actor_cast<caf::actor_addr>(self->current_sender())
              == self->address())
            try_rejoin(self, session_id);
          return;
        }
        if (st.sessions.count(session_id) == 0) return;
        if (st.outstanding[session_id] == 0)
          switch_to(self, session_id, std::move(handle));
        else
          st.moved_to[session_id] = std::move(handle);
      },
      [self](inspect_atom) -> actor_probe {
        auto& st = self->state;
        actor_probe probe;
        probe.kind = "client";
        probe.key = "client/" + st.identity.user_id;
        probe.mailbox_depth = self->mailbox().size();
        std::string joined = "[";
        for (auto& [id, session] : st.sessions) {
          if (joined.size() > 1) joined += ',';
          joined += sj::quote(id);
        }
        joined += ']';
        uint64_t total = 0;
        for (auto& [id, n] : st.outstanding)
          total += n;
        probe.summary_json = "{\"userId\":" + sj::quote(st.identity.user_id)
            + ",\"sessions\":" + joined
            + ",\"outstanding\":" + std::to_string(total)
            + ",\"pendingMoves\":" + std::to_string(st.moved_to.size())
            + ",\"rejoining\":" + std::to_string(st.rejoining.size()) + '}';
        return probe;
      },
  };
}

} // namespace puzzle
