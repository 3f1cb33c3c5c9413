#pragma once

#include <memory>
#include <optional>
#include <utility>

#include <boost/asio/async_result.hpp>
#include <boost/asio/compose.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/role.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/websocket/teardown.hpp>

namespace puzzle::transports::http {

/// The socket of one client connection, plain or TLS (`http.tls-cert`):
/// every endpoint reads and writes through it without knowing which.
///
/// Reads and writes go to the TLS stream when there is one, else straight
/// to the TCP stream; `next_layer()` is always the `beast::tcp_stream`, so
/// `beast::get_lowest_layer` reaches it for timeouts, `close` and the peer's
/// address on either kind. Both live behind one pointer: the TLS stream
/// refers to the TCP stream, and moving the connection from the HTTP
/// session to a WebSocket endpoint must not break that reference.
class net_stream {
public:
  using next_layer_type = boost::beast::tcp_stream;
  using executor_type = next_layer_type::executor_type;
  using tls_stream = boost::asio::ssl::stream<next_layer_type&>;

  /// A plain stream over `socket`, or a TLS one (server side, handshake
  /// still to do) when `tls` is not null.
  net_stream(boost::asio::ip::tcp::socket&& socket,
             boost::asio::ssl::context* tls)
      : impl_(std::make_unique<impl>(std::move(socket))) {
    if (tls != nullptr) impl_->tls.emplace(impl_->tcp, *tls);
  }

  /// A moved-from stream may only be destroyed or assigned to.
  net_stream(net_stream&&) noexcept = default;
  net_stream& operator=(net_stream&&) noexcept = default;

  /// True when the connection is encrypted.
  bool is_tls() const noexcept {
    return impl_->tls.has_value();
  }

  executor_type get_executor() noexcept {
    return impl_->tcp.get_executor();
  }

  next_layer_type& next_layer() noexcept {
    return impl_->tcp;
  }
  const next_layer_type& next_layer() const noexcept {
    return impl_->tcp;
  }

  /// The TLS server handshake; completes at once for a plain stream.
  /// Bounded by the TCP stream's expiry like any read.
  template<class Token>
  auto async_handshake(Token&& token) {
    return boost::asio::async_compose<Token, void(boost::beast::error_code)>(
        handshake_op{this}, token, impl_->tcp);
  }

  template<class MutableBuffers, class Token>
  auto async_read_some(const MutableBuffers& buffers, Token&& token) {
    return boost::asio::async_initiate<
        Token, void(boost::beast::error_code, std::size_t)>(
        [this](auto&& done, const MutableBuffers& b) {
          if (impl_->tls)
            impl_->tls->async_read_some(b, std::forward<decltype(done)>(done));
          else
            impl_->tcp.async_read_some(b, std::forward<decltype(done)>(done));
        },
        token, buffers);
  }

  template<class ConstBuffers, class Token>
  auto async_write_some(const ConstBuffers& buffers, Token&& token) {
    return boost::asio::async_initiate<
        Token, void(boost::beast::error_code, std::size_t)>(
        [this](auto&& done, const ConstBuffers& b) {
          if (impl_->tls)
            impl_->tls->async_write_some(b, std::forward<decltype(done)>(done));
          else
            impl_->tcp.async_write_some(b, std::forward<decltype(done)>(done));
        },
        token, buffers);
  }

  // Beast's websocket::stream ends a connection by tearing down the layer
  // under it: for TLS that is the close_notify exchange, then the socket
  // closes (the caller's expiry on the TCP stream bounds a peer that never
  // answers); plain streams are torn down as Beast does for TCP.

  friend void teardown(boost::beast::role_type role, net_stream& s,
                       boost::beast::error_code& ec) {
    if (s.impl_->tls) {
      s.impl_->tls->shutdown(ec);
      boost::beast::error_code ignored;
      s.impl_->tcp.socket().close(ignored);
      return;
    }
    using boost::beast::websocket::teardown;
    teardown(role, s.impl_->tcp, ec);
  }

  template<class Handler>
  friend void
  async_teardown(boost::beast::role_type role, net_stream& s, Handler&& done) {
    if (s.impl_->tls) {
      boost::asio::async_compose<Handler, void(boost::beast::error_code)>(
          tls_shutdown_op{&s}, done, s.impl_->tcp);
      return;
    }
    using boost::beast::websocket::async_teardown;
    async_teardown(role, s.impl_->tcp, std::forward<Handler>(done));
  }

private:
  struct impl {
    explicit impl(boost::asio::ip::tcp::socket&& socket)
        : tcp(std::move(socket)) {
      // nop
    }
    next_layer_type tcp;
    std::optional<tls_stream> tls;
  };

  struct handshake_op {
    net_stream* self;
    bool started = false;

    template<class Self>
    void operator()(Self& op, boost::beast::error_code ec = {}) {
      if (started || !self->impl_->tls) return op.complete(ec);
      started = true;
      self->impl_->tls->async_handshake(tls_stream::server, std::move(op));
    }
  };

  struct tls_shutdown_op {
    net_stream* self;
    bool started = false;

    template<class Self>
    void operator()(Self& op, boost::beast::error_code ec = {}) {
      if (!started) {
        started = true;
        self->impl_->tls->async_shutdown(std::move(op));
        return;
      }
      // A peer that closes without its own close_notify is the usual case
      // (browsers do): the WebSocket Close handshake already ended the
      // conversation, so that is no error.
      if (ec == boost::asio::ssl::error::stream_truncated
          || ec == boost::asio::error::eof)
        ec = {};
      boost::beast::error_code ignored;
      self->impl_->tcp.socket().close(ignored);
      op.complete(ec);
    }
  };

  std::unique_ptr<impl> impl_;
};

} // namespace puzzle::transports::http
