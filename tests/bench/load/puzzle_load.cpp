// puzzle-load: the open-loop load generator of the benchmarks (scenarios in
// the shared performance.md). One process, one thread, one io_context,
// thousands of Beast WebSocket (or MQTT) connections.
//
// Scenarios (--scenario):
//   room     N clients join one session; M movers drag (or move) their own
//            piece at R Hz on a fixed schedule. Records mover ack RTT and
//            observer delivery latency, both from the *scheduled* send time
//            (no coordinated omission). S1, S6 (--op move), S8 (--slow-client).
//   fanout   one publisher, M subscribers, rate stepped (--rate-steps) until
//            p99 > --p99-limit-ms or a drop. Delivered frames per server
//            CPU-second. S2.
//   idle     idle clients joined to sessions, ramped in steps; samples the
//            server's RSS at each step. S3.
//   startup  execs the server (after --), times exec -> listening, the join of
//            a stored session and the first acknowledged move. S5.
//   floor    the machine's floor: loopback TCP round trip between two CPUs and
//            on one CPU, and the cost of a syscall.
//
// The result is one JSON object on stdout; progress goes to stderr. With
// --server-pid the generator samples the server's CPU time and RSS from /proc
// over the measured window, and always reports its own CPU use: a generator
// above 90 % of its CPU marks the run `"generator_saturated":true` (invalid).

#include <algorithm>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <fstream>
#include <functional>
#include <iostream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sched.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>

#include "tests/bench/load/histogram.hpp"
#include "tests/bench/load/wire.hpp"

namespace puzzle::bench {

namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
namespace net = boost::asio;
using tcp = net::ip::tcp;

int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

double seconds(int64_t ns) {
  return static_cast<double>(ns) / 1e9;
}

// -- /proc sampling -------------------------------------------------------------

/// utime + stime of a process in seconds (all threads), or -1.
double process_cpu_seconds(int pid) {
  if (pid <= 0) return -1;
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto close = text.rfind(')');
  if (close == std::string::npos) return -1;
  std::istringstream fields(text.substr(close + 2));
  std::string f;
  double utime = 0, stime = 0;
  // Fields after the command: state(3) ... utime(14) stime(15).
  for (int i = 3; i <= 15 && fields >> f; ++i) {
    if (i == 14) utime = std::stod(f);
    if (i == 15) stime = std::stod(f);
  }
  return (utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

/// Resident set size of a process in bytes, or -1.
int64_t process_rss_bytes(int pid) {
  if (pid <= 0) return -1;
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("VmRSS:", 0) == 0) return std::stoll(line.substr(6)) * 1024;
  return -1;
}

double self_cpu_seconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec)
      + static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

/// CPU use of the server and of the generator over a window.
struct cpu_window {
  int server_pid = 0;
  int64_t t0 = 0;
  double server0 = 0;
  double self0 = 0;

  void start(int pid) {
    server_pid = pid;
    t0 = now_ns();
    server0 = process_cpu_seconds(pid);
    self0 = self_cpu_seconds();
  }

