#include "transports/mqtt/mqtt_bridge.hpp"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <map>
#include <memory>

#include <caf/all.hpp>
#include <mqtt/async_client.h>
#include <spdlog/spdlog.h>

#include "actors/util/ids.hpp"
#include "actors/util/rate_limiter.hpp"
#include "config/settings.hpp"

namespace puzzle::transports::mqtt {

namespace {

namespace paho = ::mqtt;

struct bridge_state;

using self_ptr = mqtt_bridge_actor::stateful_pointer<bridge_state>;

std::shared_ptr<spdlog::logger> log() {
  static auto logger = [] {
    auto existing = spdlog::get("puzzle.transport.mqtt");
    return existing ? existing
                    : spdlog::default_logger()->clone("puzzle.transport.mqtt");
  }();
  return logger;
}

/// QoS of everything the node publishes and subscribes to: at least once.
/// Handlers are idempotent where it matters (placements by msgId, the
/// retained progress is a state).
constexpr int qos = 1;

/// MQTT 3.1.1's CONNACK code and MQTT 5's reason code for a protocol
/// version the broker does not speak.
constexpr int connack_bad_version_v3 = 1;
constexpr int reason_bad_version_v5 = 0x84;

bool is_tls(const std::string& uri) {
  for (auto scheme : {"ssl://", "mqtts://", "wss://"})
    if (uri.rfind(scheme, 0) == 0) return true;
  return false;
}

/// Sends `xs` to the bridge if it is still alive. Paho's threads hold only
/// the bridge's address, never a strong handle (the bridge owns the
/// client, so a strong handle would keep both alive forever).
template<class... Ts>
void notify(const caf::actor_addr& addr, Ts&&... xs) {
  if (auto bridge = caf::actor_cast<mqtt_bridge_actor>(addr))
    caf::anon_send(bridge, std::forward<Ts>(xs)...);
}

/// Reports the outcome of the first connect (later ones are Paho's).
class connect_listener : public paho::iaction_listener {
public:
  explicit connect_listener(caf::actor_addr bridge)
      : bridge_(std::move(bridge)) {
    // nop
  }

  void on_failure(const paho::token& tok) override {
    auto rc = tok.get_return_code();
    auto reason = static_cast<int>(tok.get_reason_code());
    std::string text = paho::exception::error_str(rc);
    if (reason != 0) text += " (reason code " + std::to_string(reason) + ")";
    // Pass whichever code says more: the reason code of an MQTT 5 CONNACK.
    notify(bridge_, mqtt_connect_atom::value,
           static_cast<int32_t>(reason != 0 ? reason : rc), std::move(text));
  }

  void on_success(const paho::token&) override {
    // The connected handler reports it, for this and every reconnect.
  }

private:
  caf::actor_addr bridge_;
};

/// Logs failed subscriptions (Paho's thread; spdlog is thread-safe).
class subscribe_listener : public paho::iaction_listener {
public:
  void on_failure(const paho::token& tok) override {
    log()->error("event=mqtt_subscribe_failed rc={} reason={}",
                 tok.get_return_code(),
                 static_cast<int>(tok.get_reason_code()));
  }

  void on_success(const paho::token&) override {
    log()->debug("event=mqtt_subscribed");
  }
};

struct bridge_state {
  static inline const char* name = "puzzle.transport.mqtt";

