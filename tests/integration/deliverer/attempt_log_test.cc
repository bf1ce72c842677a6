// The attempt log (deliverer/attempt_log.h) on the real broker and Redis: a Deliverer in
// process with the AttemptLog registered as the role does, the records read back from
// `<prefix>attempts`; and the deliverer role as a process, HOOKPIPE_ATTEMPT_LOG on and off.
#include "deliverer/attempt_log.h"

#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <mutex>
#include <thread>

#include "common/attempts/record.h"
#include "common/kafka/kafka.h"
#include "common/metrics/metrics.h"
#include "common/observe/observer.h"
#include "common/records/delivery.h"
#include "common/role/role.h"
#include "common/subscriptions/table.h"
#include "deliverer/deliverer.h"
#include "deliverer/metrics.h"
#include "deliverer/metrics_observer.h"
#include "support/harness.h"
#include "support/poll.h"
#include "support/receiver.h"

namespace hookpipe::testing {
namespace {

using namespace std::chrono_literals;
using deliverer::Deliverer;
using observe::Outcome;

// The outcome of each step per delivery, to know when the worker is done with one.
class StepObserver final : public observe::DeliveryObserver {
 public:
  void onAttempt(const observe::Attempt& a) noexcept override {
    std::lock_guard lock(mu_);
    steps_[std::string(a.delivery_id)].push_back(a.outcome);
  }
  std::vector<Outcome> of(const std::string& id) const {
    std::lock_guard lock(mu_);
    auto it = steps_.find(id);
    return it == steps_.end() ? std::vector<Outcome>{} : it->second;
  }

 private:
  mutable std::mutex mu_;
  std::map<std::string, std::vector<Outcome>> steps_;
};

struct LogRecord {
  std::string key;
  int64_t timestamp_ms = 0;
  attempts::Record record;
};

class AttemptLogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    static const bool curl_ready = curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK;
    ASSERT_TRUE(curl_ready);
    pipeline_ =
        std::make_unique<Pipeline>(::testing::UnitTest::GetInstance()->current_test_info()->name());
    config_ = pipeline_->config();
    config_.allow_private_targets = true;
    config_.request_timeout = 5s;
  }
  void TearDown() override { stopWorker(); }

  // Builds the observers as deliverer/role.cc does; call after adjusting config_.
  void wire() {
    ensureTopicsOrThrow(config_);
    auto log = deliverer::AttemptLog::create(config_, metrics_);
    ASSERT_TRUE(log) << log.error().message;
    log_ = *log;
    observers_.add(std::make_shared<deliverer::MetricsObserver>(metrics_));
    observers_.add(log_);
    observers_.add(steps_);
    shared_ = std::make_unique<deliverer::Shared>(config_, metrics_, observers_);
  }
  Subscription subscribe(const std::string& id, const std::string& url, int max_retries = 2) {
    Subscription sub;
    sub.id = id;
    sub.tenant = "acme";
    sub.url = url;
    sub.events = {"*"};
    sub.secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    sub.retry_config.strategy = RetryConfig::Strategy::kFixed;
    sub.retry_config.retry_delay_ms = 0;
    sub.retry_config.max_retries = max_retries;
    sub.retry_config.jitter = false;
    sub.refreshSigningKeys();
    table_.upsert(sub);
    return sub;
  }
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
        R"({"id":")" + event_id + R"(","type":"order.created","data":{"n":1}})", headers, nullptr));
    EXPECT_TRUE((*producer)->flush(10s));
    return meta.delivery_id;
  }
  void startWorker() {
    auto worker = Deliverer::create(config_, table_, *shared_, 0);
    ASSERT_TRUE(worker.has_value()) << worker.error().message;
    worker_ = std::move(*worker);
    thread_ = std::thread([this] { exit_code_ = worker_->run(stop_); });
  }
  void stopWorker() {
    if (!thread_.joinable()) return;
    stop_ = true;
    thread_.join();
    worker_.reset();
    EXPECT_EQ(exit_code_, 0);
  }
  bool waitForOutcome(const std::string& id, Outcome outcome) {
    return testkit::pollUntil(
        [&] {
          auto s = steps_->of(id);
          return !s.empty() && s.back() == outcome;
        },
        60s);
  }
  // Every record on the attempts topic, once the log's producer has flushed.
  std::vector<LogRecord> logRecords() {
    EXPECT_TRUE(log_->flush(10s));
    std::vector<LogRecord> out;
    for (const auto& m : readTopic(config_, config_.topics.attempts())) {
      auto r = attempts::parse(m.value);
      EXPECT_TRUE(r) << (r ? "" : r.error().message) << ": " << m.value;
      if (r) out.push_back({m.key, m.timestamp_ms, std::move(*r)});
    }
    return out;
  }
  static std::vector<attempts::Record> recordsOf(const std::vector<LogRecord>& all,
                                                 const std::string& delivery_id) {
    std::vector<attempts::Record> out;
    for (const auto& r : all)
      if (r.record.delivery_id == delivery_id) out.push_back(r.record);
    std::sort(out.begin(), out.end(), [](auto& a, auto& b) { return a.attempt < b.attempt; });
    return out;
  }
  // The delivery record the log's payload fields point at.
  std::optional<kafka::OwnedMessage> payloadOf(const attempts::Record& r) {
    for (auto& m : readTopic(config_, r.payload_topic))
      if (m.partition == r.payload_partition && m.offset == r.payload_offset) return m;
    return std::nullopt;
  }
  double metric(std::string_view name, const metrics::Labels& labels = {}) const {
    return registry_.value(name, labels).value_or(-1);
  }

  std::unique_ptr<Pipeline> pipeline_;
  Config config_;
  SubscriptionTable table_;
  metrics::Registry registry_;
  deliverer::DelivererMetrics metrics_{registry_};
  observe::Observers observers_;
  std::shared_ptr<deliverer::AttemptLog> log_;
  std::shared_ptr<StepObserver> steps_ = std::make_shared<StepObserver>();
  std::unique_ptr<deliverer::Shared> shared_;
  std::unique_ptr<Deliverer> worker_;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  int exit_code_ = -1;
};