  /// `"wall_s":..,"server_cpu_s":..,"generator_cpu":..,"generator_saturated":..`
  std::string json(double& server_cpu_s) const {
    double wall = seconds(now_ns() - t0);
    double server = server_pid > 0 ? process_cpu_seconds(server_pid) - server0 : -1;
    double self = self_cpu_seconds() - self0;
    double share = wall > 0 ? self / wall : 0;
    server_cpu_s = server;
    char buf[256];
    std::snprintf(buf, sizeof buf,
                  "\"wall_s\":%.3f,\"server_cpu_s\":%.3f,\"generator_cpu_s\":%.3f,"
                  "\"generator_cpu_share\":%.3f,\"generator_saturated\":%s",
                  wall, server, self, share, share > 0.9 ? "true" : "false");
    return buf;
  }
};

// -- options --------------------------------------------------------------------

struct options {
  std::string scenario = "room";
  protocol proto = protocol::ws;
  std::string host = "127.0.0.1";
  uint16_t port = 8080;
  std::string path; ///< WebSocket path; default by protocol.
  std::vector<std::string> sessions{"bench"};
  std::string topic = "puzzle/bench/events";
  int clients = 2;
  int movers = -1; ///< -1: every client moves (room); fanout: 1.
  double rate = 20;
  operation op = operation::drag;
  double warmup = 1;
  double duration = 5;
  double drain = 2;
  int server_pid = 0;
  int slow_client = -1;
  double slow_seconds = 60;
  int slow_rcvbuf = 65536;
  std::vector<double> rate_steps{100, 200};
  double p99_limit_ms = 100;
  int connect_concurrency = 256;
  int step_conns = 1000;
  double settle = 2;
  int64_t rss_limit = int64_t{1} << 30;
  int source_ips = 1;
  int piece_base = 0;
  std::vector<std::string> exec_argv;
  std::vector<int> floor_cpus{0, 1};
  int floor_iterations = 20000;
  double connect_timeout = 60;
};

[[noreturn]] void usage(const std::string& error) {
  std::cerr << "puzzle-load: " << error
            << "\nusage: puzzle-load --scenario room|fanout|idle|startup|floor"
               " [--protocol ws|signalr|socketio|mqtt] [--port P] [--path /ws]"
               " [--session ID[,ID...]] [--clients N] [--movers M] [--rate HZ]"
               " [--op drag|move] [--warmup S] [--duration S] [--drain S]"
               " [--server-pid PID] [--slow-client I --slow-seconds S]"
               " [--rate-steps R1,R2,..] [--p99-limit-ms MS] [--step-conns N]"
               " [--rss-limit BYTES] [--source-ips K] [--topic T] [--floor-cpus A,B]"
               " [-- server command for startup]\n";
  std::exit(2);
}

std::vector<std::string> split(const std::string& text, char sep) {
  std::vector<std::string> out;
  std::string cur;
  std::istringstream in(text);
  while (std::getline(in, cur, sep))
    if (!cur.empty()) out.push_back(cur);
  return out;
}

options parse_options(int argc, char** argv) {
  options o;
  for (int i = 1; i < argc; ++i) {
    std::string key = argv[i];
    if (key == "--") {
      for (++i; i < argc; ++i)
        o.exec_argv.emplace_back(argv[i]);
      break;
    }
    if (i + 1 >= argc) usage("missing value for " + key);
    std::string v = argv[++i];
    try {
      if (key == "--scenario")
        o.scenario = v;
      else if (key == "--protocol")
        o.proto = parse_protocol(v);
      else if (key == "--host")
        o.host = v;
      else if (key == "--port")
        o.port = static_cast<uint16_t>(std::stoi(v));
      else if (key == "--path")
        o.path = v;
      else if (key == "--session")
        o.sessions = split(v, ',');
      else if (key == "--topic")
        o.topic = v;
      else if (key == "--clients")
        o.clients = std::stoi(v);
      else if (key == "--movers")
        o.movers = std::stoi(v);
      else if (key == "--rate")
        o.rate = std::stod(v);
      else if (key == "--op")
        o.op = v == "move" ? operation::move : operation::drag;
      else if (key == "--warmup")
        o.warmup = std::stod(v);
      else if (key == "--duration")
        o.duration = std::stod(v);
      else if (key == "--drain")
        o.drain = std::stod(v);
      else if (key == "--server-pid")
        o.server_pid = std::stoi(v);
      else if (key == "--slow-client")
        o.slow_client = std::stoi(v);
      else if (key == "--slow-seconds")
        o.slow_seconds = std::stod(v);
      else if (key == "--slow-rcvbuf")
        o.slow_rcvbuf = std::stoi(v);
      else if (key == "--rate-steps") {
        o.rate_steps.clear();
        for (auto& s : split(v, ','))
          o.rate_steps.push_back(std::stod(s));
      } else if (key == "--p99-limit-ms")
        o.p99_limit_ms = std::stod(v);
      else if (key == "--connect-concurrency")
        o.connect_concurrency = std::stoi(v);
      else if (key == "--step-conns")
        o.step_conns = std::stoi(v);
      else if (key == "--settle")
        o.settle = std::stod(v);
      else if (key == "--rss-limit")
        o.rss_limit = std::stoll(v);
      else if (key == "--source-ips")
        o.source_ips = std::stoi(v);
      else if (key == "--piece-base")
        o.piece_base = std::stoi(v);
      else if (key == "--floor-cpus") {
        o.floor_cpus.clear();
        for (auto& s : split(v, ','))
          o.floor_cpus.push_back(std::stoi(s));
      } else if (key == "--floor-iterations")
        o.floor_iterations = std::stoi(v);
      else if (key == "--connect-timeout")
        o.connect_timeout = std::stod(v);
      else
        usage("unknown option " + key);
    } catch (const std::invalid_argument& e) {
      usage("bad value for " + key + ": " + e.what());
    }
  }
  if (o.path.empty()) {
    switch (o.proto) {
      case protocol::ws: o.path = "/ws"; break;
      case protocol::signalr: o.path = "/puzzlehub"; break;
      case protocol::socketio: o.path = "/socket.io/"; break;
      case protocol::mqtt: break;
    }
  }
  return o;
}

// -- one connection ---------------------------------------------------------------

class driver;

/// One client connection: TCP connect, (SignalR negotiate), WebSocket
/// handshake, protocol handshake, join; then a read loop that hands every
/// message to the driver, and a write queue (one write in flight).
class connection : public std::enable_shared_from_this<connection> {
public:
  connection(driver& d, net::io_context& ioc, size_t index, std::string session)
      : driver_(d), ioc_(ioc), index_(index), session_(std::move(session)) {}

  void start();
  void send(std::string msg);
  void pause_reading(int64_t until_ns);
  void close();

  size_t index() const {
    return index_;
  }
  const std::string& session() const {
    return session_;
  }
  bool ready() const {
    return ready_;
  }
  bool closed() const {
    return closed_;
  }
  /// TCP state of the socket (TCP_INFO), e.g. TCP_ESTABLISHED; -1 unknown.
  int tcp_state();

  int64_t started_ns = 0;
  int64_t ready_ns = 0;
  bool paused = false;

private:
  friend class driver;
  void fail(const char* what, const beast::error_code& ec);
  void on_connect(beast::error_code ec);
  void negotiate();
  void ws_handshake();
  void on_handshaken();
  void do_read();
  void on_read(beast::error_code ec, size_t n);
  void handle_text(std::string_view text);
  void do_write();
  void became_ready();

  driver& driver_;
  net::io_context& ioc_;
  size_t index_;
  std::string session_;
  std::unique_ptr<beast::tcp_stream> tcp_;
  std::unique_ptr<websocket::stream<beast::tcp_stream>> ws_;
  beast::flat_buffer buffer_;
  std::deque<std::string> out_;
  bool writing_ = false;
  bool reading_ = false;
  bool ready_ = false;
  bool closed_ = false;
  int64_t resume_at_ = 0;
  std::unique_ptr<net::steady_timer> resume_timer_;
  mqtt_reader mqtt_;
  std::string token_;
  std::vector<inbound> scratch_;
  // SignalR negotiate over its own connection, as real clients do.
  std::unique_ptr<beast::tcp_stream> http_;
  http::request<http::string_body> http_req_;
  http::response<http::string_body> http_res_;
};

/// What the scenarios share: options, connections, counters, histograms.
class driver {
public:
  explicit driver(options o) : opt(std::move(o)), timer(ioc), keepalive(ioc) {}
  virtual ~driver() = default;

  virtual void on_ready(connection&) {}
  virtual void on_message(connection&, const inbound&) {}
  virtual void on_closed(connection&) {}

  /// Opens connections [from, to) with at most `connect_concurrency` in flight.
  void open(size_t from, size_t to) {
    open_next_ = from;
    open_end_ = to;
    pump_open();
  }

  void pump_open() {
    while (open_next_ < open_end_ && in_flight_ < opt.connect_concurrency) {
      auto i = open_next_++;
      auto& session = opt.sessions[i % opt.sessions.size()];
      auto c = std::make_shared<connection>(*this, ioc, i, session);
      if (conns.size() <= i) conns.resize(i + 1);
      conns[i] = c;
      ++in_flight_;
      c->start();
    }
  }

