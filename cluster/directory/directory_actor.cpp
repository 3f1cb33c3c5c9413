#include "cluster/directory/directory_actor.hpp"

#include <algorithm>
#include <memory>
#include <utility>

#include <caf/all.hpp>
#include <spdlog/spdlog.h>

#include "actors/caf_errors.hpp"
#include "actors/util/ids.hpp"
#include "cluster/directory/placement.hpp"

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

// -- cluster mode
// --------------------------------------------------------------

cluster_store_actor cluster_store(self_ptr self) {
  return caf::actor_cast<cluster_store_actor>(self->state.store);
}

const std::string& my_incarnation(self_ptr self) {
  return self->state.options.cluster.incarnation;
}

/// Runs `fun` after `delay`, inside this actor. The directory's interface
/// is fixed, so the timer message goes to the default handler (see
/// `directory`), which looks the token up in `timers`.
void after(self_ptr self, caf::timespan delay, std::function<void()> fun) {
  auto token = self->state.next_timer++;
  self->state.timers.emplace(token, std::move(fun));
  caf::delayed_anon_send(caf::actor_cast<caf::actor>(self), delay, tick_atom_v,
                         token);
}

const cluster_member* member_of(self_ptr self, const std::string& incarnation) {
  for (auto& m : self->state.members)
    if (m.incarnation == incarnation) return &m;
  return nullptr;
}

/// The incarnations a session may be placed on: members that are up (not
/// joining, unreachable, leaving or down). This node only while it is not
/// fenced or draining, and never when `exclude_self`.
std::vector<std::string> candidates(self_ptr self, bool exclude_self = false) {
  auto& st = self->state;
  std::vector<std::string> out;
  for (auto& m : st.members) {
    if (m.state != "up") continue;
    if (m.incarnation == my_incarnation(self)
        && (exclude_self || st.fenced || st.draining))
      continue;
    out.push_back(m.incarnation);
  }
  return out;
}

std::string node_name(const cluster_member& m) {
  return m.node_id.empty() ? m.incarnation : m.node_id;
}

/// Loads a stored session (and the access list of a private one) as a
/// snapshot without members or leases, for activation under `generation`.
void load_snapshot(self_ptr self, const std::string& id, int64_t generation,
                   std::function<void(caf::expected<session_snapshot>)> done) {
  auto timeout = self->state.options.store_timeout;
  self->request(self->state.store, timeout, load_atom::value, id)
      .then(
          [self, done, generation, timeout](session_state& loaded) {
            session_snapshot snap;
            snap.generation = generation;
            snap.state = std::move(loaded);
            if (snap.state.is_public) return done(std::move(snap));
            auto access_store
                = caf::actor_cast<access_store_actor>(self->state.store);
            auto sid = snap.state.session_id;
            self->request(access_store, timeout, load_atom::value,
                          invite_atom::value, sid)
                .then(
                    [done, snap](session_access& access) mutable {
                      snap.access = std::move(access);
                      done(std::move(snap));
                    },
                    [done](caf::error& err) {
                      done(std::move(err));
                    });
          },
          [done](caf::error& err) {
            done(std::move(err));
          });
}

void forget_remote(self_ptr self, const std::string& id) {
  auto& remote = self->state.remote;
  auto i = remote.find(id);
  if (i == remote.end()) return;
  self->demonitor(i->second.handle.address());
  remote.erase(i);
}

/// Spawns a session of this node from `snap` (its directory row names this
/// incarnation at `snap.generation`).
session_actor activate_snapshot(self_ptr self, session_snapshot snap) {
  auto& st = self->state;
  auto id = snap.state.session_id;
  // An adoption may have won the row while this activation loaded it.
  if (auto i = st.live.find(id); i != st.live.end()) return i->second;
  auto generation = snap.generation;
  auto session = self->spawn(session_from_snapshot, std::move(snap), st.store,
                             st.options.session);
  self->monitor(session);
  st.live.emplace(id, session);
  forget_remote(self, id);
  log()->debug("event=activated session={} generation={}", id, generation);
  return session;
}

void cache_remote(self_ptr self, const std::string& id,
                  const std::string& incarnation, const session_actor& handle) {
  auto& remote = self->state.remote;
  auto i = remote.find(id);
  if (i != remote.end()) {
    if (i->second.handle == handle) {
      if (!incarnation.empty()) i->second.incarnation = incarnation;
      return;
    }
    self->demonitor(i->second.handle.address());
  }
  self->monitor(handle);
  remote[id] = remote_session{incarnation, handle};
}

