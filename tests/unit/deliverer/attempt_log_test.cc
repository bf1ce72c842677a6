// deliverer/attempt_log.h without a broker: a full local queue drops records at once
// instead of blocking the worker, and what is still queued at shutdown is purged after the
// flush timeout; both counted.
#include "deliverer/attempt_log.h"

#include <gtest/gtest.h>
#include <librdkafka/rdkafka_mock.h>

#include <chrono>
#include <cstdlib>

#include "common/metrics/metrics.h"
#include "support/poll.h"

namespace hookpipe::deliverer {
namespace {

using namespace std::chrono_literals;

constexpr int16_t kProduceApiKey = 0;  // Kafka's ApiKey of Produce requests

TEST(AttemptLog, AFullQueueDropsRecordsWithoutBlockingAndShutdownPurgesTheRest) {
  Config config;
  config.brokers = "127.0.0.1:1";  // nothing listens: records stay queued
  config.topics.prefix = "unit.";
  metrics::Registry registry;
  DelivererMetrics metrics(registry);
  // Every Kafka client takes HOOKPIPE_KAFKA_<PROPERTY>: a queue of 5 records.
  ::setenv("HOOKPIPE_KAFKA_QUEUE_BUFFERING_MAX_MESSAGES", "5", 1);
  auto log = AttemptLog::create(config, metrics, 100ms);
  ::unsetenv("HOOKPIPE_KAFKA_QUEUE_BUFFERING_MAX_MESSAGES");
  ASSERT_TRUE(log) << log.error().message;

  observe::Attempt a;
  a.outcome = observe::Outcome::kDelivered;
  a.subscription_id = "sub_1";
  a.delivery_id = "dlv_1";
  a.attempt = 1;
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < 20; ++i) (*log)->onAttempt(a);
  // Parks and skips are not records: not even counted as dropped.
  a.outcome = observe::Outcome::kParked;
  (*log)->onAttempt(a);
  a.outcome = observe::Outcome::kSkipped;
  (*log)->onAttempt(a);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 1s);  // nothing waited
  EXPECT_EQ(metrics.attempt_log_dropped.value(), 15u);
  EXPECT_EQ(metrics.attempt_log_produced.value(), 0u);

  log->reset();  // the last reference: flush for 100 ms, then purge
  EXPECT_EQ(metrics.attempt_log_failed.value(), 5u);
  EXPECT_EQ(metrics.attempt_log_produced.value(), 0u);
  EXPECT_EQ(registry.value("hookpipe_deliverer_attempt_log_records_total", {{"result", "dropped"}}),
            15);
}

TEST(AttemptLog, AFatalProducerErrorReplacesTheProducerAndTheLogGoesOn) {
  Config config;
  config.brokers = "127.0.0.1:1";  // unused: librdkafka's mock cluster serves the producer
  config.topics.prefix = "unit.";
  metrics::Registry registry;
  DelivererMetrics metrics(registry);
  ::setenv("HOOKPIPE_KAFKA_TEST_MOCK_NUM_BROKERS", "1", 1);
  auto log = AttemptLog::create(config, metrics, 1000ms);
  ASSERT_TRUE(log) << log.error().message;

  observe::Attempt a;
  a.outcome = observe::Outcome::kDelivered;
  a.subscription_id = "sub_1";
  a.delivery_id = "dlv_1";
  a.attempt = 1;
  (*log)->onAttempt(a);
  EXPECT_TRUE(testkit::pollUntil([&] { return metrics.attempt_log_produced.value() == 1; }, 10s));

  // The broker answers the next produce with a sequence error, which kills an idempotent
  // producer for good. (Raised through the mock broker, in librdkafka's own threads:
  // rd_kafka_test_fatal_error() called here walks partition state that a librdkafka thread
  // made under locks TSan cannot see, and the TSan build reports that as a race.)
  rd_kafka_t* first = (*log)->handleForTesting();
  rd_kafka_mock_cluster_t* broker = rd_kafka_handle_mock_cluster(first);
  ASSERT_NE(broker, nullptr);
  rd_kafka_mock_push_request_errors(broker, kProduceApiKey, 1,
                                    RD_KAFKA_RESP_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER);
  (*log)->onAttempt(a);  // fails, with the handle
  EXPECT_TRUE(testkit::pollUntil([&] { return metrics.attempt_log_restarts.value() == 1; }, 10s));
  EXPECT_NE((*log)->handleForTesting(), first);
  (*log)->onAttempt(a);
  EXPECT_TRUE(testkit::pollUntil([&] { return metrics.attempt_log_produced.value() == 2; }, 10s))
      << "dropped=" << metrics.attempt_log_dropped.value()
      << " failed=" << metrics.attempt_log_failed.value();
  EXPECT_EQ(registry.value("hookpipe_deliverer_attempt_log_producer_restarts_total", {}), 1);
  log->reset();
  ::unsetenv("HOOKPIPE_KAFKA_TEST_MOCK_NUM_BROKERS");
}

}  // namespace
}  // namespace hookpipe::deliverer
