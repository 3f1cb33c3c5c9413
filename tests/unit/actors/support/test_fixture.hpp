#pragma once

// The deterministic fixture of the actor tests (style guide item 18): an actor
// system on CAF's test coordinator, so that every actor runs on the test's
// thread exactly when the test says `sched.run()`, and time only moves when the
// test advances the virtual clock. No sleeps, no threads.
//
// Test-side callers are `caf::scoped_actor`s: they send requests, then the
// test runs the scheduler, then picks the reply from the mailbox without
// waiting (a missing reply is a test failure, never a hang). A scoped actor
// also serves as a session member: it receives the session's events in the
// same mailbox.

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include <caf/all.hpp>
#include <caf/scheduler/test_coordinator.hpp>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "actors/caf_errors.hpp"
#include "actors/client/client_port.hpp"
#include "actors/model/puzzle_model.hpp"
#include "actors/session/session_actor.hpp"
#include "actors/store_interface.hpp"
#include "actors/type_ids.hpp"

namespace puzzle {

/// Lets GoogleTest print codes by name.
inline void PrintTo(errc code, std::ostream* os) {
  *os << to_code(code);
}

} // namespace puzzle

namespace puzzle::test_support {

// -- in-memory store ----------------------------------------------------------

/// What the in-memory store holds and counts. Shared by the store actor and
/// the test: the test coordinator runs the actor on the test's thread, so
/// there is no concurrent access.
struct memory_store_data {
  std::map<std::string, session_state> sessions;
  std::map<std::string, image_record> images;
  /// Private sessions' invite codes and the users let in.
  std::map<std::string, session_access> access;
  uint32_t chat_history = 100;

  /// Writes (put, save, join, chat, delete) are applied at once but their
  /// replies wait until the store gets `flush_atom` (see `held`).
  bool hold_writes = false;
  /// Loads wait for `flush_atom` too.
  bool hold_loads = false;
  /// Replies held back, delivered in arrival order on `flush_atom`.
  std::vector<std::function<void()>> held;