/// One resolution of a session id that is neither live here nor cached:
/// shared by every lookup that arrives meanwhile (through `loading`).
struct resolution {
  std::string id;
  caf::actor_clock::time_point started;
  caf::actor_clock::time_point deadline;
  int32_t lost_claims = 0;
  std::function<void(caf::expected<session_actor>)> finish;
};

using resolution_ptr = std::shared_ptr<resolution>;

void attempt(self_ptr self, resolution_ptr r);

/// Tries again after the retry delay, or gives up with `why` once the
/// resolution's deadline would pass.
void retry(self_ptr self, resolution_ptr r, std::string why) {
  auto delay = self->state.options.cluster.retry_delay;
  if (self->clock().now() + delay > r->deadline)
    return r->finish(make_error(errc::internal, std::move(why)));
  after(self, delay, [self, r] {
    attempt(self, r);
  });
}

/// Asks the directory of `owner` for the session (it activates it there if
/// needed) and caches the answer.
void ask_remote(self_ptr self, resolution_ptr r, const cluster_member& owner) {
  auto dir = caf::actor_cast<directory_actor>(owner.endpoints.directory);
  auto incarnation = owner.incarnation;
  auto name = node_name(owner);
  self->request(dir, self->state.options.cluster.request_timeout,
                lookup_atom::value, r->id)
      .then(
          [self, r, incarnation](session_actor& handle) {
            cache_remote(self, r->id, incarnation, handle);
            r->finish(handle);
          },
          [self, r, name](caf::error& err) {
            // The contract's answers (not found, forbidden) are final; a
            // timeout or a dead peer is worth another attempt.
            if (err.category() == errc_category
                && code_of(err) != errc::internal)
              return r->finish(std::move(err));
            retry(self, r,
                  "session " + r->id + ": node " + name
                      + " did not answer: " + message_of(err));
          });
}

/// This node won the row at `generation`: load and start the session.
void activate_owned(self_ptr self, resolution_ptr r, int64_t generation) {
  load_snapshot(
      self, r->id, generation, [self, r](caf::expected<session_snapshot> snap) {
        if (!snap) return r->finish(snap.error());
        if (self->state.fenced)
          return r->finish(make_error(errc::internal,
                                      "this node was declared down by the "
                                      "cluster and serves no sessions"));
        r->finish(activate_snapshot(self, std::move(*snap)));
      });
}

/// Compare-and-set of the row from `loc.generation` to this node; on a
/// win the session starts here, on a loss the resolution starts over.
void claim(self_ptr self, resolution_ptr r, session_location loc) {
  auto& st = self->state;
  self->request(cluster_store(self), st.options.store_timeout,
                claim_atom::value, r->id, my_incarnation(self), loc.generation)
      .then(
          [self, r, loc](bool won) {
            if (!won) {
              if (++r->lost_claims
                  >= self->state.options.cluster.claim_attempts)
                return r->finish(
                    make_error(errc::internal,
                               "session " + r->id
                                   + ": its directory row kept changing "
                                     "under this node; try again"));
              return attempt(self, r);
            }
            if (!loc.owner_incarnation.empty())
              log()->warn("event=session_reactivated session={} "
                          "from_incarnation={} generation={}",
                          r->id, loc.owner_incarnation, loc.generation + 1);
            activate_owned(self, r, loc.generation + 1);
          },
          [r](caf::error& err) {
            r->finish(std::move(err));
          });
}

/// The session has no live owner: the rendezvous winner over the live
/// members takes it (this node claims it, or asks the winner to).
void place(self_ptr self, resolution_ptr r, session_location loc) {
  auto cands = candidates(self);
  if (cands.empty())
    return retry(self, r, "no live node to place session " + r->id + " on");
  auto winner = rendezvous_winner(r->id, cands);
  if (winner != my_incarnation(self)) {
    auto m = member_of(self, winner);
    if (m == nullptr || !m->endpoints.directory)
      return retry(self, r,
                   "session " + r->id + " belongs on node "
                       + (m ? node_name(*m) : winner)
                       + ", which is not linked yet");
    return ask_remote(self, r, *m);
  }
  if (!loc.owner_incarnation.empty()) return claim(self, r, std::move(loc));
  // No row yet: only a stored session gets one (a lookup of an unknown id
  // must not leave a row behind).
  self->request(self->state.store, self->state.options.store_timeout,
                load_atom::value, r->id)
      .then(
          [self, r, loc](session_state&) {
            claim(self, r, loc);
          },
          [r](caf::error& err) {
            r->finish(std::move(err));
          });
}

