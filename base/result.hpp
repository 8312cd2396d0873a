// result<T, E>: a value or the reason it could not be produced (std::expected's shape,
// which C++20 lacks). Parsers and anything else that can fail on the hot path return one
// instead of throwing. E is usually a small reason enum that doubles as a counter index.
#pragma once

#include <type_traits>
#include <utility>
#include <variant>

namespace tutti {

template <typename E>
struct failure {
  E reason;
};

template <typename E>
failure<E> fail(E reason) noexcept { return failure<E>{reason}; }

template <typename T, typename E>
class result {
 public:
  result(T value) : state_(std::in_place_index<0>, std::move(value)) {}
  result(failure<E> f) : state_(std::in_place_index<1>, f.reason) {}

  bool ok() const noexcept { return state_.index() == 0; }
  explicit operator bool() const noexcept { return ok(); }

  T& value() & noexcept { return *std::get_if<0>(&state_); }
  const T& value() const& noexcept { return *std::get_if<0>(&state_); }
  T&& value() && noexcept { return std::move(*std::get_if<0>(&state_)); }
  T* operator->() noexcept { return std::get_if<0>(&state_); }
  const T* operator->() const noexcept { return std::get_if<0>(&state_); }
  T& operator*() & noexcept { return value(); }
  const T& operator*() const& noexcept { return value(); }

  E error() const noexcept { return *std::get_if<1>(&state_); }

 private:
  std::variant<T, E> state_;
};

}  // namespace tutti
