#pragma once

#include <expected>
#include <string>
#include <utility>
#include <vector>

namespace hookpipe {

// One validation problem: a JSON pointer (RFC 6901) into the input ("" for the whole of
// it), or a parameter / header name, and what is wrong there.
struct Problem {
  std::string pointer;
  std::string message;
  bool operator==(const Problem&) const = default;
};

// An error on the message path. `retryable` tells the caller whether trying the same
// thing again later can succeed (broker down) or never will (bad input). A validation
// failure also lists its `problems`, each at its pointer; `message` then joins their
// messages with "; " for callers that only log or show text.
struct Error {
  std::string message;
  bool retryable = false;
  std::vector<Problem> problems;
};

template <typename T>
using Result = std::expected<T, Error>;

inline std::unexpected<Error> fail(std::string message, bool retryable = false) {
  return std::unexpected<Error>(Error{std::move(message), retryable, {}});
}

// A validation failure (never retryable) from its problems.
inline Error invalidInput(std::vector<Problem> problems) {
  std::string joined;
  for (const auto& p : problems) {
    if (!joined.empty()) joined += "; ";
    joined += p.message;
  }
  return Error{std::move(joined), false, std::move(problems)};
}

inline std::unexpected<Error> failWith(std::vector<Problem> problems) {
  return std::unexpected<Error>(invalidInput(std::move(problems)));
}

// One problem at `pointer`.
inline std::unexpected<Error> failAt(std::string pointer, std::string message) {
  return failWith({Problem{std::move(pointer), std::move(message)}});
}

}  // namespace hookpipe
