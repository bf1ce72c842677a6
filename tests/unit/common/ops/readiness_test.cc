// The Kafka readiness rules on statistics reports fed as librdkafka would (detail::onStats):
// starting, no broker up, waiting for the first assignment, a later rebalance still ready.
#include "common/ops/readiness.h"

#include <gtest/gtest.h>

#include <string>

#include "common/kafka/stats.h"

namespace hookpipe::ops {
namespace {

using namespace std::chrono_literals;

std::string report(const std::string& broker_state, const std::string& join_state, int assigned) {
  return R"({"name":"c1","type":"consumer","brokers":{"b/1":{"state":")" + broker_state +
         R"("}},"topics":{},"cgrp":{"state":"up","join_state":")" + join_state +
         R"(","assignment_size":)" + std::to_string(assigned) + "}}";
}

void feed(const void* client, std::string json) {
  kafka::detail::onStats(nullptr, json.data(), json.size(), const_cast<void*>(client));
}

const Check& named(const std::vector<Check>& checks, const std::string& name) {
  for (const auto& c : checks)
    if (c.name == name) return c;
  static const Check missing{"missing", false, ""};
  return missing;
}

class KafkaProbeTest : public ::testing::Test {
 protected:
  void SetUp() override { kafka::detail::trackClient(&client_, true, 1000ms); }
  void TearDown() override { kafka::detail::untrackClient(&client_); }
  int client_ = 0;  // its address is the tracked client's key
};

TEST_F(KafkaProbeTest, NotReadyUntilTheConsumerReportsAndJoins) {
  auto probe = kafkaProbe();
  auto checks = probe();
  EXPECT_FALSE(named(checks, "kafka").ok);
  EXPECT_EQ(named(checks, "kafka").detail, "consumer is starting");
  EXPECT_FALSE(named(checks, "partitions").ok);

  feed(&client_, report("UP", "wait-join", 0));
  checks = probe();
  EXPECT_TRUE(named(checks, "kafka").ok) << named(checks, "kafka").detail;
  EXPECT_FALSE(named(checks, "partitions").ok);
  EXPECT_NE(named(checks, "partitions").detail.find("waiting for the first assignment"),
            std::string::npos)
      << named(checks, "partitions").detail;

  feed(&client_, report("UP", "steady", 3));
  checks = probe();
  EXPECT_TRUE(named(checks, "partitions").ok);
  EXPECT_EQ(named(checks, "partitions").detail, "1 consumer(s), 3 partition(s) assigned");
}

TEST_F(KafkaProbeTest, ALaterRebalanceStaysReadyAndSaysSo) {
  auto probe = kafkaProbe();
  feed(&client_, report("UP", "steady", 3));
  feed(&client_, report("UP", "wait-sync", 0));
  const auto checks = probe();
  EXPECT_TRUE(named(checks, "partitions").ok);
  EXPECT_NE(named(checks, "partitions").detail.find("rebalance pending (join state wait-sync)"),
            std::string::npos)
      << named(checks, "partitions").detail;
}

TEST_F(KafkaProbeTest, NoBrokerUpIsNotReady) {
  auto probe = kafkaProbe();
  feed(&client_, report("TRY_CONNECT", "steady", 3));
  const auto checks = probe();
  EXPECT_FALSE(named(checks, "kafka").ok);
  EXPECT_EQ(named(checks, "kafka").detail, "consumer c1 has no broker connection up (1 known)");
}

TEST(Readiness, ReadyOnlyWhenEveryCheckPasses) {
  Readiness readiness;
  EXPECT_TRUE(readiness.evaluate().ready);  // nothing to wait for
  Readiness two;
  two.add([] { return std::vector<Check>{{"a", true, "fine"}}; });
  two.add([] { return std::vector<Check>{{"b", false, "down"}}; });
  const auto v = two.evaluate();
  EXPECT_FALSE(v.ready);
  EXPECT_EQ(v.json, R"({"status":"not_ready","checks":[{"name":"a","ok":true,"detail":"fine"},)"
                    R"({"name":"b","ok":false,"detail":"down"}]})");
}

}  // namespace
}  // namespace hookpipe::ops
