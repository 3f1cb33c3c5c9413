#include "transports/http/server.hpp"

#include <atomic>
#include <exception>
#include <limits>
#include <mutex>
#include <optional>
#include <sstream>
#include <string>
#include <unordered_map>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/bind_handler.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/websocket/rfc6455.hpp>
#include <openssl/ssl.h>
#include <spdlog/spdlog.h>

#include "config/logging.hpp"
#include "transports/http/net_stream.hpp"

namespace puzzle::transports::http {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;
using error_code = boost::system::error_code;

namespace {

/// Bytes asked for at once while waiting for the next request.
constexpr std::size_t read_chunk = 4096;

/// Pause after a failed accept (e.g. out of file descriptors) so the loop
/// does not spin while the condition lasts.
constexpr std::chrono::milliseconds accept_retry_delay{100};

/// How long browsers may cache a preflight answer, in seconds.
constexpr std::string_view preflight_max_age = "600";

/// Request headers a browser may send cross-origin (SignalR's among them).
constexpr std::string_view cors_allowed_headers
    = "x-requested-with, x-signalr-user-agent, authorization, content-type";

/// The interim answer to `Expect: 100-continue` (RFC 9110 section 10.1.1).
constexpr std::string_view continue_answer = "HTTP/1.1 100 Continue\r\n\r\n";

/// The key of the server-wide body limit, as errors name it.
constexpr std::string_view body_limit_key = "http.body-limit";

std::shared_ptr<spdlog::logger> make_logger() {
  return config::module_logger("puzzle.transport.http");
}

/// Errors that end a connection in the normal course of things: the peer
/// closed or reset it, a timeout fired, or we closed it ourselves (stop,
/// shutdown). They are logged at debug level only.
bool is_benign(const error_code& ec) {
  return ec == net::error::operation_aborted || ec == net::error::eof
      || ec == bhttp::error::end_of_stream || ec == beast::error::timeout
      || ec == net::error::connection_reset || ec == net::error::broken_pipe
      || ec == net::error::not_connected || ec == net::error::bad_descriptor;
}

const boost::system::error_category& http_category() {
  return bhttp::make_error_code(bhttp::error::bad_target).category();
}

} // namespace

namespace detail {

class http_session;

/// Open sockets per client address (`http.max-connections-per-address`).
/// Entries exist only while their address has a socket open, so the table
/// is never larger than the number of open sockets.
class address_table {
public:
  explicit address_table(uint32_t limit) : limit_(limit) {
    // nop
  }

  /// Counts one more socket of `address`; false (and nothing counted) when
  /// the address already has `limit` open.
  bool claim(const std::string& address) {
    std::lock_guard<std::mutex> guard{mtx_};
    auto& n = open_[address];
    if (n >= limit_) {
      if (n == 0) open_.erase(address);
      return false;
    }
    ++n;
    return true;
  }

  void release(const std::string& address) {
    std::lock_guard<std::mutex> guard{mtx_};
    auto i = open_.find(address);
    if (i == open_.end()) return;
    if (--i->second == 0) open_.erase(i);
  }

  std::size_t open_from(const std::string& address) const {
    std::lock_guard<std::mutex> guard{mtx_};
    auto i = open_.find(address);
    return i == open_.end() ? 0 : i->second;
  }

  uint32_t limit() const noexcept {
    return limit_;
  }

private:
  uint32_t limit_;
  mutable std::mutex mtx_;
  std::unordered_map<std::string, std::size_t> open_;
};

/// One accepted socket's place in the address table, released when the
/// last copy of the socket's executor goes, i.e. when the socket is gone,
/// whichever endpoint (HTTP or an upgrade handler) owned it last.
struct address_slot {
  explicit address_slot(std::shared_ptr<address_table> t)
      : table(std::move(t)) {
    // nop
  }

  ~address_slot() {
    if (claimed) table->release(address);
  }

  address_slot(const address_slot&) = delete;
  address_slot& operator=(const address_slot&) = delete;

  std::shared_ptr<address_table> table;
  std::string address;
  bool claimed = false;
};

/// Forwards everything to `Inner` (the connection's strand) and carries the
/// socket's address slot. Sockets, their timers and WebSocket streams all
/// keep copies of their executor, so the slot lives exactly as long as the
/// connection without any endpoint knowing about it; the executor type
/// they see stays `any_io_executor`.
template<class Inner>
class counted_executor {
public:
  counted_executor(Inner inner, std::shared_ptr<address_slot> slot) noexcept
      : inner_(std::move(inner)), slot_(std::move(slot)) {
    // nop
  }

