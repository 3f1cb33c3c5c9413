#include "transports/signalr/webrtc_hub.hpp"

#include <caf/all.hpp>

#include "actors/webrtc/webrtc_peer_actor.hpp"
#include "transports/signalr/webrtc_calls.hpp"

namespace puzzle::transports::signalr {

namespace {

hub_link::frame make_frame(std::string bytes) {
  return std::make_shared<const std::string>(std::move(bytes));
}

/// The peer actor's view of this connection. The hub methods are void: a
/// success is an empty completion; a failure a completion with the
/// HubException text, or the `Error` event for a non-blocking call.
class webrtc_hub_port : public webrtc_port {
public:
  webrtc_hub_port(std::weak_ptr<hub_link> link) : link_(std::move(link)) {}

  send_status push_event(const webrtc_event& ev) override {
    auto link = link_.lock();
    if (!link) return send_status::closing;
    return link->enqueue(make_frame(encode_webrtc_event(ev)));
  }

  send_status push_result(const std::string& call_id) override {
    if (call_id.empty()) return send_status::dropped;
    auto link = link_.lock();
    if (!link) return send_status::closing;
    return link->enqueue(make_frame(encode_completion_void(call_id)));
  }

  send_status push_error(const std::string& call_id, errc code,
                         const std::string& message) override {
    auto link = link_.lock();
    if (!link) return send_status::closing;
    if (call_id.empty())
      return link->enqueue(make_frame(encode_error_event(message, code)));
    // The hub methods' names are not kept per call; the code leads the
    // text, which is what clients read.
    return link->enqueue(make_frame(encode_completion_error(
        call_id,
        std::string{"An unexpected error occurred on the server. "
                    "HubException: "}
            + std::string{to_code(code)} + ": " + message)));
  }

private:
  std::weak_ptr<hub_link> link_;
};

class webrtc_binding : public hub_binding {
public:
  webrtc_binding(hub_context ctx, webrtc_peer_actor peer,
                 webrtc_call_limits limits)
      : ctx_(std::move(ctx)), peer_(std::move(peer)), limits_(limits) {}

  ~webrtc_binding() override {
    caf::anon_send(peer_, close_atom::value);
  }

  void invoke(const invocation& call) override {
    auto decoded = decode_webrtc_call(call, limits_);
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
    // Sent from the connection's strand in arrival order: the peer actor
    // sees one connection's calls in order, so relays keep their order.
    caf::anon_send(peer_, std::get<webrtc_command>(std::move(decoded)));
  }

private:
  hub_context ctx_;
  webrtc_peer_actor peer_;
  webrtc_call_limits limits_;
};

} // namespace

hub_factory webrtc_hub(caf::actor_system& sys, webrtc_rooms_actor rooms,
                       const config::settings& cfg) {
  return [&sys, rooms = std::move(rooms), &cfg](hub_context ctx) {
    webrtc_call_limits limits;
    limits.max_room_bytes = cfg.limits.max_channel_name_bytes;
    // A name of N characters has at most 4 N bytes in UTF-8.
    limits.max_user_name_bytes = size_t{4} * cfg.limits.max_name_length;
    webrtc_peer_options options;
    options.max_rooms = cfg.webrtc.max_rooms_per_connection;
    auto port = std::make_shared<webrtc_hub_port>(ctx.link);
    auto peer = sys.spawn(webrtc_peer, webrtc_port_ptr{port}, rooms,
                          ctx.connection_id, options);
    return std::make_unique<webrtc_binding>(std::move(ctx), std::move(peer),
                                            limits);
  };
}

} // namespace puzzle::transports::signalr
