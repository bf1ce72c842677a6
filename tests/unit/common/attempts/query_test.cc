// The pure parts of the delivery-log reader: cursors, statuses, time parsing, week and month
// bucketing, range checks, merging stats counters, the JSON and CSV forms.
#include "common/attempts/query.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "common/attempts/json.h"

namespace hookpipe::attempts {
namespace {

constexpr int64_t kDay = 86'400'000;

TEST(LogCursor, RoundTripsScoreAndIdIncludingColonsAndBytes) {
  for (const Cursor& c : {Cursor{1764598000123, "dlv_abc"}, Cursor{0, "a:b:c"},
                          Cursor{42, std::string("x\0y\xff", 4)}}) {
    const auto text = encodeCursor(c);
    EXPECT_EQ(
        text.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"),
        std::string::npos)
        << text;
    EXPECT_EQ(decodeCursor(text), c);
  }
}

TEST(LogCursor, RefusesWhatNoPageReturned) {
  EXPECT_FALSE(decodeCursor(""));
  EXPECT_FALSE(decodeCursor("not base64!"));
  EXPECT_FALSE(decodeCursor("MDA3Ong"));                      // "007:x": not how 7 is written
  EXPECT_FALSE(decodeCursor("MTIz"));                         // "123": no id
  EXPECT_FALSE(decodeCursor(encodeCursor({1, ""})));          // "1:": empty id
  EXPECT_FALSE(decodeCursor("LTE6eA"));                       // "-1:x": negative score
  EXPECT_FALSE(decodeCursor("eDp5"));                         // "x:y": score not a number
  EXPECT_FALSE(decodeCursor(std::string(2000, 'A')));         // too long
  EXPECT_FALSE(decodeCursor(encodeCursor({5, "id"}) + "B"));  // non-zero trailing bits
}

TEST(LogStatus, FailedMatchesPendingRetryAndDeadLettered) {
  EXPECT_EQ(statusOfOutcome("delivered"), Status::kDelivered);
  EXPECT_EQ(statusOfOutcome("retried"), Status::kPendingRetry);
  EXPECT_EQ(statusOfOutcome("dead_lettered"), Status::kDeadLettered);
  EXPECT_FALSE(statusOfOutcome("parked"));
  EXPECT_TRUE(matches(StatusFilter::kFailed, Status::kPendingRetry));
  EXPECT_TRUE(matches(StatusFilter::kFailed, Status::kDeadLettered));
  EXPECT_FALSE(matches(StatusFilter::kFailed, Status::kDelivered));
  EXPECT_TRUE(matches(StatusFilter::kAny, Status::kDelivered));
  EXPECT_FALSE(matches(StatusFilter::kPendingRetry, Status::kDeadLettered));
  EXPECT_EQ(parseStatusFilter("failed"), StatusFilter::kFailed);
  EXPECT_FALSE(parseStatusFilter("Delivered"));
  EXPECT_FALSE(parseStatusFilter(""));
}

TEST(LogTime, ParsesRfc3339AndEpochMillisecondsAndRefusesTheRest) {
  EXPECT_EQ(parseTime("1767972600000"), 1767972600000);
  EXPECT_EQ(parseTime("2026-01-09T15:30:00Z"), 1767972600000);
  EXPECT_EQ(parseTime("2026-01-09T17:30:00.250+02:00"), 1767972600250);
  EXPECT_FALSE(parseTime("yesterday"));
  EXPECT_FALSE(parseTime(""));
  EXPECT_FALSE(parseTime("2026-13-01T00:00:00Z"));
  EXPECT_FALSE(parseTime("-5"));
  EXPECT_EQ(formatTime(1767972600250), "2026-01-09T15:30:00.250Z");
}

TEST(StatsGroups, WeeksStartOnMondayUtcAndMonthsOnTheFirst) {
  const int64_t thu = *parseTime("2026-01-08T23:59:59Z");  // a Thursday
  EXPECT_EQ(groupStart(GroupBy::kWeek, thu), *parseTime("2026-01-05T00:00:00Z"));
  EXPECT_EQ(groupStart(GroupBy::kWeek, *parseTime("2026-01-05T00:00:00Z")),
            *parseTime("2026-01-05T00:00:00Z"));
  EXPECT_EQ(groupStart(GroupBy::kWeek, *parseTime("2026-01-04T23:59:59Z")),  // Sunday
            *parseTime("2025-12-29T00:00:00Z"));
  EXPECT_EQ(groupStart(GroupBy::kWeek, 0), -3 * kDay);  // 1970-01-01 was a Thursday
  EXPECT_EQ(nextGroupStart(GroupBy::kWeek, *parseTime("2025-12-29T00:00:00Z")),
            *parseTime("2026-01-05T00:00:00Z"));
  EXPECT_EQ(groupStart(GroupBy::kMonth, *parseTime("2024-02-29T12:00:00Z")),
            *parseTime("2024-02-01T00:00:00Z"));
  EXPECT_EQ(nextGroupStart(GroupBy::kMonth, *parseTime("2024-02-01T00:00:00Z")),
            *parseTime("2024-03-01T00:00:00Z"));
  EXPECT_EQ(nextGroupStart(GroupBy::kMonth, *parseTime("2025-12-01T00:00:00Z")),
            *parseTime("2026-01-01T00:00:00Z"));
  EXPECT_EQ(groupStart(GroupBy::kHour, *parseTime("2026-01-09T15:30:00Z")),
            *parseTime("2026-01-09T15:00:00Z"));
  EXPECT_EQ(groupStart(GroupBy::kMinute, *parseTime("2026-01-09T15:30:59.999Z")),
            *parseTime("2026-01-09T15:30:00Z"));
  EXPECT_EQ(granularityOf(GroupBy::kWeek), Granularity::kDay);
  EXPECT_EQ(granularityOf(GroupBy::kMonth), Granularity::kDay);
  EXPECT_EQ(granularityOf(GroupBy::kHour), Granularity::kHour);
  EXPECT_EQ(granularityOf(GroupBy::kMinute), Granularity::kMinute);
  EXPECT_EQ(parseGroupBy("week"), GroupBy::kWeek);
  EXPECT_FALSE(parseGroupBy("year"));
}

TEST(StatsGroups, RangesLongerThanTheGroupAllowsAreRefusedNamingTheParameter) {
  StatsQuery q{"all", 0, kDay, GroupBy::kMinute};
  EXPECT_TRUE(checkStatsQuery(q).empty());
  q.until_ms = kDay + 1;
  auto problems = checkStatsQuery(q);
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_EQ(problems[0].pointer, "group_by");
  EXPECT_NE(problems[0].message.find("at most 1 day"), std::string::npos);
  q.group_by = GroupBy::kHour;
  EXPECT_TRUE(checkStatsQuery(q).empty());
  q.until_ms = 91 * kDay;
  EXPECT_FALSE(checkStatsQuery(q).empty());
  q.group_by = GroupBy::kDay;
  EXPECT_TRUE(checkStatsQuery(q).empty());
  q.since_ms = 100 * kDay;
  problems = checkStatsQuery(q);
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_EQ(problems[0].pointer, "since");
}

TEST(StatsCounts, ReadsStoredFieldsAndMergesByAdding) {
  StatsCounts a;
  for (auto [f, v] : std::vector<std::pair<std::string, std::string>>{
           {"n", "3"},
           {"o:delivered", "2"},
           {"o:retried", "1"},
           {"sc:2xx", "2"},
           {"sc:5xx", "1"},
           {"e:http_5xx", "1"},
           {"r", "1"},
           {"t:order.created", "3"},
           {"td:order.created", "2"},
           {"ln", "3"},
           {"ls", "60000"},
           {"lmin", "10000"},
           {"lmax", "30000"},
           {"h:" + std::to_string(Histogram::bucketOf(10000)), "1"},
           {"h:" + std::to_string(Histogram::bucketOf(20000)), "1"},
           {"h:" + std::to_string(Histogram::bucketOf(30000)), "1"},
           {"x:unknown", "9"},
           {"n", "not a number"}})
    a.addField(f, v);
  EXPECT_EQ(a.attempts, 3u);
  EXPECT_EQ(a.outcome("delivered"), 2u);
  EXPECT_EQ(a.histogram.count(), 3u);
  StatsCounts b;
  b.addField("n", "1");
  b.addField("o:dead_lettered", "1");
  b.addField("e:http_4xx", "1");
  b.addField("t:order.paid", "1");
  b.addField("ln", "1");
  b.addField("ls", "5000");
  b.addField("lmin", "5000");
  b.addField("lmax", "5000");
  b.addField("h:" + std::to_string(Histogram::bucketOf(5000)), "1");
  a.merge(b);
  EXPECT_EQ(a.attempts, 4u);
  EXPECT_EQ(a.outcome("dead_lettered"), 1u);
  EXPECT_EQ(a.errors.at("http_5xx"), 1u);
  EXPECT_EQ(a.errors.at("http_4xx"), 1u);
  EXPECT_EQ(a.types.at("order.paid"), 1u);
  EXPECT_EQ(a.latency_sum_us, 65000);
  EXPECT_EQ(a.latency_min_us, 5000);
  EXPECT_EQ(a.latency_max_us, 30000);
  EXPECT_EQ(a.histogram.count(), 4u);
  const auto p50 = a.histogram.quantile(0.5, a.latency_min_us, a.latency_max_us);
  ASSERT_TRUE(p50);
  EXPECT_NEAR(static_cast<double>(*p50), 10000, 10000 * Histogram::kRelativeError);
}

TEST(StatsJson, SummaryRatesLatencyAndErrorPercentagesOfFailedAttempts) {
  StatsResult s;
  s.query = {"all", 0, kDay, GroupBy::kDay};
  s.from_ms = 0;
  s.to_ms = kDay;
  for (auto [f, v] : std::vector<std::pair<std::string, std::string>>{{"n", "4"},
                                                                      {"o:delivered", "2"},
                                                                      {"o:retried", "1"},
                                                                      {"o:dead_lettered", "1"},
                                                                      {"e:http_5xx", "1"},
                                                                      {"e:timeout", "1"},
                                                                      {"sc:2xx", "2"},
                                                                      {"sc:none", "2"}})
    s.total.addField(f, v);
  s.series.push_back({0, s.total});
  const auto o = toJson(s);
  EXPECT_EQ(o.at("summary").at("attempts").as_uint64(), 4u);
  EXPECT_DOUBLE_EQ(o.at("summary").at("success_rate").as_double(), 0.5);
  EXPECT_TRUE(o.at("summary").at("latency").at("p50_ms").is_null());
  EXPECT_EQ(o.at("failed_attempts").as_uint64(), 2u);
  const auto& errors = o.at("errors").as_array();
  ASSERT_EQ(errors.size(), 2u);
  EXPECT_DOUBLE_EQ(errors[0].at("percent").as_double(), 50.0);
  EXPECT_EQ(o.at("status_classes").at("none").as_uint64(), 2u);
  EXPECT_EQ(o.at("status_classes").at("4xx").as_uint64(), 0u);
  EXPECT_EQ(o.at("series").as_array().size(), 1u);
}

TEST(LogCsv, QuotesAsRfc4180) {
  EXPECT_EQ(csvField("plain"), "plain");
  EXPECT_EQ(csvField("a,b"), "\"a,b\"");
  EXPECT_EQ(csvField("say \"hi\""), "\"say \"\"hi\"\"\"");
  EXPECT_EQ(csvField("two\r\nlines"), "\"two\r\nlines\"");
  LogEntry e;
  e.delivery_id = "d1";
  e.status = Status::kPendingRetry;
  e.error_message = "HTTP 503, \"busy\"";
  e.duration_us = 12'345;
  e.attempts = 2;
  e.replays = 1;
  const auto row = csvRow(e);
  EXPECT_EQ(row, "d1,,,,pending_retry,,12.345,2,,,,\"HTTP 503, \"\"busy\"\"\",,1\r\n");
  const std::string header = csvHeader();
  EXPECT_EQ(std::count(header.begin(), header.end(), ','), 13);
}

}  // namespace
}  // namespace hookpipe::attempts