  template<class Property>
  auto query(const Property& p) const
      noexcept(noexcept(net::query(std::declval<const Inner&>(), p)))
          -> decltype(net::query(std::declval<const Inner&>(), p)) {
    return net::query(inner_, p);
  }

  template<class Property>
  auto require(const Property& p) const -> counted_executor<
      std::decay_t<decltype(net::require(std::declval<const Inner&>(), p))>> {
    return {net::require(inner_, p), slot_};
  }

  template<class Property>
  auto prefer(const Property& p) const -> counted_executor<
      std::decay_t<decltype(net::prefer(std::declval<const Inner&>(), p))>> {
    return {net::prefer(inner_, p), slot_};
  }

  template<class F>
  void execute(F&& f) const {
    inner_.execute(std::forward<F>(f));
  }

  friend bool operator==(const counted_executor& a,
                         const counted_executor& b) noexcept {
    return a.inner_ == b.inner_ && a.slot_ == b.slot_;
  }

  friend bool operator!=(const counted_executor& a,
                         const counted_executor& b) noexcept {
    return !(a == b);
  }

private:
  template<class>
  friend class counted_executor;

  Inner inner_;
  std::shared_ptr<address_slot> slot_;
};

/// What every connection of one server shares. Connections hold it by
/// `shared_ptr`, so the I/O context outlives every socket on it.
struct server_core {
  server_core(const config::http_settings& cfg, std::shared_ptr<router> r)
      : settings(cfg), routes(std::move(r)), log(make_logger()),
        addresses(
            std::make_shared<address_table>(cfg.max_connections_per_address)) {
    // nop
  }

  bool origin_allowed(std::string_view origin) const {
    if (origin.empty()) return false;
    for (auto& x : settings.cors_origins)
      if (x == "*" || x == origin) return true;
    return false;
  }

  std::size_t open_connections() const {
    auto n = http_connections.load();
    if (upgraded_count) n += upgraded_count();
    return n;
  }

  uint64_t add(const std::shared_ptr<http_session>& s) {
    std::lock_guard<std::mutex> guard{mtx};
    auto id = next_id++;
    sessions.emplace(id, s);
    return id;
  }

  void remove(uint64_t id) {
    std::lock_guard<std::mutex> guard{mtx};
    sessions.erase(id);
  }

  config::http_settings settings;
  std::shared_ptr<router> routes;
  std::shared_ptr<spdlog::logger> log;
  /// Held apart from the core: address slots live in executors, which may
  /// outlive the core (sockets of upgrade handlers).
  std::shared_ptr<address_table> addresses;
  /// Refusals by address since the last log line (logged once a second).
  std::atomic<uint64_t> address_refusals{0};
  std::atomic<int64_t> address_refusal_logged{0};
  net::io_context ioc;
  std::atomic<std::size_t> http_connections{0};
  std::atomic<std::size_t> refusing{0};
  std::atomic<bool> stopped{false};
  std::function<std::size_t()> upgraded_count;
  std::shared_ptr<rate_limit_gate> gate;
  std::function<std::string(const request&)> user_of;
  /// Set when the server speaks TLS only (`http.tls-cert`).
  std::shared_ptr<net::ssl::context> tls;
  std::mutex mtx;
  uint64_t next_id = 1;
  std::unordered_map<uint64_t, std::weak_ptr<http_session>> sessions;
};

/// One HTTP connection: reads a request, lets a handler answer it, writes
/// the answer, repeats while keep-alive holds.
class http_session : public std::enable_shared_from_this<http_session> {
public:
  enum class mode { serve, refuse };

  http_session(std::shared_ptr<server_core> core, tcp::socket&& socket, mode m)
      : core_(std::move(core)), stream_(std::move(socket), core_->tls.get()),
        mode_(m) {
    error_code ec;
    auto peer = tcp_socket().remote_endpoint(ec);
    if (!ec) remote_address_ = peer.address().to_string();
    if (mode_ == mode::serve)
      ++core_->http_connections;
    else
      ++core_->refusing;
  }

  ~http_session() {
    release_slot();
  }

  void run() {
    id_ = core_->add(shared_from_this());
    // The TLS handshake and then the first request must arrive whole within
    // request_timeout: a client that never finishes either is cut off.
    net::dispatch(
        stream_.get_executor(),
        beast::bind_front_handler(&http_session::start, shared_from_this()));
  }

