// librdkafka's statistics JSON (the shape of 2.0.2's STATISTICS.md, trimmed) read into the
// parts /metrics and /readyz use.
#include "common/kafka/stats.h"

#include <gtest/gtest.h>

namespace hookpipe::kafka {
namespace {

constexpr std::string_view kConsumer = R"({
  "name": "hookpipe#consumer-2", "client_id": "hookpipe", "type": "consumer",
  "ts": 1, "time": 2, "msg_cnt": 0, "msg_size": 0,
  "brokers": {
    "127.0.0.1:19092/bootstrap": {"name": "127.0.0.1:19092/bootstrap", "nodeid": -1,
                                  "state": "INIT", "rtt": {"avg": 0}},
    "localhost:19092/1": {"name": "localhost:19092/1", "nodeid": 1, "state": "UP"},
    "GroupCoordinator": {"name": "GroupCoordinator", "nodeid": 1, "state": "UP"}
  },
  "topics": {
    "p.deliveries": {"topic": "p.deliveries", "partitions": {
      "0": {"partition": 0, "desired": true, "fetch_state": "active", "hi_offset": 120,
            "ls_offset": 120, "lo_offset": 0, "committed_offset": 100, "consumer_lag": 20},
      "1": {"partition": 1, "desired": false, "fetch_state": "none", "hi_offset": 50,
            "ls_offset": 50, "lo_offset": 0, "committed_offset": 10, "consumer_lag": 40},
      "2": {"partition": 2, "desired": true, "fetch_state": "active", "hi_offset": 30,
            "ls_offset": 30, "lo_offset": 5, "committed_offset": -1001, "consumer_lag": -1},
      "3": {"partition": 3, "desired": true, "fetch_state": "offset-query", "hi_offset": -1,
            "ls_offset": -1, "lo_offset": -1, "committed_offset": -1001, "consumer_lag": -1},
      "-1": {"partition": -1, "desired": false, "consumer_lag": -1}
    }}
  },
  "cgrp": {"state": "up", "stateage": 1000, "join_state": "steady", "rebalance_age": 900,
           "rebalance_cnt": 1, "rebalance_reason": "", "assignment_size": 3}
})";

TEST(KafkaStats, ReadsBrokersGroupAndLagOfAssignedPartitions) {
  auto s = parseStats(kConsumer);
  ASSERT_TRUE(s) << s.error().message;
  EXPECT_EQ(s->name, "hookpipe#consumer-2");
  EXPECT_EQ(s->type, "consumer");
  EXPECT_EQ(s->brokers, 3);
  EXPECT_EQ(s->brokers_up, 2);
  ASSERT_TRUE(s->has_group);
  EXPECT_EQ(s->group_state, "up");
  EXPECT_EQ(s->join_state, "steady");
  EXPECT_EQ(s->assignment_size, 3);
  EXPECT_EQ(s->rebalances, 1);
  // Partition 0 from consumer_lag; 1 is not ours (not desired); 2 has nothing committed
  // yet, so all from the low watermark is behind; 3 has no watermark yet; -1 is internal.
  ASSERT_EQ(s->lags.size(), 2u);
  EXPECT_EQ(s->lags[0].topic, "p.deliveries");
  EXPECT_EQ(s->lags[0].partition, 0);
  EXPECT_EQ(s->lags[0].lag, 20);
  EXPECT_EQ(s->lags[1].partition, 2);
  EXPECT_EQ(s->lags[1].lag, 25);
}

TEST(KafkaStats, AProducerHasQueueDepthAndNoGroup) {
  auto s = parseStats(R"({"name":"hookpipe#producer-1","type":"producer","msg_cnt":17,
                          "brokers":{"b/1":{"state":"DOWN"}},"topics":{}})");
  ASSERT_TRUE(s) << s.error().message;
  EXPECT_EQ(s->queued_messages, 17);
  EXPECT_FALSE(s->has_group);
  EXPECT_EQ(s->brokers_up, 0);
  EXPECT_EQ(s->brokers, 1);
  EXPECT_TRUE(s->lags.empty());
}

TEST(KafkaStats, BadJsonIsAnErrorNotACrash) {
  EXPECT_FALSE(parseStats("{\"name\":"));
  EXPECT_FALSE(parseStats("[]"));
  EXPECT_FALSE(parseStats(""));
  // Fields of unexpected types are skipped.
  auto s = parseStats(R"({"brokers":[],"cgrp":{"state":3},"topics":{"t":{"partitions":{"x":1}}}})");
  ASSERT_TRUE(s);
  EXPECT_TRUE(s->has_group);
  EXPECT_EQ(s->group_state, "");
}

}  // namespace
}  // namespace hookpipe::kafka
