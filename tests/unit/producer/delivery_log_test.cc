// The delivery-log and stats routes' query parameters: every bad one is a problem naming it.
#include "producer/delivery_log.h"

#include <gtest/gtest.h>

namespace hookpipe::producer {
namespace {

TEST(LogQueryParameters, EveryBadParameterIsAProblemNamingIt) {
  LogQuery q;
  EXPECT_TRUE(parseLogQuery({{"status", "failed"},
                             {"event_type", "order.created"},
                             {"since", "2026-01-01T00:00:00Z"},
                             {"until", "1767972600000"},
                             {"limit", "250"}},
                            false, q)
                  .empty());
  EXPECT_EQ(q.filter.status, attempts::StatusFilter::kFailed);
  EXPECT_EQ(q.limit, 250);
  EXPECT_EQ(q.filter.until_ms, 1767972600000);
  for (auto [k, v] : std::vector<std::pair<std::string, std::string>>{{"status", "lost"},
                                                                      {"since", "soon"},
                                                                      {"until", "12x"},
                                                                      {"limit", "0"},
                                                                      {"limit", "251"},
                                                                      {"limit", "ten"},
                                                                      {"cursor", "%%%"},
                                                                      {"event_type", ""},
                                                                      {"colour", "red"}}) {
    LogQuery bad;
    auto problems = parseLogQuery({{k, v}}, false, bad);
    ASSERT_EQ(problems.size(), 1u) << k << "=" << v;
    EXPECT_EQ(problems[0].pointer, k);
  }
  LogQuery range;
  auto problems = parseLogQuery({{"since", "2000"}, {"until", "1000"}}, false, range);
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_EQ(problems[0].pointer, "since");
}

TEST(LogQueryParameters, TheExportNeedsAKnownFormatAndTakesNoCursor) {
  LogQuery q;
  EXPECT_TRUE(parseLogQuery({{"format", "ndjson"}, {"status", "delivered"}}, true, q).empty());
  EXPECT_EQ(q.format, "ndjson");
  LogQuery missing;
  auto problems = parseLogQuery({}, true, missing);
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_EQ(problems[0].pointer, "format");
  LogQuery xml;
  problems = parseLogQuery({{"format", "xml"}}, true, xml);
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_EQ(problems[0].pointer, "format");
  LogQuery cursor;
  problems = parseLogQuery({{"format", "csv"}, {"cursor", "x"}}, true, cursor);
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_EQ(problems[0].pointer, "cursor");
}

TEST(StatsQueryParameters, DefaultToTheLastDayAndNameBadOnes) {
  attempts::StatsQuery q;
  const int64_t now = 1767972600000;
  EXPECT_TRUE(parseStatsQuery({}, now, q).empty());
  EXPECT_EQ(q.until_ms, now);
  EXPECT_EQ(q.since_ms, now - 86'400'000);
  EXPECT_EQ(q.group_by, attempts::GroupBy::kHour);
  for (auto [k, v] : std::vector<std::pair<std::string, std::string>>{
           {"group_by", "year"}, {"since", "x"}, {"until", "-"}, {"scope", "all"}}) {
    attempts::StatsQuery bad;
    auto problems = parseStatsQuery({{k, v}}, now, bad);
    ASSERT_EQ(problems.size(), 1u) << k;
    EXPECT_EQ(problems[0].pointer, k);
  }
  attempts::StatsQuery minute;
  auto problems = parseStatsQuery({{"group_by", "minute"}, {"since", "0"}}, now, minute);
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_EQ(problems[0].pointer, "group_by");
}

}  // namespace
}  // namespace hookpipe::producer
