#include "persistence/store_actor.hpp"

#include <algorithm>
#include <utility>

#include <caf/actor_system.hpp>
#include <caf/result.hpp>
#include <caf/spawn_options.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "actors/caf_errors.hpp"
#include "actors/util/ids.hpp"
#include "persistence/sql/accounts.hpp"
#include "persistence/sql/audit.hpp"
#include "persistence/sql/membership.hpp"
#include "persistence/sql/session_access.hpp"

namespace puzzle::persistence {

namespace {

/// Applies one pending write to the open batch.
struct apply_write {
  soci_store& db;
  uint32_t chat_history;

  caf::error operator()(const session_state& state) const {
    return db.put_session(state);
  }

  caf::error operator()(const drop_record& drop) const {
    return db.save_drop(drop);
  }

  caf::error operator()(const pending_write::join& x) const {
    return db.upsert_participant(x.session_id, x.who);
  }

  caf::error operator()(const pending_write::chat& x) const {
    return db.append_chat(x.session_id, x.line, chat_history);
  }
};

/// Queues a write; the batch is committed by the `flush_atom` the first
/// write sends to self, or right away once it is full.
template<class Op>
caf::typed_response_promise<bool>
enqueue(store_actor_impl::stateful_pointer<store_actor_state> self, Op op) {
  auto& st = self->state;
  auto promise = self->make_response_promise<bool>();
  st.pending.push_back(pending_write{std::move(op), promise});
  if (st.pending.size() >= st.group_commit_max) {
    // The flush_atom already in the mailbox (if any) then commits the next
    // batch, or finds nothing to do.
    st.flush();
  } else if (!st.flush_scheduled) {
    st.flush_scheduled = true;
    self->send(self, flush_atom_v);
  }
  return promise;
}

} // namespace

store_actor_state::~store_actor_state() {
  if (db) flush();
}

void store_actor_state::flush() {
  if (pending.empty()) return;
  auto batch = std::move(pending);
  pending.clear();
  auto fail_all = [&batch](const caf::error& err) {
    for (auto& write : batch)
      write.promise.deliver(err);
  };
  std::vector<caf::error> results;
  apply_write apply{*db, chat_history};
  auto attempt = [&]() -> caf::error {
    results.clear();
    if (auto err = db->begin()) return err;
    for (auto& write : batch)
      results.push_back(std::visit(apply, write.op));
    return db->commit();
  };
  auto err = attempt();
  // The connection broke before the COMMIT went out (a restarted
  // PostgreSQL): nothing of the batch is stored, so it runs once more on
  // the new connection instead of failing every write in it.
  if (err && db->retry_batch()) err = attempt();
  if (err) {
    fail_all(err);
    return;
  }
  for (size_t i = 0; i < batch.size(); ++i) {
    if (results[i])
      batch[i].promise.deliver(std::move(results[i]));
    else
      batch[i].promise.deliver(true);
  }
}

store_actor_impl::behavior_type
store_behavior(store_actor_impl::stateful_pointer<store_actor_state> self,
               std::unique_ptr<soci_store> db, uint32_t group_commit_max,
               uint32_t chat_history, uint32_t max_images) {
  auto& st = self->state;
  st.db = std::move(db);
  st.group_commit_max = std::max(group_commit_max, uint32_t{1});
  st.chat_history = chat_history;
  st.max_images = max_images;
  return {
      [=](put_atom, session_state& state) {
        return enqueue(self, std::move(state));
      },
      [=](save_atom, drop_record& drop) {
        return enqueue(self, std::move(drop));
      },
      [=](join_atom, std::string& session_id, participant& who) {
        return enqueue(
            self, pending_write::join{std::move(session_id), std::move(who)});
      },
      [=](chat_atom, std::string& session_id, chat_entry& line) {
        return enqueue(
            self, pending_write::chat{std::move(session_id), std::move(line)});
      },
      [=](load_atom,
          const std::string& session_id) -> caf::result<session_state> {
        self->state.flush();
        auto loaded = self->state.db->load(session_id);
        if (!loaded) return std::move(loaded.error());
        if (!*loaded)
          return make_error(errc::session_not_found,
                            "session " + session_id + " not found");
        return std::move(**loaded);
      },
      [=](list_atom) -> caf::result<std::vector<session_summary>> {
        self->state.flush();
        auto summaries = self->state.db->list();
        if (!summaries) return std::move(summaries.error());
        return std::move(*summaries);
      },
      [=](delete_atom, const std::string& session_id) -> caf::result<bool> {
        self->state.flush();
        auto removed = self->state.db->remove(session_id);
        if (!removed) return std::move(removed.error());
        return *removed;
      },
      [=](ping_atom) -> caf::result<bool> {
        self->state.flush();
        return self->state.db->ping();
      },
      [=](put_atom, const image_record& image) -> caf::result<bool> {
        self->state.flush();
        if (auto err = self->state.db->put_image(image, self->state.max_images))
          return err;
        return true;
      },
      [=](list_atom, image_atom) -> caf::result<std::vector<image_info>> {
        self->state.flush();
        auto images = self->state.db->list_images();
        if (!images) return std::move(images.error());
        return std::move(*images);
      },
      [=](load_atom, image_atom,
          const std::string& id) -> caf::result<image_info> {
        self->state.flush();
        auto info = self->state.db->load_image_info(id);
        if (!info) return std::move(info.error());
        if (!*info)
          return make_error(errc::image_not_found, "no image with this id");
        return std::move(**info);
      },
      [=](load_atom, image_atom, const std::string& id,
          image_part part) -> caf::result<image_file> {
        self->state.flush();
        auto file = self->state.db->load_image_file(id, part);
        if (!file) return std::move(file.error());
        if (!*file)
          return make_error(errc::image_not_found, "no image with this id");
        return std::move(**file);
      },
      [=](put_atom, const user_account& account) -> caf::result<bool> {
        self->state.flush();
        if (auto err = put_account(*self->state.db, account)) return err;
        return true;
      },
      [=](load_atom, account_atom,
          const std::string& login) -> caf::result<user_account> {
        self->state.flush();
        auto account = load_account(*self->state.db, login);
        if (!account) return std::move(account.error());
        if (!*account)
          return make_error(errc::unauthorized, "no account with this name");
        return std::move(**account);
      },
      [=](put_atom, invite_atom, const std::string& session_id,
          const std::string& code) -> caf::result<bool> {
        self->state.flush();
        if (auto err
            = put_invite(*self->state.db, session_id, code, util::now_ms()))
          return err;
        return true;
      },
      [=](join_atom, invite_atom, const std::string& session_id,
          const std::string& user_id) -> caf::result<bool> {
        self->state.flush();
        if (auto err = grant_access(*self->state.db, session_id, user_id,
                                    util::now_ms()))
          return err;
        return true;
      },
      [=](load_atom, invite_atom,
          const std::string& session_id) -> caf::result<session_access> {
        self->state.flush();
        auto access = load_access(*self->state.db, session_id);
        if (!access) return std::move(access.error());
        return std::move(*access);
      },
      [=](owner_atom,
          const std::string& session_id) -> caf::result<session_location> {
        self->state.flush();
        auto row = lookup_session_owner(*self->state.db, session_id);
        if (!row) return std::move(row.error());
        session_location out;
        out.session_id = session_id;
        if (*row) {
          out.owner_incarnation = (*row)->owner_incarnation;
          out.generation = (*row)->generation;
        }
        return out;
      },
      [=](claim_atom, const std::string& session_id,
          const std::string& incarnation,
          int64_t expected_generation) -> caf::result<bool> {
        self->state.flush();
        auto won = claim_session(*self->state.db, session_id, incarnation,
                                 expected_generation);
        if (!won) return std::move(won.error());
        return *won;
      },
      [=](owner_atom, list_atom) -> caf::result<std::vector<session_location>> {
        self->state.flush();
        auto rows = list_session_owners(*self->state.db);
        if (!rows) return std::move(rows.error());
        std::vector<session_location> out;
        out.reserve(rows->size());
        for (auto& row : *rows)
          out.push_back(session_location{std::move(row.session_id),
                                         std::move(row.owner_incarnation),
                                         row.generation});
        return out;
      },
      [=](put_atom, const audit_record& record) -> caf::result<bool> {
        self->state.flush();
        if (auto err = append_audit(*self->state.db, record)) return err;
        return true;
      },
      [=](list_atom, audit_atom,
          int32_t limit) -> caf::result<std::vector<audit_record>> {
        self->state.flush();
        auto records = list_audit(*self->state.db, limit);
        if (!records) return std::move(records.error());
        return std::move(*records);
      },
      [=](flush_atom) {
        self->state.flush_scheduled = false;
        self->state.flush();
      },
  };
}

store_actor spawn_store(caf::actor_system& sys, std::unique_ptr<soci_store> db,
                        const config::store_settings& settings, bool detached,
                        uint32_t chat_history, uint32_t max_images) {
  if (detached)
    return sys.spawn<caf::detached>(store_behavior, std::move(db),
                                    settings.group_commit_max, chat_history,
                                    max_images);
  return sys.spawn(store_behavior, std::move(db), settings.group_commit_max,
                   chat_history, max_images);
}

} // namespace puzzle::persistence
