#pragma once

#include <chrono>
#include <optional>
#include <random>
#include <vector>

#include "common/subscriptions/subscription.h"

namespace hookpipe::retry_policy {

// The default schedule of DESIGN.md: the delay before retry n (n = 1 is the first retry).
inline const std::vector<std::chrono::milliseconds>& defaultSchedule() {
  using namespace std::chrono;
  static const std::vector<milliseconds> schedule = {milliseconds(0), seconds(5), minutes(5),
                                                     minutes(30),     hours(2),   hours(5),
                                                     hours(10),       hours(10)};
  return schedule;
}

// Delay before the next attempt after attempt number `failed_attempt` failed
// (1 = the first attempt), or nullopt when the policy is spent and the delivery
// goes to the dead-letter topic. `rng` drives jitter (±10 %), seeded in tests.
std::optional<std::chrono::milliseconds> retryDelay(const RetryConfig& config, int failed_attempt,
                                                    std::mt19937_64& rng);

// How long a delivery may live after its first attempt: the sum of the policy's delays,
// the longest they can be (jitter at its top). A delivery held back by an open circuit
// breaker past this is dead-lettered; parking shapes traffic, it does not extend a life.
std::chrono::milliseconds horizon(const RetryConfig& config);

// Which fixed-delay tier (index into ascending `tiers`) holds a message that must wait
// `remaining`: the longest tier not longer than the wait, or the shortest tier when the
// wait is shorter than every tier (the tier consumer releases it at its due time).
// -1 when nothing is left to wait: the message goes straight back to deliveries.
int chooseTier(const std::vector<std::chrono::milliseconds>& tiers,
               std::chrono::milliseconds remaining);

}  // namespace hookpipe::retry_policy