  void connection_settled(connection& c, bool ok) {
    --in_flight_;
    if (ok) {
      ++ready_count;
      on_ready(c);
    } else {
      ++failed_count;
    }
    pump_open();
  }

  /// SignalR clients must send something every client-timeout (30 s).
  void arm_keepalive() {
    keepalive.expires_after(std::chrono::seconds(10));
    keepalive.async_wait([this](beast::error_code ec) {
      if (ec) return;
      for (auto& c : conns) {
        if (!c || !c->ready() || c->closed()) continue;
        if (opt.proto == protocol::signalr) c->send("{\"type\":6}\x1e");
        if (opt.proto == protocol::mqtt) c->send(mqtt_pingreq());
      }
      arm_keepalive();
    });
  }

  options opt;
  net::io_context ioc;
  net::steady_timer timer;
  net::steady_timer keepalive;
  std::vector<std::shared_ptr<connection>> conns;
  size_t ready_count = 0;
  size_t failed_count = 0;
  size_t closed_count = 0;
  std::string first_error;

private:
  size_t open_next_ = 0;
  size_t open_end_ = 0;
  int in_flight_ = 0;
};

void connection::fail(const char* what, const beast::error_code& ec) {
  if (closed_) return;
  closed_ = true;
  if (driver_.first_error.empty()) driver_.first_error = std::string{what} + ": " + ec.message();
  if (!ready_) {
    driver_.connection_settled(*this, false);
  } else {
    ++driver_.closed_count;
    driver_.on_closed(*this);
  }
}

void connection::start() {
  started_ns = now_ns();
  if (driver_.opt.proto == protocol::signalr) return negotiate();
  tcp_ = std::make_unique<beast::tcp_stream>(ioc_);
  auto& sock = tcp_->socket();
  beast::error_code open_ec;
  sock.open(tcp::v4(), open_ec);
  // Out of descriptors (ulimit -n) is a failed connection, not a crash.
  if (open_ec) return fail("socket", open_ec);
  if (driver_.opt.source_ips > 1) {
    // Beyond ~28k connections one source address runs out of ports.
    auto k = index_ % static_cast<size_t>(driver_.opt.source_ips);
    auto addr = net::ip::make_address_v4("127.0.0." + std::to_string(1 + k));
    beast::error_code ec;
    sock.bind(tcp::endpoint(addr, 0), ec);
  }
  if (static_cast<int>(index_) == driver_.opt.slow_client) {
    int size = driver_.opt.slow_rcvbuf;
    setsockopt(sock.native_handle(), SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
  }
  tcp_->expires_after(std::chrono::duration_cast<std::chrono::steady_clock::duration>(
      std::chrono::duration<double>(driver_.opt.connect_timeout)));
  tcp::endpoint ep(net::ip::make_address(driver_.opt.host), driver_.opt.port);
  tcp_->async_connect(ep, beast::bind_front_handler(&connection::on_connect, shared_from_this()));
}

void connection::negotiate() {
  http_ = std::make_unique<beast::tcp_stream>(ioc_);
  http_->expires_after(std::chrono::seconds(30));
  tcp::endpoint ep(net::ip::make_address(driver_.opt.host), driver_.opt.port);
  http_->async_connect(ep, [self = shared_from_this()](beast::error_code ec) {
    if (ec) return self->fail("negotiate connect", ec);
    self->http_req_
        = {http::verb::post, self->driver_.opt.path + "/negotiate?negotiateVersion=1", 11};
    self->http_req_.set(http::field::host, self->driver_.opt.host);
    self->http_req_.set(http::field::content_type, "text/plain");
    self->http_req_.prepare_payload();
    http::async_write(*self->http_, self->http_req_, [self](beast::error_code ec2, size_t) {
      if (ec2) return self->fail("negotiate write", ec2);
      http::async_read(*self->http_, self->buffer_, self->http_res_,
                       [self](beast::error_code ec3, size_t) {
                         if (ec3) return self->fail("negotiate read", ec3);
                         auto& body = self->http_res_.body();
                         auto at = body.find("\"connectionToken\":\"");
                         if (at == std::string::npos)
                           return self->fail("negotiate answer",
                                             beast::error_code{EPROTO, beast::generic_category()});
                         at += 19;
                         self->token_ = body.substr(at, body.find('"', at) - at);
                         beast::error_code ignored;
                         self->http_->socket().shutdown(tcp::socket::shutdown_both, ignored);
                         self->http_.reset();
                         self->buffer_.clear();
                         self->tcp_ = std::make_unique<beast::tcp_stream>(self->ioc_);
                         tcp::endpoint ep2(net::ip::make_address(self->driver_.opt.host),
                                           self->driver_.opt.port);
                         self->tcp_->async_connect(
                             ep2, beast::bind_front_handler(&connection::on_connect, self));
                       });
    });
  });
}

void connection::on_connect(beast::error_code ec) {
  if (ec) return fail("connect", ec);
  tcp_->socket().set_option(tcp::no_delay(true));
  if (driver_.opt.proto == protocol::mqtt) {
    tcp_->expires_never();
    send(mqtt_connect("load-" + std::to_string(index_), 0));
    return do_read();
  }
  ws_handshake();
}

void connection::ws_handshake() {
  ws_ = std::make_unique<websocket::stream<beast::tcp_stream>>(std::move(*tcp_));
  tcp_.reset();
  auto target = driver_.opt.path;
  if (driver_.opt.proto == protocol::signalr) target += "?id=" + token_;
  if (driver_.opt.proto == protocol::socketio) target += "?EIO=4&transport=websocket";
  ws_->set_option(websocket::stream_base::decorator([](websocket::request_type& req) {
    req.set(http::field::user_agent, "puzzle-load");
  }));
  ws_->async_handshake(driver_.opt.host + ":" + std::to_string(driver_.opt.port), target,
                       [self = shared_from_this()](beast::error_code ec) {
                         if (ec) return self->fail("websocket handshake", ec);
                         beast::get_lowest_layer(*self->ws_).expires_never();
                         websocket::stream_base::timeout t{};
                         t.handshake_timeout = std::chrono::seconds(30);
                         t.idle_timeout = websocket::stream_base::none();
                         t.keep_alive_pings = false;
                         self->ws_->set_option(t);
                         self->ws_->text(true);
                         self->on_handshaken();
                       });
}

void connection::on_handshaken() {
  switch (driver_.opt.proto) {
    case protocol::ws: send(encode_join(protocol::ws, 0, session_)); break;
    case protocol::signalr: send("{\"protocol\":\"json\",\"version\":1}\x1e"); break;
    case protocol::socketio: break; // wait for the Engine.IO open packet
    case protocol::mqtt: break;
  }
  do_read();
}

void connection::became_ready() {
  if (ready_ || closed_) return;
  ready_ = true;
  ready_ns = now_ns();
  driver_.connection_settled(*this, true);
}

void connection::do_read() {
  if (closed_ || reading_) return;
  if (paused) return;
  reading_ = true;
  if (ws_) {
    ws_->async_read(buffer_, beast::bind_front_handler(&connection::on_read, shared_from_this()));
  } else {
    tcp_->async_read_some(buffer_.prepare(65536),
                          [self = shared_from_this()](beast::error_code ec, size_t n) {
                            self->buffer_.commit(n);
                            self->on_read(ec, n);
                          });
  }
}

void connection::on_read(beast::error_code ec, size_t) {
  reading_ = false;
  if (ec) return fail("read", ec);
  auto data = buffer_.data();
  std::string_view text{static_cast<const char*>(data.data()), data.size()};
  if (driver_.opt.proto == protocol::mqtt) {
    mqtt_.append(text);
    buffer_.consume(buffer_.size());
    mqtt_reader::packet p;
    while (mqtt_.next(p)) {
      if (p.type == 2) { // CONNACK
        if (driver_.opt.movers == 0 || index_ != 0)
          send(mqtt_subscribe(1, driver_.opt.topic));
        else
          became_ready();
      } else if (p.type == 9) { // SUBACK
        became_ready();
      } else if (p.type == 3) { // PUBLISH
        handle_text(mqtt_publish_payload(p.body));
      }
    }
  } else {
    handle_text(text);
    buffer_.consume(buffer_.size());
  }
  do_read();
}

void connection::handle_text(std::string_view text) {
  auto proto = driver_.opt.proto;
  if (!ready_) {
    // Handshake steps before the join completes.
    if (proto == protocol::socketio) {
      if (!text.empty() && text[0] == '0') return send("40");
      if (text.size() >= 2 && text.substr(0, 2) == "40")
        return send(encode_join(protocol::socketio, 0, session_));
      if (text.size() >= 2 && text.substr(0, 2) == "44")
        return fail("socket.io connect", beast::error_code{EACCES, beast::generic_category()});
    }
    if (proto == protocol::signalr && text.size() >= 3 && text.substr(0, 3) == "{}\x1e") {
      // The handshake answer, maybe followed by Connected in the same frame.
      send(encode_join(protocol::signalr, 0, session_));
    }
  }
  scratch_.clear();
  classify(proto, text, scratch_);
  for (auto& in : scratch_) {
    if (in.kind == inbound::engine_ping) {
      send("3");
      continue;
    }
    // The join's answer; a failure before it (e.g. a bad session id, answered
    // without our id) fails the connection too.
    if (!ready_ && ((in.id == 0 && in.kind == inbound::ack) || in.kind == inbound::failure)) {
      if (in.kind == inbound::failure) {
        if (driver_.first_error.empty())
          driver_.first_error = "join refused: " + std::string{text.substr(0, 200)};
        closed_ = true;
        driver_.connection_settled(*this, false);
        return;
      }
      became_ready();
      continue;
    }
    if (ready_) driver_.on_message(*this, in);
  }
}

void connection::send(std::string msg) {
  if (closed_) return;
  out_.push_back(std::move(msg));
  if (!writing_) do_write();
}

void connection::do_write() {
  if (out_.empty() || closed_) return;
  writing_ = true;
  auto on_written = [self = shared_from_this()](beast::error_code ec, size_t) {
    self->writing_ = false;
    self->out_.pop_front();
    if (ec) return self->fail("write", ec);
    self->do_write();
  };
  if (ws_)
    ws_->async_write(net::buffer(out_.front()), std::move(on_written));
  else
    net::async_write(*tcp_, net::buffer(out_.front()), std::move(on_written));
}

void connection::pause_reading(int64_t until_ns) {
  paused = true;
  resume_timer_ = std::make_unique<net::steady_timer>(ioc_);
  resume_timer_->expires_after(std::chrono::nanoseconds(until_ns - now_ns()));
  resume_timer_->async_wait([self = shared_from_this()](beast::error_code ec) {
    if (ec) return;
    self->paused = false;
    self->do_read();
  });
}

int connection::tcp_state() {
  int fd = -1;
  if (ws_)
    fd = beast::get_lowest_layer(*ws_).socket().native_handle();
  else if (tcp_)
    fd = tcp_->socket().native_handle();
  if (fd < 0) return -1;
  tcp_info info{};
  socklen_t len = sizeof info;
  if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &len) != 0) return -1;
  return info.tcpi_state;
}

