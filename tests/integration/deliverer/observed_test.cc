// The Deliverer in process, on the real broker and Redis, watched through its seams: a
// recording observe::DeliveryObserver and the role's metrics (MetricsObserver into a
// metrics::Registry). Each delivery step must reach the observers exactly once, with the
// attempt's fields filled in.
#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "common/kafka/kafka.h"
#include "common/metrics/metrics.h"
#include "common/observe/observer.h"
#include "common/records/delivery.h"
#include "common/role/role.h"
#include "common/subscriptions/table.h"
#include "common/subscriptions/writer.h"
#include "deliverer/deliverer.h"
#include "deliverer/metrics.h"
#include "deliverer/metrics_observer.h"
#include "support/harness.h"
#include "support/receiver.h"

namespace hookpipe::testing {
namespace {

using namespace std::chrono_literals;
using deliverer::Deliverer;
using observe::Outcome;

// What one onAttempt() call said, copied (the Attempt's views end with the call).
struct Seen {
  Outcome outcome;
  std::string delivery_id;
  std::string subscription_id;
  std::string event_id;
  std::string event_type;
  int attempt = 0;
  bool attempted = false;
  int64_t started_ms = 0;
  int64_t duration_us = 0;
  long status = 0;
  std::string error_class;
  std::string error_message;
  std::string reason;
  std::size_t request_bytes = 0;
  std::size_t response_bytes = 0;
  std::string response_head;
  int64_t next_attempt_ms = 0;
  std::string source_topic;
  int32_t source_partition = -1;
  int64_t source_offset = -1;
};

class RecordingObserver final : public observe::DeliveryObserver {
 public:
  void onAttempt(const observe::Attempt& a) noexcept override {
    std::lock_guard lock(mu_);
    seen_.push_back({a.outcome,
                     std::string(a.delivery_id),
                     std::string(a.subscription_id),
                     std::string(a.event_id),
                     std::string(a.event_type),
                     a.attempt,
                     a.attempted,
                     a.started_ms,
                     a.duration_us,
                     a.status,
                     std::string(a.error_class),
                     std::string(a.error_message),
                     std::string(a.reason),
                     a.request_bytes,
                     a.response_bytes,
                     std::string(a.response_head),
                     a.next_attempt_ms,
                     std::string(a.source_topic),
                     a.source_partition,
                     a.source_offset});
  }
  std::vector<Seen> seen() const {
    std::lock_guard lock(mu_);
    return seen_;
  }
  // The calls for one delivery, in order.
  std::vector<Seen> of(const std::string& delivery_id) const {
    std::vector<Seen> out;
    for (const Seen& s : seen())
      if (s.delivery_id == delivery_id) out.push_back(s);
    return out;
  }

 private:
  mutable std::mutex mu_;
  std::vector<Seen> seen_;
};

class DelivererObservedTest : public ::testing::Test {
 protected:
  void SetUp() override {
    static const bool curl_ready = curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK;
    ASSERT_TRUE(curl_ready);
    pipeline_ =
        std::make_unique<Pipeline>(::testing::UnitTest::GetInstance()->current_test_info()->name());
    config_ = pipeline_->config();
    config_.allow_private_targets = true;
    config_.request_timeout = 5s;
    ensureTopicsOrThrow(config_);
    observers_.add(recorder_);
    observers_.add(std::make_shared<deliverer::MetricsObserver>(metrics_));
    shared_ = std::make_unique<deliverer::Shared>(config_, metrics_, observers_);
  }
  void TearDown() override { stopWorker(); }

