#pragma once

#include <expected>
#include <string>
#include <utility>

namespace hookpipe {

// An error on the message path. `retryable` tells the caller whether trying the same
// thing again later can succeed (broker down) or never will (bad input).
struct Error {
  std::string message;
  bool retryable = false;
};

template <typename T>
using Result = std::expected<T, Error>;

inline std::unexpected<Error> fail(std::string message, bool retryable = false) {
  return std::unexpected<Error>(Error{std::move(message), retryable});
}

}  // namespace hookpipe