void connection::close() {
  closed_ = true;
  beast::error_code ignored;
  if (ws_) beast::get_lowest_layer(*ws_).socket().close(ignored);
  if (tcp_) tcp_->socket().close(ignored);
}

// -- timed sends --------------------------------------------------------------------

/// One mover's schedule and the ring of its scheduled send times, indexed by
/// sequence number: acks find their send by id, observers by the position the
/// event carries (see `seq_of`).
struct mover {
  static constexpr size_t ring_size = 16384; // divides seq_space
  struct slot {
    uint64_t seq = UINT64_MAX;
    int64_t sched = 0;
    bool acked = false;
  };
  size_t conn = 0;
  int32_t piece = 0;
  uint64_t next_seq = 0;
  int64_t next_time = 0;
  int64_t period = 0;
  std::vector<slot> ring = std::vector<slot>(ring_size);
};

/// Room and fan-out: movers on a fixed schedule, latencies from the schedule.
class timed_driver : public driver {
public:
  using driver::driver;

  void setup_movers(size_t count, double rate_hz) {
    movers_.clear();
    piece_to_mover_.assign(static_cast<size_t>(opt.piece_base) + count + 1, -1);
    for (size_t m = 0; m < count; ++m) {
      mover mv;
      mv.conn = m;
      mv.piece = static_cast<int32_t>(static_cast<size_t>(opt.piece_base) + m);
      piece_to_mover_[static_cast<size_t>(mv.piece)] = static_cast<int>(m);
      movers_.push_back(std::move(mv));
    }
    set_rate(rate_hz);
  }

