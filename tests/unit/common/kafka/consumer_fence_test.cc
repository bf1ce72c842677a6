// kafka::Consumer against librdkafka's mock cluster: a consumer with static membership
// that is fenced (FENCED_INSTANCE_ID, fatal in librdkafka) rejoins with a new consumer
// and goes on consuming; fenced again and again (two live processes with one instance
// id) it stops with fatal(). (The mock cluster waits for the fenced member's session to
// expire before the new one is in: hence the short session timeout.)
#include <gtest/gtest.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <chrono>
#include <set>

#include "common/kafka/kafka.h"

namespace hookpipe::kafka {
namespace {

constexpr int16_t kHeartbeatApiKey = 12;

struct Listener final : RebalanceListener {
  void onAssigned(const rd_kafka_topic_partition_list_t& partitions) override {
    assigned += partitions.cnt;
  }
  void onRevoked(const rd_kafka_topic_partition_list_t& partitions) override {
    revoked += partitions.cnt;
  }
  int assigned = 0;
  int revoked = 0;
};

class ConsumerFence : public ::testing::Test {
 protected:
  void SetUp() override {
    char err[256];
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "test.mock.num.brokers", "1", err, sizeof err);
    mock_owner_.reset(rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err));
    ASSERT_TRUE(mock_owner_) << err;
    cluster_ = rd_kafka_handle_mock_cluster(mock_owner_.get());
    ASSERT_EQ(rd_kafka_mock_topic_create(cluster_, "t", 2, 1), RD_KAFKA_RESP_ERR_NO_ERROR);
    config_.brokers = rd_kafka_mock_cluster_bootstraps(cluster_);
    auto producer = Producer::create(config_);
    ASSERT_TRUE(producer.has_value()) << producer.error().message;
    producer_ = std::move(*producer);
  }

  void produce(int n) {
    for (int i = 0; i < n; ++i) {
      const std::string key = std::to_string(next_++);  // (gcc 12: "k" + to_string warns)
      ASSERT_TRUE(producer_->produceBlocking("t", key, "{}", {}, nullptr).has_value());
    }
    ASSERT_TRUE(producer_->flush(std::chrono::seconds(10)));
  }

  // Polls until `n` more distinct records arrived (or 20 s passed).
  void consume(Consumer& consumer, std::size_t n) {
    const std::size_t want = seen_.size() + n;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (seen_.size() < want && !consumer.fatal() &&
           std::chrono::steady_clock::now() < deadline) {
      MessagePtr m = consumer.poll(100);
      if (m && m->err == RD_KAFKA_RESP_ERR_NO_ERROR) seen_.insert(std::string(keyOf(m.get())));
    }
  }

  // Fences the consumer's next heartbeat and polls until it rejoined or stopped.
  void fence(Consumer& consumer) {
    const uint64_t rejoins = consumerCounters().rejoins;
    rd_kafka_mock_push_request_errors(cluster_, kHeartbeatApiKey, 1,
                                      RD_KAFKA_RESP_ERR_FENCED_INSTANCE_ID);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (consumerCounters().rejoins == rejoins && !consumer.fatal() &&
           std::chrono::steady_clock::now() < deadline)
      consumer.poll(100);
  }

  HandlePtr mock_owner_;
  rd_kafka_mock_cluster_t* cluster_ = nullptr;
  Config config_;
  std::unique_ptr<Producer> producer_;
  std::set<std::string> seen_;
  int next_ = 0;
};

TEST_F(ConsumerFence, RejoinsAfterAFenceAndGoesOnConsuming) {
  Listener listener;
  auto consumer = Consumer::create(config_, "fence-group", &listener,
                                   {{"group.instance.id", "fence-group-1"},
                                    {"heartbeat.interval.ms", "100"},
                                    {"session.timeout.ms", "3000"}});
  ASSERT_TRUE(consumer.has_value()) << consumer.error().message;
  ASSERT_TRUE((*consumer)->subscribe({"t"}).has_value());
  produce(10);
  consume(**consumer, 10);
  ASSERT_EQ(seen_.size(), 10u);

  const uint64_t rejoins = consumerCounters().rejoins;
  const int assigned = listener.assigned;
  fence(**consumer);
  EXPECT_FALSE((*consumer)->fatal());
  EXPECT_EQ(consumerCounters().rejoins, rejoins + 1);
  // What it had assigned was revoked (by librdkafka or by the consumer itself).
  EXPECT_GE(listener.revoked, 2);

  produce(10);
  consume(**consumer, 10);
  EXPECT_EQ(seen_.size(), 20u) << "the recreated consumer did not consume";
  // Through the same rebalance callback (the recreated handle's conf is a copy).
  EXPECT_GT(listener.assigned, assigned);
  EXPECT_FALSE((*consumer)->fatal());
}

TEST_F(ConsumerFence, StopsWhenFencedOverAndOver) {
  Listener listener;
  auto consumer = Consumer::create(config_, "fence-group-2", &listener,
                                   {{"group.instance.id", "fence-group-2-1"},
                                    {"heartbeat.interval.ms", "100"},
                                    {"session.timeout.ms", "3000"}});
  ASSERT_TRUE(consumer.has_value()) << consumer.error().message;
  ASSERT_TRUE((*consumer)->subscribe({"t"}).has_value());
  produce(2);
  consume(**consumer, 2);
  for (int i = 1; i < Consumer::kMaxFences; ++i) {
    fence(**consumer);
    ASSERT_FALSE((*consumer)->fatal()) << "fence " << i;
    consume(**consumer, 0);
    produce(1);
    consume(**consumer, 1);  // joined again before the next fence
  }
  fence(**consumer);
  EXPECT_TRUE((*consumer)->fatal());
}

}  // namespace
}  // namespace hookpipe::kafka