  /// Posts an answer to the strand; drops it once the server stopped.
  void post_response(response&& res) {
    if (core_->stopped) return;
    net::post(stream_.get_executor(),
              [self = shared_from_this(), r = std::move(res)]() mutable {
                self->respond(std::move(r));
              });
  }

  /// Posts a 500 for a handler that dropped its responder.
  void post_internal_error(std::string_view message) {
    post_response(make_error(bhttp::status::internal_server_error,
                             to_code(errc::internal), message));
  }

  /// Closes the socket; only while no I/O thread runs (server::stop).
  void close_socket() {
    error_code ec;
    tcp_socket().close(ec);
  }

private:
  struct request_meta {
    unsigned version = 11;
    bool keep_alive = false;
    bhttp::verb method = bhttp::verb::unknown;
    std::string origin;
  };

  void release_slot() {
    if (released_) return;
    released_ = true;
    if (mode_ == mode::serve)
      --core_->http_connections;
    else
      --core_->refusing;
    if (id_ != 0) core_->remove(id_);
  }

  tcp::socket& tcp_socket() {
    return stream_.next_layer().socket();
  }

  void start() {
    if (!stream_.is_tls()) return do_read();
    stream_.next_layer().expires_after(core_->settings.request_timeout);
    stream_.async_handshake(beast::bind_front_handler(
        &http_session::on_handshake, shared_from_this()));
  }

  void on_handshake(error_code ec) {
    // A failed handshake (plain HTTP on the TLS port, an unknown CA, a
    // client that stopped) is the client's problem: debug level only.
    if (ec) {
      core_->log->debug("event=tls_handshake_failed reason={}", ec.message());
      error_code ignored;
      tcp_socket().close(ignored);
      return;
    }
    do_read();
  }

  void fail(const error_code& ec, const char* what) {
    if (is_benign(ec))
      core_->log->debug("event=http_close what={} reason={}", what,
                        ec.message());
    else
      core_->log->info("event=http_error what={} reason={}", what,
                       ec.message());
    error_code ignored;
    tcp_socket().shutdown(tcp::socket::shutdown_both, ignored);
  }

  // -- reading ---------------------------------------------------------------

  /// Waits for the first bytes of the next request for at most idle_timeout.
  void do_wait() {
    stream_.next_layer().expires_after(core_->settings.idle_timeout);
    stream_.async_read_some(
        buffer_.prepare(read_chunk),
        beast::bind_front_handler(&http_session::on_wait, shared_from_this()));
  }

  void on_wait(error_code ec, std::size_t n) {
    if (ec) return fail(ec, "wait");
    buffer_.commit(n);
    do_read();
  }

  /// Reads the headers of the next request first: its route decides how
  /// large a body it may have (`route_options::body_limit`).
  void do_read() {
    parser_.emplace();
    parser_->header_limit(core_->settings.header_limit);
    // Beast checks Content-Length against the body limit when the headers
    // are complete; on_header does that check with the route's limit.
    parser_->body_limit(std::numeric_limits<std::uint64_t>::max());
    body_limit_ = core_->settings.body_limit;
    body_limit_key_ = body_limit_key;
    stream_.next_layer().expires_after(core_->settings.request_timeout);
    bhttp::async_read_header(stream_, buffer_, *parser_,
                             beast::bind_front_handler(&http_session::on_header,
                                                       shared_from_this()));
  }

  void on_header(error_code ec, std::size_t) {
    if (ec || parser_->is_done()) return on_read(ec, 0);
    auto& req = parser_->get();
    std::string_view target{req.target().data(), req.target().size()};
    auto found = core_->routes->find(req.method(), path_of(target));
    if (found.result == router::outcome::found && found.options != nullptr
        && found.options->body_limit) {
      body_limit_ = *found.options->body_limit;
      body_limit_key_ = found.options->body_limit_key;
    }
    // A declared length over the limit is refused before any body byte is
    // read (or, with Expect: 100-continue, sent).
    if (auto length = parser_->content_length();
        length && *length > body_limit_) {
      declared_length_ = *length;
      return on_read(bhttp::error::body_limit, 0);
    }
    parser_->body_limit(body_limit_);
    auto expect = req.find(bhttp::field::expect);
    if (expect != req.end() && req.version() >= 11
        && beast::iequals(expect->value(), "100-continue")) {
      net::async_write(
          stream_, net::buffer(continue_answer.data(), continue_answer.size()),
          beast::bind_front_handler(&http_session::on_continue,
                                    shared_from_this()));
      return;
    }
    do_read_body();
  }

  void on_continue(error_code ec, std::size_t) {
    if (ec) return fail(ec, "continue");
    do_read_body();
  }