  void set_rate(double rate_hz) {
    auto period = static_cast<int64_t>(1e9 / rate_hz);
    auto t = now_ns() + 10'000'000;
    for (size_t m = 0; m < movers_.size(); ++m) {
      movers_[m].period = period;
      // Spread the movers evenly over one period.
      movers_[m].next_time
          = t + period * static_cast<int64_t>(m) / static_cast<int64_t>(movers_.size());
    }
  }

  /// Sends until `end`, then calls `done` after `drain`.
  /// `at_end` runs when the window closes (CPU is sampled there, before the
  /// drain), `done` after the drain.
  void run_schedule(int64_t window_start, int64_t end, std::function<void()> at_end,
                    std::function<void()> done) {
    window_start_ = window_start;
    window_end_ = end;
    sending_ = true;
    at_end_ = std::move(at_end);
    done_ = std::move(done);
    tick();
  }

  void tick() {
    auto now = now_ns();
    if (now >= window_end_) {
      sending_ = false;
      if (at_end_) at_end_();
      timer.expires_after(std::chrono::nanoseconds(static_cast<int64_t>(opt.drain * 1e9)));
      timer.async_wait([this](beast::error_code ec) {
        if (!ec && done_) done_();
      });
      return;
    }
    int64_t next = window_end_;
    for (auto& mv : movers_) {
      while (mv.next_time <= now && mv.next_time < window_end_) {
        send_one(mv, mv.next_time);
        mv.next_time += mv.period;
      }
      next = std::min(next, mv.next_time);
    }
    timer.expires_at(std::chrono::steady_clock::time_point(std::chrono::nanoseconds(next)));
    timer.async_wait([this](beast::error_code ec) {
      if (!ec) tick();
    });
  }

  void send_one(mover& mv, int64_t sched) {
    auto seq = mv.next_seq++;
    auto& slot = mv.ring[seq % mover::ring_size];
    slot.seq = seq;
    slot.sched = sched;
    slot.acked = false;
    auto& c = *conns[mv.conn];
    bool counted = sched >= window_start_;
    if (counted) ++sent;
    if (c.closed()) {
      if (counted) ++send_on_closed;
      return;
    }
    auto x = seq_x(seq);
    auto y = seq_y(seq);
    if (opt.proto == protocol::mqtt)
      c.send(mqtt_publish(opt.topic, mqtt_payload(mv.piece, x, y)));
    else
      c.send(encode_piece_op(opt.proto, opt.op, static_cast<int64_t>(seq) + 1, c.session(),
                             mv.piece, x, y));
  }

  void on_message(connection& c, const inbound& in) override {
    auto now = now_ns();
    // The slow client (S8) is not one of the "others" whose latency counts.
    if (static_cast<int>(c.index()) == opt.slow_client) {
      if (in.kind == inbound::event) ++slow_client_events;
      return;
    }
    if (in.kind == inbound::ack || in.kind == inbound::failure) {
      if (in.kind == inbound::failure) {
        ++failures;
      }
      if (in.id <= 0 || c.index() >= movers_.size()) return;
      auto& mv = movers_[c.index()];
      auto seq = static_cast<uint64_t>(in.id - 1);
      auto& slot = mv.ring[seq % mover::ring_size];
      if (slot.seq != seq || slot.acked) return;
      slot.acked = true;
      if (slot.sched >= window_start_ && slot.sched < window_end_ && in.kind == inbound::ack) {
        ++acked;
        ack_hist.record(static_cast<uint64_t>(std::max<int64_t>(0, now - slot.sched)));
      }
      return;
    }
    if (in.kind != inbound::event) return;
    if (in.piece < 0 || static_cast<size_t>(in.piece) >= piece_to_mover_.size()) return;
    auto m = piece_to_mover_[static_cast<size_t>(in.piece)];
    if (m < 0) return;
    auto& mv = movers_[static_cast<size_t>(m)];
    if (mv.conn == c.index()) return; // the mover's own PieceMoved
    auto enc = seq_of(in.x, in.y);
    if (enc < 0) {
      ++unmatched;
      return;
    }
    auto& slot = mv.ring[static_cast<size_t>(enc) % mover::ring_size];
    if (slot.seq == UINT64_MAX || static_cast<int64_t>(slot.seq % seq_space) != enc) {
      ++unmatched;
      return;
    }
    if (slot.sched < window_start_ || slot.sched >= window_end_) return;
    ++delivered;
    delivery_hist.record(static_cast<uint64_t>(std::max<int64_t>(0, now - slot.sched)));
  }

  void reset_counters() {
    ack_hist = histogram{};
    delivery_hist = histogram{};
    sent = acked = delivered = failures = unmatched = send_on_closed = 0;
  }

  histogram ack_hist;
  histogram delivery_hist;
  uint64_t sent = 0;
  uint64_t acked = 0;
  uint64_t delivered = 0;
  uint64_t failures = 0;
  uint64_t unmatched = 0;
  uint64_t send_on_closed = 0;
  uint64_t slow_client_events = 0;
  bool sending_ = false;

protected:
  std::vector<mover> movers_;
  std::vector<int> piece_to_mover_;
  int64_t window_start_ = 0;
  int64_t window_end_ = 0;
  std::function<void()> at_end_;
  std::function<void()> done_;
};

std::string q(const std::string& s) {
  return "\"" + s + "\"";
}

/// Waits (running the io_context) until every connection settled or the
/// timeout passed.
bool wait_connected(driver& d, size_t want, double timeout_s) {
  auto deadline = now_ns() + static_cast<int64_t>(timeout_s * 1e9);
  while (d.ready_count + d.failed_count < want && now_ns() < deadline)
    d.ioc.run_for(std::chrono::milliseconds(20));
  return d.ready_count == want;
}

