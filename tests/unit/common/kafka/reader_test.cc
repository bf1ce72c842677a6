// Unit tests for common/kafka/reader.h against librdkafka's mock cluster (the real broker
// runs the dead-letter and mirror integration tests).
#include "common/kafka/reader.h"

#include <gtest/gtest.h>
#include <librdkafka/rdkafka_mock.h>

#include <algorithm>
#include <string>
#include <vector>

namespace hookpipe::kafka {
namespace {

// A mock cluster with topic "t" (2 partitions) holding `per_partition` records each,
// values "<partition>:<offset>".
struct MockTopic {
  explicit MockTopic(int per_partition) {
    char err[256];
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "test.mock.num.brokers", "1", err, sizeof err);
    producer.reset(rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err));
    if (!producer) return;
    rd_kafka_mock_cluster_t* cluster = rd_kafka_handle_mock_cluster(producer.get());
    rd_kafka_mock_topic_create(cluster, "t", 2, 1);
    config.brokers = rd_kafka_mock_cluster_bootstraps(cluster);
    for (int32_t p = 0; p < 2; ++p)
      for (int i = 0; i < per_partition; ++i) {
        std::string value = std::to_string(p) + ":" + std::to_string(i);
        rd_kafka_producev(producer.get(), RD_KAFKA_V_TOPIC("t"), RD_KAFKA_V_PARTITION(p),
                          RD_KAFKA_V_VALUE(value.data(), value.size()),
                          RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
      }
    rd_kafka_flush(producer.get(), 10000);
  }
  HandlePtr producer;
  Config config;
};

TEST(Reader, ReadsExactlyTheRangesAndStops) {
  MockTopic topic(5);
  ASSERT_TRUE(topic.producer);
  auto reader = Reader::open(topic.config, "reader-test");
  ASSERT_TRUE(reader) << reader.error().message;
  std::vector<std::string> got;
  auto done = (*reader)->read("t", {{0, {1, 3}}, {1, {4, 5}}}, [&](const rd_kafka_message_t* m) {
    got.emplace_back(payloadOf(m));
    return true;
  });
  ASSERT_TRUE(done) << done.error().message;
  std::sort(got.begin(), got.end());
  EXPECT_EQ(got, (std::vector<std::string>{"0:1", "0:2", "1:4"}));
}

TEST(Reader, WholeTopicReadsEverythingThenEnds) {
  MockTopic topic(3);
  ASSERT_TRUE(topic.producer);
  auto reader = Reader::open(topic.config, "reader-test");
  ASSERT_TRUE(reader);
  auto ranges = (*reader)->wholeTopic("t");
  ASSERT_TRUE(ranges) << ranges.error().message;
  ASSERT_EQ(ranges->size(), 2u);
  EXPECT_EQ(ranges->at(1).end, 3);
  int n = 0;
  ASSERT_TRUE((*reader)->read("t", std::move(*ranges), [&](const rd_kafka_message_t*) {
    ++n;
    return true;
  }));
  EXPECT_EQ(n, 6);
}

TEST(Reader, EndsAPartitionAtItsEofWhenTheRangeGoesFurther) {
  MockTopic topic(2);
  ASSERT_TRUE(topic.producer);
  auto reader = Reader::open(topic.config, "reader-test");
  ASSERT_TRUE(reader);
  int n = 0;
  auto done = (*reader)->read("t", {{0, {RD_KAFKA_OFFSET_BEGINNING, INT64_MAX}}},
                              [&](const rd_kafka_message_t*) {
                                ++n;
                                return true;
                              },
                              {.stall_timeout = std::chrono::seconds(10)});
  ASSERT_TRUE(done) << done.error().message;
  EXPECT_EQ(n, 2);
}

TEST(Reader, StopsWhenTheCallbackSaysSo) {
  MockTopic topic(4);
  ASSERT_TRUE(topic.producer);
  auto reader = Reader::open(topic.config, "reader-test");
  ASSERT_TRUE(reader);
  int n = 0;
  ASSERT_TRUE(
      (*reader)->read("t", {{0, {0, 4}}}, [&](const rd_kafka_message_t*) { return ++n < 2; }));
  EXPECT_EQ(n, 2);
}

TEST(Reader, CommitsAndReadsBackItsGroupsOffsets) {
  MockTopic topic(1);
  ASSERT_TRUE(topic.producer);
  auto reader = Reader::open(topic.config, "reader-commit-test");
  ASSERT_TRUE(reader);
  auto before = (*reader)->committed("t", 2);
  ASSERT_TRUE(before) << before.error().message;
  EXPECT_TRUE(before->empty());
  ASSERT_TRUE((*reader)->commit("t", {{1, 1}}));
  auto after = (*reader)->committed("t", 2);
  ASSERT_TRUE(after);
  EXPECT_EQ(*after, (std::map<int32_t, int64_t>{{1, 1}}));
}

}  // namespace
}  // namespace hookpipe::kafka