  size_t puts = 0;
  size_t saves = 0;
  size_t joins = 0;
  size_t chats = 0;
  size_t loads = 0;
  size_t deletes = 0;
  std::vector<drop_record> drops; ///< Every save, in arrival order.
  /// Directory rows, as the cluster store keeps them: the claim below is
  /// its compare-and-set (owner and generation by session id).
  std::map<std::string, std::pair<std::string, int64_t>> rows;
  size_t claims = 0;
};

/// The store's interface plus `flush_atom` (deliver every held reply) and
/// the access messages of private sessions (`access_store_actor`).
using memory_store_actor = store_actor::extend<
    caf::reacts_to<flush_atom>,
    caf::replies_to<put_atom, invite_atom, std::string, std::string>::with<bool>,
    caf::replies_to<join_atom, invite_atom, std::string, std::string>::with<bool>,
    caf::replies_to<load_atom, invite_atom, std::string>::with<session_access>,
    caf::replies_to<claim_atom, std::string, std::string, int64_t>::with<bool>>;

/// A `store_actor` keeping sessions in `data`; replies `true` to writes (at
/// once, or on `flush_atom` while `hold_writes` is set).
inline memory_store_actor::behavior_type memory_store(memory_store_actor::pointer self,
                                                      std::shared_ptr<memory_store_data> data) {
  // Answers `value` now, or holds the answer back until the next flush.
  auto answer = [self, data](bool value) -> caf::result<bool> {
    if (!data->hold_writes) return value;
    auto rp = self->make_response_promise<bool>();
    data->held.emplace_back([rp, value]() mutable {
      rp.deliver(value);
    });
    return rp;
  };
  auto not_found = [](const std::string& id) {
    return make_error(errc::session_not_found, "session " + id + " not found");
  };
  return {
      [data, answer](put_atom, session_state& state) -> caf::result<bool> {
        ++data->puts;
        data->sessions[state.session_id] = state;
        return answer(true);
      },
      [data, answer, not_found](save_atom, drop_record& drop) -> caf::result<bool> {
        ++data->saves;
        data->drops.push_back(drop);
        auto i = data->sessions.find(drop.session_id);
        if (i == data->sessions.end()) return not_found(drop.session_id);
        auto& stored = i->second;
        for (auto& piece : drop.pieces)
          if (piece.id >= 0 && static_cast<size_t>(piece.id) < stored.pieces.size())
            stored.pieces[static_cast<size_t>(piece.id)] = piece;
        stored.version = drop.version;
        stored.started_at = drop.started_at;
        stored.completed_at = drop.completed_at;
        return answer(true);
      },
      [data, answer, not_found](join_atom, std::string& id, participant& who) -> caf::result<bool> {
        ++data->joins;
        auto i = data->sessions.find(id);
        if (i == data->sessions.end()) return not_found(id);
        auto& ps = i->second.participants;
        auto j = std::find_if(ps.begin(), ps.end(), [&](const participant& p) {
          return p.user_id == who.user_id;
        });
        if (j == ps.end())
          ps.push_back(who);
        else
          *j = who;
        return answer(true);
      },
      [data, answer, not_found](chat_atom, std::string& id,
                                chat_entry& entry) -> caf::result<bool> {
        ++data->chats;
        auto i = data->sessions.find(id);
        if (i == data->sessions.end()) return not_found(id);
        auto& chat = i->second.chat;
        chat.push_back(entry);
        if (chat.size() > data->chat_history)
          chat.erase(chat.begin(), chat.end() - static_cast<std::ptrdiff_t>(data->chat_history));
        return answer(true);
      },
      [self, data, not_found](load_atom, std::string& id) -> caf::result<session_state> {
        ++data->loads;
        auto load = [data, not_found, id]() -> caf::expected<session_state> {
          auto i = data->sessions.find(id);
          if (i == data->sessions.end()) return not_found(id);
          auto copy = i->second;
          for (auto& p : copy.participants)
            p.online = false;
          return copy;
        };
        if (!data->hold_loads) {
          auto loaded = load();
          if (!loaded) return loaded.error();
          return std::move(*loaded);
        }
        auto rp = self->make_response_promise<session_state>();
        data->held.emplace_back([rp, load]() mutable {
          auto loaded = load();
          if (loaded)
            rp.deliver(std::move(*loaded));
          else
            rp.deliver(loaded.error());
        });
        return rp;
      },
      [data](list_atom) -> std::vector<session_summary> {
        std::vector<session_summary> out;
        for (auto& [id, state] : data->sessions) {
          out.push_back(summarize(state));
          out.back().participants_online = 0; // stored participants are offline
        }
        std::stable_sort(out.begin(), out.end(),
                         [](const session_summary& a, const session_summary& b) {
                           return a.created_at > b.created_at;
                         });
        return out;
      },
      [data, answer](delete_atom, std::string& id) -> caf::result<bool> {
        ++data->deletes;
        return answer(data->sessions.erase(id) > 0);
      },
      [](ping_atom) {
        return true;
      },
      [data](put_atom, image_record& x) {
        data->images[x.info.id] = x;
        return true;
      },
      [data](list_atom, image_atom) {
        std::vector<image_info> out;
        for (auto& [id, x] : data->images)
          out.push_back(x.info);
        return out;
      },
      [data](load_atom, image_atom, std::string& id) -> caf::result<image_info> {
        auto i = data->images.find(id);
        if (i == data->images.end()) return make_error(errc::image_not_found, "no image " + id);
        return i->second.info;
      },
      [data](load_atom, image_atom, std::string& id, image_part part) -> caf::result<image_file> {
        auto i = data->images.find(id);
        if (i == data->images.end()) return make_error(errc::image_not_found, "no image " + id);
        if (part == image_part::thumbnail)
          return image_file{i->second.info.thumbnail_content_type, i->second.thumbnail.str()};
        return image_file{i->second.info.content_type, i->second.original.str()};
      },
      [data, answer](put_atom, invite_atom, std::string& id,
                     std::string& code) -> caf::result<bool> {
        data->access[id].invite_code = code;
        return answer(true);
      },
      [data, answer](join_atom, invite_atom, std::string& id,
                     std::string& user) -> caf::result<bool> {
        auto& allowed = data->access[id].allowed;
        if (std::find(allowed.begin(), allowed.end(), user) == allowed.end())
          allowed.push_back(user);
        return answer(true);
      },
      [data](load_atom, invite_atom, std::string& id) {
        auto i = data->access.find(id);
        return i == data->access.end() ? session_access{} : i->second;
      },
      [data](claim_atom, std::string& id, std::string& owner, int64_t expected) {
        ++data->claims;
        auto& row = data->rows[id];
        if (row.second != expected) return false;
        row = {owner, expected + 1};
        return true;
      },
      [data](flush_atom) {
        auto held = std::move(data->held);
        data->held.clear();
        for (auto& deliver : held)
          deliver();
      },
  };
}

// -- recording port -----------------------------------------------------------

/// A `client_port` that records what the client actor pushes.
class recording_port : public client_port {
public:
  struct result_entry {
    std::string call_id;
    std::string json;
  };

