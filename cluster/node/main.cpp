// puzzle-node: one node of the Collaborative Puzzle Platform.
//
// Parses the configuration, starts the actor system, the store, the session
// directory, the IoT device registry (and the MQTT bridge when mqtt.uri is
// set) and the HTTP server with its REST API, SignalR hub and raw
// WebSocket endpoint, then waits for SIGTERM or SIGINT and shuts down in
// order: stop accepting, close the real-time connections (they may reconnect
// elsewhere), flush the store, exit 0.
// A bad configuration exits with code 2 and a message naming the key.

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <iostream>
#include <memory>

#include <signal.h>
#include <unistd.h>

#include <caf/all.hpp>
#include <caf/io/middleman.hpp>
#include <spdlog/spdlog.h>

#include "actors/caf_errors.hpp"
#include "actors/channel/channel_registry_actor.hpp"
#include "actors/device/binding_file.hpp"
#include "actors/device/device_registry_actor.hpp"
#include "actors/webrtc/webrtc_room_actor.hpp"
#include "actors/type_ids.hpp"
#include "actors/util/ids.hpp"
#include "cluster/directory/directory_actor.hpp"
#include "cluster/inspect/inspector_actor.hpp"
#include "cluster/membership/node_agent.hpp"
#include "cluster/membership/node_identity.hpp"
#include "config/logging.hpp"
#include "config/node_config.hpp"
#include "persistence/sql/soci_store.hpp"
#include "persistence/store_actor.hpp"
#include "transports/api/actor_bridge.hpp"
#include "transports/api/operator_api.hpp"
#include "transports/api/rest_api.hpp"
#include "transports/auth/token_service.hpp"
#include "transports/http/http_util.hpp"
#include "transports/http/rate_limit_gate.hpp"
#include "transports/http/router.hpp"
#include "transports/http/server.hpp"
#include "transports/http/static_files.hpp"
#include "transports/mqtt/device_api.hpp"
#include "transports/mqtt/mqtt_bridge.hpp"
#include "transports/signalr/puzzle_hub.hpp"
#include "transports/signalr/signalr_endpoint.hpp"
#include "transports/signalr/webrtc_hub.hpp"
#include "transports/socketio/socketio_endpoint.hpp"
#include "transports/ws/ws_endpoint.hpp"