TEST_F(AttemptLogTest, ADeliveredAttemptIsOneRecordKeyedBySubscription) {
  ASSERT_NO_FATAL_FAILURE(wire());
  Receiver receiver([](const ReceivedRequest&) { return 200; });
  const Subscription sub = subscribe("log-ok", receiver.url("/ok"));
  const int64_t before = kafka::nowMs();
  const std::string id = produceDelivery(sub, "evt_log_ok");
  startWorker();
  ASSERT_TRUE(waitForOutcome(id, Outcome::kDelivered));
  stopWorker();

  const auto all = logRecords();
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].key, sub.id);
  const attempts::Record& r = all[0].record;
  EXPECT_EQ(all[0].timestamp_ms, r.finished_ms);  // what the export's time range reads
  EXPECT_EQ(r.version, attempts::kSchemaVersion);
  EXPECT_EQ(r.delivery_id, id);
  EXPECT_EQ(r.event_id, "evt_log_ok");
  EXPECT_EQ(r.event_type, "order.created");
  EXPECT_EQ(r.subscription_id, sub.id);
  EXPECT_EQ(r.tenant, "acme");
  EXPECT_EQ(r.attempt, 1);
  EXPECT_EQ(r.outcome, "delivered");
  EXPECT_EQ(r.reason, "");
  EXPECT_TRUE(r.attempted);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.error_class, "");
  EXPECT_GE(r.started_ms, before);
  EXPECT_GE(r.finished_ms, r.started_ms);
  EXPECT_LE(r.finished_ms, kafka::nowMs());
  EXPECT_GT(r.duration_us, 0);
  EXPECT_EQ(r.response_body, "status 200");
  EXPECT_EQ(r.response_bytes, 10u);
  EXPECT_EQ(r.next_attempt_ms, 0);
  ASSERT_EQ(receiver.requests().size(), 1u);
  EXPECT_EQ(r.request_bytes, receiver.requests()[0].body.size());
  EXPECT_EQ(r.payload_topic, config_.topics.deliveries());
  auto payload = payloadOf(r);
  ASSERT_TRUE(payload);
  EXPECT_EQ(payload->value, receiver.requests()[0].body);

  EXPECT_EQ(metric("hookpipe_deliverer_attempt_log_records_total", {{"result", "produced"}}), 1);
  EXPECT_EQ(metric("hookpipe_deliverer_attempt_log_records_total", {{"result", "failed"}}), 0);
  EXPECT_EQ(metric("hookpipe_deliverer_attempt_log_records_total", {{"result", "dropped"}}), 0);
}

