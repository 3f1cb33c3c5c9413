#include "cluster/membership/node_agent.hpp"

#include <limits>
#include <map>
#include <set>
#include <utility>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/io/middleman.hpp>
#include <caf/io/middleman_actor.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <soci/connection-pool.h>
#include <soci/soci.h>
#include <spdlog/spdlog.h>

#include "actors/caf_errors.hpp"
#include "actors/directory_interface.hpp"
#include "actors/util/ids.hpp"
#include "persistence/sql/membership.hpp"

namespace puzzle::cluster {

namespace {

namespace db = puzzle::persistence;

std::shared_ptr<spdlog::logger> log() {
  static auto logger = [] {
    auto existing = spdlog::get("puzzle.cluster.membership");
    return existing
        ? existing
        : spdlog::default_logger()->clone("puzzle.cluster.membership");
  }();
  return logger;
}

struct node_agent_state {
  static inline const char* name = "puzzle.node_agent";

  ~node_agent_state() {
    if (leased) pool->give_back(lease);
  }

  node_agent_options options;
  std::shared_ptr<soci::connection_pool> pool;
  std::shared_ptr<membership_view> view;
  std::size_t lease = 0;
  bool leased = false;
  bool joined = false;
  bool left = false;
  /// Our row was buried by a peer: no more heartbeats under this
  /// incarnation (only a restart, with a new one, rejoins).
  bool fenced = false;
  /// The last store call failed: reconnect before the next one.
  bool broken = false;
  /// Last state logged per incarnation, to log changes only.
  std::map<std::string, member_state> seen;
  /// Links to the other members' agents, by incarnation.
  struct peer_link {
    caf::actor_addr agent; ///< Monitored; empty while not linked.
    bool lost = false;     ///< The link broke and no new one succeeded.
    bool connecting = false;
  };
  std::map<std::string, peer_link> links;
  /// Each linked peer's endpoints, by incarnation.
  std::map<std::string, node_endpoints> endpoints;
};

using self_ptr = node_agent_actor::stateful_pointer<node_agent_state>;

int64_t ms(std::chrono::milliseconds d) {
  return static_cast<int64_t>(d.count());
}

void store_failed(self_ptr self, const char* what, const caf::error& err) {
  self->state.broken = true;
  log()->warn("event=membership_store_error action={} error={}", what,
              message_of(err));
}

/// The state of one row as this node sees it at `now`.
member_state derive(const node_agent_options& o, const db::member_row& row,
                    int64_t now) {
  switch (row.status) {
    case db::member_status::down: return member_state::down;
    case db::member_status::leaving: return member_state::leaving;
    case db::member_status::joining:
    case db::member_status::up: break;
  }
  if (now - row.last_heartbeat_ms > ms(o.connection_timeout))
    return member_state::unreachable;
  return row.status == db::member_status::up ? member_state::up
                                             : member_state::joining;
}

void log_change(self_ptr self, const member_info& m) {
  auto& seen = self->state.seen;
  auto known = seen.find(m.incarnation);
  if (known != seen.end() && known->second == m.state) return;
  auto event = std::string{"member_"} + to_string(m.state);
  if (m.state == member_state::unreachable || m.state == member_state::down)
    log()->warn("event={} node={} incarnation={} address={} self={} "
                "last_heartbeat_ms={}",
                event, m.node_id, m.incarnation, m.address, m.self,
                m.last_heartbeat_ms);
  else
    log()->info("event={} node={} incarnation={} address={} self={}", event,
                m.node_id, m.incarnation, m.address, m.self);
  seen[m.incarnation] = m.state;
}

/// Hands the latest view, with every endpoint known, to the local directory.
void push_members(self_ptr self) {
  auto& st = self->state;
  auto dir = st.options.local_endpoints.directory;
  // After a graceful leave this node shows itself down: that is no fencing
  // (the directory drained before), so the directory hears nothing more.
  if (!dir || st.left) return;
  std::vector<cluster_member> out;
  for (auto& m : st.view->members()) {
    cluster_member c;
    c.node_id = m.node_id;
    c.incarnation = m.incarnation;
    c.address = m.address;
    c.state = to_string(m.state);
    c.self = m.self;
    if (m.self) {
      c.endpoints = st.options.local_endpoints;
    } else if (auto i = st.endpoints.find(m.incarnation);
               i != st.endpoints.end()) {
      c.endpoints = i->second;
    }
    out.push_back(std::move(c));
  }
  caf::anon_send(caf::actor_cast<directory_actor>(dir), members_atom_v,
                 std::move(out));
}

/// Asks a newly linked peer's agent for its endpoints.
void fetch_endpoints(self_ptr self, const std::string& incarnation,
                     const caf::strong_actor_ptr& peer) {
  self->request(caf::actor_cast<node_agent_actor>(peer),
                self->state.options.connection_timeout, endpoints_atom_v)
      .then(
          [self, incarnation](node_endpoints& ep) {
            self->state.endpoints[incarnation] = std::move(ep);
            push_members(self);
          },
          [incarnation](caf::error& err) {
            log()->warn("event=member_endpoints_failed incarnation={} "
                        "error={}",
                        incarnation, message_of(err));
          });
}

/// `host:port` split, or false when `address` is not one.
bool split_address(const std::string& address, std::string& host,
                   uint16_t& port) {
  auto colon = address.rfind(':');
  if (colon == std::string::npos || colon == 0) return false;
  auto digits = address.substr(colon + 1);
  if (digits.empty() || digits.size() > 5
      || digits.find_first_not_of("0123456789") != std::string::npos)
    return false;
  auto number = std::stoul(digits);
  if (number == 0 || number > 65535) return false;
  host = address.substr(0, colon);
  // [::1]:4000 -> ::1
  if (host.size() > 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  port = static_cast<uint16_t>(number);
  return true;
}

/// Connects to each seed once at start, so that the links (and CAF's
/// connection) exist before the first round reads the table; the table
/// still names the members.
void contact_seeds(self_ptr self) {
  auto mm = self->home_system().middleman().actor_handle();
  for (auto& seed : self->state.options.seeds) {
    std::string host;
    uint16_t port = 0;
    if (!split_address(seed, host, port)) continue;
    self->request(mm, self->state.options.connection_timeout,
                  caf::connect_atom_v, host, port)
        .then(
            [seed](caf::node_id&, caf::strong_actor_ptr& peer,
                   std::set<std::string>&) {
              if (peer)
                log()->info("event=seed_contacted seed={}", seed);
              else
                log()->warn("event=seed_unreachable seed={} error=nothing "
                            "published there",
                            seed);
            },
            [seed](caf::error& err) {
              log()->warn("event=seed_unreachable seed={} error={}", seed,
                          message_of(err));
            });
  }
}

/// Opens a link to the agent of `incarnation` at `address` and monitors it,
/// through the middleman actor (its blocking `remote_actor` must not run in
/// an actor).
void link_to(self_ptr self, const std::string& incarnation,
             const std::string& address) {
  auto& link = self->state.links[incarnation];
  if (link.connecting || (link.agent && !link.lost)) return;
  // A member without cluster.port (seeds only) has nothing to link to.
  std::string host;
  uint16_t port = 0;
  if (!split_address(address, host, port)) return;
  link.connecting = true;
  auto mm = self->home_system().middleman().actor_handle();
  self->request(mm, self->state.options.connection_timeout, caf::connect_atom_v,
                host, port)
      .then(
          [self, incarnation, address](caf::node_id&,
                                       caf::strong_actor_ptr& peer,
                                       std::set<std::string>&) {
            auto& linked = self->state.links[incarnation];
            linked.connecting = false;
            if (!peer) return;
            auto was_lost = linked.lost;
            linked.agent = peer->address();
            linked.lost = false;
            self->monitor(peer);
            log()->info("event=member_linked incarnation={} address={} "
                        "again={}",
                        incarnation, address, was_lost);
            fetch_endpoints(self, incarnation, peer);
            push_members(self);
          },
          [self, incarnation](caf::error&) {
            // Nobody there (yet): the next round tries again.
            self->state.links[incarnation].connecting = false;
          });
}

/// Reads every row, buries the silent ones and publishes the view.
void observe(self_ptr self, soci::session& sql) {
  auto& st = self->state;
  auto& o = st.options;
  auto rows = db::list_members(sql, o.cluster_name);
  if (!rows) return store_failed(self, "list", rows.error());
  auto now = util::now_ms();
  std::vector<member_info> members;
  members.reserve(rows->size());
  for (auto& row : *rows) {
    member_info m{row.node_id,
                  row.incarnation,
                  row.address,
                  member_state::joining,
                  row.last_heartbeat_ms,
                  row.started_at_ms,
                  row.incarnation == o.incarnation};
    m.state = derive(o, row, now);
    // The grace period: a member silent for the connection timeout plus
    // `down_after` is buried, but only if its heartbeat is still the one
    // we judged (it may have beaten since we read it).
    if (!m.self && row.status != db::member_status::down
        && now - row.last_heartbeat_ms
            > ms(o.connection_timeout) + ms(o.down_after)) {
      auto buried = db::mark_member_down(sql, o.cluster_name, row.incarnation,
                                         row.last_heartbeat_ms + 1);
      if (!buried) {
        store_failed(self, "mark_down", buried.error());
      } else if (*buried) {
        m.state = member_state::down;
      }
    }
    if (m.self && st.fenced) m.state = member_state::down;
    if (!m.self && st.options.link_peers
        && (m.state == member_state::up || m.state == member_state::joining
            || m.state == member_state::unreachable)) {
      auto link = st.links.find(m.incarnation);
      if (link != st.links.end() && link->second.lost)
        m.state = member_state::unreachable;
      link_to(self, m.incarnation, m.address);
    }
    log_change(self, m);
    members.push_back(std::move(m));
  }
  st.view->update(std::move(members));
  push_members(self);
}

void round(self_ptr self) {
  auto& st = self->state;
  auto& o = st.options;
  if (!st.leased) {
    auto timeout = static_cast<int>(ms(o.lease_timeout));
    if (!st.pool->try_lease(st.lease, timeout)) {
      log()->error("event=membership_no_connection timeout_ms={} hint=raise "
                   "store.pool-size",
                   timeout);
      return;
    }
    st.leased = true;
  }
  auto& sql = st.pool->at(st.lease);
  if (st.broken) {
    try {
      sql.reconnect();
      st.broken = false;
    } catch (const std::exception& ex) {
      log()->warn("event=membership_reconnect_failed error={}", ex.what());
      return;
    }
  }
  if (!st.joined) {
    db::member_row row{o.cluster_name,
                       o.incarnation,
                       o.address,
                       o.node_id,
                       db::member_status::joining,
                       util::now_ms(),
                       o.started_at_ms};
    if (auto err = db::join_member(sql, row))
      return store_failed(self, "join", err);
    st.joined = true;
  }
  if (!st.fenced) {
    auto beat = db::heartbeat_member(sql, o.cluster_name, o.incarnation,
                                     util::now_ms());
    if (!beat) {
      store_failed(self, "heartbeat", beat.error());
    } else if (!*beat) {
      st.fenced = true;
      log()->error("event=member_fenced incarnation={} reason=declared down "
                   "by a peer; restart the node to rejoin",
                   o.incarnation);
    }
  }
  observe(self, sql);
}

node_agent_actor::behavior_type
node_agent(self_ptr self, std::shared_ptr<soci::connection_pool> pool,
           node_agent_options options, std::shared_ptr<membership_view> view) {
  self->state.options = std::move(options);
  self->state.pool = std::move(pool);
  self->state.view = std::move(view);
  self->set_down_handler([self](caf::down_msg& down) {
    auto& st = self->state;
    for (auto& [incarnation, link] : st.links) {
      if (link.agent != down.source) continue;
      link.lost = true;
      link.agent = caf::actor_addr{};
      log()->warn("event=member_link_lost incarnation={} reason={}",
                  incarnation, to_string(down.reason));
    }
    // Publish the change now instead of at the next heartbeat.
    if (st.leased && !st.left) observe(self, st.pool->at(st.lease));
  });
  self->send(self, tick_atom_v);
  if (self->state.options.link_peers) contact_seeds(self);
  return {
      [self](tick_atom) {
        auto& st = self->state;
        if (st.left) return;
        round(self);
        self->delayed_send(self, st.options.heartbeat_interval, tick_atom_v);
      },
      [self](leave_atom) {
        auto& st = self->state;
        auto& o = st.options;
        if (st.left || !st.joined || !st.leased) {
          st.left = true;
          return false;
        }
        st.left = true;
        auto& sql = st.pool->at(st.lease);
        auto leaving
            = db::mark_member_leaving(sql, o.cluster_name, o.incarnation);
        if (leaving && *leaving)
          log()->info("event=member_leaving node={} incarnation={} self=true",
                      o.node_id, o.incarnation);
        auto down = db::mark_member_down(sql, o.cluster_name, o.incarnation,
                                         std::numeric_limits<int64_t>::max());
        if (!down) {
          log()->error("event=member_leave_failed incarnation={} error={}",
                       o.incarnation, message_of(down.error()));
          return false;
        }
        log()->info("event=member_down node={} incarnation={} self=true "
                    "reason=left",
                    o.node_id, o.incarnation);
        st.seen[o.incarnation] = member_state::down;
        observe(self, sql);
        return true;
      },
      [self](endpoints_atom) {
        return self->state.options.local_endpoints;
      },
  };
}

} // namespace

node_agent_actor spawn_node_agent(caf::actor_system& sys,
                                  std::shared_ptr<soci::connection_pool> pool,
                                  node_agent_options options,
                                  std::shared_ptr<membership_view> view) {
  return sys.spawn<caf::detached>(node_agent, std::move(pool),
                                  std::move(options), std::move(view));
}

} // namespace puzzle::cluster