std::string common_json(const options& o) {
  return "\"scenario\":" + q(o.scenario) + ",\"protocol\":" + q(to_string(o.proto))
      + ",\"port\":" + std::to_string(o.port);
}

// -- room (S1, S6, S8) -------------------------------------------------------------

int run_room(options opt) {
  timed_driver d(std::move(opt));
  auto& o = d.opt;
  auto n = static_cast<size_t>(o.clients);
  auto movers = o.movers < 0 ? n : static_cast<size_t>(o.movers);
  auto t_connect = now_ns();
  d.open(0, n);
  d.arm_keepalive();
  if (!wait_connected(d, n, o.connect_timeout)) {
    std::cout << "{" << common_json(o) << ",\"ok\":false,\"error\":"
              << q("connected " + std::to_string(d.ready_count) + "/" + std::to_string(n) + "; "
                   + d.first_error)
              << "}\n";
    return 1;
  }
  auto connect_s = seconds(now_ns() - t_connect);
  std::cerr << "room: " << n << " clients joined in " << connect_s << " s\n";
  d.setup_movers(movers, o.rate);
  auto start = now_ns();
  auto window_start = start + static_cast<int64_t>(o.warmup * 1e9);
  auto end = window_start + static_cast<int64_t>(o.duration * 1e9);
  cpu_window cpu;
  int64_t rss_max = 0;
  int64_t slow_cut_ns = 0;
  bool finished = false;
  // Warm-up samples are dropped: the window opens when the timer says so.
  net::steady_timer window_timer(d.ioc);
  window_timer.expires_at(
      std::chrono::steady_clock::time_point(std::chrono::nanoseconds(window_start)));
  window_timer.async_wait([&](beast::error_code ec) {
    if (!ec) cpu.start(o.server_pid);
  });
  if (o.slow_client >= 0 && static_cast<size_t>(o.slow_client) < n) {
    d.conns[static_cast<size_t>(o.slow_client)]->pause_reading(
        start + static_cast<int64_t>(o.slow_seconds * 1e9));
  }
  std::function<void()> sample;
  net::steady_timer sampler(d.ioc);
  sample = [&] {
    rss_max = std::max(rss_max, process_rss_bytes(o.server_pid));
    if (o.slow_client >= 0 && slow_cut_ns == 0) {
      auto& c = *d.conns[static_cast<size_t>(o.slow_client)];
      auto st = c.tcp_state();
      if (c.closed() || (st >= 0 && st != TCP_ESTABLISHED)) slow_cut_ns = now_ns() - start;
    }
    if (finished) return;
    sampler.expires_after(std::chrono::milliseconds(250));
    sampler.async_wait([&](beast::error_code ec) {
      if (!ec) sample();
    });
  };
  sample();
  std::string cpu_json;
  double server_cpu = 0;
  d.run_schedule(
      window_start, end,
      [&] {
        cpu_json = cpu.json(server_cpu);
      },
      [&] {
        finished = true;
        d.ioc.stop();
      });
  d.ioc.run();
  auto observers = n > 0 ? n - 1 : 0;
  uint64_t expected = d.sent * observers;
  if (o.slow_client >= 0) expected = d.sent * (observers > 0 ? observers - 1 : 0);
  double per_msg
      = d.delivered + d.acked > 0 ? server_cpu / static_cast<double>(d.delivered + d.acked) : 0;
  std::cout << "{" << common_json(o) << ",\"ok\":true,\"clients\":" << n << ",\"movers\":" << movers
            << ",\"rate_hz\":" << o.rate
            << ",\"op\":" << q(o.op == operation::move ? "move" : "drag")
            << ",\"connect_s\":" << connect_s << ",\"sent\":" << d.sent << ",\"acked\":" << d.acked
            << ",\"failures\":" << d.failures << ",\"delivered\":" << d.delivered
            << ",\"expected_deliveries\":" << expected << ",\"unmatched\":" << d.unmatched
            << ",\"closed\":" << d.closed_count << ",\"ack\":" << d.ack_hist.json_us()
            << ",\"delivery\":" << d.delivery_hist.json_us() << "," << cpu_json
            << ",\"server_cpu_s_per_msg\":" << per_msg << ",\"server_rss_max\":" << rss_max;
  if (o.slow_client >= 0)
    std::cout << ",\"slow_client\":" << o.slow_client
              << ",\"slow_cut_s\":" << (slow_cut_ns > 0 ? seconds(slow_cut_ns) : -1.0)
              << ",\"slow_client_events\":" << d.slow_client_events;
  std::cout << "}\n";
  return 0;
}

// -- fanout (S2) -----------------------------------------------------------------------