TEST_F(AttemptLogTest, ARetriedThenDeliveredDeliveryIsTwoRecords) {
  ASSERT_NO_FATAL_FAILURE(wire());
  std::atomic<int> calls{0};
  Receiver receiver([&](const ReceivedRequest&) { return calls++ == 0 ? 503 : 200; });
  const Subscription sub = subscribe("log-flaky", receiver.url("/flaky"));
  const std::string id = produceDelivery(sub, "evt_log_flaky");
  startWorker();
  ASSERT_TRUE(waitForOutcome(id, Outcome::kDelivered));
  stopWorker();

  const auto all = logRecords();
  for (const auto& r : all) EXPECT_EQ(r.key, sub.id);
  const auto records = recordsOf(all, id);
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(all.size(), 2u);
  const attempts::Record& first = records[0];
  EXPECT_EQ(first.attempt, 1);
  EXPECT_EQ(first.outcome, "retried");
  EXPECT_EQ(first.status, 503);
  EXPECT_EQ(first.error_class, "http_5xx");
  EXPECT_NE(first.error_message.find("503"), std::string::npos) << first.error_message;
  EXPECT_EQ(first.response_body, "status 503");
  EXPECT_GE(first.next_attempt_ms, first.started_ms);  // retry_delay 0: due at once
  EXPECT_LE(first.next_attempt_ms, first.finished_ms + 1000);
  const attempts::Record& second = records[1];
  EXPECT_EQ(second.attempt, 2);
  EXPECT_EQ(second.outcome, "delivered");
  EXPECT_EQ(second.status, 200);
  EXPECT_EQ(second.next_attempt_ms, 0);
  EXPECT_GE(second.finished_ms, first.finished_ms);
  // Each points at the record it was sent from: the retry is a later record of deliveries,
  // with the same body.
  EXPECT_NE(first.payload_offset, second.payload_offset);
  ASSERT_EQ(receiver.requests().size(), 2u);
  for (const auto* r : {&first, &second}) {
    auto payload = payloadOf(*r);
    ASSERT_TRUE(payload) << r->payload_topic << " " << r->payload_partition << ":"
                         << r->payload_offset;
    EXPECT_EQ(payload->value, receiver.requests()[0].body);
  }
}

TEST_F(AttemptLogTest, A4xxIsOneDeadLetteredRecordWithItsReason) {
  ASSERT_NO_FATAL_FAILURE(wire());
  Receiver receiver([](const ReceivedRequest&) { return 422; });
  const Subscription sub = subscribe("log-bad", receiver.url("/bad"));
  const std::string id = produceDelivery(sub, "evt_log_bad");
  startWorker();
  ASSERT_TRUE(waitForOutcome(id, Outcome::kDeadLettered));
  stopWorker();

  const auto all = logRecords();
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].key, sub.id);
  const attempts::Record& r = all[0].record;
  EXPECT_EQ(r.outcome, "dead_lettered");
  EXPECT_EQ(r.reason, "http_4xx");
  EXPECT_EQ(r.error_class, "http_4xx");
  EXPECT_EQ(r.status, 422);
  EXPECT_TRUE(r.attempted);
  EXPECT_EQ(r.response_body, "status 422");
  EXPECT_EQ(r.next_attempt_ms, 0);
}

