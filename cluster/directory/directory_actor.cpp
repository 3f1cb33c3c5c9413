#include "cluster/directory/directory_actor.hpp"

#include <algorithm>
#include <memory>

#include <caf/all.hpp>
#include <spdlog/spdlog.h>

#include "actors/caf_errors.hpp"
#include "actors/util/ids.hpp"

namespace puzzle::cluster {

namespace {

using self_ptr = directory_actor::stateful_pointer<directory_state>;

std::shared_ptr<spdlog::logger> log() {
  static auto logger = [] {
    auto existing = spdlog::get("puzzle.cluster.directory");
    return existing
        ? existing
        : spdlog::default_logger()->clone("puzzle.cluster.directory");
  }();
  return logger;
}

session_actor activate(self_ptr self, session_state state,
                       session_access access = {}) {
  auto id = state.session_id;
  auto session = state.is_public
      ? self->spawn(session_behavior, std::move(state), self->state.store,
                    self->state.options.session)
      : self->spawn(private_session_behavior, std::move(state),
                    std::move(access), self->state.store,
                    self->state.options.session);
  self->monitor(session);
  self->state.live.emplace(id, session);
  log()->debug("event=activated session={}", id);
  return session;
}

/// Finds or activates a session and hands it to `done`. Concurrent
/// activations of one session share a single store load, so a session is
/// never activated twice.
void ensure_active(self_ptr self, const std::string& id,
                   directory_state::activation_callback done) {
  auto& st = self->state;
  auto i = st.live.find(id);
  if (i != st.live.end()) return done(i->second);
  if (!util::is_uuid(id))
    return done(
        make_error(errc::session_not_found, "session " + id + " not found"));
  auto& waiting = st.loading[id];
  waiting.push_back(std::move(done));
  if (waiting.size() > 1) return;
  auto finish = [self, id](caf::expected<session_actor> result) {
    auto callbacks = std::move(self->state.loading[id]);
    self->state.loading.erase(id);
    for (auto& callback : callbacks)
      callback(result);
  };
  self->request(st.store, st.options.store_timeout, load_atom::value, id)
      .then(
          [self, finish, id](session_state& loaded) {
            if (loaded.is_public) {
              finish(activate(self, std::move(loaded)));
              return;
            }
            // A private session starts knowing who may enter it.
            auto access_store
                = caf::actor_cast<access_store_actor>(self->state.store);
            self->request(access_store, self->state.options.store_timeout,
                          load_atom::value, invite_atom::value, id)
                .then(
                    [self, finish,
                     stored = std::move(loaded)](session_access& access) {
                      finish(activate(self, stored, std::move(access)));
                    },
                    [finish](caf::error& err) {
                      finish(std::move(err));
                    });
          },
          [finish](caf::error& err) {
            finish(std::move(err));
          });
}

/// `ensure_active` for handlers that answer through a promise.
template<class Promise, class Then>
void with_session(self_ptr self, const std::string& id, Promise rp, Then then) {
  ensure_active(self, id,
                [rp, then](caf::expected<session_actor> session) mutable {
                  if (session)
                    then(*session);
                  else
                    rp.deliver(session.error());
                });
}

} // namespace

directory_actor::behavior_type directory(self_ptr self, store_actor store,
                                         directory_options options) {
  self->state.store = std::move(store);
  self->state.options = std::move(options);
  // Sessions are not linked to the directory (one failing session must not
  // take the others down), so they are stopped explicitly when it ends.
  self->set_exit_handler([self](caf::exit_msg& msg) {
    for (auto& [id, session] : self->state.live)
      caf::anon_send_exit(session, caf::exit_reason::user_shutdown);
    self->quit(msg.reason);
  });
  self->set_down_handler([self](const caf::down_msg& msg) {
    auto& live = self->state.live;
    for (auto i = live.begin(); i != live.end(); ++i) {
      if (i->second.address() == msg.source) {
        live.erase(i);
        return;
      }
    }
  });
  return {
      [self](lookup_atom, std::string& id) -> caf::result<session_actor> {
        auto rp = self->make_response_promise<session_actor>();
        with_session(self, id, rp, [rp](session_actor& session) mutable {
          rp.deliver(session);
        });
        return rp;
      },
      [self](create_atom, create_request& req) -> caf::result<session_summary> {
        auto& st = self->state;
        model::puzzle_spec spec;
        spec.image_width = req.image.width;
        spec.image_height = req.image.height;
        spec.rows = req.rows;
        spec.cols = req.cols;
        spec.seed = util::random_u64();
        spec.rotation = req.rotation;
        spec.snap_ratio = st.options.snap_ratio;
        spec.table_factor = st.options.table_factor;
        std::string why;
        auto code = model::validate(spec, st.options.limits, why);
        if (code != errc::none) return make_error(code, why);
        session_state state;
        state.session_id = util::new_uuid();
        state.name = std::move(req.name);
        state.owner_id = req.owner.user_id;
        state.is_public = req.is_public;
        state.image = std::move(req.image);
        state.spec = spec;
        state.pieces = model::make_layout(spec, model::make_geometry(spec));
        state.created_at = util::now_ms();
        auto summary = summarize(state);
        auto rp = self->make_response_promise<session_summary>();
        session_access access;
        if (!state.is_public) access.invite_code = new_invite_code();
        auto done = [self, rp, state, summary, access]() mutable {
          activate(self, std::move(state), std::move(access));
          log()->info("event=created session={} pieces={}", summary.session_id,
                      summary.piece_count);
          rp.deliver(summary);
        };
        // Answer only once the session (and the invite of a private one) is
        // durable: a 201 must survive a crash.
        self->request(st.store, st.options.store_timeout, put_atom::value,
                      state)
            .then(
                [self, rp, done, id = state.session_id,
                 code = access.invite_code](bool) mutable {
                  if (code.empty()) return done();
                  auto access_store
                      = caf::actor_cast<access_store_actor>(self->state.store);
                  self->request(access_store, self->state.options.store_timeout,
                                put_atom::value, invite_atom::value, id, code)
                      .then(
                          [done](bool) mutable {
                            done();
                          },
                          [rp](caf::error& err) mutable {
                            rp.deliver(err);
                          });
                },
                [rp](caf::error& err) mutable {
                  rp.deliver(err);
                });
        return rp;
      },
      [self](list_atom) -> caf::result<std::vector<session_summary>> {
        auto rp = self->make_response_promise<std::vector<session_summary>>();
        self->request(self->state.store, self->state.options.store_timeout,
                      list_atom::value)
            .then(
                [self, rp](std::vector<session_summary>& stored) mutable {
                  // Live sessions know who is online; ask each, then merge.
                  auto result = std::make_shared<std::vector<session_summary>>(
                      std::move(stored));
                  auto pending
                      = std::make_shared<size_t>(self->state.live.size());
                  if (*pending == 0) {
                    rp.deliver(std::move(*result));
                    return;
                  }
                  for (auto& [id, session] : self->state.live) {
                    auto merge
                        = [rp, result, pending](session_summary* live) mutable {
                            if (live != nullptr) {
                              for (auto& s : *result)
                                if (s.session_id == live->session_id) s = *live;
                            }
                            if (--*pending == 0) rp.deliver(std::move(*result));
                          };
                    self->request(session, self->state.options.store_timeout,
                                  summary_atom::value)
                        .then(
                            [merge](session_summary& s) mutable {
                              merge(&s);
                            },
                            [merge](caf::error&) mutable {
                              merge(nullptr);
                            });
                  }
                },
                [rp](caf::error& err) mutable {
                  rp.deliver(err);
                });
        return rp;
      },
      [self](state_atom, std::string& id) -> caf::result<std::string> {
        auto rp = self->make_response_promise<std::string>();
        with_session(self, id, rp, [self, rp](session_actor& session) mutable {
          self->request(session, self->state.options.store_timeout,
                        state_atom::value)
              .then(
                  [rp](std::string& json) mutable {
                    rp.deliver(json);
                  },
                  [rp](caf::error& err) mutable {
                    rp.deliver(err);
                  });
        });
        return rp;
      },
      [self](state_atom, std::string& id,
             user_identity& who) -> caf::result<std::string> {
        auto rp = self->make_response_promise<std::string>();
        with_session(self, id, rp,
                     [self, rp, who](session_actor& session) mutable {
                       self->request(session, self->state.options.store_timeout,
                                     state_atom::value, who)
                           .then(
                               [rp](std::string& json) mutable {
                                 rp.deliver(json);
                               },
                               [rp](caf::error& err) mutable {
                                 rp.deliver(err);
                               });
                     });
        return rp;
      },
      [self](invite_atom, std::string& id,
             user_identity& who) -> caf::result<std::string> {
        auto rp = self->make_response_promise<std::string>();
        with_session(self, id, rp,
                     [self, rp, who](session_actor& session) mutable {
                       self->request(session, self->state.options.store_timeout,
                                     invite_atom::value, who)
                           .then(
                               [rp](std::string& code) mutable {
                                 rp.deliver(code);
                               },
                               [rp](caf::error& err) mutable {
                                 rp.deliver(err);
                               });
                     });
        return rp;
      },
      [self](invite_atom, std::string& id, user_identity& who,
             std::string& code) -> caf::result<bool> {
        auto rp = self->make_response_promise<bool>();
        with_session(self, id, rp,
                     [self, rp, who, code](session_actor& session) mutable {
                       self->request(session, self->state.options.store_timeout,
                                     invite_atom::value, who, code)
                           .then(
                               [rp](bool ok) mutable {
                                 rp.deliver(ok);
                               },
                               [rp](caf::error& err) mutable {
                                 rp.deliver(err);
                               });
                     });
        return rp;
      },
      [self](delete_atom, std::string& id, std::string& requester,
             bool is_admin) -> caf::result<bool> {
        auto rp = self->make_response_promise<bool>();
        auto timeout = self->state.options.store_timeout;
        with_session(
            self, id, rp,
            [self, rp, id, requester, is_admin,
             timeout](session_actor& session) mutable {
              self->request(session, timeout, summary_atom::value)
                  .then(
                      [self, rp, id, requester, is_admin, session,
                       timeout](session_summary& s) mutable {
                        if (!is_admin && s.owner_id != requester) {
                          rp.deliver(make_error(
                              errc::forbidden,
                              "only the owner or an admin deletes a session"));
                          return;
                        }
                        self->request(self->state.store, timeout,
                                      delete_atom::value, id)
                            .then(
                                [self, rp, id, session](bool removed) mutable {
                                  self->demonitor(session.address());
                                  self->state.live.erase(id);
                                  self->send(
                                      session, close_atom::value,
                                      std::string{"the session was deleted"});
                                  log()->info("event=deleted session={}", id);
                                  rp.deliver(removed);
                                },
                                [rp](caf::error& err) mutable {
                                  rp.deliver(err);
                                });
                      },
                      [rp](caf::error& err) mutable {
                        rp.deliver(err);
                      });
            });
        return rp;
      },
      [self](stats_atom) {
        return static_cast<int32_t>(self->state.live.size());
      },
      [self](list_atom, state_atom) -> caf::result<std::vector<std::string>> {
        using states = std::vector<std::string>;
        auto rp = self->make_response_promise<states>();
        auto result = std::make_shared<states>();
        auto pending = std::make_shared<size_t>(self->state.live.size());
        if (*pending == 0) return states{};
        for (auto& [id, session] : self->state.live) {
          // A session that does not answer (busy, ending) is left out
          // rather than failing the whole listing.
          auto done = [rp, result, pending](std::string* state) mutable {
            if (state != nullptr) result->push_back(std::move(*state));
            if (--*pending == 0) rp.deliver(std::move(*result));
          };
          self->request(session, self->state.options.store_timeout,
                        state_atom::value)
              .then(
                  [done](std::string& state) mutable {
                    done(&state);
                  },
                  [done](caf::error&) mutable {
                    done(nullptr);
                  });
        }
        return rp;
      },
  };
}

} // namespace puzzle::cluster
