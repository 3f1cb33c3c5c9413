#pragma once

#include <chrono>
#include <exception>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>

#include <caf/actor_system.hpp>
#include <caf/detail/type_traits.hpp>
#include <caf/error.hpp>
#include <caf/event_based_actor.hpp>

#include "actors/caf_errors.hpp"

/// Lets HTTP handlers talk to actors without blocking an I/O thread. Only
/// included by the API code (it pulls in CAF's actor headers).
namespace puzzle::transports::api {

namespace detail {

/// Wraps `on_ok` into a response handler with the same argument types (CAF
/// 0.17 checks them against the receiver's interface), that quits `self`
/// afterwards and turns an exception into a call of `on_err`.
template<class OnOk, class OnErr, class... Args>
auto make_ok_handler(caf::event_based_actor* self, OnOk on_ok, OnErr on_err,
                     caf::detail::type_list<Args...>) {
  return [self, on_ok = std::move(on_ok),
          on_err = std::move(on_err)](Args... xs) mutable {
    try {
      on_ok(std::forward<Args>(xs)...);
    } catch (const std::exception& e) {
      auto err = make_error(errc::internal, e.what());
      on_err(err);
    } catch (...) {
      auto err = make_error(errc::internal, "unknown exception");
      on_err(err);
    }
    self->quit();
  };
}

} // namespace detail

/// Sends `xs...` to `dest` as a request from a short-lived actor and calls
/// `on_ok(result...)` or `on_err(caf::error&)` with its answer; the actor
/// quits afterwards. Returns at once.
///
/// The callbacks run on a CAF worker thread: they should only build the
/// answer and hand it on (an HTTP `responder` posts it to the connection's
/// strand). `on_ok` must name its argument types (no `auto`): CAF matches
/// them against `dest`'s interface at compile time. An exception thrown by
/// `on_ok` reaches `on_err` as `errc::internal`; `on_err` must not throw.
/// After `timeout` without an answer `on_err` gets `sec::request_timeout`.
template<class Handle, class OnOk, class OnErr, class... Ts>
void ask(caf::actor_system& sys, const Handle& dest,
         std::chrono::milliseconds timeout, OnOk on_ok, OnErr on_err,
         Ts&&... xs) {
  using arg_types = typename caf::detail::get_callable_trait<OnOk>::arg_types;
  sys.spawn([dest, timeout, on_ok = std::move(on_ok),
             on_err = std::move(on_err),
             msg = std::make_tuple(std::decay_t<Ts>(std::forward<Ts>(xs))...)](
                caf::event_based_actor* self) mutable {
    auto ok
        = detail::make_ok_handler(self, std::move(on_ok), on_err, arg_types{});
    auto err = [self, on_err](caf::error& e) mutable {
      on_err(e);
      self->quit();
    };
    std::apply(
        [&](auto&... ys) {
          self->request(dest, timeout, ys...)
              .then(std::move(ok), std::move(err));
        },
        msg);
  });
}

/// How an actor's error reads over HTTP.
struct http_error {
  unsigned status = 500;
  std::string_view code;
  std::string message;
};

/// Maps an error with `code_of`, `message_of` and `http_status`; a request
/// that timed out (the actor is overloaded or gone) is 503 `INTERNAL`.
http_error to_http_error(const caf::error& err);

} // namespace puzzle::transports::api