  bridge_options options;
  device_registry_actor registry;
  device_counters_ptr counters;
  int version = MQTTVERSION_5;
  std::string status_topic;
  /// Messages sent by Paho's callback but not yet handled here.
  std::shared_ptr<std::atomic<uint32_t>> queued
      = std::make_shared<std::atomic<uint32_t>>(0);
  std::chrono::milliseconds backoff{1000};
  bool connected = false;
  bool stopping = false;
  int64_t online_since = 0;
  /// What was published last per session since the last (re)connect.
  std::map<std::string, std::string> last_progress;
  util::rate_limiter drop_log{util::limiter_spec{}};
  // The listeners must outlive the client (declared first, destroyed last).
  std::unique_ptr<connect_listener> on_connect;
  std::unique_ptr<subscribe_listener> on_subscribe;
  std::unique_ptr<paho::async_client> client;
  paho::connect_options connect_options;
};

/// Builds the client for `st.version` (Paho 1.2 wants the version at
/// construction: a v5 connect on a client created for 3.1.1 fails with
/// -16) and the connect options.
void make_client(self_ptr self) {
  auto& st = self->state;
  auto& o = st.options;
  if (st.client) {
    st.client->disable_callbacks();
    st.client.reset();
  }
  paho::create_options create{st.version};
  if (o.offline_buffer > 0) {
    create.set_send_while_disconnected(true, true);
    create.set_max_buffered_messages(static_cast<int>(o.offline_buffer));
    create.set_delete_oldest_messages(true);
  }
  st.client = std::make_unique<paho::async_client>(o.uri, o.client_id, create,
                                                   nullptr);
  auto addr = self->address();
  st.client->set_connected_handler([addr](const std::string& cause) {
    notify(addr, mqtt_up_atom::value, cause);
  });
  st.client->set_connection_lost_handler([addr](const std::string& cause) {
    notify(addr, mqtt_down_atom::value, cause);
  });
  st.client->set_disconnected_handler(
      [](const paho::properties&, paho::ReasonCode reason) {
        // The broker sent DISCONNECT, e.g. 0x8E "session taken over": another
        // client uses our client id (mqtt.client-id must be unique).
        log()->warn("event=mqtt_disconnected_by_broker reason={}",
                    static_cast<int>(reason));
      });
  auto max = o.codec.max_payload_bytes;
  auto limit = o.inbound_queue;
  auto queued = st.queued;
  auto counters = st.counters;
  st.client->set_message_callback(
      [addr, max, limit, queued, counters](paho::const_message_ptr msg) {
        // Paho's thread: copy, count, hand over; never block here.
        counters->received.fetch_add(1, std::memory_order_relaxed);
        if (queued->load(std::memory_order_relaxed) >= limit) {
          counters->drop(device_drop::overloaded);
          return;
        }
        mqtt_inbound in;
        in.topic = msg->get_topic();
        in.retained = msg->is_retained();
        auto& payload = msg->get_payload_ref();
        in.size = payload.size();
        if (in.size > max)
          in.oversized = true;
        else
          in.payload = payload.str();
        queued->fetch_add(1, std::memory_order_relaxed);
        if (auto bridge = caf::actor_cast<mqtt_bridge_actor>(addr))
          caf::anon_send(bridge, std::move(in));
        else
          queued->fetch_sub(1, std::memory_order_relaxed);
      });

  auto will = encode_node_status(o.client_id, false, 0);
  auto builder = paho::connect_options_builder();
  builder.mqtt_version(st.version)
      .keep_alive_interval(o.keep_alive)
      .connect_timeout(o.connect_timeout)
      .automatic_reconnect(
          std::chrono::duration_cast<std::chrono::seconds>(o.reconnect_min),
          std::chrono::duration_cast<std::chrono::seconds>(o.reconnect_max))
      .will(paho::will_options{st.status_topic, will, qos, true});
  // Clean start (v5) / clean session (3.1.1): no state left at the broker
  // between connections; the connected handler subscribes each time. Note
  // the Paho 1.2 trap: clean_session(true) on a v5 connect fails with -15.
  if (st.version == MQTTVERSION_5)
    builder.clean_start(true);
  else
    builder.clean_session(true);
  if (!o.username.empty()) builder.user_name(o.username);
  if (!o.password.empty()) builder.password(o.password);
  if (is_tls(o.uri)) {
    auto ssl = paho::ssl_options_builder();
    ssl.enable_server_cert_auth(true).verify(true);
    if (!o.ca_file.empty()) ssl.trust_store(o.ca_file);
    if (!o.cert_file.empty()) ssl.key_store(o.cert_file);
    if (!o.key_file.empty()) ssl.private_key(o.key_file);
    ssl.error_handler([](const std::string& text) {
      log()->error("event=mqtt_tls_error error=\"{}\"", text);
    });
    builder.ssl(ssl.finalize());
  }
  st.connect_options = builder.finalize();
}

void try_connect(self_ptr self) {
  auto& st = self->state;
  if (st.stopping || st.connected || !st.client) return;
  try {
    st.client->connect(st.connect_options, nullptr, *st.on_connect);
  } catch (const paho::exception& e) {
    notify(self->address(), mqtt_connect_atom::value,
           static_cast<int32_t>(e.get_return_code()), std::string{e.what()});
  }
}

bool publish(self_ptr self, const std::string& topic, std::string payload,
             bool retained) {
  auto& st = self->state;
  if (!st.client) return false;
  try {
    st.client->publish(paho::make_message(topic, payload, qos, retained));
    st.counters->published.fetch_add(1, std::memory_order_relaxed);
    return true;
  } catch (const paho::exception& e) {
    st.counters->publish_failures.fetch_add(1, std::memory_order_relaxed);
    if (st.drop_log.acquire(self->clock().now()).allowed)
      log()->warn("event=mqtt_publish_failed topic={} error=\"{}\"", topic,
                  e.what());
    return false;
  }
}

void subscribe(self_ptr self) {
  auto& st = self->state;
  auto& prefix = st.options.codec.device_prefix;
  // One SUBSCRIBE per filter: Paho C++ 1.2's many-filter subscribe with a
  // vector of subscribe_options hands the C library a dangling options
  // array (response_options' copy drops it) and crashes.
  for (auto& filter : {status_filter(prefix), sensor_filter(prefix)}) {
    try {
      if (st.version == MQTTVERSION_5) {
        // No Local: the node never hears its own publications back, even if
        // prefixes were configured so that they would match.
        st.client->subscribe(filter, qos, nullptr, *st.on_subscribe,
                             paho::subscribe_options{true});
      } else {
        // 3.1.1 has no No Local; our publications never match these
        // filters (commands end in /command, events and progress live under
        // the session prefix).
        st.client->subscribe(filter, qos, nullptr, *st.on_subscribe);
      }
    } catch (const paho::exception& e) {
      log()->error("event=mqtt_subscribe_failed filter={} error=\"{}\"", filter,
                   e.what());
    }
  }
}

void dropped(self_ptr self, device_drop reason, const std::string& topic,
             const std::string& detail) {
  auto& st = self->state;
  st.counters->drop(reason);
  if (st.drop_log.acquire(self->clock().now()).allowed)
    log()->info("event=device_message_dropped reason={} topic=\"{}\" "
                "detail=\"{}\"",
                to_string(reason), topic.substr(0, 200), detail);
}

void on_inbound(self_ptr self, mqtt_inbound& in) {
  auto& st = self->state;
  st.queued->fetch_sub(1, std::memory_order_relaxed);
  if (in.oversized)
    return dropped(self, device_drop::oversized, in.topic,
                   std::to_string(in.size) + " bytes (mqtt.max-payload-bytes = "
                       + std::to_string(st.options.codec.max_payload_bytes)
                       + ")");
  auto msg = decode_device_message(st.options.codec, in.topic, in.payload,
                                   in.retained);
  switch (msg.type) {
    case device_message::kind::dropped:
      return dropped(self, msg.reason, in.topic, msg.detail);
    case device_message::kind::status:
      self->send(st.registry, std::move(msg.status));
      return;
    case device_message::kind::reading:
      self->send(st.registry, std::move(msg.reading));
      return;
    case device_message::kind::placement:
      self->send(st.registry, std::move(msg.placement));
      return;
  }
}

} // namespace

bridge_options bridge_options_of(const config::settings& cfg) {
  auto& m = cfg.mqtt;
  bridge_options o;
  o.uri = m.uri;
  o.client_id = m.client_id;
  if (o.client_id.empty()) {
    char host[256] = {};
    if (gethostname(host, sizeof(host) - 1) != 0) host[0] = '\0';
    std::string name;
    for (char* c = host; *c != '\0'; ++c)
      if ((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z')
          || (*c >= '0' && *c <= '9') || *c == '-' || *c == '_' || *c == '.')
        name += *c;
    if (name.empty()) name = "host";
    o.client_id = "puzzle-node-" + name.substr(0, 64) + "-"
        + std::to_string(cfg.http.port);
  }
  o.username = m.username;
  o.password = m.password;
  o.ca_file = m.ca_file;
  o.cert_file = m.cert_file;
  o.key_file = m.key_file;
  o.keep_alive = m.keep_alive;
  o.connect_timeout = m.connect_timeout;
  o.reconnect_min = m.reconnect_min;
  o.reconnect_max = m.reconnect_max;
  o.inbound_queue = m.inbound_queue;
  o.offline_buffer = m.offline_buffer;
  o.codec.device_prefix = m.device_prefix;
  o.codec.max_payload_bytes = m.max_payload_bytes;
  o.session_prefix = m.session_prefix;
  return o;
}

std::string bindings_file_of(const config::settings& cfg) {
  if (!cfg.mqtt.bindings_file.empty()) return cfg.mqtt.bindings_file;
  auto dir = cfg.store.data_dir;
  if (!dir.empty() && dir.back() != '/') dir += '/';
  return dir + "device-bindings.json";
}

device_registry_options registry_options_of(const config::settings& cfg) {
  auto& m = cfg.mqtt;
  device_registry_options o;
  o.max_devices = m.max_devices;
  auto& d = o.device;
  d.offline_after = m.device_offline_after;
  d.presence_grace = m.presence_grace;
  d.dedupe_window = m.dedupe_window;
  std::string error; // validated when the config was read
  util::limiter_spec::parse(m.device_rate, d.budget, error);
  d.client = client_options_of(cfg);
  return o;
}

mqtt_bridge_actor
spawn_bridge(caf::actor_system& sys, device_registry_actor registry,
             bridge_options options, device_counters_ptr counters) {
  auto behavior = [registry = std::move(registry), options = std::move(options),
                   counters = std::move(counters)](
                      self_ptr self) -> mqtt_bridge_actor::behavior_type {
    auto& init = self->state;
    init.options = options;
    init.registry = registry;
    init.counters = counters;
    init.backoff = init.options.reconnect_min;
    init.status_topic = node_status_topic(init.options.session_prefix,
                                          init.options.client_id);
    util::limiter_spec log_spec;
    log_spec.kind = util::limiter_spec::algorithm::fixed_window;
    log_spec.permits = 20;
    log_spec.window = std::chrono::minutes(1);
    init.drop_log = util::rate_limiter{log_spec, self->clock().now()};
    init.on_connect = std::make_unique<connect_listener>(self->address());
    init.on_subscribe = std::make_unique<subscribe_listener>();
    try {
      make_client(self);
    } catch (const paho::exception& e) {
      // Only an unusable uri or client id gets here (both checked when the
      // config is read); the node runs on without MQTT.
      log()->error("event=mqtt_client_failed uri={} error=\"{}\"",
                   init.options.uri, e.what());
      init.client.reset();
    }
    log()->info("event=mqtt_connecting uri={} client_id={}", init.options.uri,
                init.options.client_id);
    self->send(self, mqtt_connect_atom::value);
    self->attach_functor([counters = init.counters] {
      counters->connected.store(false);
    });
    return {
        [self](session_event& ev) {
          auto& st = self->state;
          auto frame = ev.cache->get(wire_format::mqtt, [&ev] {
            return std::make_shared<const std::string>(encode_event(ev));
          });
          publish(self, events_topic(st.options.session_prefix, ev.session_id),
                  *frame, false);
        },
        [self](session_progress& p) {
          auto& st = self->state;
          auto payload = encode_progress(p);
          auto& last = st.last_progress[p.session_id];
          if (last == payload) return;
          if (publish(self,
                      progress_topic(st.options.session_prefix, p.session_id),
                      payload, true))
            last = std::move(payload);
        },
        [self](device_command& cmd) {
          auto& st = self->state;
          publish(self,
                  command_topic(st.options.codec.device_prefix, cmd.device_id),
                  std::move(cmd.json), cmd.retained);
        },
        [self](mqtt_connect_atom) {
          try_connect(self);
        },
        [self](mqtt_connect_atom, int32_t rc, std::string& text) {
          auto& st = self->state;
          if (st.stopping || st.connected) return;
          st.counters->connect_failures.fetch_add(1, std::memory_order_relaxed);
          if (st.version == MQTTVERSION_5
              && (rc == connack_bad_version_v3
                  || rc == reason_bad_version_v5)) {
            log()->warn("event=mqtt_v5_refused uri={} fallback=3.1.1",
                        st.options.uri);
            st.version = MQTTVERSION_3_1_1;
            make_client(self);
            self->send(self, mqtt_connect_atom::value);
            return;
          }
          log()->warn("event=mqtt_connect_failed uri={} rc={} error=\"{}\" "
                      "retry_in_ms={}",
                      st.options.uri, rc, text, st.backoff.count());
          self->delayed_send(self, st.backoff, mqtt_connect_atom::value);
          st.backoff = std::min(st.backoff * 2, st.options.reconnect_max);
        },
        [self](mqtt_up_atom, std::string& cause) {
          auto& st = self->state;
          st.connected = true;
          st.backoff = st.options.reconnect_min;
          st.counters->connected.store(true);
          st.counters->connects.fetch_add(1, std::memory_order_relaxed);
          st.online_since = util::now_ms();
          log()->info("event=mqtt_connected uri={} client_id={} version={} "
                      "cause=\"{}\"",
                      st.options.uri, st.options.client_id,
                      st.version == MQTTVERSION_5 ? "5" : "3.1.1", cause);
          subscribe(self);
          publish(
              self, st.status_topic,
              encode_node_status(st.options.client_id, true, st.online_since),
              true);
          // The broker may have restarted: what was retained may be gone.
          st.last_progress.clear();
          self->send(st.registry, mqtt_up_atom::value);
        },
        [self](mqtt_down_atom, std::string& cause) {
          auto& st = self->state;
          if (!st.connected) return;
          st.connected = false;
          st.counters->connected.store(false);
          st.counters->connection_losses.fetch_add(1,
                                                   std::memory_order_relaxed);
          log()->warn("event=mqtt_connection_lost uri={} cause=\"{}\" "
                      "reconnect=automatic",
                      st.options.uri, cause);
        },
        [self](mqtt_inbound& in) {
          on_inbound(self, in);
        },
        [self](close_atom) {
          auto& st = self->state;
          st.stopping = true;
          // Half of mqtt.connect-timeout for the goodbye, half for the
          // disconnect: stop_bridge waits a little longer than both.
          auto timeout = st.options.connect_timeout / 2;
          if (!st.client) {
            self->quit();
            return true;
          }
          try {
            if (st.connected) {
              // A clean DISCONNECT suppresses the will: say offline first.
              st.client
                  ->publish(paho::make_message(
                      st.status_topic,
                      encode_node_status(st.options.client_id, false, 0), qos,
                      true))
                  ->wait_for(timeout);
            }
            st.client->disconnect(static_cast<int>(timeout.count()))
                ->wait_for(timeout);
          } catch (const paho::exception& e) {
            log()->debug("event=mqtt_disconnect error=\"{}\"", e.what());
          }
          st.client->disable_callbacks();
          st.connected = false;
          st.counters->connected.store(false);
          log()->info("event=mqtt_disconnected uri={}", st.options.uri);
          self->quit();
          return true;
        },
    };
  };
  return sys.spawn<caf::detached>(std::move(behavior));
}

void stop_bridge(caf::actor_system& sys, const mqtt_bridge_actor& bridge,
                 std::chrono::milliseconds timeout) {
  caf::scoped_actor self{sys};
  self->request(bridge, timeout, close_atom::value)
      .receive([](bool) {},
               [](caf::error& err) {
                 log()->warn("event=mqtt_stop_failed error={}",
                             caf::to_string(err));
               });
}

} // namespace puzzle::transports::mqtt