  // A subscription to everything at the receiver's `path`; retries at once, straight back
  // to the deliveries topic (no retry role runs here), at most twice.
  Subscription subscribe(const std::string& id, const std::string& url) {
    Subscription sub;
    sub.id = id;
    sub.url = url;
    sub.events = {"*"};
    sub.secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    sub.retry_config.strategy = RetryConfig::Strategy::kFixed;
    sub.retry_config.retry_delay_ms = 0;
    sub.retry_config.max_retries = 2;
    sub.retry_config.jitter = false;
    sub.refreshSigningKeys();
    table_.upsert(sub);
    return sub;
  }
  // Writes one delivery record as the router does; returns its delivery id.
  std::string produceDelivery(const Subscription& sub, const std::string& event_id) {
    records::DeliveryMeta meta;
    meta.event_id = event_id;
    meta.event_type = "order.created";
    meta.subscription_id = sub.id;
    meta.delivery_id = records::deliveryIdFor(event_id, sub.id);
    kafka::HeaderList headers;
    meta.writeTo(headers);
    auto producer = kafka::Producer::create(config_);
    EXPECT_TRUE(producer.has_value());
    EXPECT_TRUE((*producer)->produceBlocking(
        config_.topics.deliveries(), sub.id,
        R"({"id":")" + event_id + R"(","type":"order.created","data":{}})", headers, nullptr));
    return meta.delivery_id;
  }
  void startWorker() {
    auto worker = Deliverer::create(config_, table_, *shared_, 0);
    ASSERT_TRUE(worker.has_value()) << worker.error().message;
    worker_ = std::move(*worker);
    thread_ = std::thread([this] { exit_code_ = worker_->run(stop_); });
  }
  // Stops the worker; after this every step it took has been observed.
  void stopWorker() {
    if (!thread_.joinable()) return;
    stop_ = true;
    thread_.join();
    worker_.reset();
    EXPECT_EQ(exit_code_, 0);
  }
  double metric(std::string_view name, const metrics::Labels& labels = {}) const {
    return registry_.value(name, labels).value_or(-1);
  }
  bool waitForOutcome(const std::string& delivery_id, Outcome outcome) {
    return eventually(
        [&] {
          auto seen = recorder_->of(delivery_id);
          return !seen.empty() && seen.back().outcome == outcome;
        },
        60s);
  }