  void do_read_body() {
    bhttp::async_read(
        stream_, buffer_, *parser_,
        beast::bind_front_handler(&http_session::on_read, shared_from_this()));
  }

  void on_read(error_code ec, std::size_t) {
    if (ec == bhttp::error::header_limit) {
      // Nothing of the request is usable: answer and close.
      meta_ = request_meta{};
      return respond_and_close(make_error(
          bhttp::status::request_header_fields_too_large,
          to_code(errc::limit_exceeded),
          "request headers exceed http.header-limit ("
              + std::to_string(core_->settings.header_limit) + " bytes)"));
    }
    if (ec == bhttp::error::body_limit) {
      capture_meta(parser_->get());
      return respond_and_close(make_error(
          bhttp::status::payload_too_large, to_code(errc::limit_exceeded),
          "request body exceeds " + body_limit_key_ + " ("
              + std::to_string(body_limit_) + " bytes)"));
    }
    if (ec && ec.category() == http_category()
        && ec != bhttp::error::end_of_stream
        && ec != bhttp::error::partial_message) {
      meta_ = request_meta{};
      return respond_and_close(make_error(
          bhttp::status::bad_request, to_code(errc::invalid_argument),
          "malformed HTTP request: " + ec.message()));
    }
    if (ec) return fail(ec, "read");
    handle_request(parser_->release());
  }

  // -- dispatching -----------------------------------------------------------

  void capture_meta(const request& req) {
    meta_.version = req.version();
    meta_.keep_alive = req.keep_alive();
    meta_.method = req.method();
    auto it = req.find(bhttp::field::origin);
    meta_.origin = it == req.end() ? std::string{} : std::string{it->value()};
  }

  void handle_request(request&& req) {
    capture_meta(req);
    if (mode_ == mode::refuse)
      return respond_and_close(make_error(
          bhttp::status::service_unavailable, to_code(errc::limit_exceeded),
          "too many connections (http.max-connections = "
              + std::to_string(core_->settings.max_connections) + ")"));
    auto target = std::string{req.target()};
    auto path = path_of(target);
    auto& routes = *core_->routes;
    if (core_->gate && !admitted(req, path)) return;
    if (beast::websocket::is_upgrade(req)) {
      if (auto h = routes.find_upgrade(path))
        return hand_over(*h, std::move(req));
      return respond(make_error(bhttp::status::not_found, "NOT_FOUND",
                                "no WebSocket endpoint at this path"));
    }
    auto found = routes.find(req.method(), path);
    if (req.method() == bhttp::verb::options
        && found.result != router::outcome::found)
      return preflight(path);
    switch (found.result) {
      case router::outcome::found:
        return dispatch(*found.target, std::move(req), std::move(found.match));
      case router::outcome::method_not_allowed: {
        auto res = make_error(bhttp::status::method_not_allowed,
                              "METHOD_NOT_ALLOWED",
                              "method not allowed on this path");
        res.set(bhttp::field::allow, found.allow);
        return respond(std::move(res));
      }
      case router::outcome::not_found: break;
    }
    auto fallback = routes.fallback();
    bool get
        = req.method() == bhttp::verb::get || req.method() == bhttp::verb::head;
    if (get && fallback != nullptr)
      return dispatch(*fallback, std::move(req), route_match{});
    respond(make_error(bhttp::status::not_found, "NOT_FOUND",
                       "no resource at this path"));
  }

  /// Counts the request against its client's HTTP rate limits; answers 429
  /// with `Retry-After` (whole seconds, rounded up) when it is refused.
  bool admitted(const request& req, std::string_view path) {
    auto method = req.method_string();
    auto group = group_of({method.data(), method.size()}, path,
                          beast::websocket::is_upgrade(req));
    if (group == route_group::none) return true;
    auto user = core_->user_of ? core_->user_of(req) : std::string{};
    auto wait = core_->gate->admit(group, remote_address_, user);
    if (!wait) return true;
    auto seconds = (wait->count() + 999) / 1000;
    auto res = make_error(
        bhttp::status::too_many_requests, to_code(errc::rate_limited),
        "too many requests; retry in " + std::to_string(seconds) + " s ("
            + std::string{key_of(group)} + ")");
    res.set(bhttp::field::retry_after, std::to_string(seconds));
    respond(std::move(res));
    return false;
  }

