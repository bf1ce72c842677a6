// Unit tests for deliverer/endpoint_guard.h: the circuit breaker's transitions and the
// adaptive concurrency limit, on a fake clock.
#include "deliverer/endpoint_guard.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace hookpipe::deliverer {
namespace {

constexpr Feedback kOk{true, false, false};
constexpr Feedback kFail{false, true, false};
constexpr Feedback k429{false, false, true};
constexpr Feedback k503{false, true, true};

// Judged over a 1 s window: at least 3 failures, at least 90 % of the attempts, for a whole
// window; open for 10 s.
struct Guarded {
  metrics::Registry registry;
  DelivererMetrics metrics{registry};
  EndpointGuard g{{.failures = 3,
                   .cooldown = std::chrono::seconds(10),
                   .window = std::chrono::seconds(1),
                   .failure_rate_pct = 90},
                  metrics};
  double value(std::string_view name, const metrics::Labels& labels = {}) const {
    return registry.value(name, labels).value_or(-1);
  }
};

// Runs one attempt that started at `now` and ended with `fb`.
void attempt(EndpointGuard& g, int64_t now, Feedback fb, int cap = 8) {
  ASSERT_EQ(g.acquire("s", cap, now), EndpointGuard::Admit::kGo);
  g.release("s", fb, now);
}

// Fails every 100 ms from `from` until the breaker opens; returns when it did.
int64_t failUntilOpen(EndpointGuard& g, int64_t from) {
  for (int64_t t = from; t < from + 5'000; t += 100) {
    attempt(g, t, kFail);
    if (g.view("s").state == BreakerState::kOpen) return t;
  }
  ADD_FAILURE() << "the breaker did not open";
  return -1;
}

TEST(Breaker, OpensOnceTheFailureRateHasHeldForAWholeWindow) {
  Guarded guarded;
  EndpointGuard& g = guarded.g;
  // The third failure (at 200 ms) meets the minimum; the rate then holds for a window.
  for (int64_t t = 0; t < 1'200; t += 100) {
    attempt(g, t, kFail);
    EXPECT_EQ(g.view("s").state, BreakerState::kClosed) << t;
  }
  attempt(g, 1'200, kFail);
  EXPECT_EQ(g.view("s").state, BreakerState::kOpen);
  EXPECT_EQ(g.view("s").open_until_ms, 11'200);
  EXPECT_EQ(g.acquire("s", 8, 5'000), EndpointGuard::Admit::kOpen);
  EXPECT_EQ(g.available("s", 8, 5'000), 0);
  EXPECT_EQ(guarded.value("hookpipe_deliverer_breaker_opened_total"), 1);
  EXPECT_EQ(guarded.value("hookpipe_deliverer_breakers", {{"state", "open"}}), 1);
  EXPECT_EQ(guarded.value("hookpipe_deliverer_breakers", {{"state", "closed"}}), 0);
  EXPECT_EQ(g.openBreakers(), 1);
  // Half-open still counts; closed again, it does not.
  EXPECT_EQ(g.acquire("s", 8, 11'200), EndpointGuard::Admit::kGo);
  EXPECT_EQ(g.openBreakers(), 1);
  g.release("s", kOk, 11'201);
  EXPECT_EQ(g.openBreakers(), 0);
}

TEST(Breaker, ABurstOfFirstTriesThatFailDoesNotOpenItWhenTheirRetriesSucceed) {
  // An endpoint that fails each delivery's first two tries: 200 new deliveries fail at
  // once, their retries fail 300 ms later, the next ones succeed.
  Guarded guarded;
  EndpointGuard& g = guarded.g;
  for (int64_t round : {0, 300}) {
    for (int i = 0; i < 200; ++i) attempt(g, round, kFail, 1000);
    EXPECT_EQ(g.view("s").state, BreakerState::kClosed);
  }
  for (int i = 0; i < 200; ++i) attempt(g, 600 + i, kOk, 1000);
  // And the same again with the next burst, well within the window.
  for (int i = 0; i < 200; ++i) attempt(g, 1'200, kFail, 1000);
  for (int i = 0; i < 200; ++i) attempt(g, 1'500, kFail, 1000);
  for (int i = 0; i < 200; ++i) attempt(g, 1'800, kOk, 1000);
  EXPECT_EQ(g.view("s").state, BreakerState::kClosed);
  EXPECT_EQ(guarded.value("hookpipe_deliverer_breaker_opened_total"), 0);
}

TEST(Breaker, HalfOfAllRequestsFailingDoesNotOpenIt) {
  Guarded guarded;
  EndpointGuard& g = guarded.g;
  for (int64_t t = 0; t < 10'000; t += 10) attempt(g, t, (t / 10) % 2 ? kOk : k503);
  EXPECT_EQ(g.view("s").state, BreakerState::kClosed);
}

TEST(Breaker, ARareSuccessDoesNotKeepAFailingEndpointClosed) {
  Guarded guarded;
  EndpointGuard& g = guarded.g;
  int64_t t = 0;
  for (; t < 3'000 && g.view("s").state == BreakerState::kClosed; t += 10)
    attempt(g, t, (t / 10) % 20 == 19 ? kOk : kFail);  // 95 % fail
  EXPECT_EQ(g.view("s").state, BreakerState::kOpen);
  EXPECT_GE(t, 1'000);
}

TEST(Breaker, BurstsFurtherApartThanAWindowAreJudgedAfresh) {
  Guarded guarded;
  EndpointGuard& g = guarded.g;
  for (int i = 0; i < 5; ++i) attempt(g, 0, kFail);
  // Nothing for longer than a window, then failures again: the run is judged from them.
  for (int i = 0; i < 5; ++i) attempt(g, 1'500, kFail);
  EXPECT_EQ(g.view("s").state, BreakerState::kClosed);
  EXPECT_GE(failUntilOpen(g, 1'600), 2'500);
}

TEST(Breaker, RequestsOutWhenItOpenedAreNotProbes) {
  Guarded guarded;
  EndpointGuard& g = guarded.g;
  // Four requests go out (a slow endpoint) while the others fail it open.
  for (int i = 0; i < 4; ++i) ASSERT_EQ(g.acquire("s", 8, 0), EndpointGuard::Admit::kGo);
  const int64_t opened = failUntilOpen(g, 0);
  const int64_t half = opened + 10'000;
  // Half-open with the four still out: the round still has its three probes.
  EXPECT_EQ(g.available("s", 8, half), EndpointGuard::kProbes);
  for (int i = 0; i < EndpointGuard::kProbes; ++i)
    ASSERT_EQ(g.acquire("s", 8, half), EndpointGuard::Admit::kGo);
  EXPECT_EQ(g.acquire("s", 8, half), EndpointGuard::Admit::kBusy);
  // The four old ones time out: that is not the round failing.
  for (int i = 0; i < 4; ++i) g.release("s", kFail, half + 100);
  EXPECT_EQ(g.view("s").state, BreakerState::kHalfOpen);
  g.release("s", kOk, half + 200);  // a probe succeeds
  EXPECT_EQ(g.view("s").state, BreakerState::kClosed);
}

TEST(Breaker, FewerFailuresThanTheMinimumInAWindowDoNotOpenIt) {
  Guarded guarded;
  EndpointGuard& g = guarded.g;
  for (int64_t t = 0; t < 20'000; t += 500) attempt(g, t, kFail);  // two per window
  EXPECT_EQ(g.view("s").state, BreakerState::kClosed);
}

TEST(Breaker, PermanentFailuresAndThrottlingAloneDoNotOpenIt) {
  Guarded guarded;
  EndpointGuard& g = guarded.g;
  for (int i = 0; i < 10; ++i) attempt(g, i * 200, Feedback{});     // e.g. 400: neither
  for (int i = 0; i < 10; ++i) attempt(g, 30'000 + i * 200, k429);  // 429 throttles only
  EXPECT_EQ(g.view("s").state, BreakerState::kClosed);
}

TEST(Breaker, HalfOpenLetsAFewProbesOutAndTheFirstSuccessClosesIt) {
  Guarded guarded;
  EndpointGuard& g = guarded.g;
  const int64_t opened = failUntilOpen(g, 0);
  const int64_t half = opened + 10'000;
  EXPECT_EQ(g.available("s", 8, half), EndpointGuard::kProbes);  // cooldown over: half-open
  EXPECT_EQ(g.view("s").state, BreakerState::kHalfOpen);
  for (int i = 0; i < EndpointGuard::kProbes; ++i)
    ASSERT_EQ(g.acquire("s", 8, half), EndpointGuard::Admit::kGo);
  EXPECT_EQ(g.acquire("s", 8, half + 1), EndpointGuard::Admit::kBusy);
  EXPECT_EQ(g.available("s", 8, half + 1), 0);
  g.release("s", kFail, half + 40);
  EXPECT_EQ(g.view("s").state, BreakerState::kHalfOpen);
  g.release("s", kOk, half + 50);
  EXPECT_EQ(g.view("s").state, BreakerState::kClosed);
  EXPECT_EQ(guarded.value("hookpipe_deliverer_breaker_closed_total"), 1);
  g.release("s", kOk, half + 60);
  EXPECT_EQ(g.available("s", 8, half + 61), 8);
}

TEST(Breaker, FailedProbesReopenItWithADoubledCooldownUpToEightTimes) {
  Guarded guarded;
  EndpointGuard& g = guarded.g;
  int64_t now = failUntilOpen(g, 0) + 10'000;
  const int64_t expected[] = {20'000, 40'000, 80'000, 80'000};
  for (int64_t cooldown : expected) {
    // A dead endpoint gets kProbes requests per cooldown, one after another or at once.
    for (int i = 0; i < EndpointGuard::kProbes; ++i) {
      EXPECT_EQ(g.view("s").state, i == 0 ? BreakerState::kOpen : BreakerState::kHalfOpen);
      ASSERT_EQ(g.acquire("s", 8, now), EndpointGuard::Admit::kGo) << now;
      g.release("s", kFail, now);
    }
    EXPECT_EQ(g.view("s").state, BreakerState::kOpen);
    EXPECT_EQ(g.view("s").open_until_ms, now + cooldown);
    EXPECT_EQ(g.acquire("s", 8, now + cooldown - 1), EndpointGuard::Admit::kOpen);
    now += cooldown;
  }
  // A success after all that closes it, and the next opening starts from the base again.
  attempt(g, now, kOk);
  const int64_t reopened = failUntilOpen(g, now + 1);
  EXPECT_EQ(g.view("s").open_until_ms, reopened + 10'000);
}

TEST(Concurrency, CapsRequestsInFlight) {
  Guarded guarded;
  EndpointGuard& g = guarded.g;
  for (int i = 0; i < 4; ++i) ASSERT_EQ(g.acquire("s", 4, 0), EndpointGuard::Admit::kGo);
  EXPECT_EQ(g.acquire("s", 4, 0), EndpointGuard::Admit::kBusy);
  EXPECT_EQ(g.view("s").in_flight, 4);
  g.release("s", kOk, 1);
  EXPECT_EQ(g.available("s", 4, 1), 1);
  EXPECT_EQ(g.acquire("s", 4, 1), EndpointGuard::Admit::kGo);
  // Endpoints are independent.
  EXPECT_EQ(g.acquire("other", 4, 1), EndpointGuard::Admit::kGo);
}

TEST(Concurrency, ThrottlingHalvesTheLimitOncePerSecondAndSuccessGrowsItBack) {
  Guarded guarded;
  EndpointGuard& g = guarded.g;
  attempt(g, 0, k503, 16);
  EXPECT_DOUBLE_EQ(g.view("s").limit, 8);
  attempt(g, 500, k429, 16);  // within a second of the last cut: no second cut
  EXPECT_DOUBLE_EQ(g.view("s").limit, 8);
  attempt(g, 1000, k429, 16);
  EXPECT_DOUBLE_EQ(g.view("s").limit, 4);
  EXPECT_EQ(g.available("s", 16, 1001), 4);
  for (int64_t t = 2000; t < 10'000; t += 1000) attempt(g, t, k429, 16);
  EXPECT_DOUBLE_EQ(g.view("s").limit, 1);  // never below one
  EXPECT_EQ(guarded.value("hookpipe_deliverer_throttle_backoffs_total"), 10);
  // Additive increase: about one more slot per window of successes, up to the cap.
  int successes = 0;
  while (g.view("s").limit < 4) {
    attempt(g, 20'000, kOk, 16);
    ++successes;
  }
  // +1/1 to 2, +1/2 twice to 3, then +1/3, +1/3.33, +1/3.63, +1/3.91 past 4.
  EXPECT_EQ(successes, 1 + 2 + 4);
  for (int i = 0; i < 1000; ++i) attempt(g, 20'000, kOk, 16);
  EXPECT_EQ(g.available("s", 16, 20'000), 16);
}

TEST(Concurrency, ALowerCapTakesEffectAtOnce) {
  Guarded guarded;
  EndpointGuard& g = guarded.g;
  attempt(g, 0, kOk, 64);
  EXPECT_EQ(g.available("s", 2, 1), 2);
}

TEST(Pace, AttemptDurationsOverTheRequestsAllowedAtOnce) {
  Guarded guarded;
  EndpointGuard& g = guarded.g;
  EXPECT_EQ(g.msPerDelivery("s", 4, 0), 0) << "nothing known yet";
  ASSERT_EQ(g.acquire("s", 4, 0), EndpointGuard::Admit::kGo);
  g.release("s", {.success = true, .duration_ms = 400}, 400);
  EXPECT_DOUBLE_EQ(g.msPerDelivery("s", 4, 400), 100);  // 400 ms, 4 at once
  ASSERT_EQ(g.acquire("s", 4, 400), EndpointGuard::Admit::kGo);
  g.release("s", {.success = true, .duration_ms = 800}, 1'200);
  // A moving average: 0.8 × 400 + 0.2 × 800.
  EXPECT_DOUBLE_EQ(g.msPerDelivery("s", 4, 1'200), 480.0 / 4);
  // An attempt that did not run to an end (abandoned) says nothing about the endpoint.
  ASSERT_EQ(g.acquire("s", 4, 1'200), EndpointGuard::Admit::kGo);
  g.release("s", {}, 1'300);
  EXPECT_DOUBLE_EQ(g.msPerDelivery("s", 4, 1'300), 480.0 / 4);
}

TEST(Pace, RequestsOutLongerThanUsualSlowItDownAsTheyHang) {
  Guarded guarded;
  EndpointGuard& g = guarded.g;
  ASSERT_EQ(g.acquire("s", 2, 0), EndpointGuard::Admit::kGo);
  g.release("s", {.success = true, .duration_ms = 10}, 10);
  // Two requests go out at 1 000 and hang: no end is heard of for 9 s.
  ASSERT_EQ(g.acquire("s", 2, 1'000), EndpointGuard::Admit::kGo);
  ASSERT_EQ(g.acquire("s", 2, 1'000), EndpointGuard::Admit::kGo);
  EXPECT_DOUBLE_EQ(g.msPerDelivery("s", 2, 1'005), 5);  // the usual 10 ms still rules
  EXPECT_DOUBLE_EQ(g.msPerDelivery("s", 2, 10'000), 4'500);
  // One ends: the clock of hanging restarts from there.
  g.release("s", {.success = true, .duration_ms = 9'000}, 10'000);
  EXPECT_DOUBLE_EQ(g.msPerDelivery("s", 2, 10'000), (0.8 * 10 + 0.2 * 9'000) / 2);
  EXPECT_DOUBLE_EQ(g.msPerDelivery("s", 2, 14'000), 2'000);
}

TEST(Pace, AnOpenOrHalfOpenBreakerLetsOneAtATime) {
  Guarded guarded;
  EndpointGuard& g = guarded.g;
  for (int64_t t = 0; g.view("s").state != BreakerState::kOpen && t < 5'000; t += 100) {
    ASSERT_EQ(g.acquire("s", 8, t), EndpointGuard::Admit::kGo);
    g.release("s", {.failure = true, .duration_ms = 80}, t);
  }
  ASSERT_EQ(g.view("s").state, BreakerState::kOpen);
  EXPECT_DOUBLE_EQ(g.msPerDelivery("s", 8, 5), 80);
}

// What EndpointGuard reports to its BreakerListener (operational events).
struct Reports final : BreakerListener {
  void breakerOpened(const std::string& id, int failures, int attempts, int64_t now_ms,
                     int64_t retry_at_ms) noexcept override {
    log.push_back("opened " + id + " failures=" + std::to_string(failures) +
                  " attempts=" + std::to_string(attempts) + " at=" + std::to_string(now_ms) +
                  " retry_at=" + std::to_string(retry_at_ms));
  }
  void breakerRecovered(const std::string& id, int64_t opened_ms,
                        int64_t now_ms) noexcept override {
    log.push_back("recovered " + id + " opened=" + std::to_string(opened_ms) +
                  " at=" + std::to_string(now_ms));
  }
  std::vector<std::string> log;
};

constexpr Feedback kOpsFail{false, true, false, -1, true};  // an attempt of a hookpipe.* event

TEST(BreakerReports, AnOpeningAndItsRecoveryAreReportedOnceEach) {
  Guarded guarded;
  Reports reports;
  EndpointGuard& g = guarded.g;
  g.setListener(&reports);
  const int64_t opened = failUntilOpen(g, 0);
  ASSERT_EQ(reports.log.size(), 1u);
  const EndpointGuard::View v = g.view("s");
  EXPECT_EQ(reports.log[0], "opened s failures=" + std::to_string(v.window_failures) +
                                " attempts=" + std::to_string(v.window_attempts) +
                                " at=" + std::to_string(opened) +
                                " retry_at=" + std::to_string(opened + 10'000));
  EXPECT_GE(v.window_failures, 3);
  // The half-open round's probes fail: it reopens, which is not reported again.
  const int64_t half = opened + 10'000;
  for (int i = 0; i < EndpointGuard::kProbes; ++i) attempt(g, half + i, kFail);
  ASSERT_EQ(g.view("s").state, BreakerState::kOpen);
  EXPECT_EQ(reports.log.size(), 1u);
  // The next round's first probe succeeds: recovered, with the first opening's time.
  const int64_t second = half + 2 + 20'000;
  attempt(g, second, kOk);
  ASSERT_EQ(g.view("s").state, BreakerState::kClosed);
  ASSERT_EQ(reports.log.size(), 2u);
  EXPECT_EQ(reports.log[1],
            "recovered s opened=" + std::to_string(opened) + " at=" + std::to_string(second));
}

TEST(BreakerReports, OperationalTrafficAloneOpensItButIsNeverReported) {
  Guarded guarded;
  Reports reports;
  EndpointGuard& g = guarded.g;
  g.setListener(&reports);
  int64_t t = 0;
  for (; g.view("s").state == BreakerState::kClosed && t < 5'000; t += 100) attempt(g, t, kOpsFail);
  ASSERT_EQ(g.view("s").state, BreakerState::kOpen);  // the endpoint is still protected
  attempt(g, t + 10'000, kOk);
  ASSERT_EQ(g.view("s").state, BreakerState::kClosed);
  EXPECT_TRUE(reports.log.empty());  // neither the opening nor the recovery
  // User traffic failing in the window is reported, even beside operational failures.
  for (t += 20'000; g.view("s").state == BreakerState::kClosed; t += 100)
    attempt(g, t, t % 1'000 == 0 ? kFail : kOpsFail);
  EXPECT_EQ(reports.log.size(), 1u);
}

}  // namespace
}  // namespace hookpipe::deliverer