int run_fanout(options opt) {
  timed_driver d(std::move(opt));
  auto& o = d.opt;
  auto subscribers = static_cast<size_t>(o.clients);
  auto n = subscribers + 1; // connection 0 publishes
  auto t_connect = now_ns();
  d.open(0, n);
  d.arm_keepalive();
  if (!wait_connected(d, n, o.connect_timeout)) {
    std::cout << "{" << common_json(o) << ",\"ok\":false,\"error\":"
              << q("connected " + std::to_string(d.ready_count) + "/" + std::to_string(n) + "; "
                   + d.first_error)
              << "}\n";
    return 1;
  }
  std::cerr << "fanout: " << subscribers << " subscribers ready in "
            << seconds(now_ns() - t_connect) << " s\n";
  d.setup_movers(1, o.rate_steps.front());
  std::string steps;
  double best_rate = 0;
  double best_per_cpu = 0;
  for (auto rate : o.rate_steps) {
    d.reset_counters();
    d.set_rate(rate);
    auto start = now_ns();
    auto window_start = start + static_cast<int64_t>(o.warmup * 1e9);
    auto end = window_start + static_cast<int64_t>(o.duration * 1e9);
    cpu_window cpu;
    net::steady_timer window_timer(d.ioc);
    window_timer.expires_at(
        std::chrono::steady_clock::time_point(std::chrono::nanoseconds(window_start)));
    window_timer.async_wait([&](beast::error_code ec) {
      if (!ec) cpu.start(o.server_pid);
    });
    std::string cpu_json;
    double server_cpu = 0;
    d.ioc.restart();
    d.run_schedule(
        window_start, end,
        [&] {
          cpu_json = cpu.json(server_cpu);
        },
        [&] {
          d.ioc.stop();
        });
    d.ioc.run();
    d.ioc.restart();
    uint64_t expected = d.sent * subscribers;
    double delivered_per_cpu = server_cpu > 0 ? static_cast<double>(d.delivered) / server_cpu : 0;
    double p99_ms = static_cast<double>(d.delivery_hist.quantile(0.99)) / 1e6;
    bool dropped = d.delivered < expected || d.closed_count > 0;
    bool over = p99_ms > o.p99_limit_ms;
    std::cerr << "fanout: rate " << rate << "/s delivered " << d.delivered << "/" << expected
              << " p99 " << p99_ms << " ms, " << delivered_per_cpu << " frames/cpu-s\n";
    if (!steps.empty()) steps += ",";
    steps += "{\"rate_hz\":" + std::to_string(rate) + ",\"sent\":" + std::to_string(d.sent)
        + ",\"acked\":" + std::to_string(d.acked) + ",\"delivered\":" + std::to_string(d.delivered)
        + ",\"expected\":" + std::to_string(expected) + ",\"delivery\":" + d.delivery_hist.json_us()
        + ",\"ack\":" + d.ack_hist.json_us() + "," + cpu_json + ",\"delivered_per_server_cpu_s\":"
        + std::to_string(delivered_per_cpu) + ",\"dropped\":" + (dropped ? "true" : "false")
        + ",\"p99_over\":" + (over ? "true" : "false") + "}";
    if (dropped || over) break;
    best_rate = rate;
    best_per_cpu = std::max(best_per_cpu, delivered_per_cpu);
  }
  std::cout << "{" << common_json(o) << ",\"ok\":true,\"subscribers\":" << subscribers
            << ",\"max_ok_rate_hz\":" << best_rate
            << ",\"best_delivered_per_server_cpu_s\":" << best_per_cpu
            << ",\"server_rss\":" << process_rss_bytes(o.server_pid) << ",\"steps\":[" << steps
            << "]}\n";
  return 0;
}

// -- idle (S3) --------------------------------------------------------------------------

int run_idle(options opt) {
  driver d(std::move(opt));
  auto& o = d.opt;
  auto target = static_cast<size_t>(o.clients);
  auto base_rss = process_rss_bytes(o.server_pid);
  std::string steps;
  size_t opened = 0;
  d.arm_keepalive();
  auto t0 = now_ns();
  int64_t last_rss = base_rss;
  while (opened < target) {
    auto to = std::min(target, opened + static_cast<size_t>(o.step_conns));
    d.open(opened, to);
    wait_connected(d, to, o.connect_timeout);
    opened = to;
    // Let the server settle (joins, allocator) before sampling.
    auto settle_until = now_ns() + static_cast<int64_t>(o.settle * 1e9);
    while (now_ns() < settle_until)
      d.ioc.run_for(std::chrono::milliseconds(50));
    last_rss = process_rss_bytes(o.server_pid);
    std::cerr << "idle: " << d.ready_count << " ready, " << d.failed_count << " failed, server rss "
              << last_rss / 1048576 << " MiB\n";
    if (!steps.empty()) steps += ",";
    steps += "{\"connections\":" + std::to_string(d.ready_count - d.closed_count) + ",\"rss\":"
        + std::to_string(last_rss) + ",\"t_s\":" + std::to_string(seconds(now_ns() - t0)) + "}";
    if (d.failed_count > 0 || (o.rss_limit > 0 && last_rss >= o.rss_limit)) break;
  }
  auto live = d.ready_count - d.closed_count;
  double per_conn
      = live > 0 ? static_cast<double>(last_rss - base_rss) / static_cast<double>(live) : 0;
  std::cout << "{" << common_json(o) << ",\"ok\":" << (d.failed_count == 0 ? "true" : "false")
            << ",\"connections\":" << live << ",\"failed\":" << d.failed_count
            << ",\"error\":" << q(d.first_error) << ",\"base_rss\":" << base_rss
            << ",\"rss\":" << last_rss << ",\"rss_per_connection\":" << per_conn << ",\"steps\":["
            << steps << "]}\n";
  for (auto& c : d.conns)
    if (c) c->close();
  return d.failed_count == 0 ? 0 : 1;
}

// -- startup (S5) ---------------------------------------------------------------------

class startup_driver : public driver {
public:
  using driver::driver;
  void on_message(connection&, const inbound& in) override {
    if ((in.kind == inbound::ack || in.kind == inbound::failure) && in.id == 1) {
      move_ns = now_ns();
      move_ok = in.kind == inbound::ack;
      ioc.stop();
    }
  }
  int64_t move_ns = 0;
  bool move_ok = false;
};

int run_startup(options opt) {
  if (opt.exec_argv.empty()) usage("startup needs the server command after --");
  startup_driver d(std::move(opt));
  auto& o = d.opt;
  auto t0 = now_ns();
  pid_t child = fork();
  if (child == 0) {
    std::vector<char*> args;
    for (auto& a : o.exec_argv)
      args.push_back(a.data());
    args.push_back(nullptr);
    execvp(args[0], args.data());
    std::perror("execvp");
    _exit(127);
  }
  // Listening: the first moment a TCP connect succeeds (polled every 1 ms).
  int64_t listen_ns = 0;
  while (now_ns() - t0 < static_cast<int64_t>(o.connect_timeout * 1e9)) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(o.port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int rc = connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa);
    ::close(fd);
    if (rc == 0) {
      listen_ns = now_ns();
      break;
    }
    int status = 0;
    if (waitpid(child, &status, WNOHANG) == child) break;
    usleep(1000);
  }
  int64_t join_ns = 0;
  if (listen_ns > 0) {
    d.open(0, 1);
    wait_connected(d, 1, o.connect_timeout);
    if (d.ready_count == 1) {
      join_ns = d.conns[0]->ready_ns;
      auto& c = *d.conns[0];
      // A drop far from the board: acknowledged once durable.
      c.send(encode_piece_op(o.proto, operation::move, 1, c.session(), o.piece_base, 20, 20));
      d.ioc.restart();
      d.ioc.run_for(std::chrono::seconds(static_cast<int64_t>(o.connect_timeout)));
    }
  }
  auto rss = process_rss_bytes(child);
  kill(child, SIGTERM);
  int status = 0;
  waitpid(child, &status, 0);
  auto ms = [&](int64_t t) {
    return t > 0 ? static_cast<double>(t - t0) / 1e6 : -1.0;
  };
  bool ok = listen_ns > 0 && join_ns > 0 && d.move_ok;
  std::cout << "{" << common_json(o) << ",\"ok\":" << (ok ? "true" : "false")
            << ",\"listening_ms\":" << ms(listen_ns) << ",\"joined_ms\":" << ms(join_ns)
            << ",\"first_move_ms\":" << ms(d.move_ns) << ",\"rss_after\":" << rss
            << ",\"error\":" << q(d.first_error) << "}\n";
  return ok ? 0 : 1;
}

