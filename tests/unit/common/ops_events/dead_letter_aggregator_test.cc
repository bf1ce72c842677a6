#include "common/ops_events/dead_letter_aggregator.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <string>

#include "common/ops_events/catalog.h"
#include "common/ops_events/event.h"

namespace hookpipe::ops_events {
namespace {

using std::chrono::milliseconds;

constexpr int64_t kT0 = 1'767'972'600'000;  // 2026-01-09T15:30:00Z

TEST(DeadLetterAggregator, AStormWithinAWindowIsOneSummaryWithEveryCount) {
  DeadLetterAggregator agg(milliseconds(60'000));
  for (int i = 0; i < 50; ++i)
    agg.add("sub_a", "acme", i < 48 ? "http_4xx" : "retries_exhausted",
            i < 48 ? "http_4xx" : "http_5xx", "dlv_" + std::to_string(i), kT0 + i * 1000);
  EXPECT_TRUE(agg.takeDue(kT0 + 59'999).empty());  // the window is still open
  auto due = agg.takeDue(kT0 + 60'000);
  ASSERT_EQ(due.size(), 1u);
  const DeadLetterSummary& s = due[0];
  EXPECT_EQ(s.subscription_id, "sub_a");
  EXPECT_EQ(s.tenant, "acme");
  EXPECT_EQ(s.count, 50);
  EXPECT_EQ(s.reasons.at("http_4xx"), 48);
  EXPECT_EQ(s.reasons.at("retries_exhausted"), 2);
  EXPECT_EQ(s.error_classes.at("http_5xx"), 2);
  EXPECT_EQ(s.first_delivery_id, "dlv_0");
  EXPECT_EQ(s.last_delivery_id, "dlv_49");
  EXPECT_EQ(s.first_ms, kT0);
  EXPECT_EQ(s.last_ms, kT0 + 49'000);
  EXPECT_EQ(s.window_end_ms, kT0 + 60'000);
  EXPECT_EQ(agg.open(), 0u);
  EXPECT_TRUE(agg.takeDue(kT0 + 600'000).empty());  // taken once
}

TEST(DeadLetterAggregator, SubscriptionsAreAggregatedApart) {
  DeadLetterAggregator agg(milliseconds(1000));
  agg.add("sub_a", "", "http_4xx", "http_4xx", "d1", kT0);
  agg.add("sub_b", "", "http_4xx", "http_4xx", "d2", kT0 + 500);
  agg.add("sub_a", "", "http_4xx", "http_4xx", "d3", kT0 + 600);
  auto first = agg.takeDue(kT0 + 1000);
  ASSERT_EQ(first.size(), 1u);
  EXPECT_EQ(first[0].subscription_id, "sub_a");
  EXPECT_EQ(first[0].count, 2);
  EXPECT_EQ(agg.nextDueMs(), kT0 + 1500);
  auto second = agg.takeDue(kT0 + 1500);
  ASSERT_EQ(second.size(), 1u);
  EXPECT_EQ(second[0].subscription_id, "sub_b");
  EXPECT_EQ(second[0].count, 1);
}

TEST(DeadLetterAggregator, ADeadLetterAfterTheWindowOpensTheNextOneAndKeepsTheEndedOne) {
  DeadLetterAggregator agg(milliseconds(1000));
  agg.add("sub_a", "", "http_4xx", "http_4xx", "d1", kT0);
  agg.add("sub_a", "", "http_4xx", "http_4xx", "d2", kT0 + 1200);  // not taken in between
  auto due = agg.takeDue(kT0 + 1300);
  ASSERT_EQ(due.size(), 1u);
  EXPECT_EQ(due[0].count, 1);
  EXPECT_EQ(due[0].last_delivery_id, "d1");
  auto next = agg.takeDue(kT0 + 2200);
  ASSERT_EQ(next.size(), 1u);
  EXPECT_EQ(next[0].count, 1);
  EXPECT_EQ(next[0].first_delivery_id, "d2");
}

TEST(DeadLetterAggregator, TakeAllReportsOpenWindowsAtShutdown) {
  DeadLetterAggregator agg(milliseconds(60'000));
  agg.add("sub_a", "", "paused", "", "d1", kT0);
  agg.add("sub_b", "", "breaker_open", "timeout", "d2", kT0 + 1);
  auto all = agg.takeAll();
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].subscription_id, "sub_a");
  EXPECT_EQ(all[0].error_classes.at("none"), 1);  // no attempt made
  EXPECT_EQ(all[1].subscription_id, "sub_b");
  EXPECT_EQ(agg.open(), 0u);
}

TEST(DeadLetterAggregator, IsBoundedInSubscriptionsAndKeys) {
  DeadLetterAggregator agg(milliseconds(60'000), 2);
  agg.add("sub_a", "", "r", "e", "d", kT0);
  agg.add("sub_b", "", "r", "e", "d", kT0);
  agg.add("sub_c", "", "r", "e", "d", kT0);
  EXPECT_EQ(agg.open(), 2u);
  EXPECT_EQ(agg.dropped(), 1);
  for (int i = 0; i < 40; ++i)
    agg.add("sub_a", "", "reason_" + std::to_string(i), "e", "d", kT0 + 1);
  auto all = agg.takeAll();
  const DeadLetterSummary& a = all[0];
  EXPECT_EQ(a.count, 41);
  EXPECT_EQ(a.reasons.size(), DeadLetterAggregator::kMaxKeys);
  int64_t total = 0;
  for (const auto& [k, n] : a.reasons) total += n;
  EXPECT_EQ(total, 41);  // nothing lost: the rest counted under "other"
  EXPECT_GT(a.reasons.at("other"), 0);
}

TEST(DeadLetterAggregator, TheDataHoldsEveryDocumentedField) {
  DeadLetterAggregator agg(milliseconds(60'000));
  agg.add("sub_a", "acme", "http_4xx", "http_4xx", "d1", kT0 + 123);
  agg.add("sub_a", "acme", "http_4xx", "http_4xx", "d2", kT0 + 456);
  auto v = boost::json::parse(deadLetteredData(agg.takeAll().at(0))).as_object();
  EXPECT_EQ(v.at("subscription_id").as_string(), "sub_a");
  EXPECT_EQ(v.at("count").as_int64(), 2);
  EXPECT_EQ(v.at("reasons").at("http_4xx").as_int64(), 2);
  EXPECT_EQ(v.at("error_classes").at("http_4xx").as_int64(), 2);
  EXPECT_EQ(v.at("first_delivery_id").as_string(), "d1");
  EXPECT_EQ(v.at("last_delivery_id").as_string(), "d2");
  EXPECT_EQ(v.at("first_dead_lettered_at").as_string(), "2026-01-09T15:30:00.123Z");
  EXPECT_EQ(v.at("last_dead_lettered_at").as_string(), "2026-01-09T15:30:00.456Z");
  EXPECT_EQ(v.at("window_end").as_string(), "2026-01-09T15:31:00.123Z");
  // Every field the catalog's schema requires is there.
  for (const CatalogEntry& e : catalog()) {
    if (e.name != kDeadLettered) continue;
    auto schema = boost::json::parse(e.schema_json).as_object();
    for (const auto& field : schema.at("required").as_array())
      EXPECT_TRUE(v.contains(field.as_string())) << field;
  }
}

TEST(OperationalEvent, IsAnOrdinaryEventWithTheTenantWhenThereIsOne) {
  auto v =
      boost::json::parse(eventJson("evt_1", kBreakerOpened, kT0, "acme", "{\"x\":1}")).as_object();
  EXPECT_EQ(v.at("id").as_string(), "evt_1");
  EXPECT_EQ(v.at("type").as_string(), "hookpipe.subscription.breaker_opened");
  EXPECT_EQ(v.at("timestamp").as_string(), "2026-01-09T15:30:00.000Z");
  EXPECT_EQ(v.at("data").at("x").as_int64(), 1);
  EXPECT_EQ(v.at("tenant").as_string(), "acme");
  auto untenanted = boost::json::parse(eventJson("evt_2", kDeadLettered, kT0, "", "{}"));
  EXPECT_FALSE(untenanted.as_object().contains("tenant"));
}

TEST(OperationalEvent, TheCatalogHasEveryTypeWithAValidSchemaAndAnExampleThatFitsIt) {
  std::vector<std::string_view> names;
  for (const CatalogEntry& e : catalog()) {
    names.push_back(e.name);
    EXPECT_TRUE(isOperational(e.name));
    auto schema = boost::json::parse(e.schema_json).as_object();
    auto example = boost::json::parse(e.example_json).as_object();
    for (const auto& field : schema.at("required").as_array())
      EXPECT_TRUE(example.contains(field.as_string())) << e.name << " " << field;
    for (const auto& [key, value] : example)
      EXPECT_TRUE(schema.at("properties").as_object().contains(key)) << e.name << " " << key;
  }
  EXPECT_EQ(names, (std::vector<std::string_view>{kSubscriptionDisabled, kBreakerOpened,
                                                  kBreakerRecovered, kDeadLettered}));
  EXPECT_FALSE(isOperational("order.created"));
  EXPECT_FALSE(isOperational("hookpipe"));
}

TEST(OperationalEvent, EachTypesDataHoldsWhatItsSchemaRequires) {
  const std::pair<std::string_view, std::string> data[] = {
      {kSubscriptionDisabled, disabledData({.subscription_id = "s",
                                            .reason = "http_410_gone",
                                            .message = "gone",
                                            .status = 410,
                                            .disabled_ms = kT0})},
      {kBreakerOpened, breakerOpenedData({.subscription_id = "s",
                                          .window_failures = 5,
                                          .window_attempts = 5,
                                          .opened_ms = kT0,
                                          .retry_at_ms = kT0 + 30'000})},
      {kBreakerRecovered,
       breakerRecoveredData({.subscription_id = "s", .opened_ms = kT0, .recovered_ms = kT0 + 7})},
  };
  for (const auto& [type, json] : data) {
    auto v = boost::json::parse(json).as_object();
    for (const CatalogEntry& e : catalog()) {
      if (e.name != type) continue;
      const boost::json::value schema = boost::json::parse(e.schema_json);
      for (const auto& field : schema.at("required").as_array())
        EXPECT_TRUE(v.contains(field.as_string())) << type << " " << field;
    }
  }
  EXPECT_EQ(boost::json::parse(data[2].second).at("open_ms").as_int64(), 7);
}

}  // namespace
}  // namespace hookpipe::ops_events
