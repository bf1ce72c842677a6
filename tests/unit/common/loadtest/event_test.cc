#include "common/loadtest/event.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "common/loadtest/api_client.h"
#include "common/loadtest/publisher.h"

namespace hookpipe::loadtest {
namespace {

TEST(LoadtestEvent, IsValidJsonWithItsMarkerAndPadding) {
  const EventSpec spec{"r123", "load.\"quoted\"", 16, false};
  const std::string json = eventJson(spec, 42, 1'700'000'000'000'000);
  const auto v = boost::json::parse(json);
  EXPECT_EQ(v.at("type").as_string(), "load.\"quoted\"");
  EXPECT_EQ(v.at("data").at("lt_run").as_string(), "r123");
  EXPECT_EQ(v.at("data").at("lt_seq").as_int64(), 42);
  EXPECT_EQ(v.at("data").at("lt_sent_us").as_int64(), 1'700'000'000'000'000);
  EXPECT_EQ(v.at("data").at("pad").as_string().size(), 16u);
  EXPECT_FALSE(v.as_object().contains("id"));
}

TEST(LoadtestEvent, StraightToKafkaItCarriesAnIdAndTimestamp) {
  const std::string json = eventJson({"r9", "t", 0, true}, 7, 1'700'000'000'000'000);
  const auto v = boost::json::parse(json);
  EXPECT_EQ(v.at("id").as_string(), "lt_r9_7");
  EXPECT_EQ(v.at("timestamp").as_string(), "2023-11-14T22:13:20Z");
}

TEST(LoadtestEvent, MarkerIsFoundOnlyForItsRun) {
  const std::string json = eventJson({"rA", "t", 4, false}, 3, 123456);
  const auto m = findMarker(json, "rA");
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->seq, 3u);
  EXPECT_EQ(m->sent_us, 123456);
  EXPECT_FALSE(findMarker(json, "rAB").has_value());
  EXPECT_FALSE(findMarker(json, "r").has_value());
  EXPECT_FALSE(findMarker(json, "").has_value());
  EXPECT_FALSE(findMarker(R"({"type":"t","data":{"lt_run":"rA"}})", "rA").has_value());
  EXPECT_FALSE(findMarker("not json at all", "rA").has_value());
}

TEST(LoadtestPacing, EventsAreDueEvenlyAtTheRate) {
  const auto start = std::chrono::steady_clock::time_point{};
  EXPECT_EQ(dueAt(start, 200, 0), start);
  EXPECT_EQ(dueAt(start, 200, 1) - start, std::chrono::milliseconds(5));
  EXPECT_EQ(dueAt(start, 200, 200) - start, std::chrono::seconds(1));
  EXPECT_EQ(dueAt(start, 0.5, 1) - start, std::chrono::seconds(2));
}

TEST(LoadtestBatchAnswer, ReadsAccepted) {
  EXPECT_EQ(acceptedInBatchAnswer(R"({"accepted":2,"rejected":1,"data":[]})"), 2u);
  EXPECT_FALSE(acceptedInBatchAnswer(R"({"error":"x"})").has_value());
  EXPECT_FALSE(acceptedInBatchAnswer("[1]").has_value());
  EXPECT_FALSE(acceptedInBatchAnswer("").has_value());
  EXPECT_FALSE(acceptedInBatchAnswer(R"({"accepted":-1})").has_value());
}

TEST(LoadtestSubscription, FixedRetriesAndConcurrencyOnlyWhenAsked) {
  using namespace std::chrono_literals;
  const auto v = boost::json::parse(
      subscriptionJson("http://127.0.0.1:9/loadtest/0", "t", "hookpipe loadtest r1", 1500ms, 7, 0));
  EXPECT_EQ(v.at("url").as_string(), "http://127.0.0.1:9/loadtest/0");
  EXPECT_EQ(v.at("events").as_array().at(0).as_string(), "t");
  EXPECT_EQ(v.at("retry_config").at("strategy").as_string(), "fixed");
  EXPECT_EQ(v.at("retry_config").at("retry_delay").as_int64(), 1500);
  EXPECT_EQ(v.at("retry_config").at("max_retries").as_int64(), 7);
  EXPECT_FALSE(v.as_object().contains("max_concurrency"));
  const auto w = boost::json::parse(subscriptionJson("http://h/", "t", "d", 1s, 1, 200));
  EXPECT_EQ(w.at("max_concurrency").as_int64(), 200);
}

}  // namespace
}  // namespace hookpipe::loadtest
