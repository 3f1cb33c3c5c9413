#include "actors/session/session_actor.hpp"

#include <algorithm>
#include <cmath>

#include <caf/all.hpp>
#include <spdlog/spdlog.h>

#include "actors/caf_errors.hpp"
#include "actors/client/client_interface.hpp"
#include "actors/directory_interface.hpp"
#include "actors/session/session_json.hpp"
#include "actors/util/census.hpp"
#include "actors/util/ids.hpp"

namespace puzzle {

namespace {

/// The category of `session_moved_reason()` (at most 10 characters).
constexpr caf::atom_value session_exit_category = caf::atom("pz-session");
constexpr uint8_t session_moved_code = 1;

} // namespace

caf::error session_moved_reason() {
  return caf::error{session_moved_code, session_exit_category};
}

bool is_session_moved(const caf::error& reason) {
  return reason.category() == session_exit_category
      && reason.code() == session_moved_code;
}

namespace {

using self_ptr = session_actor::stateful_pointer<session_actor_state>;

namespace sj = session_json;

/// Colours given to participants in join order; distinct on light and dark
/// tables.
constexpr const char* participant_colors[] = {
    "#e6194b", "#3cb44b", "#4363d8", "#f58231", "#911eb4", "#42d4f4",
    "#f032e6", "#bfef45", "#469990", "#9a6324", "#800000", "#000075",
};

std::shared_ptr<spdlog::logger> log() {
  static auto logger = [] {
    auto existing = spdlog::get("puzzle.actor.session");
    return existing ? existing
                    : spdlog::default_logger()->clone("puzzle.actor.session");
  }();
  return logger;
}

caf::actor_addr sender_addr(self_ptr self) {
  return caf::actor_cast<caf::actor_addr>(self->current_sender());
}

session_member* caller(self_ptr self) {
  auto i = self->state.members.find(sender_addr(self));
  return i == self->state.members.end() ? nullptr : &i->second;
}

caf::error not_joined(self_ptr self) {
  return make_error(errc::not_joined,
                    "join session " + self->state.data.session_id + " first");
}

bool valid_piece(self_ptr self, int32_t piece_id) {
  return piece_id >= 0
      && static_cast<size_t>(piece_id) < self->state.data.pieces.size();
}

caf::error bad_piece(self_ptr self, int32_t piece_id) {
  return make_error(
      errc::invalid_move,
      "piece id " + std::to_string(piece_id) + " is out of range (0.."
          + std::to_string(self->state.data.pieces.size() - 1) + ")");
}

/// Who holds a lock on `piece_id`, if anyone.
const session_lease* lease_of(self_ptr self, int32_t piece_id) {
  auto i = self->state.piece_leases.find(piece_id);
  if (i == self->state.piece_leases.end()) return nullptr;
  auto j = self->state.leases.find(i->second);
  return j == self->state.leases.end() ? nullptr : &j->second;
}

/// The lease held by someone other than `who` on any piece of the group of
/// `piece_id`, if any (that of the lowest such piece id).
///
/// Runs on every drag and move: it walks the leased pieces (a handful),
/// not the whole puzzle; a piece's group is in its own state.
const session_lease* foreign_lease(self_ptr self, int32_t piece_id,
                                   const caf::actor_addr& who) {
  const auto& pieces = self->state.data.pieces;
  if (piece_id < 0 || static_cast<size_t>(piece_id) >= pieces.size())
    return nullptr;
  auto group = pieces[static_cast<size_t>(piece_id)].group_id;
  const session_lease* found = nullptr;
  int32_t found_piece = 0;
  for (auto& [leased, lease_id] : self->state.piece_leases) {
    if (leased < 0 || static_cast<size_t>(leased) >= pieces.size()
        || pieces[static_cast<size_t>(leased)].group_id != group
        || (found != nullptr && leased > found_piece))
      continue;
    auto i = self->state.leases.find(lease_id);
    if (i == self->state.leases.end() || i->second.holder == who) continue;
    found = &i->second;
    found_piece = leased;
  }
  return found;
}

sj::lock_view lock_view(self_ptr self) {
  sj::lock_view out;
  for (auto& [piece, lease_id] : self->state.piece_leases) {
    auto i = self->state.leases.find(lease_id);
    if (i != self->state.leases.end()) out.emplace(piece, i->second.user_id);
  }
  return out;
}

std::string state_json(self_ptr self) {
  auto& st = self->state;
  return sj::state(st.data, st.geo, st.cut, lock_view(self));
}

session_event make_event(self_ptr self, std::string name,
                         std::shared_ptr<const std::string> payload) {
  session_event ev;
  ev.session_id = self->state.data.session_id;
  ev.name = std::move(name);
  ev.payload = std::move(payload);
  ev.version = self->state.data.version;
  return ev;
}

/// Sends one event to every member, or to every member but `except`. The
/// event is built into one `caf::message` and every recipient's mailbox
/// element refers to it: one allocation and one copy of `session_event` per
/// event, not per recipient (CAF copies a message's content only for a
/// handler that takes it by non-const reference). The event's frame cache is
/// shared too, so each wire format is encoded once. CAF serializes the
/// message's content when a member lives on another node.
void broadcast(self_ptr self, session_event ev,
               const caf::actor_addr& except = caf::actor_addr{}) {
  if (self->state.members.empty()) return;
  auto msg = caf::make_message(std::move(ev));
  auto sender = caf::actor_cast<caf::strong_actor_ptr>(self);
  for (auto& [addr, member] : self->state.members)
    if (addr != except)
      // What `send()` does, minus its static type check, which cannot see
      // that `msg` holds a `session_event`: a `caf::message` is enqueued as
      // is, so the mailbox element shares it.
      member.handle->enqueue(
          caf::make_mailbox_element(sender, caf::make_message_id(), {}, msg),
          self->context());
}

participant* find_participant(self_ptr self, const std::string& user_id) {
  auto& ps = self->state.data.participants;
  auto i = std::find_if(ps.begin(), ps.end(), [&](const participant& p) {
    return p.user_id == user_id;
  });
  return i == ps.end() ? nullptr : &*i;
}

bool user_still_connected(self_ptr self, const std::string& user_id) {
  for (auto& [addr, member] : self->state.members)
    if (member.user_id == user_id) return true;
  return false;
}

/// Forgets a lease without telling the clients (it is being replaced by a
/// lease of the same holder on a superset of its pieces).
void drop_lease_silently(self_ptr self, uint64_t lease_id) {
  auto i = self->state.leases.find(lease_id);
  if (i == self->state.leases.end()) return;
  for (auto piece : i->second.pieces) {
    auto j = self->state.piece_leases.find(piece);
    if (j != self->state.piece_leases.end() && j->second == lease_id)
      self->state.piece_leases.erase(j);
  }
  self->send(i->second.lock, unlock_atom::value);
  self->state.leases.erase(i);
}

void release_lease(self_ptr self, uint64_t lease_id, bool tell_lock_actor) {
  auto i = self->state.leases.find(lease_id);
  if (i == self->state.leases.end()) return;
  auto lease = std::move(i->second);
  self->state.leases.erase(i);
  for (auto piece : lease.pieces) {
    auto j = self->state.piece_leases.find(piece);
    if (j != self->state.piece_leases.end() && j->second == lease_id)
      self->state.piece_leases.erase(j);
  }
  if (tell_lock_actor) self->send(lease.lock, unlock_atom::value);
  std::string ids = "[";
  for (size_t k = 0; k < lease.pieces.size(); ++k) {
    if (k > 0) ids += ',';
    ids += std::to_string(lease.pieces[k]);
  }
  ids += ']';
  auto payload = sj::args("{\"pieceId\":" + std::to_string(lease.piece_id)
                          + ",\"pieceIds\":" + ids
                          + ",\"userId\":" + sj::quote(lease.user_id) + '}');
  broadcast(self, make_event(self, "PieceUnlocked", std::move(payload)));
}

/// Releases every lease of one connection.
void release_leases_of(self_ptr self, const caf::actor_addr& holder) {
  std::vector<uint64_t> ids;
  for (auto& [id, lease] : self->state.leases)
    if (lease.holder == holder) ids.push_back(id);
  std::sort(ids.begin(), ids.end());
  for (auto id : ids)
    release_lease(self, id, true);
}

/// Removes a member (leave or disconnect); the user goes offline once their
/// last connection is gone.
void remove_member(self_ptr self, const caf::actor_addr& addr) {
  auto i = self->state.members.find(addr);
  if (i == self->state.members.end()) return;
  auto user_id = i->second.user_id;
  self->demonitor(addr);
  release_leases_of(self, addr);
  self->state.members.erase(i);
  if (user_still_connected(self, user_id)) return;
  if (auto p = find_participant(self, user_id)) p->online = false;
  auto payload = sj::args("{\"userId\":" + sj::quote(user_id) + ",\"leftAt\":"
                          + sj::quote(util::iso8601(util::now_ms())) + '}');
  broadcast(self, make_event(self, "UserLeft", std::move(payload)));
}

bool finite(double x) {
  return std::isfinite(x);
}

void maybe_snapshot(self_ptr self);

/// A store write left; a frozen session snapshots once none is left.
void store_write_started(self_ptr self) {
  ++self->state.store_writes;
}

void store_write_done(self_ptr self) {
  if (self->state.store_writes > 0) --self->state.store_writes;
  maybe_snapshot(self);
}

/// Writes through the store; the caller's reply waits for durability.
template<class Promise, class Value>
void persist_then_reply(self_ptr self, Promise rp, drop_record record,
                        Value value) {
  store_write_started(self);
  self->request(self->state.store, self->state.options.store_timeout,
                save_atom::value, std::move(record))
      .then(
          [self, rp, value](bool) mutable {
            rp.deliver(value);
            store_write_done(self);
          },
          [self, rp](caf::error& err) mutable {
            log()->error("event=drop_not_durable session={} error={}",
                         self->state.data.session_id, message_of(err));
            rp.deliver(
                make_error(errc::internal, "the move could not be stored"));
            store_write_done(self);
          });
}

/// The refusal of a private session to someone who may not see it: the
/// same as for a session that does not exist.
caf::error hidden(self_ptr self) {
  return make_error(errc::session_not_found,
                    "session " + self->state.data.session_id + " not found");
}

/// The state JSON with the invite appended (for the owner and admins).
std::string with_invite(self_ptr self, std::string json) {
  auto& st = self->state;
  if (json.empty() || json.back() != '}') return json;
  json.pop_back();
  json += ",\"inviteCode\":" + sj::quote(st.access.invite_code)
      + ",\"inviteUrl\":"
      + sj::quote("/?session=" + st.data.session_id
                  + "&invite=" + st.access.invite_code)
      + '}';
  return json;
}

std::string ids_json(const std::vector<int32_t>& ids) {
  std::string out = "[";
  for (size_t k = 0; k < ids.size(); ++k) {
    if (k > 0) out += ',';
    out += std::to_string(ids[k]);
  }
  out += ']';
  return out;
}

// -- migration (docs/cluster.md, "Migration") ---------------------------------

const char* mode_name(session_mode mode) {
  switch (mode) {
    case session_mode::serving: return "serving";
    case session_mode::frozen: return "frozen";
    case session_mode::forwarding: return "forwarding";
  }
  return "serving";
}

/// Tells the sender of a forwarded client request where the session lives
/// now, once per sender (members were told at the switch).
void tell_sender(self_ptr self) {
  auto& st = self->state;
  auto sender = self->current_sender();
  if (!sender) return;
  auto addr = caf::actor_cast<caf::actor_addr>(sender);
  if (!st.told.insert(addr).second) return;
  self->send(caf::actor_cast<client_actor>(sender), moved_atom::value,
             st.data.session_id, st.successor);
}

/// What every handler does first. Serving: nothing (the handler runs).
/// Frozen: the message stays in the mailbox (`skip`), in order, until the
/// move is decided. Forwarding: the message goes to the successor with its
/// sender and request id (`delegate`), so the answer goes straight to the
/// requester; `from_client` marks requests only client actors send, whose
/// senders get a "moved" hint.
template<class R, class... Ts>
std::optional<caf::result<R>>
divert(self_ptr self, bool from_client, Ts&&... xs) {
  auto& st = self->state;
  switch (st.mode) {
    case session_mode::serving: ++st.messages_handled; return std::nullopt;
    case session_mode::frozen: return caf::result<R>{caf::skip};
    case session_mode::forwarding: break;
  }
  if (from_client) tell_sender(self);
  return caf::result<R>{self->delegate(st.successor, std::forward<Ts>(xs)...)};
}

session_snapshot take_snapshot(self_ptr self) {
  auto& st = self->state;
  session_snapshot snap;
  snap.generation = st.generation;
  snap.state = st.data;
  snap.access = st.access;
  for (auto& [addr, member] : st.members)
    snap.members.push_back(
        member_snapshot{member.handle, member.user_id, member.username});
  std::vector<uint64_t> ids;
  for (auto& [id, lease] : st.leases)
    ids.push_back(id);
  std::sort(ids.begin(), ids.end());
  for (auto id : ids) {
    auto& lease = st.leases[id];
    auto holder = st.members.find(lease.holder);
    if (holder == st.members.end()) continue; // released with its member
    lease_snapshot out;
    out.lease_id = id;
    out.holder = holder->second.handle;
    out.user_id = lease.user_id;
    out.username = lease.username;
    out.piece_id = lease.piece_id;
    out.pieces = lease.pieces;
    out.expires_at = lease.expires_at;
    snap.leases.push_back(std::move(out));
  }
  snap.next_lease_id = st.next_lease_id;
  return snap;
}

/// Checks the grace period's end: quits once nothing is left to forward.
void finish_forwarding(self_ptr self) {
  if (self->mailbox().size() == 0) {
    log()->info("event=session_forwarder_done session={}",
                self->state.data.session_id);
    self->quit(session_moved_reason());
    return;
  }
  // Still forwarding: look again shortly (the grace period is over).
  self->delayed_send(self, std::chrono::milliseconds{100}, expire_atom::value,
                     uint64_t{0});
}

/// The target adopted the snapshot: from now on this actor only forwards.
void switch_over(self_ptr self, session_actor successor) {
  auto& st = self->state;
  auto moving = std::move(*st.moving);
  st.moving.reset();
  auto pause = std::chrono::duration_cast<std::chrono::milliseconds>(
      self->clock().now() - moving.frozen_at);
  st.mode = session_mode::forwarding;
  st.successor = std::move(successor);
  self->monitor(st.successor);
  // The successor holds the leases now, with its own lock actors: the old
  // ones stop without releasing anything (no PieceUnlocked).
  for (auto& [id, lease] : st.leases)
    self->send(lease.lock, unlock_atom::value);
  st.leases.clear();
  st.piece_leases.clear();
  for (auto& [addr, member] : st.members) {
    self->demonitor(addr);
    self->send(caf::actor_cast<client_actor>(member.handle), moved_atom::value,
               st.data.session_id, st.successor);
    st.told.insert(addr);
  }
  st.members.clear();
  st.deferred_downs.clear();
  log()->info("event=session_migrated session={} to={} generation={} "
              "pause_ms={}",
              st.data.session_id, moving.target_incarnation, st.generation + 1,
              pause.count());
  moving.reply.deliver(moving.target_incarnation);
  // Lease ids start at 1: id 0 from this actor itself is the grace timer.
  self->delayed_send(self, st.options.forward_grace, expire_atom::value,
                     uint64_t{0});
}

/// The move failed (timeout, lost compare-and-set, target down): carry on
/// here; the requests kept meanwhile run next, in order.
void resume_here(self_ptr self, const caf::error& err) {
  auto& st = self->state;
  auto moving = std::move(*st.moving);
  st.moving.reset();
  st.mode = session_mode::serving;
  log()->warn("event=session_migration_failed session={} to={} error={}",
              st.data.session_id, moving.target_incarnation, message_of(err));
  auto downs = std::move(st.deferred_downs);
  st.deferred_downs.clear();
  for (auto& addr : downs)
    remove_member(self, addr);
  moving.reply.deliver(err);
}

/// The target did not adopt (refused, timed out or gone). The directory row
/// decides whether this actor may carry on: it re-claims the row under its
/// own generation, so a claim of the target that is still on its way (a
/// late adoption) or one that already won (another node re-activated the
/// session meanwhile) can never leave two actors serving. Lost or
/// unanswered: this actor steps down, and its members re-join through the
/// directory wherever the row says.
void reclaim_or_step_down(self_ptr self, caf::error err) {
  auto& st = self->state;
  if (st.options.owner_incarnation.empty()) return resume_here(self, err);
  auto store = caf::actor_cast<cluster_store_actor>(st.store);
  self->request(store, st.options.store_timeout, claim_atom::value,
                st.data.session_id, st.options.owner_incarnation, st.generation)
      .then(
          [self, err](bool won) {
            auto& now_st = self->state;
            if (won) {
              ++now_st.generation;
              return resume_here(self, err);
            }
            log()->warn("event=session_superseded session={} generation={} "
                        "error={}",
                        now_st.data.session_id, now_st.generation,
                        message_of(err));
            now_st.moving->reply.deliver(err);
            self->quit(session_moved_reason());
          },
          [self, err](caf::error& claim_err) {
            log()->warn("event=session_superseded session={} error={} "
                        "claim_error={}",
                        self->state.data.session_id, message_of(err),
                        message_of(claim_err));
            self->state.moving->reply.deliver(err);
            self->quit(session_moved_reason());
          });
}

/// Frozen and no store write left: snapshot and ask the target to adopt.
void maybe_snapshot(self_ptr self) {
  auto& st = self->state;
  if (st.mode != session_mode::frozen || !st.moving || st.moving->snapshot_sent
      || st.store_writes > 0)
    return;
  st.moving->snapshot_sent = true;
  auto target = caf::actor_cast<directory_actor>(st.moving->target_directory);
  self->request(target, st.options.migration_timeout, adopt_atom::value,
                take_snapshot(self))
      .then(
          [self](session_actor& successor) {
            switch_over(self, std::move(successor));
          },
          [self](caf::error& err) {
            reclaim_or_step_down(self, std::move(err));
          });
}

piece_lock_actor spawn_lock(self_ptr self, uint64_t lease_id,
                            const client_events_actor& holder, int32_t piece_id,
                            std::chrono::milliseconds first) {
  auto& st = self->state;
  return self->spawn<caf::linked>(
      piece_lock_keyed, session_actor{self}, lease_id, holder,
      st.options.lock_lease, first,
      "lock/" + st.data.session_id + "/" + std::to_string(piece_id));
}

} // namespace

session_actor::behavior_type
session_behavior(self_ptr self, session_state initial, store_actor store,
                 session_options options) {
  auto& init = self->state;
  init.data = std::move(initial);
  for (auto& p : init.data.participants)
    p.online = false;
  init.geo = model::make_geometry(init.data.spec);
  init.cut = model::make_cut(init.data.spec.rows, init.data.spec.cols,
                             init.data.spec.seed);
  init.store = std::move(store);
  init.options = options;
  census::enlist(self, "session", "session/" + init.data.session_id);
  // A member's connection died without leaving: same as a leave. Frozen,
  // the state must stay as snapshotted: kept for later. Moved, the
  // successor watches the members; only its own end matters here (deleted,
  // or lost with its node): with nothing to forward to, the forwarder goes
  // at once, and whoever asks finds the session through the directory.
  self->set_down_handler([self](const caf::down_msg& msg) {
    auto& st = self->state;
    switch (st.mode) {
      case session_mode::serving: remove_member(self, msg.source); break;
      case session_mode::frozen: st.deferred_downs.push_back(msg.source); break;
      case session_mode::forwarding:
        if (msg.source == st.successor.address()) {
          log()->info("event=session_forwarder_done session={} "
                      "successor_ended={}",
                      st.data.session_id, caf::to_string(msg.reason));
          self->quit(session_moved_reason());
        }
        break;
    }
  });
  return {
      [self](join_atom, user_identity who,
             client_events_actor handle) -> caf::result<std::string> {
        if (auto d
            = divert<std::string>(self, true, join_atom::value, who, handle))
          return std::move(*d);
        auto& st = self->state;
        if (!may_enter(st.data.is_public, st.data.owner_id, st.access, who))
          return make_error(errc::forbidden,
                            "session " + st.data.session_id
                                + " is private: open its invite link first");
        auto addr = caf::actor_cast<caf::actor_addr>(handle);
        bool new_connection = st.members.count(addr) == 0;
        bool was_online = user_still_connected(self, who.user_id);
        if (new_connection) {
          self->monitor(handle);
          st.members.emplace(
              addr,
              session_member{handle, who.user_id, who.username, std::nullopt});
        }
        auto now = util::now_ms();
        auto p = find_participant(self, who.user_id);
        if (p == nullptr) {
          participant fresh;
          fresh.user_id = who.user_id;
          fresh.username = who.username;
          auto n = st.data.participants.size();
          fresh.color = participant_colors[n % std::size(participant_colors)];
          fresh.joined_at = now;
          st.data.participants.push_back(std::move(fresh));
          p = &st.data.participants.back();
        } else if (!who.username.empty()) {
          p->username = who.username;
        }
        p->online = true;
        // Participants are durable (they show in a restarted session), but a
        // join need not wait for the disk.
        store_write_started(self);
        self->request(st.store, st.options.store_timeout, join_atom::value,
                      st.data.session_id, *p)
            .then(
                [self](bool) {
                  store_write_done(self);
                },
                [self](caf::error& err) {
                  log()->warn("event=participant_not_stored session={} "
                              "error={}",
                              self->state.data.session_id, message_of(err));
                  store_write_done(self);
                });
        auto json = state_json(self);
        self->send(handle,
                   make_event(self, "SessionStateUpdate", sj::args(json)));
        if (!was_online) {
          auto payload = sj::args(
              "{\"userId\":" + sj::quote(p->user_id) + ",\"username\":"
              + sj::quote(p->username) + ",\"color\":" + sj::quote(p->color)
              + ",\"joinedAt\":" + sj::quote(util::iso8601(now)) + '}');
          broadcast(self, make_event(self, "UserJoined", std::move(payload)),
                    addr);
        }
        return json;
      },
      [self](leave_atom) -> caf::result<bool> {
        if (auto d = divert<bool>(self, true, leave_atom::value))
          return std::move(*d);
        auto addr = sender_addr(self);
        if (self->state.members.count(addr) == 0) return not_joined(self);
        remove_member(self, addr);
        return true;
      },
      [self](lock_atom, int32_t piece_id) -> caf::result<lock_result> {
        if (auto d
            = divert<lock_result>(self, true, lock_atom::value, piece_id))
          return std::move(*d);
        auto& st = self->state;
        auto member = caller(self);
        if (member == nullptr) return not_joined(self);
        if (!valid_piece(self, piece_id)) return bad_piece(self, piece_id);
        if (st.data.pieces[static_cast<size_t>(piece_id)].placed)
          return make_error(errc::invalid_move,
                            "piece " + std::to_string(piece_id)
                                + " is already placed");
        auto addr = sender_addr(self);
        lock_result result;
        if (auto other = foreign_lease(self, piece_id, addr)) {
          result.granted = false;
          result.locked_by = other->user_id;
          result.expires_at = other->expires_at;
          result.piece_ids = other->pieces;
          return result;
        }
        auto group = model::group_of(st.data.pieces, piece_id);
        auto expires_at = util::now_ms() + st.options.lock_lease.count();
        // Re-grabbing what one already holds renews that lease, as long as it
        // still covers the whole group; a group that grew since (a join) gets
        // one fresh lease instead of several overlapping ones.
        std::vector<uint64_t> own;
        for (auto id : group)
          if (auto i = st.piece_leases.find(id); i != st.piece_leases.end())
            if (std::find(own.begin(), own.end(), i->second) == own.end())
              own.push_back(i->second);
        if (own.size() == 1 && st.leases[own.front()].pieces == group) {
          auto& lease = st.leases[own.front()];
          lease.expires_at = expires_at;
          self->send(lease.lock, renew_atom::value);
          result.granted = true;
          result.locked_by = member->user_id;
          result.expires_at = expires_at;
          result.piece_ids = lease.pieces;
          return result;
        }
        for (auto id : own)
          drop_lease_silently(self, id);
        auto lease_id = st.next_lease_id++;
        session_lease lease;
        lease.holder = addr;
        lease.user_id = member->user_id;
        lease.username = member->username;
        lease.piece_id = piece_id;
        lease.pieces = group;
        lease.expires_at = expires_at;
        lease.lock = spawn_lock(self, lease_id, member->handle, piece_id,
                                st.options.lock_lease);
        for (auto id : group)
          st.piece_leases[id] = lease_id;
        st.leases.emplace(lease_id, std::move(lease));
        result.granted = true;
        result.locked_by = member->user_id;
        result.expires_at = expires_at;
        result.piece_ids = group;
        auto payload = sj::args(
            "{\"pieceId\":" + std::to_string(piece_id) + ",\"pieceIds\":"
            + ids_json(group) + ",\"userId\":" + sj::quote(member->user_id)
            + ",\"username\":" + sj::quote(member->username)
            + ",\"expiresAt\":" + sj::quote(util::iso8601(expires_at)) + '}');
        broadcast(self, make_event(self, "PieceLocked", std::move(payload)));
        return result;
      },
      [self](drag_atom, int32_t piece_id, double x, double y,
             int32_t rotation) -> caf::result<uint64_t> {
        if (auto d = divert<uint64_t>(self, true, drag_atom::value, piece_id, x,
                                      y, rotation))
          return std::move(*d);
        auto& st = self->state;
        auto member = caller(self);
        if (member == nullptr) return not_joined(self);
        if (!valid_piece(self, piece_id)) return bad_piece(self, piece_id);
        if (!finite(x) || !finite(y) || !model::valid_rotation(rotation)
            || (rotation != 0 && !st.data.spec.rotation))
          return make_error(errc::invalid_move,
                            "coordinates must be finite and rotation one of "
                            "the allowed values");
        auto& piece = st.data.pieces[static_cast<size_t>(piece_id)];
        if (piece.placed)
          return make_error(errc::invalid_move,
                            "piece " + std::to_string(piece_id)
                                + " is already placed");
        auto addr = sender_addr(self);
        if (auto other = foreign_lease(self, piece_id, addr))
          return make_error(errc::piece_locked,
                            "piece " + std::to_string(piece_id) + " is held by "
                                + other->username);
        if (auto own = lease_of(self, piece_id)) {
          self->send(own->lock, renew_atom::value);
          st.leases[st.piece_leases[piece_id]].expires_at
              = util::now_ms() + st.options.lock_lease.count();
        }
        // A drag is a preview: it is shown to the others but changes no state;
        // only the drop (MovePiece) is judged, clamped and stored.
        x = std::clamp(x, 0.0, st.geo.table_width - st.geo.piece_width);
        y = std::clamp(y, 0.0, st.geo.table_height - st.geo.piece_height);
        auto payload
            = sj::args("{\"pieceId\":" + std::to_string(piece_id)
                       + ",\"x\":" + sj::number(x) + ",\"y\":" + sj::number(y)
                       + ",\"rotation\":" + std::to_string(rotation)
                       + ",\"userId\":" + sj::quote(member->user_id) + '}');
        broadcast(self, make_event(self, "PieceDragged", std::move(payload)),
                  addr);
        return st.data.version;
      },
      [self](move_atom, int32_t piece_id, double x, double y,
             int32_t rotation) -> caf::result<move_result> {
        if (auto d = divert<move_result>(self, true, move_atom::value, piece_id,
                                         x, y, rotation))
          return std::move(*d);
        auto& st = self->state;
        auto member = caller(self);
        if (member == nullptr) return not_joined(self);
        if (!valid_piece(self, piece_id)) return bad_piece(self, piece_id);
        if (st.data.completed_at != 0)
          return make_error(errc::invalid_move, "the puzzle is completed");
        auto addr = sender_addr(self);
        if (auto other = foreign_lease(self, piece_id, addr))
          return make_error(errc::piece_locked,
                            "piece " + std::to_string(piece_id) + " is held by "
                                + other->username);
        auto outcome = model::apply_move(st.geo, st.data.pieces, piece_id, x, y,
                                         rotation, st.data.spec.rotation, true);
        if (outcome.error != errc::none)
          return make_error(outcome.error,
                            "coordinates must be finite numbers, the rotation "
                            "one of the allowed values and the piece loose");
        auto now = util::now_ms();
        ++st.data.version;
        if (st.data.started_at == 0) st.data.started_at = now;
        auto& moved = st.data.pieces[static_cast<size_t>(piece_id)];
        bool completed_now
            = st.data.completed_at == 0 && model::is_complete(st.data.pieces);
        if (completed_now) st.data.completed_at = now;
        drop_record record;
        record.session_id = st.data.session_id;
        record.version = st.data.version;
        record.started_at = st.data.started_at;
        record.completed_at = st.data.completed_at;
        std::string pieces_json = "[";
        for (size_t k = 0; k < outcome.group_members.size(); ++k) {
          auto& p
              = st.data.pieces[static_cast<size_t>(outcome.group_members[k])];
          record.pieces.push_back(p);
          if (k > 0) pieces_json += ',';
          pieces_json += sj::piece(p, nullptr);
        }
        pieces_json += ']';
        // Extension: `pieces` carries every member of the moved group, since
        // a group moves as one.
        auto payload = sj::args(
            "{\"pieceId\":" + std::to_string(piece_id)
            + ",\"x\":" + sj::number(moved.x) + ",\"y\":" + sj::number(moved.y)
            + ",\"rotation\":" + std::to_string(moved.rotation)
            + ",\"movedBy\":" + sj::quote(member->user_id)
            + ",\"isCorrectlyPlaced\":" + (moved.placed ? "true" : "false")
            + ",\"groupId\":" + std::to_string(moved.group_id)
            + ",\"version\":" + std::to_string(st.data.version)
            + ",\"pieces\":" + pieces_json + '}');
        broadcast(self, make_event(self, "PieceMoved", std::move(payload)));
        // A drop ends the mover's hold on its group, announced after the
        // move so that others never see the piece let go where it was.
        if (lease_of(self, piece_id) != nullptr)
          release_lease(self, st.piece_leases[piece_id], true);
        if (outcome.joined) {
          auto joined = sj::args(
              "{\"groupId\":" + std::to_string(outcome.group_id)
              + ",\"pieceIds\":" + ids_json(outcome.group_members) + '}');
          broadcast(self, make_event(self, "PiecesJoined", std::move(joined)));
        }
        if (completed_now) {
          auto since = st.data.started_at != 0 ? st.data.started_at
                                               : st.data.created_at;
          std::string people = "[";
          for (size_t k = 0; k < st.data.participants.size(); ++k) {
            if (k > 0) people += ',';
            people += sj::participant_json(st.data.participants[k]);
          }
          people += ']';
          auto done
              = sj::args("{\"completedAt\":" + sj::quote(util::iso8601(now))
                         + ",\"totalTime\":"
                         + sj::quote(util::timespan(
                             std::chrono::milliseconds{now - since}))
                         + ",\"totalTimeMs\":" + std::to_string(now - since)
                         + ",\"participants\":" + people + '}');
          broadcast(self, make_event(self, "PuzzleCompleted", std::move(done)));
          log()->info("event=completed session={} pieces={}",
                      st.data.session_id, st.data.pieces.size());
        }
        move_result result{true, moved.placed, st.data.version};
        auto rp = self->make_response_promise<move_result>();
        persist_then_reply(self, rp, std::move(record), result);
        return rp;
      },
      [self](unlock_atom, int32_t piece_id) -> caf::result<bool> {
        if (auto d = divert<bool>(self, true, unlock_atom::value, piece_id))
          return std::move(*d);
        if (caller(self) == nullptr) return not_joined(self);
        if (!valid_piece(self, piece_id)) return bad_piece(self, piece_id);
        auto lease = lease_of(self, piece_id);
        if (lease == nullptr || lease->holder != sender_addr(self))
          return make_error(errc::piece_not_held,
                            "piece " + std::to_string(piece_id)
                                + " is not held by this connection");
        release_lease(self, self->state.piece_leases[piece_id], true);
        return true;
      },
      [self](chat_atom, std::string& text) -> caf::result<bool> {
        if (auto d = divert<bool>(self, true, chat_atom::value, text))
          return std::move(*d);
        auto& st = self->state;
        auto member = caller(self);
        if (member == nullptr) return not_joined(self);
        if (text.size() > st.options.max_chat_bytes)
          return make_error(errc::invalid_message,
                            "a chat message has at most "
                                + std::to_string(st.options.max_chat_bytes)
                                + " bytes");
        auto trimmed = model::trim_unicode(text);
        auto length = model::utf8_length(trimmed);
        if (length < 1 || length > st.options.max_chat_code_points)
          return make_error(
              errc::invalid_message,
              length < 0 ? std::string{"a chat message must be "
                                       "valid UTF-8"}
                         : "a chat message has 1 to "
                      + std::to_string(st.options.max_chat_code_points)
                      + " characters (got " + std::to_string(length) + ")");
        chat_entry entry;
        entry.id = util::new_uuid();
        entry.user_id = member->user_id;
        entry.username = member->username;
        entry.message = std::move(trimmed);
        entry.timestamp = util::now_ms();
        st.data.chat.push_back(entry);
        if (st.data.chat.size() > st.options.chat_history)
          st.data.chat.erase(
              st.data.chat.begin(),
              st.data.chat.end()
                  - static_cast<std::ptrdiff_t>(st.options.chat_history));
        broadcast(
            self,
            make_event(self, "ChatMessageReceived",
                       sj::args(sj::chat_json(st.data.session_id, entry))));
        auto rp = self->make_response_promise<bool>();
        store_write_started(self);
        self->request(st.store, st.options.store_timeout, chat_atom::value,
                      st.data.session_id, entry)
            .then(
                [self, rp](bool) mutable {
                  rp.deliver(true);
                  store_write_done(self);
                },
                [self, rp](caf::error&) mutable {
                  rp.deliver(make_error(errc::internal,
                                        "the message could not be stored"));
                  store_write_done(self);
                });
        return rp;
      },
      [self](cursor_atom, double x, double y) -> caf::result<bool> {
        if (auto d = divert<bool>(self, true, cursor_atom::value, x, y))
          return std::move(*d);
        auto member = caller(self);
        if (member == nullptr) return not_joined(self);
        if (!finite(x) || !finite(y))
          return make_error(errc::invalid_move,
                            "cursor coordinates must be finite numbers");
        // Throttle per connection: cursors are cosmetic, so extra updates are
        // dropped rather than queued.
        auto now = self->clock().now();
        if (member->last_cursor
            && now - *member->last_cursor < self->state.options.cursor_interval)
          return true;
        member->last_cursor = now;
        auto payload
            = sj::args("{\"userId\":" + sj::quote(member->user_id) + ",\"x\":"
                       + sj::number(x) + ",\"y\":" + sj::number(y) + '}');
        broadcast(self, make_event(self, "CursorMoved", std::move(payload)),
                  sender_addr(self));
        return true;
      },
      [self](state_atom) -> caf::result<std::string> {
        if (auto d = divert<std::string>(self, false, state_atom::value))
          return std::move(*d);
        return state_json(self);
      },
      [self](state_atom, const user_identity& who) -> caf::result<std::string> {
        if (auto d = divert<std::string>(self, false, state_atom::value, who))
          return std::move(*d);
        auto& st = self->state;
        if (!may_enter(st.data.is_public, st.data.owner_id, st.access, who))
          return hidden(self);
        if (!st.data.is_public && may_invite(st.data.owner_id, who))
          return with_invite(self, state_json(self));
        return state_json(self);
      },
      [self](invite_atom,
             const user_identity& who) -> caf::result<std::string> {
        if (auto d = divert<std::string>(self, false, invite_atom::value, who))
          return std::move(*d);
        auto& st = self->state;
        if (st.data.is_public) return std::string{};
        if (!may_invite(st.data.owner_id, who))
          return make_error(errc::forbidden,
                            "only the owner or an admin sees the invite");
        return st.access.invite_code;
      },
      [self](invite_atom, const user_identity& who,
             const std::string& code) -> caf::result<bool> {
        if (auto d = divert<bool>(self, false, invite_atom::value, who, code))
          return std::move(*d);
        auto& st = self->state;
        if (may_enter(st.data.is_public, st.data.owner_id, st.access, who))
          return true;
        // A wrong code and an anonymous caller get the same answer.
        if (!who.has_role(user_role::player) || who.user_id.empty()
            || !same_code(code, st.access.invite_code))
          return make_error(errc::forbidden, "this invite code is not valid");
        auto rp = self->make_response_promise<bool>();
        auto access_store = caf::actor_cast<access_store_actor>(st.store);
        store_write_started(self);
        self->request(access_store, st.options.store_timeout, join_atom::value,
                      invite_atom::value, st.data.session_id, who.user_id)
            .then(
                [self, rp, user = who.user_id](bool) mutable {
                  auto& allowed = self->state.access.allowed;
                  if (std::find(allowed.begin(), allowed.end(), user)
                      == allowed.end())
                    allowed.push_back(user);
                  log()->info("event=invite_redeemed session={} user={}",
                              self->state.data.session_id, user);
                  rp.deliver(true);
                  store_write_done(self);
                },
                [self, rp](caf::error& err) mutable {
                  log()->error("event=invite_not_stored session={} error={}",
                               self->state.data.session_id, message_of(err));
                  rp.deliver(make_error(errc::internal,
                                        "the invite could not be stored"));
                  store_write_done(self);
                });
        return rp;
      },
      [self](summary_atom) -> caf::result<session_summary> {
        if (auto d = divert<session_summary>(self, false, summary_atom::value))
          return std::move(*d);
        return summarize(self->state.data);
      },
      [self](expire_atom, uint64_t lease_id) -> caf::result<void> {
        auto& st = self->state;
        switch (st.mode) {
          case session_mode::serving: break;
          case session_mode::frozen: return caf::skip;
          case session_mode::forwarding:
            // Lease ends of the old lock actors are the successor's business
            // (it runs lock actors of its own); id 0 from this actor is the
            // grace timer.
            if (lease_id == 0
                && caf::actor_cast<caf::actor_addr>(self->current_sender())
                    == self->address())
              finish_forwarding(self);
            return {};
        }
        ++st.messages_handled;
        release_lease(self, lease_id, false);
        return {};
      },
      [self](close_atom, std::string& reason) -> caf::result<void> {
        if (auto d = divert<void>(self, false, close_atom::value, reason))
          return std::move(*d);
        auto payload = sj::args(
            sj::quote(reason),
            sj::quote(std::string{to_code(errc::session_not_found)}));
        broadcast(self, make_event(self, "Error", std::move(payload)));
        // Not a normal exit: linked piece_lock actors end with the session.
        self->quit(caf::exit_reason::user_shutdown);
        return {};
      },
      [self](migrate_atom, caf::actor& target,
             std::string& incarnation) -> caf::result<std::string> {
        if (auto d = divert<std::string>(self, false, migrate_atom::value,
                                         target, incarnation))
          return std::move(*d);
        auto& st = self->state;
        if (!target)
          return make_error(errc::invalid_argument,
                            "migrate needs the target node's directory");
        // This message is the last one handled here; every later one waits
        // in the mailbox, in order, until the move is decided.
        st.mode = session_mode::frozen;
        auto rp = self->make_response_promise<std::string>();
        st.moving = session_actor_state::migration{rp, std::move(target),
                                                   std::move(incarnation),
                                                   self->clock().now(), false};
        log()->debug("event=session_freezing session={} store_writes={}",
                     st.data.session_id, st.store_writes);
        maybe_snapshot(self);
        return rp;
      },
      [self](inspect_atom) -> actor_probe {
        auto& st = self->state;
        actor_probe probe;
        probe.kind = "session";
        probe.key = "session/" + st.data.session_id;
        // Messages kept while frozen sit in the normal queue's cache, which
        // the mailbox's size does not count.
        probe.mailbox_depth = self->mailbox().size()
            + self->get_normal_queue().cache().total_task_size();
        probe.messages_handled = st.messages_handled;
        size_t online = 0;
        for (auto& p : st.data.participants)
          if (p.online) ++online;
        probe.summary_json = "{\"version\":" + std::to_string(st.data.version)
            + ",\"generation\":" + std::to_string(st.generation)
            + ",\"members\":" + std::to_string(st.members.size())
            + ",\"participantsOnline\":" + std::to_string(online)
            + ",\"leases\":" + std::to_string(st.leases.size())
            + ",\"storeWritesInFlight\":" + std::to_string(st.store_writes)
            + ",\"mode\":" + sj::quote(mode_name(st.mode)) + '}';
        return probe;
      },
  };
}

session_actor::behavior_type
private_session_behavior(self_ptr self, session_state initial,
                         session_access access, store_actor store,
                         session_options options) {
  self->state.access = std::move(access);
  return session_behavior(self, std::move(initial), std::move(store), options);
}

session_actor::behavior_type
session_from_snapshot(self_ptr self, session_snapshot snapshot,
                      store_actor store, session_options options) {
  auto& st = self->state;
  st.access = std::move(snapshot.access);
  st.generation = snapshot.generation;
  auto members = std::move(snapshot.members);
  auto leases = std::move(snapshot.leases);
  auto next_lease_id = snapshot.next_lease_id;
  // Starts with everyone offline; those who moved along are online again
  // below.
  auto behavior = session_behavior(self, std::move(snapshot.state),
                                   std::move(store), options);
  for (auto& m : members) {
    if (!m.handle) continue;
    auto addr = caf::actor_cast<caf::actor_addr>(m.handle);
    if (st.members.count(addr) > 0) continue;
    // Works for a handle on another node too (its proxy reports the exit,
    // or the loss of the node).
    self->monitor(m.handle);
    st.members.emplace(
        addr, session_member{m.handle, m.user_id, m.username, std::nullopt});
    if (auto p = find_participant(self, m.user_id)) p->online = true;
  }
  st.next_lease_id = std::max<uint64_t>(next_lease_id, 1);
  auto now = util::now_ms();
  for (auto& l : leases) {
    auto addr = caf::actor_cast<caf::actor_addr>(l.holder);
    if (l.lease_id == 0 || !l.holder || st.members.count(addr) == 0
        || st.leases.count(l.lease_id) > 0)
      continue; // its holder did not come along: nothing to hold
    session_lease lease;
    lease.holder = addr;
    lease.user_id = l.user_id;
    lease.username = l.username;
    lease.piece_id = l.piece_id;
    lease.pieces = l.pieces;
    lease.expires_at = l.expires_at;
    // The rest of the lease; one already over ends at once, through the
    // lock actor, with the usual PieceUnlocked.
    auto rest = std::chrono::milliseconds{
        std::max<int64_t>(0, static_cast<int64_t>(l.expires_at - now))};
    lease.lock = spawn_lock(self, l.lease_id, l.holder, l.piece_id, rest);
    for (auto piece : lease.pieces)
      st.piece_leases[piece] = l.lease_id;
    st.leases.emplace(l.lease_id, std::move(lease));
    st.next_lease_id = std::max(st.next_lease_id, l.lease_id + 1);
  }
  log()->debug("event=session_from_snapshot session={} generation={} "
               "version={} members={} leases={}",
               st.data.session_id, st.generation, st.data.version,
               st.members.size(), st.leases.size());
  return behavior;
}

} // namespace puzzle
