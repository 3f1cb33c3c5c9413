#include "actors/device/device_registry_actor.hpp"

#include <algorithm>
#include <functional>
#include <memory>

#include <caf/all.hpp>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "actors/caf_errors.hpp"
#include "actors/util/ids.hpp"

namespace puzzle {

namespace {

using self_ptr = device_registry_actor::stateful_pointer<device_registry_state>;
using json = nlohmann::json;
using views_promise = caf::typed_response_promise<std::vector<device_view>>;

std::shared_ptr<spdlog::logger> log() {
  static auto logger = [] {
    auto existing = spdlog::get("puzzle.actor.device");
    return existing ? existing
                    : spdlog::default_logger()->clone("puzzle.actor.device");
  }();
  return logger;
}

std::string dump(const json& j) {
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

/// The device's actor, spawned on first use; invalid beyond
/// `mqtt.max-devices`.
device_actor device_of(self_ptr self, const std::string& device_id) {
  auto& st = self->state;
  if (auto i = st.devices.find(device_id); i != st.devices.end())
    return i->second;
  if (st.devices.size() >= st.options.max_devices) return device_actor{};
  // Monitored, not linked: a device that fails must not take the registry
  // and every other device with it (see the down handler). The devices
  // monitor the registry in turn and end with it.
  auto dev = self->spawn<caf::monitored>(
      device_behavior, device_id, st.directory, device_registry_actor{self},
      st.counters, st.options.device);
  st.devices.emplace(device_id, dev);
  log()->info("event=device_seen device={} devices={}", device_id,
              st.devices.size());
  return dev;
}

template<class Message>
void route(self_ptr self, Message& msg) {
  auto& st = self->state;
  auto dev = device_of(self, msg.device_id);
  if (!dev) {
    st.counters->drop(device_drop::too_many_devices);
    if (st.drop_log.acquire(self->clock().now()).allowed)
      log()->warn("event=device_message_dropped device={} "
                  "reason=too_many_devices detail=\"mqtt.max-devices = {}\"",
                  msg.device_id, st.options.max_devices);
    return;
  }
  self->send(dev, std::move(msg));
}

void save(self_ptr self) {
  auto& st = self->state;
  st.counters->bindings.store(static_cast<uint32_t>(st.bindings.size()),
                              std::memory_order_relaxed);
  if (!st.saver) return;
  std::vector<device_binding> all;
  for (auto& [id, b] : st.bindings)
    all.push_back(b);
  self->send(st.saver, std::move(all));
}

/// Tells the device, through a retained command, which session it is bound
/// to now (`sessionId` null: none).
void announce_binding(self_ptr self, const std::string& device_id) {
  auto& st = self->state;
  if (!st.outbox) return;
  auto i = st.bindings.find(device_id);
  json body;
  if (i != st.bindings.end())
    body = json{{"command", "bound"}, {"sessionId", i->second.session_id}};
  else
    body = json{{"command", "unbound"}, {"sessionId", nullptr}};
  self->send(st.outbox, device_command{device_id, dump(body), true});
}

// -- progress ----------------------------------------------------------------

void refresh_progress(self_ptr self, const std::string& session_id);

void progress_done(self_ptr self, const std::string& session_id) {
  auto i = self->state.sessions.find(session_id);
  if (i == self->state.sessions.end()) return;
  i->second.progress_busy = false;
  if (i->second.devices.empty()) {
    self->state.sessions.erase(i);
    return;
  }
  if (i->second.progress_dirty) {
    i->second.progress_dirty = false;
    refresh_progress(self, session_id);
  }
}

void publish_progress(self_ptr self, const session_summary& s) {
  auto& st = self->state;
  if (!st.outbox) return;
  session_progress p;
  p.session_id = s.session_id;
  p.completed_pieces = s.placed_count;
  p.piece_count = s.piece_count;
  p.is_completed = s.is_completed;
  self->send(st.outbox, std::move(p));
}

void read_summary(self_ptr self, const std::string& session_id,
                  session_actor session, bool may_retry) {
  auto timeout = self->state.options.request_timeout;
  self->request(session, timeout, summary_atom::value)
      .then(
          [self, session_id](session_summary& s) {
            publish_progress(self, s);
            progress_done(self, session_id);
          },
          [self, session_id, may_retry](caf::error& err) {
            auto i = self->state.sessions.find(session_id);
            if (i == self->state.sessions.end()) return;
            i->second.session = session_actor{};
            if (may_retry) {
              // The cached session may have stopped; ask the directory.
              i->second.progress_busy = false;
              refresh_progress(self, session_id);
              return;
            }
            log()->warn("event=progress_unavailable session={} error=\"{}\"",
                        session_id, message_of(err));
            progress_done(self, session_id);
          });
}

/// Reads the session's summary and publishes its progress; requests while
/// one is under way coalesce into one more read.
void refresh_progress(self_ptr self, const std::string& session_id) {
  auto& st = self->state;
  auto i = st.sessions.find(session_id);
  if (i == st.sessions.end() || !st.outbox) return;
  auto& link = i->second;
  if (link.progress_busy) {
    link.progress_dirty = true;
    return;
  }
  link.progress_busy = true;
  if (link.session) return read_summary(self, session_id, link.session, true);
  self->request(st.directory, st.options.request_timeout, lookup_atom::value,
                session_id)
      .then(
          [self, session_id](session_actor& session) {
            auto j = self->state.sessions.find(session_id);
            if (j == self->state.sessions.end()) return;
            j->second.session = session;
            read_summary(self, session_id, session, false);
          },
          [self, session_id](caf::error& err) {
            log()->warn("event=progress_unavailable session={} error=\"{}\"",
                        session_id, message_of(err));
            progress_done(self, session_id);
          });
}

// -- bindings ----------------------------------------------------------------

/// Records a binding the device actor accepted.
void bound(self_ptr self, const device_binding& b, session_actor session) {
  auto& st = self->state;
  st.bindings[b.device_id] = b;
  auto& link = st.sessions[b.session_id];
  link.devices.insert(b.device_id);
  if (session) link.session = std::move(session);
  save(self);
  announce_binding(self, b.device_id);
  refresh_progress(self, b.session_id);
}

/// Forgets the binding of `device_id` to `session_id`, if that is it.
bool unbound(self_ptr self, const std::string& device_id,
             const std::string& session_id) {
  auto& st = self->state;
  auto i = st.bindings.find(device_id);
  if (i == st.bindings.end() || i->second.session_id != session_id)
    return false;
  st.bindings.erase(i);
  if (auto j = st.sessions.find(session_id); j != st.sessions.end()) {
    j->second.devices.erase(device_id);
    if (j->second.devices.empty() && !j->second.progress_busy)
      st.sessions.erase(j);
  }
  save(self);
  announce_binding(self, device_id);
  return true;
}

using fail_fn = std::function<void(caf::error)>;
using owned_fn = std::function<void(session_actor)>;

/// Calls `ok` with the session when `requester` owns it or is an admin;
/// `fail` otherwise.
void with_owned_session(self_ptr self, const std::string& session_id,
                        const user_identity& requester, fail_fn fail,
                        owned_fn ok) {
  auto& st = self->state;
  if (!util::is_uuid(session_id))
    return fail(make_error(errc::session_not_found,
                           "no session with id " + session_id));
  auto timeout = st.options.request_timeout;
  self->request(st.directory, timeout, lookup_atom::value, session_id)
      .then(
          [self, timeout, requester, fail, ok](session_actor& session) {
            self->request(session, timeout, summary_atom::value)
                .then(
                    [requester, fail, ok, session](session_summary& s) {
                      // Admins manage the devices of every session.
                      if (s.owner_id != requester.user_id
                          && !requester.has_role(user_role::admin))
                        return fail(make_error(errc::forbidden,
                                               "only the owner of session "
                                                   + s.session_id
                                                   + " or an admin binds "
                                                     "devices to it"));
                      ok(session);
                    },
                    [fail](caf::error& err) {
                      fail(std::move(err));
                    });
          },
          [fail](caf::error& err) {
            fail(std::move(err));
          });
}

void bind_device(self_ptr self, device_binding b, session_actor session,
                 std::function<void(device_view)> done, fail_fn fail) {
  auto& st = self->state;
  auto dev = device_of(self, b.device_id);
  if (!dev)
    return fail(make_error(errc::limit_exceeded,
                           "too many devices (mqtt.max-devices = "
                               + std::to_string(st.options.max_devices) + ")"));
  st.binding_in_progress.insert(b.device_id);
  self->request(dev, st.options.request_timeout, bind_atom::value, b)
      .then(
          [self, b, session, done](device_view& view) {
            self->state.binding_in_progress.erase(b.device_id);
            bound(self, b, session);
            log()->info("event=device_bound device={} session={} by={}",
                        b.device_id, b.session_id, b.bound_by);
            done(std::move(view));
          },
          [self, b, fail](caf::error& err) {
            self->state.binding_in_progress.erase(b.device_id);
            fail(std::move(err));
          });
}

// -- listing -----------------------------------------------------------------

/// Asks each device of `ids` for its view and answers with all of them,
/// ordered by id (a device that does not answer is left out).
void collect(self_ptr self, const std::vector<std::string>& ids,
             views_promise rp) {
  struct pending {
    views_promise rp;
    std::vector<device_view> views;
    size_t left = 0;

    void one_done() {
      if (--left > 0) return;
      std::sort(views.begin(), views.end(),
                [](const device_view& a, const device_view& b) {
                  return a.device_id < b.device_id;
                });
      rp.deliver(std::move(views));
    }
  };
  auto& st = self->state;
  std::vector<device_actor> targets;
  for (auto& id : ids)
    if (auto i = st.devices.find(id); i != st.devices.end())
      targets.push_back(i->second);
  if (targets.empty()) {
    rp.deliver(std::vector<device_view>{});
    return;
  }
  auto shared = std::make_shared<pending>();
  shared->rp = std::move(rp);
  shared->left = targets.size();
  for (auto& dev : targets)
    self->request(dev, st.options.request_timeout, state_atom::value)
        .then(
            [shared](device_view& v) {
              shared->views.push_back(std::move(v));
              shared->one_done();
            },
            [shared](caf::error&) {
              shared->one_done();
            });
}

void restore(self_ptr self) {
  auto& st = self->state;
  auto list = std::move(st.options.restore);
  st.options.restore.clear();
  for (auto& b : list) {
    if (!valid_device_id(b.device_id) || !util::is_uuid(b.session_id)) continue;
    auto device_id = b.device_id;
    auto session_id = b.session_id;
    bind_device(
        self, std::move(b), session_actor{},
        [device_id, session_id](device_view) {
          log()->info("event=binding_restored device={} session={}", device_id,
                      session_id);
        },
        [device_id, session_id](caf::error err) {
          // The file keeps it until the next change of bindings, so a
          // passing failure (a slow store) is retried at the next start.
          log()->warn("event=binding_not_restored device={} session={} "
                      "error=\"{}\"",
                      device_id, session_id, message_of(err));
        });
  }
}

} // namespace

bool published_on_mqtt(const std::string& event_name) {
  return event_name != "SessionStateUpdate" && event_name != "Error"
      && event_name != "PieceDragged" && event_name != "CursorMoved";
}

device_registry_actor::behavior_type
device_registry(self_ptr self, directory_actor directory,
                device_counters_ptr counters, binding_saver_actor saver,
                device_registry_options options) {
  auto& init = self->state;
  init.directory = std::move(directory);
  init.counters = std::move(counters);
  init.saver = std::move(saver);
  init.options = std::move(options);
  util::limiter_spec log_spec;
  log_spec.kind = util::limiter_spec::algorithm::fixed_window;
  log_spec.permits
      = std::max<uint32_t>(1, init.options.device.drop_log_per_minute);
  log_spec.window = std::chrono::minutes(1);
  init.drop_log = util::rate_limiter{log_spec, self->clock().now()};
  restore(self);
  self->set_down_handler([self](caf::down_msg& dm) {
    auto& st = self->state;
    auto i = std::find_if(st.devices.begin(), st.devices.end(),
                          [&](const auto& kv) {
                            return kv.second.address() == dm.source;
                          });
    if (i == st.devices.end()) return;
    auto device_id = i->first;
    st.devices.erase(i);
    auto b = st.bindings.find(device_id);
    log()->warn("event=device_actor_down device={} reason={} rebinding={}",
                device_id, caf::to_string(dm.reason), b != st.bindings.end());
    if (b == st.bindings.end()) return;
    // Its binding stands: a fresh actor takes it up again.
    auto binding = b->second;
    bind_device(
        self, binding, session_actor{},
        [device_id](device_view) {
          log()->info("event=binding_restored device={}", device_id);
        },
        [self, binding](caf::error err) {
          log()->warn("event=binding_not_restored device={} session={} "
                      "error=\"{}\"",
                      binding.device_id, binding.session_id, message_of(err));
          unbound(self, binding.device_id, binding.session_id);
        });
  });
  return {
      [self](device_status& x) {
        route(self, x);
      },
      [self](device_reading& x) {
        route(self, x);
      },
      [self](device_placement& x) {
        route(self, x);
      },
      [self](bind_atom, std::string& session_id, std::string& device_id,
             user_identity& requester) -> caf::result<device_view> {
        auto& st = self->state;
        if (!valid_device_id(device_id))
          return make_error(errc::invalid_argument,
                            "deviceId must be 1 to 64 letters, digits, '.', "
                            "'_' or '-'");
        if (st.binding_in_progress.count(device_id) != 0)
          return make_error(errc::conflict,
                            "a binding of " + device_id + " is in progress");
        auto rp = self->make_response_promise<device_view>();
        auto fail = [rp](caf::error err) mutable {
          rp.deliver(std::move(err));
        };
        with_owned_session(
            self, session_id, requester, fail,
            [self, session_id, device_id, requester, rp,
             fail](session_actor session) mutable {
              auto& reg = self->state;
              auto i = reg.bindings.find(device_id);
              if (i != reg.bindings.end() && i->second.session_id != session_id)
                return fail(make_error(errc::conflict,
                                       "device " + device_id
                                           + " is bound to another session; "
                                             "its owner unbinds it first"));
              if (reg.binding_in_progress.count(device_id) != 0)
                return fail(make_error(errc::conflict,
                                       "a binding of " + device_id
                                           + " is in progress"));
              device_binding b;
              b.device_id = device_id;
              b.session_id = session_id;
              b.bound_by = requester.user_id;
              b.bound_at = util::now_ms();
              if (i != reg.bindings.end()) b = i->second; // already bound
              bind_device(
                  self, std::move(b), std::move(session),
                  [rp](device_view view) mutable {
                    rp.deliver(std::move(view));
                  },
                  fail);
            });
        return rp;
      },
      [self](unbind_atom, std::string& session_id, std::string& device_id,
             user_identity& requester) -> caf::result<bool> {
        auto rp = self->make_response_promise<bool>();
        auto fail = [rp](caf::error err) mutable {
          rp.deliver(std::move(err));
        };
        with_owned_session(
            self, session_id, requester, fail,
            [self, session_id, device_id, rp](session_actor) mutable {
              auto& st = self->state;
              auto i = st.bindings.find(device_id);
              if (i == st.bindings.end()
                  || i->second.session_id != session_id) {
                rp.deliver(false);
                return;
              }
              if (auto dev = st.devices.find(device_id);
                  dev != st.devices.end())
                self->request(dev->second, st.options.request_timeout,
                              unbind_atom::value)
                    .then([](bool) {}, [](caf::error&) {});
              unbound(self, device_id, session_id);
              log()->info("event=device_unbound device={} session={} "
                          "reason=owner",
                          device_id, session_id);
              rp.deliver(true);
            });
        return rp;
      },
      [self](list_atom, device_atom) -> caf::result<std::vector<device_view>> {
        std::vector<std::string> ids;
        for (auto& [id, dev] : self->state.devices)
          ids.push_back(id);
        auto rp = self->make_response_promise<std::vector<device_view>>();
        collect(self, ids, rp);
        return rp;
      },
      [self](list_atom, device_atom,
             std::string& session_id) -> caf::result<std::vector<device_view>> {
        std::vector<std::string> ids;
        auto& st = self->state;
        if (auto i = st.sessions.find(session_id); i != st.sessions.end())
          ids.assign(i->second.devices.begin(), i->second.devices.end());
        auto rp = self->make_response_promise<std::vector<device_view>>();
        collect(self, ids, rp);
        return rp;
      },
      [self](command_atom, std::string& session_id, std::string& device_id,
             user_identity& requester, std::string& body) -> caf::result<bool> {
        auto rp = self->make_response_promise<bool>();
        auto fail = [rp](caf::error err) mutable {
          rp.deliver(std::move(err));
        };
        with_owned_session(
            self, session_id, requester, fail,
            [self, session_id, device_id, body, rp,
             fail](session_actor) mutable {
              auto& st = self->state;
              auto i = st.bindings.find(device_id);
              if (i == st.bindings.end() || i->second.session_id != session_id)
                return fail(make_error(errc::invalid_argument,
                                       "device " + device_id
                                           + " is not bound to this session"));
              if (!st.outbox)
                return fail(make_error(errc::internal,
                                       "the MQTT bridge is off (mqtt.uri is "
                                       "empty)"));
              self->send(st.outbox, device_command{device_id, body, false});
              rp.deliver(true);
            });
        return rp;
      },
      [self](feed_atom, std::string& device_id, session_event& ev) {
        auto& st = self->state;
        auto i = st.sessions.find(ev.session_id);
        if (i == st.sessions.end() || i->second.devices.empty()
            || *i->second.devices.begin() != device_id)
          return; // another bound device feeds this session
        if (st.outbox && published_on_mqtt(ev.name)) self->send(st.outbox, ev);
        if (ev.name == "PieceMoved" || ev.name == "PiecesJoined"
            || ev.name == "PuzzleCompleted")
          refresh_progress(self, ev.session_id);
      },
      [self](device_command& cmd) {
        if (self->state.outbox) self->send(self->state.outbox, std::move(cmd));
      },
      [self](unbind_atom, std::string& device_id, std::string& session_id) {
        unbound(self, device_id, session_id);
      },
      [self](mqtt_up_atom) {
        // The broker may have restarted and lost what was retained: publish
        // the progress of every bound session and every binding again.
        auto& st = self->state;
        std::vector<std::string> ids;
        for (auto& [id, link] : st.sessions)
          ids.push_back(id);
        for (auto& id : ids)
          refresh_progress(self, id);
        for (auto& [device_id, b] : st.bindings)
          announce_binding(self, device_id);
      },
      [self](outbox_atom, device_outbox_actor& outbox) {
        self->state.outbox = std::move(outbox);
      },
  };
}

} // namespace puzzle