  /// Answers OPTIONS: the allowed methods, plus CORS grants for an allowed
  /// origin (a preflight). Disallowed origins get no grant, so the browser
  /// blocks the real request.
  void preflight(std::string_view path) {
    auto allow = core_->routes->allowed_methods(path);
    if (allow.empty())
      return respond(make_error(bhttp::status::not_found, "NOT_FOUND",
                                "no resource at this path"));
    response res{bhttp::status::no_content, meta_.version};
    res.set(bhttp::field::allow, allow);
    if (core_->origin_allowed(meta_.origin)) {
      res.set(bhttp::field::access_control_allow_methods, allow);
      res.set(bhttp::field::access_control_allow_headers,
              to_beast(cors_allowed_headers));
      res.set(bhttp::field::access_control_max_age,
              to_beast(preflight_max_age));
    }
    respond(std::move(res));
  }

  /// Shared by all copies of one responder: answers at most once, and
  /// answers 500 when the last copy dies unanswered.
  struct reply_state {
    explicit reply_state(std::shared_ptr<http_session> s)
        : session(std::move(s)) {
      // nop
    }

    ~reply_state() {
      if (!done.exchange(true))
        session->post_internal_error("the request was dropped unanswered");
    }

    void send(response&& res) {
      if (!done.exchange(true)) session->post_response(std::move(res));
    }

    std::shared_ptr<http_session> session;
    std::atomic<bool> done{false};
  };

  void dispatch(const handler& h, request&& req, route_match match) {
    auto state = std::make_shared<reply_state>(shared_from_this());
    responder reply = [state](response&& res) {
      state->send(std::move(res));
    };
    try {
      h(std::move(req), std::move(match), std::move(reply));
    } catch (const std::exception& e) {
      core_->log->error("event=handler_exception what=\"{}\"", e.what());
      state->send(make_error(bhttp::status::internal_server_error,
                             to_code(errc::internal), "internal error"));
    } catch (...) {
      core_->log->error("event=handler_exception what=unknown");
      state->send(make_error(bhttp::status::internal_server_error,
                             to_code(errc::internal), "internal error"));
    }
  }

  /// Gives the socket to a WebSocket endpoint. A client waits for the 101
  /// answer before it sends frames, so `buffer_` holds nothing of theirs.
  void hand_over(const upgrade_handler& h, request&& req) {
    stream_.next_layer().expires_never();
    release_slot();
    try {
      h(std::move(stream_), std::move(req));
    } catch (const std::exception& e) {
      core_->log->error("event=upgrade_exception what=\"{}\"", e.what());
    } catch (...) {
      core_->log->error("event=upgrade_exception what=unknown");
    }
  }

  // -- writing ---------------------------------------------------------------

  void decorate(response& res, bool close) {
    bool keep = meta_.keep_alive && res.keep_alive() && !close;
    res.version(meta_.version);
    res.keep_alive(keep);
    res.set("X-Content-Type-Options", "nosniff");
    res.set("Referrer-Policy", "no-referrer");
    res.set("X-Frame-Options", "DENY");
    // With CORS configured, answers differ by Origin: caches must know.
    if (!core_->settings.cors_origins.empty())
      res.set(bhttp::field::vary, "Origin");
    if (core_->origin_allowed(meta_.origin)) {
      res.set(bhttp::field::access_control_allow_origin, meta_.origin);
      res.set(bhttp::field::access_control_allow_credentials, "true");
      res.set(bhttp::field::access_control_expose_headers, "Location");
    }
    auto code = res.result_int();
    if (code < 200 || code == 204 || code == 304) {
      // RFC 9110: no body and no Content-Length on these.
      res.body().clear();
      res.erase(bhttp::field::content_length);
      res.erase(bhttp::field::transfer_encoding);
    } else if (meta_.method == bhttp::verb::head) {
      // HEAD: the GET answer's headers, its length, no body.
      res.content_length(res.body().size());
      res.body().clear();
    } else {
      res.prepare_payload();
    }
  }

  void respond(response&& res) {
    write(std::move(res), false);
  }

  void respond_and_close(response&& res) {
    write(std::move(res), true);
  }

  void write(response&& res, bool close) {
    res_ = std::move(res);
    decorate(res_, close);
    stream_.next_layer().expires_after(core_->settings.request_timeout);
    bhttp::async_write(stream_, res_,
                       beast::bind_front_handler(&http_session::on_write,
                                                 shared_from_this(), close,
                                                 !res_.keep_alive()));
  }

  void on_write(bool linger, bool close, error_code ec, std::size_t) {
    if (ec) return fail(ec, "write");
    if (linger) return do_linger();
    if (close) return do_close();
    // Pipelined bytes already read go straight to the parser.
    if (buffer_.size() > 0)
      do_read();
    else
      do_wait();
  }

