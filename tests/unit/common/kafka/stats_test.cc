// librdkafka's statistics JSON (the shape of 2.0.2's STATISTICS.md, trimmed) read into the
// parts /metrics and /readyz use.
#include "common/kafka/stats.h"

#include <gtest/gtest.h>

#include <map>
#include <string>

namespace hookpipe::kafka {
namespace {

constexpr std::string_view kConsumer = R"({
  "name": "hookpipe#consumer-2", "client_id": "hookpipe", "type": "consumer",
  "ts": 1, "time": 2, "msg_cnt": 0, "msg_size": 0,
  "brokers": {
    "127.0.0.1:19092/bootstrap": {"name": "127.0.0.1:19092/bootstrap", "nodeid": -1,
                                  "state": "INIT", "rtt": {"avg": 0}},
    "localhost:19092/1": {"name": "localhost:19092/1", "nodeid": 1, "state": "UP",
                          "req": {"Produce": 0, "Fetch": 40, "OffsetCommit": 3, "Metadata": 2}},
    "GroupCoordinator": {"name": "GroupCoordinator", "nodeid": 1, "state": "UP",
                         "req": {"Fetch": 0, "OffsetCommit": 5, "Heartbeat": 9}}
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
  // Requests summed over the connections, types never sent left out.
  EXPECT_EQ(s->client_id, "hookpipe");
  const std::map<std::string, int64_t, std::less<>> requests = {
      {"Fetch", 40}, {"Heartbeat", 9}, {"Metadata", 2}, {"OffsetCommit", 8}};
  EXPECT_EQ(s->requests, requests);
}

// The requests per client.id stay counted once a client is gone, and a client replaced
// under the same key (the attempt log's restart) adds to them instead of starting over.
TEST(KafkaStats, RequestsSentOutliveTheirClient) {
  const auto sent = [](std::string_view type) {
    const auto all = requestsSent();
    const auto it = all.find({"stats-test-client", std::string(type)});
    return it == all.end() ? int64_t{0} : it->second;
  };
  const auto report = [](const void* key, std::string_view fetches) {
    std::string json = R"({"name":"x","client_id":"stats-test-client","type":"consumer",)"
                       R"("brokers":{"b/1":{"state":"UP","req":{"Fetch":)" +
                       std::string(fetches) + "}}}}";
    detail::onStats(nullptr, json.data(), json.size(), const_cast<void*>(key));
  };
  const int a = 0;
  const int b = 0;
  detail::trackClient(&a, true, std::chrono::milliseconds(5000));
  detail::trackClient(&b, true, std::chrono::milliseconds(5000));
  report(&a, "10");
  report(&b, "1");
  EXPECT_EQ(sent("Fetch"), 11);
  report(&a, "15");  // a later report replaces the earlier one
  EXPECT_EQ(sent("Fetch"), 16);
  detail::untrackClient(&a);
  EXPECT_EQ(sent("Fetch"), 16);
  detail::trackClient(&b, true, std::chrono::milliseconds(5000));  // b replaced
  report(&b, "2");
  EXPECT_EQ(sent("Fetch"), 18);
  detail::untrackClient(&b);
  EXPECT_EQ(sent("Fetch"), 18);
  EXPECT_EQ(sent("Produce"), 0);
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