/// Routes the resolution by the session's directory row.
void route(self_ptr self, resolution_ptr r, session_location loc) {
  auto& st = self->state;
  if (loc.owner_incarnation.empty()) return place(self, r, std::move(loc));
  if (loc.owner_incarnation == my_incarnation(self))
    return activate_owned(self, r, loc.generation);
  auto m = member_of(self, loc.owner_incarnation);
  if (m == nullptr) {
    if (self->clock().now() - r->started
        < st.options.cluster.unknown_owner_wait)
      return retry(self, r,
                   "session " + r->id + " is owned by incarnation "
                       + loc.owner_incarnation
                       + ", which this node does "
                         "not know");
    return place(self, r, std::move(loc));
  }
  if (m->state == "down") return place(self, r, std::move(loc));
  if (m->state == "unreachable")
    return retry(self, r,
                 "session " + r->id + " is on an unreachable node "
                     + node_name(*m));
  // joining, up, or leaving (still serving while it drains).
  if (!m->endpoints.directory)
    return retry(self, r,
                 "session " + r->id + " is on node " + node_name(*m)
                     + ", which is not linked yet");
  ask_remote(self, r, *m);
}

void attempt(self_ptr self, resolution_ptr r) {
  auto& st = self->state;
  if (st.fenced)
    return r->finish(make_error(errc::internal,
                                "this node was declared down by the cluster "
                                "and serves no sessions"));
  if (auto i = st.live.find(r->id); i != st.live.end())
    return r->finish(i->second);
  if (!st.members_known)
    return retry(self, r, "the cluster's members are not known yet");
  self->request(cluster_store(self), st.options.store_timeout,
                owner_atom::value, r->id)
      .then(
          [self, r](session_location& loc) {
            route(self, r, std::move(loc));
          },
          [r](caf::error& err) {
            r->finish(std::move(err));
          });
}