  /// Ends a connection after an answer with `Connection: close`.
  void do_close() {
    error_code ec;
    tcp_socket().shutdown(tcp::socket::shutdown_send, ec);
    // The socket closes when the last handler lets go of the session.
  }

  /// After an error answer the client may still be sending (a body over
  /// the limit): closing now would reset the connection and could destroy
  /// the answer in flight, so we read and discard until the client closes,
  /// at most request_timeout and the body limit of the request's route (or
  /// its declared length, up to the larger of max_linger_factor body
  /// limits and max_linger_bytes).
  void do_linger() {
    error_code ec;
    tcp_socket().shutdown(tcp::socket::shutdown_send, ec);
    buffer_.clear();
    stream_.next_layer().expires_after(core_->settings.request_timeout);
    stream_.async_read_some(buffer_.prepare(read_chunk),
                            beast::bind_front_handler(&http_session::on_linger,
                                                      shared_from_this()));
  }

  void on_linger(error_code ec, std::size_t n) {
    if (ec) return fail(ec, "linger");
    lingered_ += n;
    // A client that declared its (too large) length is sending it whole
    // before it reads our answer: let it finish, up to a bound, so that it
    // sees the 413 instead of a reset.
    auto budget = std::max(
        body_limit_,
        std::min(declared_length_,
                 std::max(max_linger_factor * body_limit_, max_linger_bytes)));
    if (lingered_ > budget) return fail(beast::error::timeout, "linger");
    buffer_.clear();
    stream_.async_read_some(buffer_.prepare(read_chunk),
                            beast::bind_front_handler(&http_session::on_linger,
                                                      shared_from_this()));
  }

  std::shared_ptr<server_core> core_;
  net_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  response res_;
  request_meta meta_;
  /// The body limit of the request being read, and its config key.
  uint64_t body_limit_ = 0;
  std::string body_limit_key_;
  mode mode_;
  std::string remote_address_; ///< The client's IP, for rate limits.
  bool released_ = false;
  uint64_t id_ = 0;
  uint64_t lingered_ = 0;
  /// The Content-Length of a request refused for its size.
  uint64_t declared_length_ = 0;
  /// Lingering reads a declared length up to the larger of these.
  static constexpr uint64_t max_linger_factor = 8;
  static constexpr uint64_t max_linger_bytes = 64 << 20;
};

/// The accept loop.
class listener : public std::enable_shared_from_this<listener> {
public:
  explicit listener(std::shared_ptr<server_core> core)
      : core_(std::move(core)), acceptor_(core_->ioc), retry_(core_->ioc) {
    // nop
  }

  error_code open(const tcp::endpoint& ep) {
    error_code ec;
    acceptor_.open(ep.protocol(), ec);
    if (!ec) acceptor_.set_option(net::socket_base::reuse_address(true), ec);
    if (!ec) acceptor_.bind(ep, ec);
    if (!ec) acceptor_.listen(net::socket_base::max_listen_connections, ec);
    return ec;
  }

  uint16_t port() const {
    error_code ec;
    auto ep = acceptor_.local_endpoint(ec);
    return ec ? 0 : ep.port();
  }

  void run() {
    net::dispatch(
        acceptor_.get_executor(),
        beast::bind_front_handler(&listener::do_accept, shared_from_this()));
  }

  /// Only while no I/O thread runs (server::stop).
  void close() {
    error_code ec;
    acceptor_.close(ec);
    retry_.cancel();
  }

private:
  void do_accept() {
    if (core_->addresses->limit() == 0) {
      acceptor_.async_accept(net::make_strand(core_->ioc),
                             beast::bind_front_handler(&listener::on_accept,
                                                       shared_from_this(),
                                                       nullptr));
      return;
    }
    // The slot rides in the socket's executor; its address is known (and
    // counted) once the accept completes.
    auto slot = std::make_shared<address_slot>(core_->addresses);
    net::any_io_executor ex
        = counted_executor<decltype(net::make_strand(core_->ioc))>{
            net::make_strand(core_->ioc), slot};
    acceptor_.async_accept(ex,
                           beast::bind_front_handler(&listener::on_accept,
                                                     shared_from_this(),
                                                     std::move(slot)));
  }

  void on_accept(std::shared_ptr<address_slot> slot, error_code ec,
                 tcp::socket socket) {
    if (ec == net::error::operation_aborted || !acceptor_.is_open()) return;
    if (ec) {
      core_->log->warn("event=accept_failed reason=\"{}\"", ec.message());
      retry_.expires_after(accept_retry_delay);
      retry_.async_wait([self = shared_from_this()](error_code wait_ec) {
        if (!wait_ec) self->do_accept();
      });
      return;
    }
    if (slot == nullptr || claim(*slot, socket)) admit(std::move(socket));
    do_accept();
  }

