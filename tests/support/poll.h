#pragma once

// Waiting for something in a test: poll a condition until it holds or a deadline passes,
// never a fixed sleep (STYLE.md 12). Header-only, for unit and integration tests alike.
#include <chrono>
#include <thread>

namespace hookpipe::testkit {

// Calls `check` every `interval` until it returns true or `timeout` has passed; the last
// call's result (so a condition that turns true at the deadline still counts).
template <typename Check>
bool pollUntil(Check&& check, std::chrono::milliseconds timeout,
               std::chrono::milliseconds interval = std::chrono::milliseconds(20)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (check()) return true;
    std::this_thread::sleep_for(interval);
  }
  return static_cast<bool>(check());
}

// Checks that `condition` stays true for the whole of `period` (sampled every
// `interval`): for "nothing else arrives" assertions, which can only be bounded in time.
template <typename Check>
bool holdsFor(Check&& condition, std::chrono::milliseconds period,
              std::chrono::milliseconds interval = std::chrono::milliseconds(20)) {
  const auto end = std::chrono::steady_clock::now() + period;
  while (std::chrono::steady_clock::now() < end) {
    if (!condition()) return false;
    std::this_thread::sleep_for(interval);
  }
  return static_cast<bool>(condition());
}

}  // namespace hookpipe::testkit
