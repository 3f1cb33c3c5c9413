#include "actors/device/device_actor.hpp"

#include <cstdio>
#include <memory>

#include <caf/all.hpp>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "actors/caf_errors.hpp"
#include "actors/device/device_port.hpp"
#include "actors/util/ids.hpp"

namespace puzzle {

namespace {

using self_ptr = device_actor::stateful_pointer<device_actor_state>;
using json = nlohmann::json;

std::shared_ptr<spdlog::logger> log() {
  static auto logger = [] {
    auto existing = spdlog::get("puzzle.actor.device");
    return existing ? existing
                    : spdlog::default_logger()->clone("puzzle.actor.device");
  }();
  return logger;
}

/// 64-bit FNV-1a of `text`, starting from `basis`.
uint64_t fnv1a(const std::string& text, uint64_t basis) {
  auto h = basis;
  for (char c : text) {
    h ^= static_cast<unsigned char>(c);
    h *= 0x100000001b3ull;
  }
  return h;
}

std::string dump(const json& j) {
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

device_view view_of(self_ptr self) {
  auto& st = self->state;
  device_view v;
  v.device_id = st.device_id;
  v.user_id = st.identity.user_id;
  v.presence = std::string{to_string(st.presence.state())};
  v.first_seen = st.first_seen;
  v.last_seen = st.last_seen;
  v.presence_since = st.presence_since;
  v.message_rate = st.rate.per_second(self->clock().now());
  v.messages = st.messages;
  v.flaps_suppressed = st.presence.flaps_suppressed();
  if (st.binding) {
    v.session_id = st.binding->session_id;
    v.bound_by = st.binding->bound_by;
    v.bound_at = st.binding->bound_at;
  }
  v.joined = st.joined;
  for (auto& [kind, reading] : st.readings)
    v.readings.push_back(reading);
  v.placements_applied = st.applied;
  v.placements_refused = st.refused;
  v.dropped = st.dropped;
  return v;
}

/// Counts and logs (within the per-device log budget) a dropped message.
void drop(self_ptr self, device_drop reason, const std::string& detail) {
  auto& st = self->state;
  ++st.dropped;
  st.counters->drop(reason);
  if (st.drop_log.acquire(self->clock().now()).allowed)
    log()->info("event=device_message_dropped device={} reason={} "
                "detail=\"{}\"",
                st.device_id, to_string(reason), detail);
}

/// Schedules a tick for the next presence deadline unless one is due
/// before it already.
void arm_presence_timer(self_ptr self) {
  auto& st = self->state;
  auto next = st.presence.next_deadline();
  if (!next) return;
  if (st.tick_at && *st.tick_at <= *next) return;
  auto now = self->clock().now();
  auto delay = *next > now ? *next - now : caf::timespan{0};
  st.tick_at = *next;
  self->delayed_send(self, delay, tick_atom::value);
}

void presence_changed(self_ptr self, const char* cause) {
  auto& st = self->state;
  st.presence_since = util::now_ms();
  log()->info("event=device_presence device={} presence={} cause={}",
              st.device_id, to_string(st.presence.state()), cause);
}

/// Counts a message and spends one unit of the device's budget; returns
/// whether the message may be handled.
bool admit(self_ptr self, bool live) {
  auto& st = self->state;
  auto now = self->clock().now();
  ++st.messages;
  st.rate.add(now);
  if (live) st.last_seen = util::now_ms();
  if (!st.budget.acquire(now).allowed) {
    drop(self, device_drop::rate_limited,
         "over mqtt.device-rate (" + st.options.budget.to_string() + ")");
    return false;
  }
  return true;
}

void traffic(self_ptr self) {
  auto& st = self->state;
  if (st.presence.on_traffic(self->clock().now()))
    presence_changed(self, "traffic");
  arm_presence_timer(self);
}

void send_command(self_ptr self, json body) {
  auto& st = self->state;
  self->send(st.registry, device_command{st.device_id, dump(body)});
}

// -- the session -------------------------------------------------------------

void close_client(self_ptr self) {
  auto& st = self->state;
  if (st.client) {
    // The client actor leaves the session and quits.
    self->send(st.client, close_atom::value);
    st.client = client_actor{};
  }
  st.joined = false;
}

void start_client(self_ptr self) {
  auto& st = self->state;
  auto port = std::make_shared<device_port>(st.device_id, device_actor{self},
                                            st.registry);
  st.client = self->spawn<caf::linked>(client_behavior, port, st.directory,
                                       st.identity, true, st.options.client);
  client_command join;
  join.kind = command_kind::join;
  join.call_id = device_port::join_call;
  join.session_id = st.binding->session_id;
  self->send(st.client, std::move(join));
}

void fail_pending_bind(self_ptr self, const caf::error& err) {
  auto& st = self->state;
  if (st.pending_bind) {
    st.pending_bind->deliver(err);
    st.pending_bind.reset();
  }
}

/// The binding is gone (unbound, or its session no longer exists): leave,
/// forget what waited for it.
void lose_binding(self_ptr self, bool tell_registry, const char* why) {
  auto& st = self->state;
  if (!st.binding) return;
  auto session_id = st.binding->session_id;
  log()->info("event=device_unbound device={} session={} reason={}",
              st.device_id, session_id, why);
  close_client(self);
  st.binding.reset();
  for (auto& p : st.waiting)
    drop(self, device_drop::unbound_device,
         "session " + p.session_id + " is gone (" + why + ")");
  st.waiting.clear();
  st.in_flight.clear();
  if (tell_registry)
    self->send(st.registry, unbind_atom::value, st.device_id, session_id);
}

void send_move(self_ptr self, device_placement p) {
  auto& st = self->state;
  auto n = st.next_call++;
  client_command cmd;
  cmd.kind = command_kind::move;
  cmd.call_id = device_port::move_prefix + std::to_string(n);
  cmd.session_id = p.session_id;
  cmd.piece_id = p.piece_id;
  cmd.x = p.x;
  cmd.y = p.y;
  cmd.rotation = p.rotation;
  st.in_flight.emplace(n, std::move(p));
  self->send(st.client, std::move(cmd));
}

void placement_result(self_ptr self, const device_placement& p,
                      const device_outcome& out) {
  auto& st = self->state;
  json body{{"command", "placementResult"},
            {"msgId", p.msg_id},
            {"sessionId", p.session_id},
            {"pieceId", p.piece_id},
            {"success", out.ok}};
  if (out.ok) {
    ++st.applied;
    st.counters->placements_applied.fetch_add(1, std::memory_order_relaxed);
    body["isCorrectlyPlaced"] = out.is_correctly_placed;
    body["version"] = out.version;
    log()->debug("event=placement_applied device={} session={} msg_id={} "
                 "piece={} placed={} version={}",
                 st.device_id, p.session_id, p.msg_id, p.piece_id,
                 out.is_correctly_placed, out.version);
  } else {
    ++st.refused;
    st.counters->placements_refused.fetch_add(1, std::memory_order_relaxed);
    auto code = out.code == errc::none ? errc::invalid_move : out.code;
    body["code"] = std::string{to_code(code)};
    body["message"] = out.message;
    log()->info("event=placement_refused device={} session={} msg_id={} "
                "piece={} code={} message=\"{}\"",
                st.device_id, p.session_id, p.msg_id, p.piece_id, to_code(code),
                out.message);
  }
  send_command(self, std::move(body));
}

/// Why a placement for a session this device is not bound to is dropped:
/// the session does not exist, or the device is not bound to it.
void refuse_unbound(self_ptr self, const device_placement& p) {
  auto& st = self->state;
  auto session_id = p.session_id;
  if (!util::is_uuid(session_id))
    return drop(self, device_drop::unknown_session,
                "sessionId '" + session_id + "' is not a session id");
  self->request(st.directory, st.options.request_timeout, lookup_atom::value,
                session_id)
      .then(
          [self, session_id](session_actor&) {
            drop(self, device_drop::unbound_device,
                 "not bound to session " + session_id);
          },
          [self, session_id](caf::error& err) {
            if (code_of(err) == errc::session_not_found)
              return drop(self, device_drop::unknown_session,
                          "no session " + session_id);
            drop(self, device_drop::unbound_device,
                 "not bound to session " + session_id + " (" + message_of(err)
                     + ")");
          });
}

void on_placement(self_ptr self, device_placement& p) {
  auto& st = self->state;
  if (!admit(self, !p.retained)) return;
  if (p.retained)
    // The broker replays retained messages on every subscribe: acting on
    // one would repeat an old move after each reconnect or restart.
    return drop(self, device_drop::stale_retained,
                "retained placement msgId=" + p.msg_id);
  traffic(self);
  if (!st.binding || st.binding->session_id != p.session_id)
    return refuse_unbound(self, p);
  if (st.in_flight.size() + st.waiting.size() >= st.options.max_in_flight)
    return drop(self, device_drop::overloaded,
                std::to_string(st.options.max_in_flight)
                    + " placements already in flight");
  if (!st.seen.insert(p.msg_id))
    return drop(self, device_drop::duplicate, "msgId " + p.msg_id);
  if (!st.joined) {
    st.waiting.push_back(std::move(p));
    return;
  }
  send_move(self, std::move(p));
}

void on_outcome(self_ptr self, device_outcome& out) {
  auto& st = self->state;
  if (out.call_id == device_port::join_call) {
    if (!st.binding) return; // unbound meanwhile
    if (!out.ok) {
      log()->warn("event=device_join_failed device={} session={} code={} "
                  "message=\"{}\"",
                  st.device_id, st.binding->session_id, to_code(out.code),
                  out.message);
      fail_pending_bind(self, make_error(out.code, out.message));
      lose_binding(self, true, "join failed");
      return;
    }
    st.joined = true;
    log()->info("event=device_joined device={} session={}", st.device_id,
                st.binding->session_id);
    if (st.pending_bind) {
      st.pending_bind->deliver(view_of(self));
      st.pending_bind.reset();
    }
    auto waiting = std::move(st.waiting);
    st.waiting.clear();
    for (auto& p : waiting)
      send_move(self, std::move(p));
    return;
  }
  if (out.call_id.rfind(device_port::move_prefix, 0) == 0) {
    auto n = std::strtoull(out.call_id.c_str() + 2, nullptr, 10);
    auto i = st.in_flight.find(n);
    if (i == st.in_flight.end()) return;
    auto p = std::move(i->second);
    st.in_flight.erase(i);
    placement_result(self, p, out);
    if (out.code == errc::session_not_found)
      lose_binding(self, true, "session not found");
    else if (out.code == errc::not_joined && st.binding) {
      // The session forgot this member (e.g. it was reactivated): join
      // again; later placements wait for it.
      close_client(self);
      start_client(self);
    }
    return;
  }
  if (out.call_id == device_port::close_call) {
    // The client actor gave up on this "connection" (too many refusals):
    // start over with a fresh one.
    log()->warn("event=device_client_closed device={} reason=\"{}\"",
                st.device_id, out.message);
    if (st.binding) {
      close_client(self);
      start_client(self);
    }
    return;
  }
  if (out.call_id.empty() && out.code == errc::session_not_found) {
    lose_binding(self, true, "session deleted");
    return;
  }
}

} // namespace

std::string device_user_id(const std::string& device_id) {
  auto key = "puzzle-device:" + device_id;
  auto hi = fnv1a(key, 0xcbf29ce484222325ull);
  auto lo = fnv1a(key, 0x84222325cbf29ce4ull ^ hi);
  // Version 8 in the high nibble of byte 6, variant 10 in byte 8.
  hi = (hi & 0xffffffffffff0fffull) | 0x0000000000008000ull;
  lo = (lo & 0x3fffffffffffffffull) | 0x8000000000000000ull;
  char buf[37];
  std::snprintf(buf, sizeof(buf), "%08x-%04x-%04x-%04x-%012llx",
                static_cast<unsigned>(hi >> 32),
                static_cast<unsigned>((hi >> 16) & 0xffff),
                static_cast<unsigned>(hi & 0xffff),
                static_cast<unsigned>(lo >> 48),
                static_cast<unsigned long long>(lo & 0xffffffffffffull));
  return buf;
}

device_actor::behavior_type
device_behavior(self_ptr self, std::string device_id, directory_actor directory,
                device_registry_actor registry, device_counters_ptr counters,
                device_options options) {
  auto& init = self->state;
  init.identity = user_identity{device_user_id(device_id), device_id};
  init.device_id = std::move(device_id);
  init.directory = std::move(directory);
  init.registry = std::move(registry);
  init.counters = std::move(counters);
  init.options = std::move(options);
  auto started = self->clock().now();
  init.presence = presence_tracker{init.options.offline_after,
                                   init.options.presence_grace};
  init.rate = message_rate{init.options.rate_window_seconds};
  init.seen = recent_ids{init.options.dedupe_window};
  init.budget = util::rate_limiter{init.options.budget, started};
  util::limiter_spec log_spec;
  log_spec.kind = util::limiter_spec::algorithm::fixed_window;
  log_spec.permits = std::max<uint32_t>(1, init.options.drop_log_per_minute);
  log_spec.window = std::chrono::minutes(1);
  init.drop_log = util::rate_limiter{log_spec, started};
  init.first_seen = util::now_ms();
  init.counters->devices.fetch_add(1, std::memory_order_relaxed);
  self->attach_functor([counters = init.counters] {
    counters->devices.fetch_sub(1, std::memory_order_relaxed);
  });
  // The device ends with its registry (it is monitored, not linked, so
  // that a failing device does not take the registry down).
  self->monitor(init.registry);
  self->set_down_handler([self](caf::down_msg& dm) {
    if (dm.source != self->state.registry.address()) return;
    close_client(self);
    self->quit(dm.reason);
  });
  return {
      [self](device_status& x) {
        auto& st = self->state;
        if (!admit(self, !x.retained)) return;
        if (st.presence.on_status(x.online, x.retained, self->clock().now()))
          presence_changed(self, x.retained ? "retained status" : "status");
        arm_presence_timer(self);
      },
      [self](device_reading& x) {
        auto& st = self->state;
        if (!admit(self, !x.retained)) return;
        if (!x.retained) traffic(self);
        auto& slot = st.readings[x.kind];
        slot.kind = x.kind;
        slot.json = std::move(x.json);
        slot.received_at = util::now_ms();
      },
      [self](device_placement& x) {
        on_placement(self, x);
      },
      [self](bind_atom, device_binding& b) -> caf::result<device_view> {
        auto& st = self->state;
        if (st.binding && st.binding->session_id == b.session_id) {
          if (st.joined) return view_of(self);
          if (st.pending_bind)
            return make_error(errc::conflict,
                              "a binding of " + st.device_id
                                  + " is in progress");
        } else {
          if (st.binding) lose_binding(self, false, "rebound");
          st.binding = std::move(b);
          start_client(self);
        }
        fail_pending_bind(self, make_error(errc::conflict, "superseded"));
        auto rp = self->make_response_promise<device_view>();
        st.pending_bind = rp;
        return rp;
      },
      [self](unbind_atom) {
        fail_pending_bind(self, make_error(errc::conflict, "unbound"));
        lose_binding(self, false, "unbound by the owner");
        return true;
      },
      [self](state_atom) {
        return view_of(self);
      },
      [self](device_outcome& out) {
        on_outcome(self, out);
      },
      [self](tick_atom) {
        auto& st = self->state;
        auto now = self->clock().now();
        if (st.tick_at && now >= *st.tick_at) st.tick_at.reset();
        if (st.presence.tick(now)) presence_changed(self, "timeout");
        arm_presence_timer(self);
      },
  };
}

} // namespace puzzle
