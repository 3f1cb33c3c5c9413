#pragma once

#include <cstddef>
#include <deque>
#include <memory>
#include <utility>

#include <boost/asio/compose.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/websocket/teardown.hpp>

namespace puzzle::transports::ws {

/// A stream layer between Beast's `websocket::stream` and the socket that
/// makes every write a whole, exclusive unit.
///
/// The connections frame their queued data messages themselves and send a
/// batch with one gather write (one `sendmsg` for many messages) on this
/// layer, while Beast still writes the handshake answer, pings, pongs and
/// the Close frame through it. Two writes must never interleave on the
/// wire, also when the socket accepts only part of one: `async_write_some`
/// here writes *all* of its buffers before completing, and a write that
/// arrives while another is in flight waits for it (FIFO). Beast writes
/// each control frame with one call (a few buffers, at most 139 bytes), so
/// none of its frames is split around one of ours either.
///
/// Everything runs on the stream's strand (Beast's operations and the
/// connection's own), so the gate needs no lock. Reads pass straight
/// through.
template<class Stream>
class write_gate {
public:
  using next_layer_type = Stream;
  using executor_type = typename Stream::executor_type;

  template<class... Args>
  explicit write_gate(Args&&... args) : next_(std::forward<Args>(args)...) {}

  write_gate(const write_gate&) = delete;
  write_gate& operator=(const write_gate&) = delete;

  executor_type get_executor() noexcept {
    return next_.get_executor();
  }

  next_layer_type& next_layer() noexcept {
    return next_;
  }
  const next_layer_type& next_layer() const noexcept {
    return next_;
  }

  template<class MutableBuffers, class Handler>
  auto async_read_some(const MutableBuffers& buffers, Handler&& handler) {
    return next_.async_read_some(buffers, std::forward<Handler>(handler));
  }

  /// Writes all of `buffers` once no other write is in flight; completes
  /// with the number of bytes written (all of them, unless `ec`).
  template<class ConstBuffers, class Handler>
  auto async_write_some(const ConstBuffers& buffers, Handler&& handler) {
    return boost::asio::async_compose<
        Handler, void(boost::beast::error_code, std::size_t)>(
        write_op<ConstBuffers>{this, buffers}, handler, next_);
  }

  /// True while a write is in flight on the socket.
  bool writing() const noexcept {
    return busy_;
  }

private:
  /// A write waiting for its turn (type-erased: the operations of Beast
  /// and of the connection have different types and are move-only).
  struct waiter {
    virtual ~waiter() = default;
    virtual void resume() = 0;
  };

  template<class Self>
  struct waiter_of final : waiter {
    explicit waiter_of(Self&& s) : self(std::move(s)) {}
    void resume() override {
      self();
    }
    Self self;
  };

  template<class Buffers>
  struct write_op {
    write_gate* gate;
    Buffers buffers;
    enum { starting, waiting, writing } state = starting;

    template<class Self>
    void operator()(Self& self, boost::beast::error_code ec = {},
                    std::size_t bytes = 0) {
      switch (state) {
        case starting:
          if (gate->busy_) {
            state = waiting;
            gate->waiting_.push_back(
                std::make_unique<waiter_of<Self>>(std::move(self)));
            return;
          }
          gate->busy_ = true;
          [[fallthrough]];
        case waiting: // The gate was handed to us by release().
          state = writing;
          boost::asio::async_write(gate->next_, buffers, std::move(self));
          return;
        case writing:
          gate->release();
          self.complete(ec, bytes);
          return;
      }
    }
  };

  void release() {
    if (waiting_.empty()) {
      busy_ = false;
      return;
    }
    // Hand the gate over (busy_ stays set) so that no write started from
    // a completion handler can overtake the one that waited longest.
    auto next = std::shared_ptr<waiter>(std::move(waiting_.front()));
    waiting_.pop_front();
    boost::asio::post(next_.get_executor(), [next] {
      next->resume();
    });
  }

  Stream next_;
  bool busy_ = false;
  std::deque<std::unique_ptr<waiter>> waiting_;
};

// Beast closes a WebSocket by tearing down the layer under it; the gate
// has nothing of its own to tear down.

template<class Stream>
void teardown(boost::beast::role_type role, write_gate<Stream>& stream,
              boost::beast::error_code& ec) {
  using boost::beast::websocket::teardown;
  teardown(role, stream.next_layer(), ec);
}

template<class Stream, class TeardownHandler>
void async_teardown(boost::beast::role_type role, write_gate<Stream>& stream,
                    TeardownHandler&& handler) {
  using boost::beast::websocket::async_teardown;
  async_teardown(role, stream.next_layer(),
                 std::forward<TeardownHandler>(handler));
}

} // namespace puzzle::transports::ws