  /// Counts the socket against its address; refuses it, before reading
  /// anything of it, when the address is at its limit.
  bool claim(address_slot& slot, tcp::socket& socket) {
    error_code ec;
    auto peer = socket.remote_endpoint(ec);
    if (ec) {
      // Already gone (reset before we got to it).
      socket.close(ec);
      return false;
    }
    slot.address = peer.address().to_string();
    if (core_->addresses->claim(slot.address)) {
      slot.claimed = true;
      return true;
    }
    log_address_refusal(slot.address);
    refuse(std::move(socket));
    return false;
  }

  /// One log line a second at most: a flood from one address must not
  /// flood the log as well.
  void log_address_refusal(const std::string& address) {
    auto n = ++core_->address_refusals;
    auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
                   std::chrono::steady_clock::now().time_since_epoch())
                   .count();
    auto last = core_->address_refusal_logged.load();
    if (now - last < 1000
        || !core_->address_refusal_logged.compare_exchange_strong(last, now))
      return;
    core_->address_refusals -= n;
    core_->log->warn("event=connection_refused reason=per_address_limit "
                     "address={} limit={} refused_since_last_report={} "
                     "key=http.max-connections-per-address",
                     address, core_->addresses->limit(), n);
  }

  /// Writes a fixed 503 and closes. The answer is small enough for the
  /// socket's send buffer, so the write completes without the client
  /// reading; nothing of the request is read.
  void refuse(tcp::socket&& socket) {
    if (core_->tls) {
      // Plain text on a TLS port would only confuse the client, and a
      // handshake costs the CPU that the limit is there to save: close.
      error_code ignored;
      socket.close(ignored);
      return;
    }
    auto text = std::make_shared<std::string>(refusal_text());
    auto s = std::make_shared<tcp::socket>(std::move(socket));
    net::async_write(*s, net::buffer(*text),
                     [s, text](error_code, std::size_t) {
                       error_code ignored;
                       s->shutdown(tcp::socket::shutdown_both, ignored);
                       s->close(ignored);
                     });
  }

  std::string refusal_text() const {
    auto res = make_error(
        bhttp::status::service_unavailable, to_code(errc::limit_exceeded),
        "too many connections from this address "
        "(http.max-connections-per-address = "
            + std::to_string(core_->addresses->limit()) + ")");
    res.keep_alive(false);
    res.set("X-Content-Type-Options", "nosniff");
    res.set("Referrer-Policy", "no-referrer");
    res.set("X-Frame-Options", "DENY");
    res.prepare_payload();
    std::ostringstream out;
    out << res;
    return out.str();
  }

  void admit(tcp::socket&& socket) {
    // Real-time frames are small and each one is due at once: without
    // TCP_NODELAY, Nagle's algorithm holds a frame back until the previous
    // one is acknowledged, and the peer's delayed ACK turns that into tens
    // of milliseconds (measured in S1: delivery p50 18 ms instead of under
    // 1 ms). Our writes are already coalesced per socket (gather writes).
    error_code nodelay_ec;
    socket.set_option(tcp::no_delay(true), nodelay_ec);
    auto limit = core_->settings.max_connections;
    auto mode = http_session::mode::serve;
    if (core_->open_connections() >= limit) {
      if (core_->refusing.load() >= limit) {
        error_code ignored;
        socket.close(ignored);
        return;
      }
      mode = http_session::mode::refuse;
    }
    std::make_shared<http_session>(core_, std::move(socket), mode)->run();
  }

  std::shared_ptr<server_core> core_;
  tcp::acceptor acceptor_;
  net::steady_timer retry_;
};

} // namespace detail

server::server(const config::http_settings& settings,
               std::shared_ptr<router> routes)
    : core_(
        std::make_shared<detail::server_core>(settings, std::move(routes))) {
  if (!core_->routes) core_->routes = std::make_shared<router>();
}

server::~server() {
  stop();
}