// A target the deliverer refuses (a private address, allow_private_targets off: curl is
// stopped before it connects) is dead-lettered at once: a record without a status or a
// response.
TEST_F(AttemptLogTest, ARefusedAddressIsADeadLetteredRecordWithoutRequest) {
  config_.allow_private_targets = false;
  ASSERT_NO_FATAL_FAILURE(wire());
  Receiver receiver;
  const Subscription sub = subscribe("log-refused", receiver.url("/refused"));
  const std::string id = produceDelivery(sub, "evt_log_refused");
  startWorker();
  ASSERT_TRUE(waitForOutcome(id, Outcome::kDeadLettered));
  stopWorker();

  EXPECT_TRUE(receiver.requests().empty());
  const auto all = logRecords();
  ASSERT_EQ(all.size(), 1u);
  const attempts::Record& r = all[0].record;
  EXPECT_EQ(r.outcome, "dead_lettered");
  EXPECT_EQ(r.reason, "refused_address");
  EXPECT_EQ(r.status, 0);
  EXPECT_EQ(r.error_class, "refused_address");
  EXPECT_NE(r.error_message.find("refused"), std::string::npos) << r.error_message;
  EXPECT_EQ(r.response_body, "");
  EXPECT_EQ(r.response_bytes, 0u);
  EXPECT_EQ(r.attempt, 1);
  EXPECT_GE(r.finished_ms, r.started_ms);
}

// Parks (a paused subscription) and skips (a deleted one) are steps, not attempts: no record.
TEST_F(AttemptLogTest, ParksAndSkipsWriteNoRecord) {
  ASSERT_NO_FATAL_FAILURE(wire());
  Receiver receiver;
  Subscription paused = subscribe("log-paused", receiver.url("/paused"));
  paused.is_active = false;
  table_.upsert(paused);
  Subscription gone = paused;
  gone.id = "log-gone";  // never in the table
  const Subscription live = subscribe("log-live", receiver.url("/live"));
  const std::string paused_id = produceDelivery(paused, "evt_log_paused");
  const std::string gone_id = produceDelivery(gone, "evt_log_gone");
  const std::string live_id = produceDelivery(live, "evt_log_live");
  startWorker();
  ASSERT_TRUE(waitForOutcome(paused_id, Outcome::kParked));
  ASSERT_TRUE(waitForOutcome(gone_id, Outcome::kSkipped));
  ASSERT_TRUE(waitForOutcome(live_id, Outcome::kDelivered));
  stopWorker();

  const auto all = logRecords();
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].record.delivery_id, live_id);
  EXPECT_EQ(metric("hookpipe_deliverer_attempt_log_records_total", {{"result", "produced"}}), 1);
}

// The role as a process: on by default, nothing written with HOOKPIPE_ATTEMPT_LOG=false.
class AttemptLogRoleTest : public PipelineFixture {};

TEST_F(AttemptLogRoleTest, TheRoleWritesTheLogUnlessTurnedOff) {
  Receiver receiver;
  ASSERT_NO_FATAL_FAILURE(startApi());
  const auto sub = subscribe(R"({"url":")" + receiver.url("/hook") + R"(","events":["order.*"]})");
  pipeline_->start("router");
  auto& off = pipeline_->start(
      "deliverer", "1", {{"HOOKPIPE_ATTEMPT_LOG", "false"}, {"HOOKPIPE_DELIVERER_THREADS", "1"}});
  publish(R"({"type":"order.created","data":{"n":1}})");
  ASSERT_TRUE(receiver.waitFor([](auto& r) { return r.size() >= 1; }, 60s)) << pipeline_->logs();
  const Config& config = pipeline_->config();
  EXPECT_TRUE(testkit::holdsFor([&] { return readTopic(config, config.topics.attempts()).empty(); },
                                3s, 500ms));
  pipeline_->stop(off);
  EXPECT_TRUE(readTopic(config, config.topics.attempts()).empty());

  pipeline_->start("deliverer", "1", {{"HOOKPIPE_DELIVERER_THREADS", "1"}});
  const std::string event = publish(R"({"type":"order.created","data":{"n":2}})");
  ASSERT_TRUE(receiver.waitFor([](auto& r) { return r.size() >= 2; }, 60s)) << pipeline_->logs();
  std::vector<kafka::OwnedMessage> log;
  ASSERT_TRUE(testkit::pollUntil(
      [&] {
        log = readTopic(config, config.topics.attempts());
        return !log.empty();
      },
      30s))
      << pipeline_->logs();
  ASSERT_EQ(log.size(), 1u);
  EXPECT_EQ(log[0].key, sub.id);
  auto r = attempts::parse(log[0].value);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->event_id, event);
  EXPECT_EQ(r->outcome, "delivered");
}

}  // namespace
}  // namespace hookpipe::testing