  std::unique_ptr<Pipeline> pipeline_;
  Config config_;
  SubscriptionTable table_;
  metrics::Registry registry_;
  deliverer::DelivererMetrics metrics_{registry_};
  observe::Observers observers_;
  std::shared_ptr<RecordingObserver> recorder_ = std::make_shared<RecordingObserver>();
  std::unique_ptr<deliverer::Shared> shared_;
  std::unique_ptr<Deliverer> worker_;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  int exit_code_ = -1;
};

TEST_F(DelivererObservedTest, A2xxIsObservedOnceAsDelivered) {
  Receiver receiver([](const ReceivedRequest&) { return 200; });
  const Subscription sub = subscribe("obs-ok", receiver.url("/ok"));
  const std::string id = produceDelivery(sub, "evt_ok_1");
  startWorker();
  ASSERT_TRUE(waitForOutcome(id, Outcome::kDelivered));
  stopWorker();

  const auto seen = recorder_->of(id);
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(recorder_->seen().size(), 1u);
  const Seen& s = seen[0];
  EXPECT_EQ(s.subscription_id, sub.id);
  EXPECT_EQ(s.event_id, "evt_ok_1");
  EXPECT_EQ(s.event_type, "order.created");
  EXPECT_EQ(s.attempt, 1);
  EXPECT_TRUE(s.attempted);
  EXPECT_EQ(s.status, 200);
  EXPECT_EQ(s.error_class, "");
  EXPECT_GT(s.started_ms, 0);
  EXPECT_GT(s.duration_us, 0);
  EXPECT_GT(s.request_bytes, 0u);
  EXPECT_EQ(s.source_topic, config_.topics.deliveries());
  EXPECT_GE(s.source_partition, 0);
  EXPECT_GE(s.source_offset, 0);
  EXPECT_EQ(receiver.requests().size(), 1u);

  EXPECT_EQ(metric("hookpipe_deliverer_attempts_total", {{"outcome", "delivered"}}), 1);
  EXPECT_EQ(metric("hookpipe_deliverer_attempts_total", {{"outcome", "retried"}}), 0);
  EXPECT_EQ(metric("hookpipe_deliverer_attempt_duration_seconds_count"), 1);
  EXPECT_EQ(metric("hookpipe_deliverer_requests_in_flight"), 0);
}

TEST_F(DelivererObservedTest, A500Then200IsObservedAsRetriedThenDelivered) {
  std::atomic<int> calls{0};
  Receiver receiver([&](const ReceivedRequest&) { return calls++ == 0 ? 500 : 200; });
  const Subscription sub = subscribe("obs-flaky", receiver.url("/flaky"));
  const std::string id = produceDelivery(sub, "evt_flaky_1");
  startWorker();
  ASSERT_TRUE(waitForOutcome(id, Outcome::kDelivered));
  stopWorker();

  const auto seen = recorder_->of(id);
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(recorder_->seen().size(), 2u);
  EXPECT_EQ(seen[0].outcome, Outcome::kRetried);
  EXPECT_EQ(seen[0].attempt, 1);
  EXPECT_TRUE(seen[0].attempted);
  EXPECT_EQ(seen[0].status, 500);
  EXPECT_EQ(seen[0].error_class, "http_5xx");
  EXPECT_NE(seen[0].error_message.find("500"), std::string::npos) << seen[0].error_message;
  EXPECT_GE(seen[0].next_attempt_ms, seen[0].started_ms);
  EXPECT_EQ(seen[1].outcome, Outcome::kDelivered);
  EXPECT_EQ(seen[1].attempt, 2);
  EXPECT_EQ(seen[1].status, 200);
  // The retry came back through the deliveries topic: a later record.
  EXPECT_EQ(seen[1].source_topic, config_.topics.deliveries());
  EXPECT_NE(seen[1].source_offset, seen[0].source_offset);
  EXPECT_EQ(receiver.requests().size(), 2u);

  EXPECT_EQ(metric("hookpipe_deliverer_attempts_total", {{"outcome", "retried"}}), 1);
  EXPECT_EQ(metric("hookpipe_deliverer_attempts_total", {{"outcome", "delivered"}}), 1);
  EXPECT_EQ(metric("hookpipe_deliverer_attempt_duration_seconds_count"), 2);
}

TEST_F(DelivererObservedTest, A400IsObservedOnceAsDeadLettered) {
  Receiver receiver([](const ReceivedRequest&) { return 400; });
  const Subscription sub = subscribe("obs-bad", receiver.url("/bad"));
  const std::string id = produceDelivery(sub, "evt_bad_1");
  startWorker();
  ASSERT_TRUE(waitForOutcome(id, Outcome::kDeadLettered));
  // Its offset is finished once the broker has the dead letter.
  ASSERT_TRUE(
      eventually([&] { return readTopic(config_, config_.topics.dlq()).size() == 1; }, 30s));
  stopWorker();

  const auto seen = recorder_->of(id);
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(recorder_->seen().size(), 1u);
  EXPECT_EQ(seen[0].attempt, 1);
  EXPECT_TRUE(seen[0].attempted);
  EXPECT_EQ(seen[0].status, 400);
  EXPECT_EQ(seen[0].error_class, "http_4xx");
  EXPECT_EQ(seen[0].reason, "http_4xx");
  EXPECT_EQ(receiver.requests().size(), 1u);

  EXPECT_EQ(metric("hookpipe_deliverer_attempts_total", {{"outcome", "dead_lettered"}}), 1);
  EXPECT_EQ(metric("hookpipe_deliverer_steps_total", {{"outcome", "dead_lettered"}}), 1);
  EXPECT_EQ(metric("hookpipe_deliverer_dead_letters_total", {{"reason", "http_4xx"}}), 1);
  EXPECT_EQ(metric("hookpipe_deliverer_attempts_total", {{"outcome", "delivered"}}), 0);
}

// Deliveries of a deleted subscription (written before the delete, as a router or a tier
// would still hold them) are dropped unsent: skipped, unknown_subscription.
TEST_F(DelivererObservedTest, DeliveriesOfADeletedSubscriptionAreObservedAsSkipped) {
  Receiver receiver;
  const Subscription live = subscribe("obs-live", receiver.url("/live"));
  Subscription gone = live;
  gone.id = "obs-gone";  // never in the table
  gone.url = receiver.url("/gone");
  std::vector<std::string> gone_ids;
  for (int i = 0; i < 3; ++i)
    gone_ids.push_back(produceDelivery(gone, "evt_gone_" + std::to_string(i)));
  const std::string live_id = produceDelivery(live, "evt_live");
  startWorker();
  ASSERT_TRUE(waitForOutcome(live_id, Outcome::kDelivered));
  for (const auto& id : gone_ids) ASSERT_TRUE(waitForOutcome(id, Outcome::kSkipped)) << id;
  stopWorker();

  for (const auto& id : gone_ids) {
    const auto seen = recorder_->of(id);
    ASSERT_EQ(seen.size(), 1u);
    EXPECT_EQ(seen[0].reason, "unknown_subscription");
    EXPECT_FALSE(seen[0].attempted);
    EXPECT_EQ(seen[0].status, 0);
  }
  EXPECT_EQ(recorder_->seen().size(), 4u);
  EXPECT_TRUE(receiver.requestsTo("/gone").empty());
  EXPECT_EQ(receiver.requestsTo("/live").size(), 1u);
  EXPECT_EQ(metric("hookpipe_deliverer_unknown_subscription_total"), 3);
  EXPECT_EQ(metric("hookpipe_deliverer_steps_total", {{"outcome", "skipped"}}), 3);
  EXPECT_EQ(metric("hookpipe_deliverer_attempts_total", {{"outcome", "delivered"}}), 1);
  EXPECT_EQ(metric("hookpipe_deliverer_attempts_total", {{"outcome", "skipped"}}), -1);  // none
  EXPECT_EQ(metric("hookpipe_deliverer_duplicates_skipped_total"), 0);
  // Neither parked nor dead-lettered.
  EXPECT_TRUE(readTopic(config_, config_.topics.dlq()).empty());
  for (const auto& tier : config_.retry_tiers)
    EXPECT_TRUE(readTopic(config_, config_.topics.retryTier(tier)).empty());
}

// The same through the real path: the subscription is deleted with the API's write path
// (a tombstone on the subscriptions topic), the worker's table learns it from the topic
// mirror, and the deliveries still queued for it are skipped, never sent.
TEST_F(DelivererObservedTest, DeliveriesOfASubscriptionDeletedThroughTheTopicAreSkipped) {
  Receiver receiver;
  const Subscription live = subscribe("obs-live", receiver.url("/live"));
  const Subscription gone = subscribe("obs-gone", receiver.url("/gone"));
  SubscriptionSync sync(config_, table_);
  ASSERT_TRUE(sync.start());
  ASSERT_TRUE(sync.waitLoaded(30s));
  auto producer = kafka::Producer::create(config_);
  ASSERT_TRUE(producer.has_value());
  subscriptions::Writer writer(**producer, table_, config_.topics.subscriptions());
  std::optional<std::optional<Error>> removed;
  ASSERT_TRUE(writer.remove(gone.id, [&](std::optional<Error> e) { removed = std::move(e); }));
  ASSERT_TRUE(eventually(
      [&] {
        (*producer)->poll(10);
        return removed.has_value();
      },
      30s));
  ASSERT_FALSE(*removed) << (*removed)->message;
  ASSERT_TRUE(eventually([&] { return table_.find(gone.id) == nullptr; }, 30s));

  std::vector<std::string> gone_ids;
  for (int i = 0; i < 3; ++i)
    gone_ids.push_back(produceDelivery(gone, "evt_deleted_" + std::to_string(i)));
  const std::string live_id = produceDelivery(live, "evt_still_live");
  startWorker();
  ASSERT_TRUE(waitForOutcome(live_id, Outcome::kDelivered));
  for (const auto& id : gone_ids) ASSERT_TRUE(waitForOutcome(id, Outcome::kSkipped)) << id;
  stopWorker();

  for (const auto& id : gone_ids) EXPECT_EQ(recorder_->of(id).at(0).reason, "unknown_subscription");
  EXPECT_TRUE(receiver.requestsTo("/gone").empty());
  EXPECT_EQ(receiver.requestsTo("/live").size(), 1u);
  EXPECT_EQ(metric("hookpipe_deliverer_unknown_subscription_total"), 3);
}

// A copy of a delivery that is in flight or was delivered (a re-routed twin, a replay) is
// not sent again: skipped, duplicate.
TEST_F(DelivererObservedTest, ACopyOfADeliveryIsObservedAsSkippedAndNotSent) {
  Receiver receiver;
  const Subscription sub = subscribe("obs-twin", receiver.url("/twin"));
  const std::string id = produceDelivery(sub, "evt_twin");
  ASSERT_EQ(produceDelivery(sub, "evt_twin"), id);
  startWorker();
  ASSERT_TRUE(eventually(
      [&] {
        const auto seen = recorder_->of(id);
        return seen.size() == 2;
      },
      60s));
  stopWorker();

  const auto seen = recorder_->of(id);
  ASSERT_EQ(seen.size(), 2u);
  const int delivered = seen[0].outcome == Outcome::kDelivered ? 0 : 1;
  EXPECT_EQ(seen[static_cast<std::size_t>(delivered)].outcome, Outcome::kDelivered);
  const Seen& skipped = seen[static_cast<std::size_t>(1 - delivered)];
  EXPECT_EQ(skipped.outcome, Outcome::kSkipped);
  EXPECT_EQ(skipped.reason, "duplicate");
  EXPECT_FALSE(skipped.attempted);
  EXPECT_EQ(receiver.requests().size(), 1u);
  EXPECT_EQ(metric("hookpipe_deliverer_duplicates_skipped_total"), 1);
  EXPECT_EQ(metric("hookpipe_deliverer_attempts_total", {{"outcome", "delivered"}}), 1);
}

// An ordered subscription whose lane reaches its bound holds its partition paused
// (hookpipe_deliverer_partitions_held) instead of parking, and lets it go once the lane
// drains; everything arrives once, in order.
TEST_F(DelivererObservedTest, AnOrderedLaneAtItsBoundHoldsItsPartitionAndLetsItGo) {
  config_.max_waiting = 8;  // lanes of 2
  std::mutex mu;
  std::condition_variable opened_cv;
  bool opened = false;
  Receiver receiver([&](const ReceivedRequest&) {
    std::unique_lock lock(mu);
    opened_cv.wait_for(lock, 30s, [&] { return opened; });
    return 200;
  });
  Subscription sub = subscribe("obs-ordered", receiver.url("/ordered"));
  sub.ordered = true;
  table_.upsert(sub);
  constexpr int kDeliveries = 8;
  std::vector<std::string> ids;
  for (int i = 0; i < kDeliveries; ++i)
    ids.push_back(produceDelivery(sub, "evt_ord_" + std::to_string(i)));
  startWorker();
  ASSERT_TRUE(eventually([&] { return metric("hookpipe_deliverer_partitions_held") == 1; }, 30s));
  {
    std::lock_guard lock(mu);
    opened = true;
  }
  opened_cv.notify_all();
  for (const auto& id : ids) ASSERT_TRUE(waitForOutcome(id, Outcome::kDelivered)) << id;
  EXPECT_TRUE(eventually([&] { return metric("hookpipe_deliverer_partitions_held") == 0; }, 10s));
  stopWorker();

  std::vector<std::string> delivered;
  for (const Seen& s : recorder_->seen()) {
    EXPECT_EQ(s.outcome, Outcome::kDelivered) << s.delivery_id << " " << s.reason;
    delivered.push_back(s.event_id);
  }
  std::vector<std::string> expected;
  for (int i = 0; i < kDeliveries; ++i) expected.push_back("evt_ord_" + std::to_string(i));
  EXPECT_EQ(delivered, expected);
  EXPECT_EQ(receiver.requests().size(), static_cast<std::size_t>(kDeliveries));
  EXPECT_EQ(receiver.maxConcurrent(), 1);  // one at a time
  EXPECT_EQ(metric("hookpipe_deliverer_parked_total", {{"cause", "lane_full"}}), 0);
}

}  // namespace
}  // namespace hookpipe::testing
