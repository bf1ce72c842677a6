#include "common/loadtest/tally.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <string>

#include "common/loadtest/report.h"

namespace hookpipe::loadtest {
namespace {

// (Not "d" + std::to_string(i): g++ 12 warns of a memcpy overlap in it, a false positive.)
std::string key(const char* prefix, int i) {
  std::string s = prefix;
  s += std::to_string(i);
  return s;
}

TEST(LoadtestTally, CountsADeliveryOnceAtItsFirstSuccess) {
  Tally t;
  t.attempt("msg_1", 5'000, false);   // failed first attempt
  t.attempt("msg_1", 900'000, true);  // the retry got through: its latency counts
  t.attempt("msg_1", 950'000, true);  // sent again: a duplicate
  t.attempt("msg_2", 3'000, true);
  t.foreign();
  const auto s = t.snapshot();
  EXPECT_EQ(s.attempts, 4u);
  EXPECT_EQ(s.successes, 3u);
  EXPECT_EQ(s.received, 2u);
  EXPECT_EQ(s.duplicates, 1u);
  EXPECT_EQ(s.foreign, 1u);
  EXPECT_EQ(s.latency.count(), 2u);
  EXPECT_EQ(s.min_latency_us, 3'000);
  EXPECT_EQ(s.max_latency_us, 900'000);
  EXPECT_GT(s.last_receipt_us, 0);
}

TEST(LoadtestTally, NegativeLatencyFromSkewedClocksCountsAsZero) {
  Tally t;
  t.attempt("a", -50, true);
  EXPECT_EQ(t.snapshot().min_latency_us, 0);
}

TEST(LoadtestPercentiles, FromAUniformSpreadWithinTheHistogramsError) {
  Tally t;
  // 1..1000 ms, one delivery each.
  for (int i = 1; i <= 1000; ++i) t.attempt(key("d", i), i * 1000, true);
  const auto p = percentiles(t.snapshot());
  EXPECT_NEAR(p.p50_ms, 500, 500 * 0.02);
  EXPECT_NEAR(p.p90_ms, 900, 900 * 0.02);
  EXPECT_NEAR(p.p99_ms, 990, 990 * 0.02);
  EXPECT_DOUBLE_EQ(p.max_ms, 1000);  // exact, not a bucket
  EXPECT_LE(p.p50_ms, p.p90_ms);
  EXPECT_LE(p.p90_ms, p.p99_ms);
  EXPECT_LE(p.p99_ms, p.max_ms);
}

TEST(LoadtestPercentiles, ATailOfSlowDeliveriesShowsInP99Only) {
  Tally t;
  for (int i = 0; i < 980; ++i) t.attempt(key("fast", i), 10'000, true);
  for (int i = 0; i < 20; ++i) t.attempt(key("slow", i), 2'000'000, true);
  const auto p = percentiles(t.snapshot());
  EXPECT_NEAR(p.p50_ms, 10, 0.2);
  EXPECT_NEAR(p.p90_ms, 10, 0.2);
  EXPECT_NEAR(p.p99_ms, 2000, 40);
  EXPECT_DOUBLE_EQ(p.max_ms, 2000);
}

TEST(LoadtestPercentiles, ZeroWhenNothingArrived) {
  const auto p = percentiles(Tally().snapshot());
  EXPECT_EQ(p.p50_ms, 0);
  EXPECT_EQ(p.max_ms, 0);
}

TEST(LoadtestSummary, RatesSuccessAndCompleteness) {
  Tally t;
  for (int i = 0; i < 90; ++i) t.attempt(key("d", i), 20'000, true);
  for (int i = 0; i < 10; ++i) t.attempt(key("d", i), 1'000, false);
  Summary s;
  s.fan_out = 1;
  s.published = 100;
  s.publish_elapsed_s = 2;
  addReceipts(s, t.snapshot(), t.snapshot().last_receipt_us - 3'000'000);
  EXPECT_DOUBLE_EQ(s.publishedPerS(), 50);
  EXPECT_EQ(s.expected, 100u);
  EXPECT_EQ(s.received, 90u);
  EXPECT_NEAR(s.receivedPerS(), 30, 0.01);
  EXPECT_DOUBLE_EQ(s.successRate(), 0.9);
  EXPECT_FALSE(s.complete());
  EXPECT_NE(summaryText(s).find("MISSING    10 deliveries"), std::string::npos);
  const std::string json = summaryJson(s);
  EXPECT_NE(json.find("\"received\":90"), std::string::npos) << json;
  EXPECT_NE(json.find("\"complete\":false"), std::string::npos) << json;
  EXPECT_NE(json.find("\"latency_ms\":{\"p50\":"), std::string::npos) << json;
}

TEST(LoadtestSummary, FanOutMultipliesWhatIsExpected) {
  Summary s;
  s.fan_out = 3;
  s.published = 10;
  addReceipts(s, Tally().snapshot(), 0);
  EXPECT_EQ(s.expected, 30u);
  EXPECT_DOUBLE_EQ(s.successRate(), 1);  // no attempts: nothing failed
}

TEST(LoadtestSummary, WithoutAReceiverItIsCompleteAndShowsNoReceipts) {
  Summary s;
  s.published = 5;
  EXPECT_TRUE(s.complete());
  EXPECT_EQ(summaryJson(s).find("received"), std::string::npos);
}

TEST(LoadtestSummary, JsonIsParseableWithPlainNumbers) {
  Summary s;
  s.via = "http";
  s.target_rate_per_s = 50;
  s.published = 7;
  s.publish_elapsed_s = 2.5;
  s.last_publish_error = "HTTP 503: \"busy\"";
  addReceipts(s, Tally().snapshot(), 0);
  const std::string json = summaryJson(s);
  const auto v = boost::json::parse(json).as_object();
  EXPECT_NE(json.find("\"target_rate_per_s\":50,"), std::string::npos) << json;
  EXPECT_NE(json.find("\"published_per_s\":2.800,"), std::string::npos) << json;
  EXPECT_EQ(v.at("last_publish_error").as_string(), "HTTP 503: \"busy\"");
  EXPECT_EQ(v.at("published").as_int64(), 7);
  EXPECT_FALSE(v.at("complete").as_bool());
}

TEST(LoadtestProgress, RateOverThePublishingTimeAndReceiptsWhenThereIsAReceiver) {
  EXPECT_EQ(progressLine(12, 10, 5000, 3, std::nullopt, 0),
            "  12.0 s  published 5000 (500/s)  errors 3");
  Tally t;
  t.attempt("a", 20'000, true);
  t.attempt("b", 1'000, false);
  EXPECT_EQ(progressLine(1, 1, 2, 0, t.snapshot(), 2),
            "   1.0 s  published 2 (2/s)  errors 0  received 1/2  success 50.0%  p99 20.0 ms");
}

}  // namespace
}  // namespace hookpipe::loadtest
