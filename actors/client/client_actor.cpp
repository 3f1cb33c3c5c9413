#include "actors/client/client_actor.hpp"

#include <caf/all.hpp>

#include "actors/caf_errors.hpp"
#include "actors/session/session_json.hpp"
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
                      self->state.sessions[cmd.session_id] = session;
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
  if (i == st.sessions.end())
    return fail(self, cmd, errc::not_joined,
                "join session " + cmd.session_id + " first");
  auto session = i->second;
  auto timeout = st.options.request_timeout;
  auto on_error = [self, cmd](caf::error& err) {
    // A session that is gone (deleted) is forgotten; the caller learns it
    // with the contract's code rather than CAF's.
    if (err == caf::sec::request_receiver_down) {
      self->state.sessions.erase(cmd.session_id);
      return fail(self, cmd, errc::session_not_found,
                  "session " + cmd.session_id + " no longer exists");
    }
    fail(self, cmd, err);
  };
  switch (cmd.kind) {
    case command_kind::leave:
      st.sessions.erase(i);
      self->request(session, timeout, leave_atom::value)
          .then(
              [self, cmd](bool) {
                reply(self, cmd, json_null());
              },
              on_error);
      break;
    case command_kind::lock:
      self->request(session, timeout, lock_atom::value, cmd.piece_id)
          .then(
              [self, cmd](lock_result& r) {
                reply(self, cmd, json(lock_json(r)));
              },
              on_error);
      break;
    case command_kind::drag:
      self->request(session, timeout, drag_atom::value, cmd.piece_id, cmd.x,
                    cmd.y, cmd.rotation)
          .then(
              [self, cmd](uint64_t) {
                reply(self, cmd, json_null());
              },
              on_error);
      break;
    case command_kind::move:
      self->request(session, timeout, move_atom::value, cmd.piece_id, cmd.x,
                    cmd.y, cmd.rotation)
          .then(
              [self, cmd](move_result& r) {
                reply(self, cmd, json(move_json(r)));
              },
              on_error);
      break;
    case command_kind::unlock:
      self->request(session, timeout, unlock_atom::value, cmd.piece_id)
          .then(
              [self, cmd](bool) {
                reply(self, cmd, json_null());
              },
              on_error);
      break;
    case command_kind::chat:
      self->request(session, timeout, chat_atom::value, cmd.text)
          .then(
              [self, cmd](bool) {
                reply(self, cmd, json_null());
              },
              on_error);
      break;
    case command_kind::cursor:
      self->request(session, timeout, cursor_atom::value, cmd.x, cmd.y)
          .then(
              [self, cmd](bool) {
                reply(self, cmd, json_null());
              },
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
        auto i = self->state.sessions.find(session_id);
        if (i != self->state.sessions.end()) i->second = std::move(handle);
      },
      [self](inspect_atom) -> actor_probe {
        actor_probe probe;
        probe.kind = "client";
        probe.key = "client/" + self->state.identity.user_id;
        probe.mailbox_depth = self->mailbox().size();
        return probe;
      },
  };
}

} // namespace puzzle
