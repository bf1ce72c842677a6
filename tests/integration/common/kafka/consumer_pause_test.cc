// kafka::Consumer's pause bookkeeping on the real broker: a partition left paused by its
// listener at a revoke, or paused with nothing held, is resumed, logged and counted
// instead of never being fetched again (issue 14: librdkafka 2.0.2 keeps an
// application's pause across a revoke and re-assign).
#include <gtest/gtest.h>

#include <chrono>

#include "common/kafka/kafka.h"
#include "support/harness.h"

namespace hookpipe::testing {
namespace {

using namespace std::chrono_literals;

// Pauses and forgets, as the retry worker's revoke handling once did.
struct ForgetfulListener final : kafka::RebalanceListener {
  void onAssigned(const rd_kafka_topic_partition_list_t& partitions) override {
    assignments += partitions.cnt > 0 ? 1 : 0;
  }
  void onRevoked(const rd_kafka_topic_partition_list_t&) override { ++revokes; }
  bool holdsPause(const std::string&, int32_t) const override { return holding; }
  std::optional<int64_t> resumeOffset(const std::string&, int32_t) const override {
    return resume_at;
  }
  int assignments = 0;
  int revokes = 0;
  bool holding = true;
  std::optional<int64_t> resume_at;
};

class ConsumerPauses : public ::testing::Test {
 protected:
  void SetUp() override {
    pipeline_ =
        std::make_unique<Pipeline>(::testing::UnitTest::GetInstance()->current_test_info()->name());
    config_ = pipeline_->config();
    ASSERT_TRUE(kafka::ensureTopics(config_).has_value());
    topic_ = config_.topics.retryTier(config_.retry_tiers[0]);  // one partition
    auto producer = kafka::Producer::create(config_);
    ASSERT_TRUE(producer.has_value());
    for (int i = 0; i < 10; ++i)
      ASSERT_TRUE(
          (*producer)->produceBlocking(topic_, "k", std::to_string(i), {}, nullptr).has_value());
    ASSERT_TRUE((*producer)->flush(10s));
  }

  std::unique_ptr<kafka::Consumer> consumer(kafka::RebalanceListener* listener) {
    auto c = kafka::Consumer::create(config_, config_.groupId("pause-test"), listener);
    EXPECT_TRUE(c.has_value());
    EXPECT_TRUE((*c)->subscribe({topic_}).has_value());
    return std::move(*c);
  }

  // Polls `c` (and `other`, so that a rebalance between them can complete) until a
  // record arrives; its offset, or -1.
  static int64_t nextOffset(kafka::Consumer& c, std::chrono::milliseconds timeout,
                            kafka::Consumer* other = nullptr) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      if (other != nullptr) other->poll(0);
      kafka::MessagePtr m = c.poll(50);
      if (m && m->err == RD_KAFKA_RESP_ERR_NO_ERROR) return m->offset;
    }
    return -1;
  }

  std::unique_ptr<Pipeline> pipeline_;
  Config config_;
  std::string topic_;
};

TEST_F(ConsumerPauses, APartitionLeftPausedAtARevokeIsFetchedWhenItComesBack) {
  ForgetfulListener listener;
  auto a = consumer(&listener);
  ASSERT_EQ(nextOffset(*a, 30s), 0);
  a->pause(topic_, 0);
  const uint64_t stuck = kafka::consumerCounters().stuck_partitions;

  // A second member joins (everything is revoked), then leaves: the partition comes
  // back to `a`, which never resumed it.
  ForgetfulListener other_listener;
  auto b = consumer(&other_listener);
  ASSERT_TRUE(eventually(
      [&] {
        a->poll(0);
        b->poll(0);
        return listener.revokes >= 1 && other_listener.assignments + listener.assignments >= 2;
      },
      30s));
  b->close();
  b.reset();
  // Fetched again, from the committed offset (none: the earliest).
  EXPECT_EQ(nextOffset(*a, 30s), 0) << "the partition stayed paused";
  EXPECT_EQ(kafka::consumerCounters().stuck_partitions, stuck + 1);
  EXPECT_FALSE(a->isPaused(topic_, 0));
}

TEST_F(ConsumerPauses, APausedPartitionHeldByNothingIsResumedByThePauseCheck) {
  ForgetfulListener listener;
  auto a = consumer(&listener);
  ASSERT_EQ(nextOffset(*a, 30s), 0);
  ASSERT_EQ(nextOffset(*a, 10s), 1);
  a->pause(topic_, 0);
  // Held for a while: the check leaves it alone.
  EXPECT_EQ(nextOffset(*a, kafka::Consumer::kPauseCheckInterval + 1s), -1);
  EXPECT_TRUE(a->isPaused(topic_, 0));

  // Then let go without a resume: within one check it is resumed where the listener says.
  const uint64_t stuck = kafka::consumerCounters().stuck_partitions;
  listener.holding = false;
  listener.resume_at = 2;
  EXPECT_EQ(nextOffset(*a, kafka::Consumer::kPauseCheckInterval + 10s), 2)
      << "the partition stayed paused";
  EXPECT_EQ(kafka::consumerCounters().stuck_partitions, stuck + 1);
  EXPECT_FALSE(a->isPaused(topic_, 0));
}

}  // namespace
}  // namespace hookpipe::testing
