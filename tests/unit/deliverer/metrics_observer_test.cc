// MetricsObserver: each finished step lands in the counters of its outcome, and an HTTP
// attempt in the class of its answer.
#include "deliverer/metrics_observer.h"

#include <gtest/gtest.h>

#include "deliverer/metrics.h"

namespace hookpipe::deliverer {
namespace {

double valueOf(const metrics::Registry& r, const std::string& name, const metrics::Labels& l) {
  return r.value(name, l).value_or(-1);
}

TEST(MetricsObserver, CountsAttemptsByOutcomeAndStatusClass) {
  metrics::Registry registry;
  DelivererMetrics m(registry);
  MetricsObserver observer(m);
  auto attempt = [&](observe::Outcome o, long status) {
    observe::Attempt a;
    a.outcome = o;
    a.attempted = true;
    a.status = status;
    a.duration_us = 2000;
    observer.onAttempt(a);
  };
  attempt(observe::Outcome::kDelivered, 200);
  attempt(observe::Outcome::kDelivered, 204);
  attempt(observe::Outcome::kRetried, 503);
  attempt(observe::Outcome::kRetried, 0);  // a timeout: no answer
  attempt(observe::Outcome::kDeadLettered, 404);
  attempt(observe::Outcome::kDeadLettered, 302);
  attempt(observe::Outcome::kRetried, 102);  // an odd status counts as no answer
  observe::Attempt parked;                   // not an attempt: no class
  parked.outcome = observe::Outcome::kParked;
  parked.reason = "rate_limit";
  observer.onAttempt(parked);

  const std::string responses = "hookpipe_deliverer_attempt_responses_total";
  EXPECT_EQ(valueOf(registry, responses, {{"class", "2xx"}}), 2);
  EXPECT_EQ(valueOf(registry, responses, {{"class", "3xx"}}), 1);
  EXPECT_EQ(valueOf(registry, responses, {{"class", "4xx"}}), 1);
  EXPECT_EQ(valueOf(registry, responses, {{"class", "5xx"}}), 1);
  EXPECT_EQ(valueOf(registry, responses, {{"class", "none"}}), 2);
  const std::string attempts = "hookpipe_deliverer_attempts_total";
  EXPECT_EQ(valueOf(registry, attempts, {{"outcome", "delivered"}}), 2);
  EXPECT_EQ(valueOf(registry, attempts, {{"outcome", "retried"}}), 3);
  EXPECT_EQ(valueOf(registry, attempts, {{"outcome", "dead_lettered"}}), 2);
  EXPECT_EQ(valueOf(registry, "hookpipe_deliverer_parked_total", {{"cause", "rate_limit"}}), 1);
  EXPECT_EQ(valueOf(registry, "hookpipe_deliverer_attempt_duration_seconds_count", {}), 7);
}

TEST(MetricsObserver, APlatformsPermanentAnswersAreOneDeadLetterReason) {
  metrics::Registry registry;
  DelivererMetrics m(registry);
  MetricsObserver observer(m);
  for (const char* reason : {"slack_invalid_token", "discord_unknown_webhook", "telegram_forbidden",
                             "http_4xx", "something_else"}) {
    observe::Attempt a;
    a.outcome = observe::Outcome::kDeadLettered;
    a.attempted = true;
    a.status = 403;
    a.reason = reason;
    observer.onAttempt(a);
  }
  const std::string dead = "hookpipe_deliverer_dead_letters_total";
  EXPECT_EQ(valueOf(registry, dead, {{"reason", "platform_rejected"}}), 3);
  EXPECT_EQ(valueOf(registry, dead, {{"reason", "http_4xx"}}), 1);
  EXPECT_EQ(valueOf(registry, dead, {{"reason", "other"}}), 1);
}
}  // namespace
}  // namespace hookpipe::deliverer