  struct error_entry {
    std::string call_id;
    errc code = errc::none;
    std::string message;
  };

  send_status push_event(const session_event& event) override {
    events.push_back(event);
    return send_status::queued;
  }

  send_status push_result(const std::string& call_id,
                          std::shared_ptr<const std::string> json) override {
    results.push_back({call_id, json ? *json : std::string{"<null pointer>"}});
    return send_status::queued;
  }

  send_status push_error(const std::string& call_id, errc code,
                         const std::string& message) override {
    errors.push_back({call_id, code, message});
    return send_status::queued;
  }

  void close(const std::string& reason) override {
    closed.push_back(reason);
  }

  std::vector<session_event> events;
  std::vector<result_entry> results;
  std::vector<error_entry> errors;
  std::vector<std::string> closed;
};

// -- event helpers ------------------------------------------------------------

inline std::vector<std::string> names_of(const std::vector<session_event>& evs) {
  std::vector<std::string> out;
  for (auto& ev : evs)
    out.push_back(ev.name);
  return out;
}

inline size_t count_named(const std::vector<session_event>& evs, const std::string& name) {
  return static_cast<size_t>(std::count_if(evs.begin(), evs.end(), [&](const session_event& ev) {
    return ev.name == name;
  }));
}

inline std::vector<session_event> named(const std::vector<session_event>& evs,
                                        const std::string& name) {
  std::vector<session_event> out;
  for (auto& ev : evs)
    if (ev.name == name) out.push_back(ev);
  return out;
}

/// The event's argument list (a JSON array).
inline nlohmann::json args_of(const session_event& ev) {
  if (!ev.payload) return nlohmann::json{};
  return nlohmann::json::parse(*ev.payload);
}

// -- the fixture --------------------------------------------------------------

/// A fixed, canonical session id (the directory checks the UUID shape).
inline const std::string default_session_id = "0b6e5f2c-6d1a-4c1e-9a51-3f1d2e4c5b6a";

/// A fresh `rows x cols` session on a 400x300 image (not stored, not live).
inline session_state make_state(int32_t rows, int32_t cols,
                                const std::string& id = default_session_id) {
  session_state st;
  st.session_id = id;
  st.name = "Test puzzle";
  st.owner_id = "u-owner";
  st.is_public = true;
  st.image = image_ref{"img-1", "/images/img-1.png", 400, 300};
  st.spec.image_width = 400;
  st.spec.image_height = 300;
  st.spec.rows = rows;
  st.spec.cols = cols;
  st.spec.seed = 42;
  st.spec.rotation = false;
  st.pieces = model::make_layout(st.spec, model::make_geometry(st.spec));
  st.created_at = 1'000;
  return st;
}

inline caf::actor_system_config& testing_config(caf::actor_system_config& cfg) {
  register_message_types(cfg);
  cfg.set("scheduler.policy", caf::atom("testing"));
  cfg.set("logger.file-verbosity", caf::atom("quiet"));
  cfg.set("logger.console-verbosity", caf::atom("quiet"));
  // The actors log completions and failures at info/warn: keep test output
  // for the test's own messages.
  spdlog::set_level(spdlog::level::err);
  return cfg;
}

class actor_fixture : public ::testing::Test {
protected:
  actor_fixture()
      : sys(testing_config(cfg)),
        sched(dynamic_cast<caf::scheduler::test_coordinator&>(sys.scheduler())),
        store_data(std::make_shared<memory_store_data>()) {
    // Actors still alive at the end are killed in the destructor; never wait
    // for them (nothing would run them).
    sys.await_actors_before_shutdown(false);
    store = sys.spawn(memory_store, store_data);
    track(store);
    sched.run();
  }

  ~actor_fixture() override {
    for (auto& handle : spawned)
      caf::anon_send_exit(handle, caf::exit_reason::user_shutdown);
    sched.run();
  }

