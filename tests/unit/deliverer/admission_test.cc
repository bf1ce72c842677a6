// Unit tests for deliverer/admission.h on a fake clock: what goes out at once, what waits
// in its lane and what is parked (and why), ordered lanes holding their partition, the
// waiting budget's stall, and rate-limited lanes (the limiter's local buckets: no Redis).
#include "deliverer/admission.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace hookpipe::deliverer {
namespace {

class FakeClock final : public Clock {
 public:
  int64_t nowMs() const override { return 1'000'000 + ms; }
  int64_t steadyMs() const override { return ms; }
  int64_t ms = 0;
};

// Records what admission decided.
class Decisions final : public AdmissionSink {
 public:
  void start(Pending p, std::shared_ptr<const Subscription>) override {
    started.push_back(p.meta.delivery_id);
  }
  void parkOverflow(Pending p, const Subscription&, int64_t due_ms,
                    std::string_view cause) override {
    parked.push_back({p.meta.delivery_id, std::string(cause), due_ms});
  }
  void parkForBreaker(Pending p, const Subscription&, int64_t open_until_ms) override {
    parked.push_back({p.meta.delivery_id, "breaker_open", open_until_ms});
  }
  void parkPaused(Pending p, const Subscription&) override {
    parked.push_back({p.meta.delivery_id, "paused", 0});
  }
  void dropUnknown(Pending p) override { dropped.push_back(p.meta.delivery_id); }
  void holdPartition(int32_t partition) override { holds.push_back(partition); }
  void releasePartition(int32_t partition) override { releases.push_back(partition); }

  struct Parked {
    std::string id;
    std::string cause;
    int64_t due_ms;
  };
  std::vector<std::string> started;
  std::vector<Parked> parked;
  std::vector<std::string> dropped;
  std::vector<int32_t> holds;
  std::vector<int32_t> releases;
};

class AdmissionTest : public ::testing::Test {
 protected:
  // max_waiting 8: lanes of 2; one endpoint takes 2 at once.
  AdmissionTest()
      : guard_({.failures = 3,
                .cooldown = std::chrono::seconds(10),
                .window = std::chrono::seconds(1),
                .failure_rate_pct = 90},
               metrics_),
        limiter_(redis_, "unit.", metrics_),
        admission_({.max_in_flight = 4, .max_waiting = 8, .endpoint_concurrency = 2}, table_,
                   guard_, limiter_, metrics_, sink_, clock_) {}

  std::shared_ptr<const Subscription> subscribe(const std::string& id, bool ordered = false,
                                                RateLimit limit = {}) {
    Subscription s;
    s.id = id;
    s.url = "http://receiver.test/";
    s.ordered = ordered;
    s.rate_limit = limit;
    table_.upsert(s);
    return table_.find(id);
  }
  Pending delivery(const std::string& sub, const std::string& id, int32_t partition = 0) {
    Pending p;
    p.msg.topic = "deliveries";
    p.msg.partition = partition;
    p.msg.offset = next_offset_++;
    p.meta.subscription_id = sub;
    p.meta.delivery_id = id;
    return p;
  }
  // Ends one attempt of `sub` (a success) at the fake clock's time.
  void ended(const std::string& sub) {
    guard_.release(sub, {.success = true, .duration_ms = 5}, clock_.nowMs());
  }
  double waitingMetric() const {
    return registry_.value("hookpipe_deliverer_waiting").value_or(-1);
  }