void ensure_active_in_cluster(self_ptr self, const std::string& id,
                              directory_state::activation_callback done) {
  auto& st = self->state;
  if (auto i = st.remote.find(id); i != st.remote.end())
    return done(i->second.handle);
  auto& waiting = st.loading[id];
  waiting.push_back(std::move(done));
  if (waiting.size() > 1) return;
  auto r = std::make_shared<resolution>();
  r->id = id;
  r->started = self->clock().now();
  r->deadline = r->started + st.options.cluster.request_timeout;
  r->finish = [self, id](caf::expected<session_actor> result) {
    auto callbacks = std::move(self->state.loading[id]);
    self->state.loading.erase(id);
    for (auto& callback : callbacks)
      callback(result);
  };
  attempt(self, r);
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
  if (st.options.cluster.enabled)
    return ensure_active_in_cluster(self, id, std::move(done));
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

/// The member `target` names (a node id or an incarnation; several
/// incarnations of one node id: the one that is up), or an error naming it.
caf::expected<const cluster_member*>
migration_target(self_ptr self, const std::string& id,
                 const std::string& target) {
  if (target.empty()) {
    auto cands = candidates(self, true);
    if (cands.empty())
      return make_error(errc::invalid_argument,
                        "no other live node to move session " + id + " to");
    return member_of(self, rendezvous_winner(id, cands));
  }
  const cluster_member* found = nullptr;
  for (auto& m : self->state.members) {
    if (m.incarnation != target && m.node_id != target) continue;
    if (found == nullptr || m.state == "up") found = &m;
  }
  if (found == nullptr)
    return make_error(errc::invalid_argument,
                      "unknown node '" + target
                          + "' (not a member's node id "
                            "or incarnation)");
  if (found->incarnation == my_incarnation(self))
    return make_error(errc::invalid_argument,
                      "session " + id + " already lives on node "
                          + node_name(*found));
  if (found->state != "up")
    return make_error(errc::invalid_argument,
                      "node " + node_name(*found) + " is not up (it is "
                          + found->state + ")");
  if (!found->endpoints.directory)
    return make_error(errc::invalid_argument,
                      "node " + node_name(*found) + " is not linked yet");
  return found;
}

using migrate_callback = std::function<void(caf::expected<std::string>)>;

/// Moves the local session `id` to `target` (see `migration_target`): the
/// session freezes, hands a snapshot to the target's directory and becomes
/// a forwarder that ends by itself; the directory then forgets it.
void migrate_local(self_ptr self, const std::string& id,
                   const std::string& target, migrate_callback done) {
  auto& st = self->state;
  auto i = st.live.find(id);
  if (i == st.live.end())
    return done(make_error(errc::session_not_found,
                           "session " + id + " does not live here"));
  auto to = migration_target(self, id, target);
  if (!to) return done(to.error());
  if (st.migrating.count(id) != 0)
    return done(
        make_error(errc::conflict, "session " + id + " is already moving"));
  st.migrating.insert(id);
  auto session = i->second;
  auto to_node = node_name(**to);
  auto to_incarnation = (*to)->incarnation;
  self->request(session, st.options.cluster.migrate_timeout,
                migrate_atom::value, (*to)->endpoints.directory, to_incarnation)
      .then(
          [self, id, session, to_node, done](std::string& owner) {
            auto& cur = self->state;
            cur.migrating.erase(id);
            auto j = cur.live.find(id);
            if (j != cur.live.end() && j->second == session) {
              // The old actor forwards to the new one until it quits by
              // itself: neither kill it nor count its exit as a crash.
              self->demonitor(session.address());
              cur.live.erase(j);
            }
            log()->info("event=session_migrated session={} to_node={} "
                        "to_incarnation={}",
                        id, to_node, owner);
            done(std::move(owner));
          },
          [self, id, to_node, done](caf::error& err) {
            self->state.migrating.erase(id);
            log()->warn("event=session_migration_failed session={} "
                        "to_node={} error={}",
                        id, to_node, message_of(err));
            done(std::move(err));
          });
}

/// Moves session `id` (found or activated as `session`) to `target`: here
/// when it lives here, through its owner's directory otherwise.
void route_migration(self_ptr self, caf::typed_response_promise<std::string> rp,
                     const std::string& id, const std::string& target,
                     caf::expected<session_actor> session) {
  if (!session) {
    rp.deliver(session.error());
    return;
  }
  auto& st = self->state;
  auto deliver = [rp](caf::expected<std::string> owner) mutable {
    if (owner)
      rp.deliver(std::move(*owner));
    else
      rp.deliver(owner.error());
  };
  if (st.live.count(id) != 0) {
    migrate_local(self, id, target, deliver);
    return;
  }
  auto i = st.remote.find(id);
  auto owner
      = i == st.remote.end() ? nullptr : member_of(self, i->second.incarnation);
  if (owner == nullptr || !owner->endpoints.directory) {
    rp.deliver(make_error(errc::internal,
                          "session " + id
                              + " lives on a node this one "
                                "cannot reach"));
    return;
  }
  auto dir = caf::actor_cast<directory_actor>(owner->endpoints.directory);
  self->request(dir,
                st.options.cluster.migrate_timeout
                    + st.options.cluster.request_timeout,
                migrate_atom::value, id, target)
      .then(
          [deliver](std::string& new_owner) mutable {
            deliver(std::move(new_owner));
          },
          [deliver](caf::error& err) mutable {
            deliver(std::move(err));
          });
}

/// Moves every local session to the rendezvous winner among the other
/// live members, `drain_parallelism` at a time; answers how many moved.
struct drain_run {
  std::vector<std::string> ids;
  size_t next = 0;
  size_t running = 0;
  int32_t moved = 0;
  bool stepping = false; ///< Inside `drain_step` (a move may end at once).
  bool done = false;
  caf::typed_response_promise<int32_t> rp;
};

void drain_step(self_ptr self, std::shared_ptr<drain_run> run) {
  // A move that fails at once calls back inside the loop below: the outer
  // call carries on instead of recursing.
  if (run->stepping || run->done) return;
  run->stepping = true;
  auto parallel = static_cast<size_t>(
      std::max(1, self->state.options.cluster.drain_parallelism));
  while (run->running < parallel && run->next < run->ids.size()) {
    auto id = run->ids[run->next++];
    ++run->running;
    migrate_local(self, id, std::string{},
                  [self, run](caf::expected<std::string> owner) {
                    --run->running;
                    if (owner) ++run->moved;
                    drain_step(self, run);
                  });
  }
  run->stepping = false;
  if (run->running == 0 && run->next >= run->ids.size()) {
    run->done = true;
    log()->info("event=drained sessions_moved={} sessions_left={}", run->moved,
                self->state.live.size());
    run->rp.deliver(run->moved);
  }
}

/// Declared down by the cluster: this node's sessions are re-activated
/// elsewhere, so they stop here and no new one starts.
void fence(self_ptr self) {
  auto& st = self->state;
  st.fenced = true;
  log()->error("event=directory_fenced incarnation={} sessions_stopped={}",
               my_incarnation(self), st.live.size());
  // Not `user_shutdown`, which tells members the session was deleted: with
  // the move's reason they look for it again, on the node that re-activates
  // it.
  for (auto& [id, session] : st.live) {
    self->demonitor(session.address());
    self->send_exit(session, session_moved_reason());
  }
  st.live.clear();
  for (auto& [id, entry] : st.remote)
    self->demonitor(entry.handle.address());
  st.remote.clear();
}

/// Re-activates, eagerly, the sessions of `dead` incarnations that
/// rendezvous places on this node (each survivor takes its own share; the
/// compare-and-set keeps it to one).
void fail_over(self_ptr self, std::set<std::string> dead) {
  self->request(cluster_store(self), self->state.options.store_timeout,
                owner_atom::value, list_atom::value)
      .then(
          [self, dead](std::vector<session_location>& rows) {
            auto cands = candidates(self);
            for (auto& row : rows) {
              if (dead.count(row.owner_incarnation) == 0) continue;
              if (rendezvous_winner(row.session_id, cands)
                  != my_incarnation(self))
                continue;
              auto id = row.session_id;
              ensure_active(self, id,
                            [id](caf::expected<session_actor> session) {
                              if (!session)
                                log()->warn("event=session_reactivation_failed "
                                            "session={} error={}",
                                            id, message_of(session.error()));
                            });
            }
          },
          [](caf::error& err) {
            log()->warn("event=failover_listing_failed error={}",
                        message_of(err));
          });
}

/// A new view from the node agent.
void update_members(self_ptr self, std::vector<cluster_member> members) {
  auto& st = self->state;
  std::map<std::string, std::string> before;
  for (auto& m : st.members)
    before.emplace(m.incarnation, m.state);
  bool had_view = st.members_known;
  st.members = std::move(members);
  st.members_known = true;
  bool self_down = false;
  std::set<std::string> dead;
  std::set<std::string> gone;
  for (auto& m : st.members) {
    if (m.incarnation == my_incarnation(self)) {
      m.self = true;
      m.endpoints.directory = caf::actor_cast<caf::actor>(self);
      self_down = m.state == "down";
      continue;
    }
    if (m.state != "down") continue;
    gone.insert(m.incarnation);
    auto was = before.find(m.incarnation);
    // A member seen alive before and down now: its sessions need a home.
    if (had_view && was != before.end() && was->second != "down")
      dead.insert(m.incarnation);
  }
  if (self_down && !st.fenced) fence(self);
  for (auto i = st.remote.begin(); i != st.remote.end();) {
    if (gone.count(i->second.incarnation) != 0) {
      self->demonitor(i->second.handle.address());
      i = st.remote.erase(i);
    } else {
      ++i;
    }
  }
  if (!dead.empty() && !st.fenced) fail_over(self, std::move(dead));
}

/// Creates a session in a cluster: stored here, its directory row claimed
/// for the rendezvous winner over the live members (generation 1), started
/// by the winner. Answered once the session and its row are durable.
void create_in_cluster(self_ptr self,
                       caf::typed_response_promise<session_summary> rp,
                       session_state state, session_access access) {
  auto& st = self->state;
  if (st.fenced) {
    rp.deliver(make_error(errc::internal,
                          "this node was declared down by the cluster and "
                          "creates no sessions"));
    return;
  }
  auto id = state.session_id;
  auto cands = candidates(self);
  std::string owner;
  if (!cands.empty())
    owner = rendezvous_winner(id, cands);
  else if (!st.members_known)
    owner = my_incarnation(self); // The first view has not arrived yet.
  if (owner.empty()) {
    rp.deliver(
        make_error(errc::internal, "no live node to place the new session on"));
    return;
  }
  auto summary = summarize(state);
  auto timeout = st.options.store_timeout;
  // After the session (and its invite) is stored: the row, then the start.
  auto claim_row = [self, rp, id, owner, summary, state, access,
                    timeout]() mutable {
    self->request(cluster_store(self), timeout, claim_atom::value, id, owner,
                  int64_t{0})
        .then(
            [self, rp, id, owner, summary, state, access](bool won) mutable {
              if (!won) {
                rp.deliver(make_error(errc::internal,
                                      "session " + id
                                          + " has a directory row already"));
                return;
              }
              if (owner == my_incarnation(self)) {
                session_snapshot snap;
                snap.generation = 1;
                snap.state = std::move(state);
                snap.access = std::move(access);
                activate_snapshot(self, std::move(snap));
              } else if (auto m = member_of(self, owner);
                         m != nullptr && m->endpoints.directory) {
                // Start it on its owner now rather than at the first join.
                auto dir
                    = caf::actor_cast<directory_actor>(m->endpoints.directory);
                self->request(dir, self->state.options.cluster.request_timeout,
                              lookup_atom::value, id)
                    .then(
                        [self, id, owner](session_actor& handle) {
                          cache_remote(self, id, owner, handle);
                        },
                        [](caf::error&) {
                          // The first lookup activates it there instead.
                        });
              }
              log()->info("event=created session={} pieces={} owner={}",
                          summary.session_id, summary.piece_count, owner);
              rp.deliver(summary);
            },
            [rp](caf::error& err) mutable {
              rp.deliver(std::move(err));
            });
  };
  auto code = access.invite_code;
  self->request(st.store, timeout, put_atom::value, state)
      .then(
          [self, rp, id, code, claim_row, timeout](bool) mutable {
            if (code.empty()) return claim_row();
            auto access_store
                = caf::actor_cast<access_store_actor>(self->state.store);
            self->request(access_store, timeout, put_atom::value,
                          invite_atom::value, id, code)
                .then(
                    [claim_row](bool) mutable {
                      claim_row();
                    },
                    [rp](caf::error& err) mutable {
                      rp.deliver(err);
                    });
          },
          [rp](caf::error& err) mutable {
            rp.deliver(err);
          });
}

} // namespace