// -- floor ----------------------------------------------------------------------------

void pin_to(int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(static_cast<size_t>(cpu), &set);
  sched_setaffinity(0, sizeof set, &set);
}

/// Round trips of 64-byte messages over loopback TCP, echo thread on
/// `server_cpu`, this thread on `client_cpu`.
histogram loopback_rtt(int client_cpu, int server_cpu, int iterations) {
  int lfd = socket(AF_INET, SOCK_STREAM, 0);
  int one = 1;
  setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(lfd, reinterpret_cast<sockaddr*>(&sa), sizeof sa);
  socklen_t len = sizeof sa;
  getsockname(lfd, reinterpret_cast<sockaddr*>(&sa), &len);
  listen(lfd, 1);
  std::thread echo([&] {
    pin_to(server_cpu);
    int fd = accept(lfd, nullptr, nullptr);
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    char buf[64];
    for (;;) {
      ssize_t got = 0;
      while (got < 64) {
        auto r = read(fd, buf + got, static_cast<size_t>(64 - got));
        if (r <= 0) {
          ::close(fd);
          return;
        }
        got += r;
      }
      if (write(fd, buf, 64) != 64) break;
    }
    ::close(fd);
  });
  pin_to(client_cpu);
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa);
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  histogram h;
  char buf[64] = {};
  for (int i = 0; i < iterations + 1000; ++i) {
    auto t = now_ns();
    if (write(fd, buf, 64) != 64) break;
    ssize_t got = 0;
    while (got < 64) {
      auto r = read(fd, buf + got, static_cast<size_t>(64 - got));
      if (r <= 0) break;
      got += r;
    }
    if (i >= 1000) h.record(static_cast<uint64_t>(now_ns() - t));
  }
  ::close(fd);
  echo.join();
  ::close(lfd);
  return h;
}

int run_floor(const options& o) {
  int a = o.floor_cpus.size() > 0 ? o.floor_cpus[0] : 0;
  int b = o.floor_cpus.size() > 1 ? o.floor_cpus[1] : a;
  auto cross = loopback_rtt(a, b, o.floor_iterations);
  auto same = loopback_rtt(a, a, o.floor_iterations / 4);
  pin_to(a);
  constexpr int calls = 1'000'000;
  auto t = now_ns();
  for (int i = 0; i < calls; ++i)
    syscall(SYS_getppid);
  double syscall_ns = static_cast<double>(now_ns() - t) / calls;
  // One write() per 64-byte frame versus one writev() of 16 frames, into a
  // socket pair drained by nothing (small enough not to fill it).
  int sv[2];
  socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
  int big = 8 << 20;
  setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &big, sizeof big);
  setsockopt(sv[1], SOL_SOCKET, SO_RCVBUF, &big, sizeof big);
  char frame[64] = {};
  constexpr int frames = 16'000;
  std::vector<char> sink(1 << 20);
  t = now_ns();
  for (int i = 0; i < frames; ++i) {
    if (write(sv[0], frame, 64) != 64) break;
    if (i % 1000 == 999)
      while (recv(sv[1], sink.data(), sink.size(), MSG_DONTWAIT) > 0) {
      }
  }
  double write_ns = static_cast<double>(now_ns() - t) / frames;
  iovec iov[16];
  for (auto& v : iov)
    v = {frame, 64};
  t = now_ns();
  for (int i = 0; i < frames / 16; ++i) {
    if (writev(sv[0], iov, 16) != 64 * 16) break;
    if (i % 60 == 59)
      while (recv(sv[1], sink.data(), sink.size(), MSG_DONTWAIT) > 0) {
      }
  }
  double writev_ns = static_cast<double>(now_ns() - t) / frames;
  ::close(sv[0]);
  ::close(sv[1]);
  char buf[512];
  std::snprintf(buf, sizeof buf,
                "{\"scenario\":\"floor\",\"ok\":true,\"cpus\":[%d,%d],\"syscall_ns\":%.1f,"
                "\"write_64b_ns_per_frame\":%.1f,\"writev16_ns_per_frame\":%.1f,",
                a, b, syscall_ns, write_ns, writev_ns);
  std::cout << buf << "\"loopback_rtt_cross_cpu\":" << cross.json_us()
            << ",\"loopback_rtt_same_cpu\":" << same.json_us() << "}\n";
  return 0;
}

} // namespace puzzle::bench

int main(int argc, char** argv) {
  using namespace puzzle::bench;
  std::signal(SIGPIPE, SIG_IGN);
  // Thousands of sockets: take the hard limit.
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
  auto opt = parse_options(argc, argv);
  int rc = 2;
  if (opt.scenario == "room")
    rc = run_room(opt);
  else if (opt.scenario == "fanout") {
    if (opt.movers < 0) opt.movers = 1;
    rc = run_fanout(opt);
  } else if (opt.scenario == "idle")
    rc = run_idle(opt);
  else if (opt.scenario == "startup")
    rc = run_startup(opt);
  else if (opt.scenario == "floor")
    rc = run_floor(opt);
  else
    usage("unknown scenario " + opt.scenario);
  // Skip tearing down thousands of sockets and handlers one by one.
  std::cout.flush();
  std::fflush(nullptr);
  _exit(rc);
}
