// /v1/subscriptions/{id}/stats, /v1/tenants/{tenant}/stats and /v1/stats against a real
// `hookpipe producer` and real Redis, over statistics buckets written the way
// common/attempts/keys.h lays them out (support/attempt_index.h).
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "common/attempts/histogram.h"
#include "common/attempts/json.h"
#include "support/attempt_index.h"
#include "support/harness.h"

namespace hookpipe::testing {
namespace {

namespace bj = boost::json;
using attempts::Record;

int64_t at(const std::string& rfc3339) { return *attempts::parseTime(rfc3339); }

class StatsApiTest : public PipelineFixture {
 protected:
  void SetUp() override {
    PipelineFixture::SetUp();
    auto [host, port] = testRedisHostPort();
    redis_ = std::make_unique<redis::Client>(host, port, std::chrono::seconds(5));
  }
  void TearDown() override {
    if (redis_) wipeAttemptIndex(*redis_, pipeline_->config().topics.prefix);
    PipelineFixture::TearDown();
  }
  bj::value stats(const std::string& path) {
    auto r = httpRequest("GET", pipeline_->apiUrl(path), "");
    EXPECT_EQ(r.status, 200) << path << " " << r.body;
    boost::system::error_code ec;
    auto v = bj::parse(r.body, ec);
    return ec ? bj::value() : v;
  }
  static Record rec(const std::string& id, const std::string& sub, const std::string& tenant,
                    int attempt, const std::string& outcome, int64_t when, long status,
                    const std::string& type, int64_t duration_us) {
    auto r = attemptRecord(id, sub, attempt, outcome, when, status, type, duration_us);
    r.tenant = tenant;
    return r;
  }
  // sub_a (tenant t1): three attempts on Monday 2025-11-24 10:05-11:10 (delivered, a 503
  // retried, delivered on its second attempt), a 404 dead-lettered on Wednesday, a timeout
  // on Sunday 23:59; sub_b (t1) one on Monday; sub_c (t2) one on Monday 2025-12-01.
  void week() {
    writeAttemptIndex(*redis_, pipeline_->config().topics.prefix,
                      {rec("a1", "sub_a", "t1", 1, "delivered", at("2025-11-24T10:05:00Z"), 200,
                           "order.created", 10'000),
                       rec("a2", "sub_a", "t1", 1, "retried", at("2025-11-24T10:40:00Z"), 503,
                           "order.created", 30'000),
                       rec("a2", "sub_a", "t1", 2, "delivered", at("2025-11-24T11:10:00Z"), 200,
                           "order.created", 50'000),
                       rec("a4", "sub_a", "t1", 1, "dead_lettered", at("2025-11-26T09:00:00Z"), 404,
                           "order.paid", 5'000),
                       rec("a5", "sub_a", "t1", 1, "retried", at("2025-11-30T23:59:00Z"), 0,
                           "order.paid", 30'000'000),
                       rec("b1", "sub_b", "t1", 1, "delivered", at("2025-11-24T10:10:00Z"), 200,
                           "order.created", 8'000),
                       rec("c1", "sub_c", "t2", 1, "delivered", at("2025-12-01T00:00:00Z"), 200,
                           "order.created", 8'000)});
  }
  std::unique_ptr<redis::Client> redis_;
};

TEST_F(StatsApiTest, ASubscriptionsHoursSummaryLatencyTypesErrorsAndClasses) {
  ASSERT_NO_FATAL_FAILURE(startApi());
  week();
  auto v = stats(
      "/v1/subscriptions/sub_a/stats?since=2025-11-24T10:00:00Z"
      "&until=2025-11-24T12:00:00Z&group_by=hour");
  ASSERT_TRUE(v.is_object());
  EXPECT_EQ(v.at("scope").as_string(), "s:sub_a");
  const auto& s = v.at("summary").as_object();
  EXPECT_EQ(s.at("attempts").to_number<uint64_t>(), 3u);
  EXPECT_EQ(s.at("delivered").to_number<uint64_t>(), 2u);
  EXPECT_EQ(s.at("retried").to_number<uint64_t>(), 1u);
  EXPECT_EQ(s.at("dead_lettered").to_number<uint64_t>(), 0u);
  EXPECT_EQ(s.at("retries").to_number<uint64_t>(), 1u);
  EXPECT_NEAR(s.at("success_rate").as_double(), 2.0 / 3, 1e-4);
  const auto& latency = s.at("latency").as_object();
  EXPECT_EQ(latency.at("count").to_number<uint64_t>(), 3u);
  EXPECT_DOUBLE_EQ(latency.at("avg_ms").as_double(), 30.0);
  EXPECT_DOUBLE_EQ(latency.at("min_ms").as_double(), 10.0);
  EXPECT_DOUBLE_EQ(latency.at("max_ms").as_double(), 50.0);
  EXPECT_NEAR(latency.at("p50_ms").as_double(), 30.0, 30.0 * attempts::Histogram::kRelativeError);
  EXPECT_NEAR(latency.at("p99_ms").as_double(), 50.0, 50.0 * attempts::Histogram::kRelativeError);
  EXPECT_DOUBLE_EQ(latency.at("relative_error").as_double(), 1.0 / 64);
  const auto& series = v.at("series").as_array();
  ASSERT_EQ(series.size(), 2u);
  EXPECT_EQ(series[0].at("start").as_string(), "2025-11-24T10:00:00.000Z");
  EXPECT_EQ(series[0].at("attempts").to_number<uint64_t>(), 2u);
  EXPECT_EQ(series[1].at("delivered").to_number<uint64_t>(), 1u);
  const auto& types = v.at("by_event_type").as_array();
  ASSERT_EQ(types.size(), 1u);
  EXPECT_EQ(types[0].at("event_type").as_string(), "order.created");
  EXPECT_EQ(types[0].at("delivered").to_number<uint64_t>(), 2u);
  const auto& errors = v.at("errors").as_array();
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].at("error_class").as_string(), "http_5xx");
  EXPECT_DOUBLE_EQ(errors[0].at("percent").as_double(), 100.0);
  EXPECT_EQ(v.at("status_classes").at("2xx").to_number<uint64_t>(), 2u);
  EXPECT_EQ(v.at("status_classes").at("5xx").to_number<uint64_t>(), 1u);
  EXPECT_EQ(v.at("buckets_read").to_number<uint64_t>(), 2u);
}

TEST_F(StatsApiTest, DaysWeeksAndMonthsReadDayBucketsMinutesTheMinuteOnes) {
  ASSERT_NO_FATAL_FAILURE(startApi());
  week();
  auto days = stats(
      "/v1/subscriptions/sub_a/stats?since=2025-11-24T00:00:00Z&until=2025-12-01T00:00:00Z"
      "&group_by=day");
  ASSERT_TRUE(days.is_object());
  EXPECT_EQ(days.at("series").as_array().size(), 7u);
  EXPECT_EQ(days.at("summary").at("attempts").to_number<uint64_t>(), 5u);
  EXPECT_EQ(days.at("series").as_array()[2].at("dead_lettered").to_number<uint64_t>(), 1u);
  const auto& errors = days.at("errors").as_array();
  ASSERT_EQ(errors.size(), 3u);
  for (const auto& e : errors) EXPECT_NEAR(e.at("percent").as_double(), 33.33, 0.01);
  EXPECT_EQ(days.at("status_classes").at("none").to_number<uint64_t>(), 1u);
  EXPECT_EQ(days.at("status_classes").at("4xx").to_number<uint64_t>(), 1u);
  EXPECT_EQ(days.at("by_event_type").as_array().size(), 2u);

  // Weeks start on Monday: Sunday 23:59 is in the first, Monday 2025-12-01 in the second.
  auto weeks = stats(
      "/v1/stats?since=2025-11-26T00:00:00Z&until=2025-12-02T00:00:00Z"
      "&group_by=week");
  ASSERT_TRUE(weeks.is_object());
  const auto& w = weeks.at("series").as_array();
  ASSERT_EQ(w.size(), 2u);
  EXPECT_EQ(w[0].at("start").as_string(), "2025-11-24T00:00:00.000Z");
  EXPECT_EQ(w[0].at("attempts").to_number<uint64_t>(), 6u);  // the whole week, widened to Monday
  EXPECT_EQ(w[1].at("attempts").to_number<uint64_t>(), 1u);
  EXPECT_EQ(weeks.at("from").as_string(), "2025-11-24T00:00:00.000Z");
  EXPECT_EQ(weeks.at("buckets_read").to_number<uint64_t>(), 14u);

  auto months = stats(
      "/v1/stats?since=2025-11-24T00:00:00Z&until=2025-12-02T00:00:00Z"
      "&group_by=month");
  const auto& m = months.at("series").as_array();
  ASSERT_EQ(m.size(), 2u);
  EXPECT_EQ(m[0].at("start").as_string(), "2025-11-01T00:00:00.000Z");
  EXPECT_EQ(m[0].at("attempts").to_number<uint64_t>(), 6u);
  EXPECT_EQ(m[1].at("start").as_string(), "2025-12-01T00:00:00.000Z");
  EXPECT_EQ(m[1].at("attempts").to_number<uint64_t>(), 1u);
  EXPECT_EQ(months.at("buckets_read").to_number<uint64_t>(), 61u);  // November and December's days

  auto minutes = stats(
      "/v1/subscriptions/sub_a/stats?since=2025-11-24T10:00:00Z"
      "&until=2025-11-24T10:10:00Z&group_by=minute");
  const auto& mi = minutes.at("series").as_array();
  ASSERT_EQ(mi.size(), 10u);
  EXPECT_EQ(mi[5].at("attempts").to_number<uint64_t>(), 1u);
  EXPECT_EQ(minutes.at("summary").at("attempts").to_number<uint64_t>(), 1u);
}

TEST_F(StatsApiTest, TenantsAndEveryScopeAddUpTheirSubscriptions) {
  ASSERT_NO_FATAL_FAILURE(startApi());
  week();
  const std::string monday = "since=2025-11-24T00:00:00Z&until=2025-11-25T00:00:00Z&group_by=day";
  EXPECT_EQ(
      stats("/v1/tenants/t1/stats?" + monday).at("summary").at("attempts").to_number<uint64_t>(),
      4u);
  EXPECT_EQ(
      stats("/v1/tenants/t2/stats?" + monday).at("summary").at("attempts").to_number<uint64_t>(),
      0u);
  EXPECT_EQ(stats("/v1/stats?" + monday).at("summary").at("attempts").to_number<uint64_t>(), 4u);
  EXPECT_EQ(stats("/v1/tenants/t2/stats?since=2025-12-01T00:00:00Z&until=2025-12-01T01:00:00Z")
                .at("summary")
                .at("delivered")
                .to_number<uint64_t>(),
            1u);
  EXPECT_EQ(stats("/v1/tenants/nobody/stats").at("summary").at("attempts").to_number<uint64_t>(),
            0u);
}

TEST_F(StatsApiTest, TheDefaultRangeIsTheLastDay) {
  ASSERT_NO_FATAL_FAILURE(startApi());
  const int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  writeAttemptIndex(*redis_, pipeline_->config().topics.prefix,
                    {attemptRecord("n1", "sub_now", 1, "delivered", now - 3'600'000),
                     attemptRecord("n2", "sub_now", 1, "delivered", now - 3 * 86'400'000LL)});
  auto v = stats("/v1/subscriptions/sub_now/stats");
  ASSERT_TRUE(v.is_object());
  EXPECT_EQ(v.at("group_by").as_string(), "hour");
  EXPECT_EQ(v.at("summary").at("attempts").to_number<uint64_t>(), 1u);
  EXPECT_GE(v.at("series").as_array().size(), 24u);
}

TEST_F(StatsApiTest, EveryBadParameterIsA400NamingItAndUnknownSubscriptionsA404) {
  ASSERT_NO_FATAL_FAILURE(startApi());
  week();
  for (const std::string& path : {std::string("/v1/stats"), std::string("/v1/tenants/t1/stats"),
                                  std::string("/v1/subscriptions/sub_a/stats")}) {
    for (const auto& [query, parameter] : std::vector<std::pair<std::string, std::string>>{
             {"group_by=year", "group_by"},
             {"since=last-week", "since"},
             {"until=noon", "until"},
             {"since=2025-11-25T00:00:00Z&until=2025-11-24T00:00:00Z", "since"},
             {"since=2025-11-24T00:00:00Z&until=2025-11-26T00:00:00Z&group_by=minute", "group_by"},
             {"since=2025-01-01T00:00:00Z&until=2025-11-26T00:00:00Z&group_by=hour", "group_by"},
             {"scope=all", "scope"}}) {
      auto r = httpRequest("GET", pipeline_->apiUrl(path + "?" + query), "");
      EXPECT_EQ(r.status, 400) << path << "?" << query << " " << r.body;
      boost::system::error_code ec;
      auto v = bj::parse(r.body, ec);
      ASSERT_FALSE(ec) << r.body;
      EXPECT_EQ(v.at("errors").as_array()[0].at("pointer").as_string(), parameter) << r.body;
    }
  }
  EXPECT_EQ(httpRequest("GET", pipeline_->apiUrl("/v1/subscriptions/sub_nope/stats"), "").status,
            404);
}

}  // namespace
}  // namespace hookpipe::testing