std::error_code server::start() {
  if (listener_ != nullptr || stopped_)
    return std::make_error_code(std::errc::operation_not_permitted);
  error_code ec;
  auto address = net::ip::make_address(core_->settings.bind, ec);
  tcp::endpoint ep;
  if (ec) {
    // Not a literal address: resolve the host name, take the first result.
    tcp::resolver resolver{core_->ioc};
    auto results = resolver.resolve(core_->settings.bind,
                                    std::to_string(core_->settings.port), ec);
    if (ec) return ec;
    if (results.empty())
      return std::make_error_code(std::errc::address_not_available);
    ep = results.begin()->endpoint();
  } else {
    ep = tcp::endpoint{address, core_->settings.port};
  }
  auto l = std::make_shared<detail::listener>(core_);
  if (ec = l->open(ep); ec) return ec;
  listener_ = std::move(l);
  port_ = listener_->port();
  return {};
}

void server::run(uint32_t threads) {
  if (listener_ == nullptr || !threads_.empty() || stopped_) return;
  listener_->run();
  auto n = threads == 0 ? 1u : threads;
  threads_.reserve(n);
  for (uint32_t i = 0; i < n; ++i)
    threads_.emplace_back([core = core_] {
      auto guard = net::make_work_guard(core->ioc);
      // Our handlers catch everything; an endpoint's handler that throws
      // must not take the whole node down, so the thread logs and goes on.
      for (;;) {
        try {
          core->ioc.run();
          return;
        } catch (const std::exception& e) {
          core->log->error("event=io_handler_exception what=\"{}\"", e.what());
        } catch (...) {
          core->log->error("event=io_handler_exception what=unknown");
        }
      }
    });
}

void server::stop() {
  if (stopped_) return;
  stopped_ = true;
  core_->stopped = true;
  core_->ioc.stop();
  for (auto& t : threads_)
    t.join();
  threads_.clear();
  // No I/O thread runs now: close everything, then let the aborted
  // operations complete so that every session lets go of its socket.
  if (listener_) listener_->close();
  std::vector<std::shared_ptr<detail::http_session>> open;
  {
    std::lock_guard<std::mutex> guard{core_->mtx};
    for (auto& [id, weak] : core_->sessions)
      if (auto s = weak.lock()) open.push_back(std::move(s));
  }
  for (auto& s : open)
    s->close_socket();
  open.clear();
  core_->ioc.restart();
  core_->ioc.poll();
  listener_.reset();
}

boost::asio::io_context& server::context() {
  return core_->ioc;
}

std::size_t server::open_connections() const {
  return core_->open_connections();
}

std::size_t server::connections_from(const std::string& address) const {
  return core_->addresses->open_from(address);
}

void server::limit_rates(std::shared_ptr<rate_limit_gate> gate,
                         std::function<std::string(const request&)> user_of) {
  core_->gate = std::move(gate);
  core_->user_of = std::move(user_of);
}

void server::use_tls(std::shared_ptr<boost::asio::ssl::context> context) {
  core_->tls = std::move(context);
}

std::shared_ptr<boost::asio::ssl::context>
make_tls_context(const config::http_settings& settings, std::string& error) {
  if (settings.tls_cert.empty() && settings.tls_key.empty()) return nullptr;
  auto ctx = std::make_shared<net::ssl::context>(net::ssl::context::tls_server);
  // TLS 1.2 and 1.3 only: SSLv3, TLS 1.0 and 1.1 are broken or deprecated
  // (RFC 8996). Fresh keys per handshake and no compression (CRIME).
  ctx->set_options(net::ssl::context::default_workarounds
                   | net::ssl::context::no_sslv2 | net::ssl::context::no_sslv3
                   | net::ssl::context::no_tlsv1 | net::ssl::context::no_tlsv1_1
                   | net::ssl::context::single_dh_use
                   | net::ssl::context::no_compression);
  SSL_CTX_set_min_proto_version(ctx->native_handle(), TLS1_2_VERSION);
  error_code ec;
  ctx->use_certificate_chain_file(settings.tls_cert, ec);
  if (ec) {
    error = "http.tls-cert: cannot load the PEM certificate chain '"
        + settings.tls_cert + "' (" + ec.message() + ")";
    return nullptr;
  }
  ctx->use_private_key_file(settings.tls_key, net::ssl::context::pem, ec);
  if (ec) {
    error = "http.tls-key: cannot load the PEM private key '" + settings.tls_key
        + "' (" + ec.message() + ")";
    return nullptr;
  }
  if (SSL_CTX_check_private_key(ctx->native_handle()) != 1) {
    error = "http.tls-key: the key '" + settings.tls_key
        + "' does not match the certificate in http.tls-cert";
    return nullptr;
  }
  return ctx;
}

void server::count_upgraded(std::function<std::size_t()> fn) {
  core_->upgraded_count = std::move(fn);
}

} // namespace puzzle::transports::http