directory_actor::behavior_type directory(self_ptr self, store_actor store,
                                         directory_options options) {
  self->state.store = std::move(store);
  self->state.options = std::move(options);
  // A session whose move fails re-claims its row under this incarnation
  // before it carries on (session_options::owner_incarnation).
  if (self->state.options.cluster.enabled)
    self->state.options.session.owner_incarnation
        = self->state.options.cluster.incarnation;
  // Sessions are not linked to the directory (one failing session must not
  // take the others down), so they are stopped explicitly when it ends. In
  // a cluster the members on other nodes look for them again (the move's
  // reason, not `user_shutdown`, which means deleted): they come back
  // elsewhere once this node is down.
  self->set_exit_handler([self](caf::exit_msg& msg) {
    auto reason = self->state.options.cluster.enabled
        ? session_moved_reason()
        : caf::error{caf::exit_reason::user_shutdown};
    for (auto& [id, session] : self->state.live)
      self->send_exit(session, reason);
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
    // A cached session of another node ended or moved on: the next lookup
    // asks the store again.
    auto& remote = self->state.remote;
    for (auto i = remote.begin(); i != remote.end(); ++i) {
      if (i->second.handle.address() == msg.source) {
        remote.erase(i);
        return;
      }
    }
  });
  // Retries scheduled with `after` arrive as (tick, token): the typed
  // interface has no room for them, so they land here.
  self->set_default_handler(
      [self](caf::scheduled_actor*,
             caf::message_view& x) -> caf::result<caf::message> {
        auto& content = x.content();
        if (content.match_elements<tick_atom, uint64_t>()) {
          auto token = content.get_as<uint64_t>(1);
          auto& timers = self->state.timers;
          auto i = timers.find(token);
          if (i != timers.end()) {
            auto fun = std::move(i->second);
            timers.erase(i);
            fun();
          }
          return caf::message{};
        }
        return caf::sec::unexpected_message;
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
        if (st.options.cluster.enabled) {
          create_in_cluster(self, rp, std::move(state), std::move(access));
          return rp;
        }
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
                                  self->state.remote.erase(id);
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
        // Before making the promise: a promise takes over the answer, so a
        // value returned after it would never reach the caller.
        if (self->state.live.empty()) return states{};
        auto rp = self->make_response_promise<states>();
        auto result = std::make_shared<states>();
        auto pending = std::make_shared<size_t>(self->state.live.size());
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
      [self](adopt_atom, session_snapshot& snap) -> caf::result<session_actor> {
        auto& st = self->state;
        if (!st.options.cluster.enabled)
          return make_error(errc::invalid_argument,
                            "a single node adopts no sessions (no cluster)");
        auto id = snap.state.session_id;
        if (st.fenced || st.draining)
          return make_error(errc::conflict,
                            "this node takes no sessions now (it is "
                                + std::string{st.fenced ? "fenced" : "draining"}
                                + ")");
        if (st.live.count(id) != 0)
          return make_error(errc::conflict,
                            "session " + id + " already lives here");
        auto rp = self->make_response_promise<session_actor>();
        auto expected = snap.generation;
        self->request(cluster_store(self), st.options.store_timeout,
                      claim_atom::value, id, my_incarnation(self), expected)
            .then(
                [self, rp, snap, id, expected](bool won) mutable {
                  if (!won) {
                    rp.deliver(make_error(
                        errc::conflict,
                        "session " + id + ": generation "
                            + std::to_string(expected)
                            + " is stale (another node claimed it)"));
                    return;
                  }
                  if (self->state.fenced) {
                    rp.deliver(make_error(errc::conflict,
                                          "this node was fenced meanwhile"));
                    return;
                  }
                  snap.generation = expected + 1;
                  auto session = activate_snapshot(self, std::move(snap));
                  log()->info("event=session_adopted session={} generation={}",
                              id, expected + 1);
                  rp.deliver(session);
                },
                [rp](caf::error& err) mutable {
                  rp.deliver(std::move(err));
                });
        return rp;
      },
      [self](migrate_atom, std::string& id,
             std::string& target) -> caf::result<std::string> {
        auto& st = self->state;
        if (!st.options.cluster.enabled)
          return make_error(errc::invalid_argument,
                            "a single node has no other node to move "
                            "session "
                                + id + " to");
        auto rp = self->make_response_promise<std::string>();
        ensure_active(self, id,
                      [self, rp, id,
                       target](caf::expected<session_actor> session) mutable {
                        route_migration(self, rp, id, target,
                                        std::move(session));
                      });
        return rp;
      },
      [self](drain_atom) -> caf::result<int32_t> {
        auto& st = self->state;
        if (!st.options.cluster.enabled || st.live.empty()) return int32_t{0};
        st.draining = true;
        auto run = std::make_shared<drain_run>();
        run->rp = self->make_response_promise<int32_t>();
        for (auto& [id, session] : st.live)
          run->ids.push_back(id);
        log()->info("event=draining sessions={}", run->ids.size());
        drain_step(self, run);
        return run->rp;
      },
      [self](members_atom, std::vector<cluster_member>& members) {
        if (self->state.options.cluster.enabled)
          update_members(self, std::move(members));
      },
      [self](members_atom) -> std::vector<cluster_member> {
        auto& st = self->state;
        if (st.options.cluster.enabled) return st.members;
        // A single node answers for its one member.
        cluster_member me;
        me.node_id = st.options.cluster.node_id;
        me.incarnation = st.options.cluster.incarnation;
        me.state = "up";
        me.self = true;
        me.endpoints.directory = caf::actor_cast<caf::actor>(self);
        return {me};
      },
      [self](moved_atom, std::string& id, session_actor& handle) {
        auto& st = self->state;
        if (!st.options.cluster.enabled || !handle) return;
        auto i = st.live.find(id);
        if (i != st.live.end()) {
          if (i->second == handle) return;
          // The local actor moved away: it forwards until it quits.
          self->demonitor(i->second.address());
          st.live.erase(i);
        }
        cache_remote(self, id, std::string{}, handle);
      },
  };
}

} // namespace puzzle::cluster