  /// Kills `handle` when the test ends.
  template<class Handle>
  void track(const Handle& handle) {
    spawned.push_back(caf::actor_cast<caf::actor>(handle));
  }

  /// Stores `state` and spawns its session actor (what the directory does on
  /// activation).
  session_actor spawn_session(const session_state& state, session_options options = {}) {
    store_data->sessions[state.session_id] = state;
    auto session = sys.spawn(session_behavior, state, store_actor{store}, options);
    track(session);
    sched.run();
    return session;
  }

  /// Sends a request from `who` without running anything; returns the id to
  /// pick the reply with.
  template<class Handle, class... Ts>
  caf::message_id send_request(caf::scoped_actor& who, const Handle& dest, Ts&&... xs) {
    return who->request(dest, caf::infinite, std::forward<Ts>(xs)...).id();
  }

  /// Picks the reply to request `id` if it is in `who`'s mailbox; never
  /// waits. Other messages stay in the mailbox.
  template<class T>
  std::optional<caf::expected<T>> take_reply(caf::scoped_actor& who, caf::message_id id) {
    std::optional<caf::expected<T>> out;
    caf::blocking_actor::accept_one_cond rc;
    who->varargs_receive(
        rc, id,
        [&](T& value) {
          out = caf::expected<T>{std::move(value)};
        },
        [&](caf::error& err) {
          out = caf::expected<T>{std::move(err)};
        },
        caf::after(std::chrono::seconds(0)) >> [] {});
    return out;
  }

  /// Request, run everything, pick the reply (a missing one fails the test).
  template<class T, class Handle, class... Ts>
  caf::expected<T> ask(caf::scoped_actor& who, const Handle& dest, Ts&&... xs) {
    auto id = send_request(who, dest, std::forward<Ts>(xs)...);
    sched.run();
    auto reply = take_reply<T>(who, id);
    if (!reply) {
      ADD_FAILURE() << "no reply";
      return caf::make_error(caf::sec::request_timeout);
    }
    return std::move(*reply);
  }

  /// Takes every session event waiting in `who`'s mailbox, in arrival order.
  std::vector<session_event> drain_events(caf::scoped_actor& who) {
    std::vector<session_event> out;
    for (bool more = true; more;)
      who->receive(
          [&](session_event& ev) {
            out.push_back(std::move(ev));
          },
          caf::after(std::chrono::seconds(0)) >>
              [&] {
                more = false;
              });
    return out;
  }

  /// Joins `session` as `user_id` (username `name`) from `who`; returns the
  /// SessionState JSON, or an empty string after reporting a failure.
  std::string join(caf::scoped_actor& who, const session_actor& session, const std::string& user_id,
                   const std::string& name) {
    auto json = ask<std::string>(who, session, join_atom::value, user_identity{user_id, name},
                                 caf::actor_cast<client_events_actor>(who));
    if (!json) {
      ADD_FAILURE() << "join failed: " << message_of(json.error());
      return {};
    }
    return std::move(*json);
  }

  /// The session's state JSON, parsed.
  nlohmann::json state_of(caf::scoped_actor& who, const session_actor& session) {
    auto json = ask<std::string>(who, session, state_atom::value);
    if (!json) {
      ADD_FAILURE() << "state failed: " << message_of(json.error());
      return nlohmann::json{};
    }
    return nlohmann::json::parse(*json);
  }

  /// Advances the virtual clock and runs whatever became due.
  void advance(std::chrono::milliseconds by) {
    sched.advance_time(by);
    sched.run();
  }

  /// Whether a down message for `whom` is waiting in `who`'s mailbox (`who`
  /// monitored `whom`).
  bool saw_down(caf::scoped_actor& who, const caf::actor_addr& whom) {
    bool seen = false;
    for (bool more = true; more && !seen;)
      who->receive(
          [&](caf::down_msg& msg) {
            seen = msg.source == whom;
          },
          caf::after(std::chrono::seconds(0)) >>
              [&] {
                more = false;
              });
    return seen;
  }

  caf::actor_system_config cfg;
  caf::actor_system sys;
  caf::scheduler::test_coordinator& sched;
  std::shared_ptr<memory_store_data> store_data;
  memory_store_actor store;
  std::vector<caf::actor> spawned;
};

} // namespace puzzle::test_support