  metrics::Registry registry_;
  DelivererMetrics metrics_{registry_};
  redis::Client redis_{"127.0.0.1", 1, std::chrono::milliseconds(50)};  // nothing listens
  FakeClock clock_;
  SubscriptionTable table_;
  Decisions sink_;
  EndpointGuard guard_;
  RateLimiter limiter_;
  Admission admission_;
  int64_t next_offset_ = 0;
};

TEST_F(AdmissionTest, GoesOutAtOnceWhileTheEndpointHasRoomThenWaitsInItsLane) {
  auto sub = subscribe("s");
  admission_.admit(delivery("s", "d1"), sub);
  admission_.admit(delivery("s", "d2"), sub);
  admission_.admit(delivery("s", "d3"), sub);  // the cap is 2
  EXPECT_EQ(sink_.started, (std::vector<std::string>{"d1", "d2"}));
  EXPECT_EQ(admission_.waiting(), 1u);
  EXPECT_EQ(waitingMetric(), 1);
  EXPECT_TRUE(admission_.busy());
  admission_.pump();  // still no slot
  EXPECT_EQ(sink_.started.size(), 2u);
  ended("s");
  admission_.pump();
  EXPECT_EQ(sink_.started.back(), "d3");
  EXPECT_EQ(admission_.waiting(), 0u);
  EXPECT_EQ(waitingMetric(), 0);
  admission_.pump();
  EXPECT_FALSE(admission_.busy());
}

TEST_F(AdmissionTest, BeyondItsLaneADeliveryIsParkedAtTheEndpointsPace) {
  auto sub = subscribe("s");
  for (int i = 0; i < 5; ++i) admission_.admit(delivery("s", "d" + std::to_string(i)), sub);
  // 2 out, 2 waiting (a lane is a quarter of the budget of 8), 1 parked.
  EXPECT_EQ(sink_.started.size(), 2u);
  EXPECT_EQ(admission_.waiting(), 2u);
  ASSERT_EQ(sink_.parked.size(), 1u);
  EXPECT_EQ(sink_.parked[0].id, "d4");
  EXPECT_EQ(sink_.parked[0].cause, "lane_full");
  EXPECT_GE(sink_.parked[0].due_ms, clock_.nowMs() + 1000);  // never sooner than a second
  EXPECT_LE(sink_.parked[0].due_ms, clock_.nowMs() + 10 * 60'000);
}

TEST_F(AdmissionTest, AnOpenBreakerParksWhatWaitsWithoutSendingIt) {
  auto sub = subscribe("s");
  // Fail for over a window: the breaker opens.
  for (int i = 0; i < 20 && guard_.view("s").state != BreakerState::kOpen; ++i) {
    ASSERT_EQ(guard_.acquire("s", 2, clock_.nowMs()), EndpointGuard::Admit::kGo);
    guard_.release("s", {.failure = true, .duration_ms = 5}, clock_.nowMs());
    clock_.ms += 100;
  }
  ASSERT_EQ(guard_.view("s").state, BreakerState::kOpen);
  admission_.admit(delivery("s", "d1"), sub);
  EXPECT_TRUE(sink_.started.empty());
  ASSERT_EQ(sink_.parked.size(), 1u);
  EXPECT_EQ(sink_.parked[0].cause, "breaker_open");
  EXPECT_EQ(sink_.parked[0].due_ms, guard_.view("s").open_until_ms);
}

TEST_F(AdmissionTest, AnOrderedLaneAtItsBoundHoldsItsPartitionUntilHalfDrained) {
  auto sub = subscribe("o", /*ordered=*/true);
  for (int i = 0; i < 4; ++i) admission_.admit(delivery("o", "d" + std::to_string(i), 3), sub);
  // One at a time; never parked: at its bound of 2 waiting it holds partition 3.
  EXPECT_EQ(sink_.started, (std::vector<std::string>{"d0"}));
  EXPECT_TRUE(sink_.parked.empty());
  EXPECT_EQ(admission_.waiting(), 3u);
  EXPECT_EQ(sink_.holds, (std::vector<int32_t>{3}));
  for (int sent = 1; sent <= 2; ++sent) {
    ended("o");
    admission_.pump();
  }
  EXPECT_EQ(sink_.started.size(), 3u);
  EXPECT_TRUE(sink_.releases.empty());
  // Down to one waiting (half the bound): let go at the next look.
  admission_.pump();
  EXPECT_EQ(sink_.releases, (std::vector<int32_t>{3}));
}

TEST_F(AdmissionTest, AnOrderedRetryInPlaceWaitsAtTheHeadOfItsLaneUntilDue) {
  auto sub = subscribe("o", /*ordered=*/true);
  admission_.admit(delivery("o", "d1"), sub);
  admission_.admit(delivery("o", "d2"), sub);
  ended("o");  // d1 failed; it retries in place in 500 ms
  Pending retry = delivery("o", "d1");
  retry.not_before_ms = clock_.nowMs() + 500;
  admission_.retryInPlace(std::move(retry), "o");
  admission_.pump();
  EXPECT_EQ(sink_.started, (std::vector<std::string>{"d1"}));  // d2 waits behind it
  clock_.ms += 500;
  admission_.pump();
  EXPECT_EQ(sink_.started, (std::vector<std::string>{"d1", "d1"}));
}

TEST_F(AdmissionTest, ASpentWaitingBudgetStopsIntakeForASecondAtMost) {
  for (int s = 0; s < 4; ++s) {
    auto sub = subscribe("s" + std::to_string(s));
    for (int i = 0; i < 4; ++i)
      admission_.admit(delivery(sub->id, sub->id + "-" + std::to_string(i)), sub);
  }
  ASSERT_EQ(admission_.waiting(), 8u);
  EXPECT_EQ(admission_.room(0, 0), 0u);
  clock_.ms += 999;
  EXPECT_EQ(admission_.room(0, 0), 0u);
  clock_.ms += 1;
  EXPECT_EQ(admission_.room(1, 0), 3u);  // the window less what is out
  // Requests out for over a second widen the window, up to three more windows.
  EXPECT_EQ(admission_.room(4, 100), 12u);
}

TEST_F(AdmissionTest, ARateLimitedLaneSendsOnlyWhatItHasTokensFor) {
  // 1 a second: a bucket holding 1 token.
  auto sub = subscribe("r", false, RateLimit{.per_second = 1});
  admission_.admit(delivery("r", "d1"), sub);
  admission_.admit(delivery("r", "d2"), sub);
  EXPECT_TRUE(sink_.started.empty());  // a limited lane always asks first
  admission_.pump();
  EXPECT_EQ(sink_.started, (std::vector<std::string>{"d1"}));
  ended("r");
  clock_.ms += 10;
  admission_.pump();
  EXPECT_EQ(sink_.started.size(), 1u);
  EXPECT_GE(registry_.value("hookpipe_deliverer_rate_limit_waits_total").value_or(0), 1);
  clock_.ms += 1000;
  admission_.pump();
  EXPECT_EQ(sink_.started, (std::vector<std::string>{"d1", "d2"}));
  // Beyond its lane a limited delivery is parked for the rate limit.
  for (int i = 3; i < 7; ++i) admission_.admit(delivery("r", "d" + std::to_string(i)), sub);
  ASSERT_FALSE(sink_.parked.empty());
  EXPECT_EQ(sink_.parked.back().cause, "rate_limit");
}

TEST_F(AdmissionTest, LanesOfADeletedOrPausedSubscriptionAreEmptied) {
  auto sub = subscribe("s");
  for (int i = 0; i < 4; ++i) admission_.admit(delivery("s", "d" + std::to_string(i)), sub);
  ASSERT_EQ(admission_.waiting(), 2u);
  Subscription paused = *sub;
  paused.is_active = false;
  table_.upsert(paused);
  admission_.pump();
  EXPECT_EQ(sink_.parked.size(), 2u);
  EXPECT_EQ(sink_.parked[0].cause, "paused");
  for (int i = 4; i < 8; ++i) admission_.admit(delivery("s", "d" + std::to_string(i)), sub);
  table_.erase("s");
  admission_.pump();
  EXPECT_EQ(admission_.waiting(), 0u);
  EXPECT_FALSE(sink_.dropped.empty());
}

TEST_F(AdmissionTest, ARevokedPartitionsWaitingDeliveriesAreLetGo) {
  auto sub = subscribe("s");
  admission_.admit(delivery("s", "d0", 1), sub);
  admission_.admit(delivery("s", "d1", 1), sub);
  admission_.admit(delivery("s", "d2", 1), sub);
  admission_.admit(delivery("s", "d3", 2), sub);
  ASSERT_EQ(admission_.waiting(), 2u);
  const std::vector<int32_t> revoked = {1};
  admission_.revoke([](const Pending& p) { return p.msg.partition == 1; }, revoked);
  EXPECT_EQ(admission_.waiting(), 1u);
  EXPECT_EQ(waitingMetric(), 1);
}

}  // namespace
}  // namespace hookpipe::deliverer
