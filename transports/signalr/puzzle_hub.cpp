#include "transports/signalr/puzzle_hub.hpp"

#include <mutex>
#include <unordered_map>

#include <caf/all.hpp>

#include "actors/client/client_actor.hpp"
#include "actors/session/session_json.hpp"
#include "transports/signalr/hub_calls.hpp"

namespace puzzle::transports::signalr {

namespace {

hub_link::frame make_frame(std::string bytes) {
  return std::make_shared<const std::string>(std::move(bytes));
}

/// Targets of invocations awaiting an answer, for ASP.NET's error texts:
/// filled on the connection's strand, read by the client actor's port.
class pending_targets {
public:
  void add(const std::string& invocation_id, const std::string& target) {
    std::lock_guard<std::mutex> guard{mtx_};
    targets_[invocation_id] = target;
  }

  /// The target of `invocation_id`, then forgets it.
  std::string take(const std::string& invocation_id) {
    std::lock_guard<std::mutex> guard{mtx_};
    auto i = targets_.find(invocation_id);
    if (i == targets_.end()) return {};
    auto target = std::move(i->second);
    targets_.erase(i);
    return target;
  }

private:
  std::mutex mtx_;
  std::unordered_map<std::string, std::string> targets_;
};

/// The client actor's view of this connection: turns results, errors and
/// events into SignalR records. Runs on the client actor's thread; holds the
/// connection weakly so a closed socket is freed at once.
class hub_port : public client_port {
public:
  hub_port(std::weak_ptr<hub_link> link,
           std::shared_ptr<pending_targets> targets)
      : link_(std::move(link)), targets_(std::move(targets)) {}

  send_status push_event(const session_event& ev) override {
    auto link = link_.lock();
    if (!link) return send_status::closing;
    // Every member of the session shares this frame: encoded once.
    auto bytes = ev.cache->get(wire_format::signalr_json, [&ev] {
      return make_frame(encode_invocation(ev.name, *ev.payload));
    });
    return link->enqueue(std::move(bytes));
  }

  send_status push_result(const std::string& call_id,
                          std::shared_ptr<const std::string> json) override {
    auto link = link_.lock();
    if (!link) return send_status::closing;
    targets_->take(call_id);
    if (!json || *json == "null")
      return link->enqueue(make_frame(encode_completion_void(call_id)));
    return link->enqueue(make_frame(encode_completion_result(call_id, *json)));
  }

  send_status push_error(const std::string& call_id, errc code,
                         const std::string& message) override {
    auto link = link_.lock();
    if (!link) return send_status::closing;
    if (call_id.empty())
      return link->enqueue(make_frame(encode_error_event(message, code)));
    auto target = targets_->take(call_id);
    return link->enqueue(make_frame(encode_completion_error(
        call_id, hub_exception_text(target, code, message))));
  }

  void close(const std::string& reason) override {
    if (auto link = link_.lock()) link->close_with(reason, false);
  }

private:
  std::weak_ptr<hub_link> link_;
  std::shared_ptr<pending_targets> targets_;
};

class puzzle_binding : public hub_binding {
public:
  puzzle_binding(hub_context ctx, client_actor client,
                 std::shared_ptr<pending_targets> targets)
      : ctx_(std::move(ctx)), client_(std::move(client)),
        targets_(std::move(targets)) {}

  ~puzzle_binding() override {
    caf::anon_send(client_, close_atom::value);
  }

  void invoke(const invocation& call) override {
    auto decoded = decode_hub_call(call);
    if (auto failure = std::get_if<hub_call_failure>(&decoded)) {
      auto link = ctx_.link.lock();
      if (!link) return;
      if (call.invocation_id)
        link->enqueue(make_frame(encode_completion_error(
            *call.invocation_id, failure->completion_error_text)));
      else
        link->enqueue(make_frame(
            encode_error_event(failure->completion_error_text, failure->code)));
      return;
    }
    auto& cmd = std::get<client_command>(decoded);
    if (!cmd.call_id.empty()) targets_->add(cmd.call_id, call.target);
    caf::anon_send(client_, std::move(cmd));
  }

private:
  hub_context ctx_;
  client_actor client_;
  std::shared_ptr<pending_targets> targets_;
};

} // namespace

hub_factory puzzle_hub(caf::actor_system& sys, directory_actor directory,
                       const config::settings& cfg) {
  return [&sys, directory = std::move(directory), &cfg](hub_context ctx) {
    auto targets = std::make_shared<pending_targets>();
    auto port = std::make_shared<hub_port>(ctx.link, targets);
    auto client = sys.spawn(client_behavior, port, directory, ctx.identity.user,
                            ctx.identity.authenticated, client_options_of(cfg));
    return std::make_unique<puzzle_binding>(std::move(ctx), std::move(client),
                                            std::move(targets));
  };
}

} // namespace puzzle::transports::signalr