namespace {

using namespace puzzle;

constexpr int exit_bad_config = 2;
constexpr int exit_failure = 1;

std::string config_error_text(const caf::error& err) {
  if (err.context().match_elements<std::string>())
    return err.context().get_as<std::string>(0);
  return caf::to_string(err);
}

/// Options for the directory and its sessions, from the settings.
cluster::directory_options directory_options_of(const config::settings& s) {
  cluster::directory_options out;
  out.limits.min_pieces = s.limits.min_pieces;
  out.limits.max_pieces = s.limits.max_pieces;
  out.limits.max_side = s.limits.max_side;
  out.limits.max_image_side = s.limits.max_image_side;
  out.snap_ratio = s.session.snap_ratio;
  out.table_factor = s.session.table_factor;
  out.session.lock_lease = s.session.lock_lease;
  out.session.cursor_interval = s.session.cursor_interval;
  out.session.max_chat_code_points = s.limits.max_chat_code_points;
  out.session.max_chat_bytes = s.limits.max_message_bytes;
  out.session.chat_history = s.limits.chat_history;
  out.session.migration_timeout = s.cluster.migration_timeout;
  out.session.forward_grace = s.cluster.forward_grace;
  return out;
}

int run(config::node_config& cfg, const sigset_t& stop_signals) {
  auto& settings = cfg.values;
  auto log = config::module_logger("puzzle.node");
  // The TLS files are parsed before anything starts: a bad one is a bad
  // configuration (exit code 2, the key named), like the checks of
  // node_config.
  std::string tls_error;
  auto tls = transports::http::make_tls_context(settings.http, tls_error);
  if (!tls_error.empty()) {
    std::cerr << "puzzle-node: " << tls_error << '\n';
    return exit_bad_config;
  }
  // In a cluster the node agents talk over CAF's middleman (BASP), with
  // its heartbeat and connection timeout on (both are off by default).
  if (settings.cluster.multi_node()) {
    cfg.load<caf::io::middleman>();
    cfg.set("middleman.heartbeat-interval",
            caf::timespan{settings.cluster.heartbeat_interval});
    cfg.set("middleman.connection-timeout",
            caf::timespan{settings.cluster.connection_timeout});
  }
  caf::actor_system sys{cfg};

  // Logs show the store's URL without its password.
  auto url = persistence::redact_store_url(settings.effective_store_url());
  persistence::store_open_options store_options;
  store_options.pool_size = settings.store.pool_size;
  store_options.connect_timeout = settings.store.connect_timeout;
  auto db = persistence::soci_store::open(settings.effective_store_url(),
                                          store_options);
  if (!db) {
    log->error("event=store_unavailable url={} error={}", url,
               message_of(db.error()));
    return exit_failure;
  }
  auto migrated = (*db)->migrate();
  if (!migrated) {
    log->error("event=migration_failed url={} error={}", url,
               message_of(migrated.error()));
    return exit_failure;
  }
  log->info("event=store_ready url={} migrations_applied={} connections={}",
            url, *migrated, (*db)->pool_size());
  // The node agent leases its own connection of the store's pool.
  auto store_pool = (*db)->pool();
  auto store = persistence::spawn_store(sys, std::move(*db), settings.store,
                                        true, settings.limits.chat_history,
                                        settings.images.max_stored);
  // A cluster node keeps its node id across restarts (cluster.node-id);
  // a single node stays a random one per start, as before.
  auto node_id = settings.cluster.multi_node()
      ? cluster::node_id_of(settings.cluster.node_id, settings.http.port,
                            settings.cluster.port)
      : (settings.cluster.node_id.empty() ? util::new_uuid()
                                          : settings.cluster.node_id);
  auto incarnation = util::new_uuid();
  auto dir_options = directory_options_of(settings);
  if (settings.cluster.multi_node()) {
    // Derived from the membership timings (docs/cluster.md, "The
    // directory"): a request to another node is given up after the
    // connection timeout, retries follow the heartbeat.
    auto& dc = dir_options.cluster;
    auto& cl = settings.cluster;
    dc.enabled = true;
    dc.request_timeout = cl.connection_timeout;
    dc.retry_delay
        = std::clamp(cl.heartbeat_interval / 2, std::chrono::milliseconds{10},
                     std::chrono::milliseconds{250});
    dc.unknown_owner_wait = 2 * cl.heartbeat_interval;
    dc.migrate_timeout = 2 * cl.connection_timeout;
  }
  dir_options.cluster.node_id = node_id;
  dir_options.cluster.incarnation = incarnation;
  auto directory = sys.spawn(cluster::directory, store, dir_options);
  // The operators' view of this process's actors, and their actions. A
  // drain ends with the node leaving: SIGTERM to itself runs the stop
  // below (nothing is left to move by then).
  cluster::inspector_options inspector_options;
  inspector_options.node_id = node_id;
  inspector_options.incarnation = incarnation;
  inspector_options.cluster_mode = settings.cluster.multi_node();
  inspector_options.drain_timeout = settings.cluster.drain_timeout;
  inspector_options.on_drained = [] {
    ::kill(::getpid(), SIGTERM);
  };
  auto inspector = cluster::spawn_inspector(sys, directory, inspector_options);
  // Membership (docs/cluster.md): only in cluster mode, which node_config
  // allows only on PostgreSQL (a pool with more than the store's one
  // connection).
  auto members = std::make_shared<cluster::membership_view>();
  cluster::node_agent_actor agent;
  if (settings.cluster.multi_node()) {
    cluster::node_agent_options agent_options;
    agent_options.cluster_name = settings.cluster.name;
    agent_options.address = cluster::advertised_address(
        settings.cluster.advertise, settings.http.bind, settings.cluster.port);
    agent_options.node_id = node_id;
    agent_options.incarnation = incarnation;
    agent_options.local_endpoints.directory
        = caf::actor_cast<caf::actor>(directory);
    agent_options.local_endpoints.inspector
        = caf::actor_cast<caf::actor>(inspector);
    agent_options.seeds = settings.cluster.seeds;
    agent_options.started_at_ms = util::now_ms();
    agent_options.heartbeat_interval = settings.cluster.heartbeat_interval;
    agent_options.connection_timeout = settings.cluster.connection_timeout;
    agent_options.down_after = settings.cluster.down_after;
    agent_options.lease_timeout = settings.store.connect_timeout;
    agent_options.link_peers = settings.cluster.port != 0;
    agent = cluster::spawn_node_agent(sys, store_pool, agent_options, members);
    // Peers link to the agent here to learn at once when this process dies.
    if (settings.cluster.port != 0) {
      // SO_REUSEADDR: a node restarted at once (after a drain, say) finds
      // its port still held by the closed links of its previous process.
      constexpr bool reuse_address = true;
      auto published
          = sys.middleman().publish(agent, settings.cluster.port,
                                    settings.http.bind.c_str(), reuse_address);
      if (!published) {
        log->error("event=cluster_listen_failed bind={} port={} error={}",
                   settings.http.bind, settings.cluster.port,
                   message_of(published.error()));
        anon_send_exit(agent, caf::exit_reason::user_shutdown);
        anon_send_exit(directory, caf::exit_reason::user_shutdown);
        anon_send_exit(store, caf::exit_reason::user_shutdown);
        return exit_failure;
      }
      log->info("event=cluster_listening address={}:{}", settings.http.bind,
                *published);
    }
  }

  // IoT devices: the registry always (the device API answers, without
  // devices, while MQTT is off), the MQTT bridge when mqtt.uri is set.
  auto device_counters = std::make_shared<puzzle::device_counters>();
  auto registry_options = transports::mqtt::registry_options_of(settings);
  auto bindings_file = transports::mqtt::bindings_file_of(settings);
  if (auto err = load_bindings(bindings_file, registry_options.restore);
      !err.empty()) {
    log->error("event=bindings_unreadable error=\"{}\" hint=\"fix or remove "
               "the file (mqtt.bindings-file)\"",
               err);
    return exit_failure;
  }
  auto devices = sys.spawn(device_registry, directory, device_counters,
                           spawn_binding_saver(sys, bindings_file),
                           std::move(registry_options));
  auto bridge_options = transports::mqtt::bridge_options_of(settings);
  auto mqtt_client_id
      = settings.mqtt.uri.empty() ? std::string{} : bridge_options.client_id;
  transports::mqtt::mqtt_bridge_actor bridge;
  if (!settings.mqtt.uri.empty()) {
    bridge = transports::mqtt::spawn_bridge(sys, devices, bridge_options,
                                            device_counters);
    anon_send(devices, outbox_atom::value,
              caf::actor_cast<device_outbox_actor>(bridge));
  }

  transports::auth::token_service tokens{settings.auth};
  if (settings.auth.keys.empty())
    log->warn("event=ephemeral_jwt_secret hint=\"set {} so tokens survive "
              "a restart\"",
              config::jwt_secret_env);

  auto routes = std::make_shared<transports::http::router>();
  auto hub = std::make_shared<transports::signalr::signalr_endpoint>(
      transports::signalr::puzzle_hub(sys, directory, settings), tokens,
      settings, "/puzzlehub");
  hub->register_routes(*routes);
  webrtc_room_options room_options;
  room_options.max_members = settings.webrtc.max_room_size;
  auto rooms = sys.spawn(webrtc_rooms, room_options);
  auto signalling = std::make_shared<transports::signalr::signalr_endpoint>(
      transports::signalr::webrtc_hub(sys, rooms, settings), tokens, settings,
      "/webrtchub");
  signalling->register_routes(*routes);
  auto channels = sys.spawn(channel_registry);
  auto raw_ws = std::make_shared<transports::ws::ws_endpoint>(
      sys, directory, channels, tokens, settings, "/ws");
  raw_ws->register_routes(*routes);
  auto socketio = std::make_shared<transports::socketio::socketio_endpoint>(
      sys, directory, tokens, settings, "/socket.io");
  socketio->register_routes(*routes);
  transports::http::server server{settings.http, routes};
  if (tls) server.use_tls(tls);
  server.limit_rates(
      std::make_shared<transports::http::rate_limit_gate>(settings.rate_limits),
      [&tokens](const transports::http::request& req) {
        auto token = transports::http::access_token(req);
        if (!token || token->empty()) return std::string{};
        auto user = tokens.verify(*token);
        return user ? user->user_id : std::string{};
      });
  socketio->set_io_context(server.context());
  // Upgraded sockets leave the HTTP server's count; the endpoints report
  // them so that http.max-connections covers every open socket.
  server.count_upgraded([hub, signalling, raw_ws, socketio] {
    return hub->open_connections() + signalling->open_connections()
        + raw_ws->open_connections() + socketio->open_connections();
  });

  auto check_database = [&sys, store](transports::api::database_report done) {
    auto started = std::chrono::steady_clock::now();
    auto elapsed = [started] {
      return std::chrono::duration_cast<std::chrono::microseconds>(
          std::chrono::steady_clock::now() - started);
    };
    transports::api::ask(
        sys, store, std::chrono::seconds(5),
        [done, elapsed](bool ok) {
          done(ok, ok ? "the store answers" : "the store does not answer",
               elapsed());
        },
        [done, elapsed](caf::error& err) {
          done(false, message_of(err), elapsed());
        },
        ping_atom::value);
  };
  transports::api::rest_context rest{sys,
                                     directory,
                                     tokens,
                                     settings,
                                     check_database,
                                     std::chrono::system_clock::now(),
                                     [&server] {
                                       return server.open_connections();
                                     }};
  rest.store = store;
  if (agent)
    rest.health_entries.emplace_back("cluster", [members, &settings] {
      return members->health_entry(settings.cluster.name);
    });
  rest.health_entries.emplace_back(
      "mqtt", [&settings, device_counters, mqtt_client_id] {
        return transports::mqtt::mqtt_health_entry(settings, *device_counters,
                                                   mqtt_client_id);
      });
  transports::api::register_rest_api(*routes, rest);
  transports::mqtt::register_device_api(
      *routes,
      transports::mqtt::device_api_context{sys, devices, tokens, settings,
                                           device_counters, mqtt_client_id});
  transports::api::operator_context operators{
      sys, directory, tokens, settings, node_id, util::now_ms()};
  operators.address = [&settings, &server] {
    return settings.http.bind + ":" + std::to_string(server.port());
  };
  operators.started_at = rest.started_at;
  operators.inspector = inspector;
  operators.store = caf::actor_cast<cluster_store_actor>(store);
  operators.open_connections = [&server] {
    return server.open_connections();
  };
  if (agent) {
    operators.members = [members] {
      std::vector<transports::api::cluster_member_view> out;
      for (auto& m : members->members())
        out.push_back({m.node_id, m.incarnation, m.address, to_string(m.state),
                       m.last_heartbeat_ms, m.started_at_ms, m.self});
      return out;
    };
  }
  transports::api::register_operator_api(*routes, std::move(operators));
  auto files = std::make_shared<transports::http::static_files>(
      settings.http.web_root);
  routes->set_fallback([files](transports::http::request&& req,
                               transports::http::route_match m,
                               transports::http::responder respond) {
    (*files)(std::move(req), std::move(m), std::move(respond));
  });

  if (auto ec = server.start()) {
    log->error("event=listen_failed bind={} port={} error={}",
               settings.http.bind, settings.http.port, ec.message());
    if (bridge) anon_send_exit(bridge, caf::exit_reason::user_shutdown);
    if (agent) anon_send_exit(agent, caf::exit_reason::user_shutdown);
    anon_send_exit(devices, caf::exit_reason::user_shutdown);
    anon_send_exit(channels, caf::exit_reason::user_shutdown);
    anon_send_exit(rooms, caf::exit_reason::user_shutdown);
    anon_send_exit(directory, caf::exit_reason::user_shutdown);
    anon_send_exit(store, caf::exit_reason::user_shutdown);
    return exit_failure;
  }
  server.run(settings.http.threads);
  auto host = settings.http.bind == "0.0.0.0" ? std::string{"localhost"}
                                              : settings.http.bind;
  log->info("event=listening url={}://{}:{}/ store={}", tls ? "https" : "http",
            host, server.port(), url);

  int signal = 0;
  sigwait(&stop_signals, &signal);
  log->info("event=stopping signal={}", signal);
  // In a cluster, first move this node's sessions to the other live nodes
  // (their clients follow through the forwarders), bounded by
  // cluster.drain-timeout; whatever is left is re-activated elsewhere.
  if (agent && settings.cluster.drain_timeout.count() > 0) {
    caf::scoped_actor self{sys};
    self->request(directory, settings.cluster.drain_timeout, drain_atom_v)
        .receive(
            [&log](int32_t moved) {
              log->info("event=drain_finished sessions_moved={}", moved);
            },
            [&log](caf::error& err) {
              log->warn("event=drain_incomplete error={}", message_of(err));
            });
  }
  // Leave the cluster: peers see this incarnation leaving and then down at
  // once instead of after the grace period.
  if (agent) {
    caf::scoped_actor self{sys};
    self->request(agent, settings.store.connect_timeout, leave_atom_v)
        .receive([](bool) {},
                 [&log](caf::error& err) {
                   log->error("event=leave_failed error={}", message_of(err));
                 });
    anon_send_exit(agent, caf::exit_reason::user_shutdown);
  }

  hub->shutdown();
  signalling->shutdown();
  raw_ws->shutdown();
  socketio->shutdown();
  server.stop();
  // The bridge says goodbye (retained offline status) and disconnects;
  // then the devices leave their sessions.
  if (bridge)
    transports::mqtt::stop_bridge(
        sys, bridge, settings.mqtt.connect_timeout + std::chrono::seconds(1));
  anon_send_exit(devices, caf::exit_reason::user_shutdown);
  // A read flushes the store's pending writes (read-your-writes), so every
  // acknowledged drop and chat line is on disk before the process ends.
  {
    caf::scoped_actor self{sys};
    self->request(store, std::chrono::seconds(10), ping_atom::value)
        .receive([](bool) {},
                 [&log](caf::error& err) {
                   log->error("event=final_flush_failed error={}",
                              message_of(err));
                 });
  }
  anon_send_exit(channels, caf::exit_reason::user_shutdown);
  anon_send_exit(rooms, caf::exit_reason::user_shutdown);
  anon_send_exit(inspector, caf::exit_reason::user_shutdown);
  anon_send_exit(directory, caf::exit_reason::user_shutdown);
  anon_send_exit(store, caf::exit_reason::user_shutdown);
  log->info("event=stopped");
  spdlog::default_logger()->flush();
  return EXIT_SUCCESS;
}

} // namespace

int main(int argc, char** argv) {
  // Block the stop signals before any thread starts, so that every thread
  // inherits the mask and only sigwait() in main sees them.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  std::signal(SIGPIPE, SIG_IGN);

  config::node_config cfg;
  register_message_types(cfg);
  if (auto err = cfg.parse(argc, argv)) {
    std::cerr << "puzzle-node: " << config_error_text(err) << '\n';
    return exit_bad_config;
  }
  if (cfg.cli_helptext_printed) return EXIT_SUCCESS;
  if (auto err = cfg.finalize()) {
    std::cerr << "puzzle-node: " << config_error_text(err) << '\n';
    return exit_bad_config;
  }
  config::setup_logging(cfg.values.log.level);
  return run(cfg, stop_signals);
}
