#include "cluster/inspect/inspector_actor.hpp"

#include <algorithm>
#include <iomanip>
#include <map>
#include <optional>
#include <memory>
#include <sstream>
#include <utility>

#include <caf/all.hpp>
#include <spdlog/spdlog.h>

#include "actors/caf_errors.hpp"
#include "actors/util/census.hpp"

namespace puzzle::cluster {

namespace {

std::shared_ptr<spdlog::logger> log() {
  static auto logger = [] {
    auto existing = spdlog::get("puzzle.cluster.inspector");
    return existing
        ? existing
        : spdlog::default_logger()->clone("puzzle.cluster.inspector");
  }();
  return logger;
}

/// Rate samples older than this are forgotten (their actor is gone, or
/// nobody listed it for a long time).
constexpr auto rate_sample_lifetime = std::chrono::minutes{10};

struct rate_sample {
  uint64_t messages_handled = 0;
  std::chrono::steady_clock::time_point at;
};

struct inspector_state {
  static inline const char* name = "puzzle.inspector";
  directory_actor directory;
  inspector_options options;
  /// The latest `messages_handled` of each key, from the previous listing:
  /// the next listing's rate is the difference over the time between them.
  std::map<std::string, rate_sample> rates;
};

using self_ptr = inspector_actor::stateful_pointer<inspector_state>;

caf::error no_such_actor(const inspector_state& st, const std::string& key) {
  return make_error(errc::session_not_found,
                    "no actor '" + key + "' on node " + st.options.node_id);
}

/// Adds `"messageRate": rate` to a probe's JSON object summary.
void add_rate(actor_probe& probe, double rate) {
  std::ostringstream text;
  text << std::fixed << std::setprecision(2) << rate;
  auto& s = probe.summary_json;
  if (s.size() < 2 || s.back() != '}') s = "{}";
  auto field = "\"messageRate\":" + text.str();
  s.insert(s.size() - 1, s == "{}" ? field : "," + field);
}

/// Updates the samples with this listing and fills the rates it allows.
void apply_rates(inspector_state& st, std::vector<actor_probe>& probes) {
  auto now = std::chrono::steady_clock::now();
  for (auto& p : probes) {
    if (p.messages_handled == 0 && p.kind != "session") continue;
    auto& sample = st.rates[p.key];
    if (sample.at.time_since_epoch().count() != 0
        && p.messages_handled >= sample.messages_handled) {
      auto seconds = std::chrono::duration<double>(now - sample.at).count();
      if (seconds > 0)
        add_rate(
            p,
            static_cast<double>(p.messages_handled - sample.messages_handled)
                / seconds);
    }
    sample = rate_sample{p.messages_handled, now};
  }
  for (auto i = st.rates.begin(); i != st.rates.end();)
    i = now - i->second.at > rate_sample_lifetime ? st.rates.erase(i)
                                                  : std::next(i);
}

void stamp(const inspector_state& st, actor_probe& probe) {
  probe.node_id = st.options.node_id;
  probe.incarnation = st.options.incarnation;
}

std::optional<census::entry> find_key(const std::string& key) {
  for (auto& e : census::everyone())
    if (e.key == key) return e;
  return std::nullopt;
}

/// Collects the answers of one listing; answers once every actor replied
/// or failed.
struct listing {
  caf::typed_response_promise<std::vector<actor_probe>> rp;
  std::vector<actor_probe> probes;
  size_t pending = 0;
};

inspector_actor::behavior_type
inspector(self_ptr self, directory_actor directory, inspector_options options) {
  self->state.directory = std::move(directory);
  self->state.options = std::move(options);
  return {
      [self](actors_atom,
             const std::string& kind) -> caf::result<std::vector<actor_probe>> {
        auto entries = census::everyone();
        entries.erase(std::remove_if(entries.begin(), entries.end(),
                                     [&](const census::entry& e) {
                                       return !kind.empty() && e.kind != kind;
                                     }),
                      entries.end());
        if (entries.empty()) return std::vector<actor_probe>{};
        auto run = std::make_shared<listing>();
        run->rp = self->make_response_promise<std::vector<actor_probe>>();
        run->pending = entries.size();
        auto finish = [self, run] {
          if (--run->pending > 0) return;
          auto& st = self->state;
          std::sort(run->probes.begin(), run->probes.end(),
                    [](const actor_probe& x, const actor_probe& y) {
                      return x.key < y.key;
                    });
          apply_rates(st, run->probes);
          run->rp.deliver(std::move(run->probes));
        };
        // High priority: CAF serves an actor's urgent queue first in each
        // round of its mailbox, so a probe waits behind fewer messages of
        // a busy actor (it is not guaranteed to overtake them all).
        for (auto& e : entries)
          self->request<caf::message_priority::high>(
                  e.handle, self->state.options.probe_timeout, inspect_atom_v)
              .then(
                  [self, run, finish](actor_probe& probe) {
                    stamp(self->state, probe);
                    run->probes.push_back(std::move(probe));
                    finish();
                  },
                  // Ended meanwhile or too busy to answer: left out.
                  [finish](caf::error&) {
                    finish();
                  });
        return run->rp;
      },
      [self](inspect_atom, const std::string& key) -> caf::result<actor_probe> {
        auto entry = find_key(key);
        if (!entry) return no_such_actor(self->state, key);
        auto rp = self->make_response_promise<actor_probe>();
        self->request<caf::message_priority::high>(
                entry->handle, self->state.options.probe_timeout,
                inspect_atom_v)
            .then(
                [self, rp](actor_probe& probe) mutable {
                  stamp(self->state, probe);
                  rp.deliver(std::move(probe));
                },
                [self, rp, key](caf::error& err) mutable {
                  // It ended between the census and the answer.
                  if (err == caf::sec::request_receiver_down)
                    rp.deliver(no_such_actor(self->state, key));
                  else
                    rp.deliver(std::move(err));
                });
        return rp;
      },
      [self](kill_atom, const std::string& key) -> caf::result<bool> {
        auto entry = find_key(key);
        if (!entry) return no_such_actor(self->state, key);
        log()->warn("event=actor_killed key={} kind={} node={}", key,
                    entry->kind, self->state.options.node_id);
        self->send_exit(entry->handle, caf::exit_reason::kill);
        return true;
      },
      [self](drain_atom) -> caf::result<int32_t> {
        auto& st = self->state;
        if (!st.options.cluster_mode)
          return make_error(errc::invalid_argument,
                            "node " + st.options.node_id
                                + " is a single node: there is no other node "
                                  "to move its sessions to (stop it instead)");
        auto rp = self->make_response_promise<int32_t>();
        self->request(st.directory, st.options.drain_timeout, drain_atom_v)
            .then(
                [self, rp](int32_t moved) mutable {
                  log()->info("event=node_drained node={} sessions_moved={}",
                              self->state.options.node_id, moved);
                  rp.deliver(moved);
                  // The answer goes out first; then the node leaves.
                  if (self->state.options.on_drained)
                    self->state.options.on_drained();
                },
                [self, rp](caf::error& err) mutable {
                  log()->warn("event=node_drain_failed node={} error={}",
                              self->state.options.node_id, message_of(err));
                  rp.deliver(std::move(err));
                });
        return rp;
      },
  };
}

} // namespace

inspector_actor spawn_inspector(caf::actor_system& sys,
                                directory_actor directory,
                                inspector_options options) {
  return sys.spawn(inspector, std::move(directory), std::move(options));
}

} // namespace puzzle::cluster
