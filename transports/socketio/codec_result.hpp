#pragma once

#include <type_traits>
#include <utility>
#include <variant>

namespace puzzle::transports::socketio {

/// A decoded value or the reason decoding failed.
///
/// The codecs in this folder are fed bytes from the network, so failure is an
/// ordinary outcome and never an exception. This is a minimal stand-in for
/// `caf::expected` that keeps the codec headers free of CAF: the error is a
/// small enum with stable names (`to_string`), which the adapter maps to a
/// close reason or an HTTP status.
///
/// @pre `Errc` is an enum type different from `T`.
template<class T, class Errc>
class codec_result {
public:
  static_assert(std::is_enum_v<Errc>, "Errc must be an enum");

  using value_type = T;
  using error_type = Errc;

  codec_result(T value) : data_(std::in_place_index<0>, std::move(value)) {
    // nop
  }

  codec_result(Errc err) : data_(std::in_place_index<1>, err) {
    // nop
  }

  /// True when a value is present.
  bool ok() const noexcept {
    return data_.index() == 0;
  }

  explicit operator bool() const noexcept {
    return ok();
  }

  /// @pre `ok()`
  T& value() & {
    return std::get<0>(data_);
  }

  /// @pre `ok()`
  const T& value() const& {
    return std::get<0>(data_);
  }

  /// @pre `ok()`
  T&& value() && {
    return std::get<0>(std::move(data_));
  }

  T* operator->() {
    return &value();
  }

  const T* operator->() const {
    return &value();
  }

  T& operator*() & {
    return value();
  }

  const T& operator*() const& {
    return value();
  }

  /// @pre `!ok()`
  Errc error() const {
    return std::get<1>(data_);
  }

private:
  std::variant<T, Errc> data_;
};

} // namespace puzzle::transports::socketio
