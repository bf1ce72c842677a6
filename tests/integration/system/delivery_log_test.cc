// The delivery log end to end: events through router and two deliverers to a receiver that
// answers by a rule, every attempt onto the attempts topic, two recorders (one SIGKILLed
// and restarted mid-run) into the Redis index, and the API's logs and statistics read back —
// counts equal to the truth exactly, percentiles within the histogram's stated error of the
// durations on the topic.
#include <gtest/gtest.h>

#include <algorithm>
#include <boost/json.hpp>
#include <cmath>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "common/attempts/histogram.h"
#include "common/attempts/record.h"
#include "support/harness.h"
#include "support/poll.h"
#include "support/receiver.h"

namespace hookpipe::testing {
namespace {

using namespace std::chrono_literals;
namespace bj = boost::json;

class DeliveryLogTest : public PipelineFixture {
 protected:
  bj::object getJson(const std::string& path) {
    auto r = httpRequest("GET", pipeline_->apiUrl(path), "");
    EXPECT_EQ(r.status, 200) << path << ": " << r.body;
    boost::system::error_code ec;
    auto v = bj::parse(r.body, ec);
    if (ec || !v.is_object()) return {};
    return v.as_object();
  }
  static int64_t count(const bj::object& o, const char* field) {
    const auto* v = o.if_contains(field);
    return v != nullptr && v->is_int64() ? v->as_int64() : -1;
  }
  int64_t totalAttempts(const std::string& path) {
    auto r = httpRequest("GET", pipeline_->apiUrl(path), "");
    if (r.status != 200) return -1;
    boost::system::error_code ec;
    auto v = bj::parse(r.body, ec);
    if (ec) return -1;
    return count(v.at("summary").as_object(), "attempts");
  }
};

TEST_F(DeliveryLogTest, CountsAreExactThroughARecorderKillAndLatencyMatchesTheTopic) {
  // /flaky: a delivery's first request is answered 503, the next 200; /bad always 400.
  std::mutex mu;
  std::set<std::string> seen_flaky;
  Receiver receiver([&](const ReceivedRequest& r) {
    if (r.target == "/bad") return 400;
    if (r.target == "/flaky") {
      std::lock_guard lock(mu);
      return seen_flaky.insert(r.headers.at("webhook-id")).second ? 503 : 200;
    }
    return 200;
  });
  startApi();
  const std::string retry =
      R"("retry_config":{"strategy":"fixed","retry_delay":1000,"max_retries":3,"jitter":false})";
  const auto ok = subscribe(R"({"url":")" + receiver.url("/ok") + R"(","events":["exact.*"]})");
  const auto bad = subscribe(R"({"url":")" + receiver.url("/bad") + R"(","events":["exact.*"]})");
  const auto flaky = subscribe(R"({"url":")" + receiver.url("/flaky") +
                               R"(","events":["exact.*"],"tenant":"acme",)" + retry + "}");
  pipeline_->start("router");
  pipeline_->start("deliverer", "1");
  pipeline_->start("deliverer", "2");
  pipeline_->start("retry");
  auto* recorder = &pipeline_->start("recorder", "1");
  pipeline_->start("recorder", "2");

  constexpr int kEvents = 60;
  for (int i = 0; i < kEvents; ++i)
    publish(R"({"type":"exact.test","tenant":"acme","data":{"n":)" + std::to_string(i) + "}}");
  // Kill one recorder once part of the attempts are in the index, and start it again.
  ASSERT_TRUE(eventually([&] { return totalAttempts("/v1/stats?group_by=hour") >= 60; }, 120s))
      << pipeline_->logs();
  recorder->kill(SIGKILL);
  recorder->wait(10s);
  pipeline_->start("recorder", "1");

  constexpr int64_t kTotal = 4 * kEvents;  // ok 1, bad 1, flaky 2 attempts each
  ASSERT_TRUE(eventually([&] { return totalAttempts("/v1/stats") >= kTotal; }, 180s))
      << pipeline_->logs();
  // And never more (nothing counted twice).
  EXPECT_TRUE(testkit::holdsFor([&] { return totalAttempts("/v1/stats") == kTotal; }, 2s));

  const auto all = getJson("/v1/stats").at("summary").as_object();
  EXPECT_EQ(count(all, "delivered"), 2 * kEvents);
  EXPECT_EQ(count(all, "retried"), kEvents);
  EXPECT_EQ(count(all, "dead_lettered"), kEvents);
  EXPECT_EQ(count(all, "retries"), kEvents);

  const auto bad_stats = getJson("/v1/subscriptions/" + bad.id + "/stats");
  EXPECT_EQ(count(bad_stats.at("summary").as_object(), "dead_lettered"), kEvents);
  const auto& errors = bad_stats.at("errors").as_array();
  ASSERT_EQ(errors.size(), 1u) << bj::serialize(bad_stats);
  EXPECT_EQ(errors[0].at("error_class").as_string(), "http_4xx");
  EXPECT_EQ(errors[0].at("count").as_int64(), kEvents);
  EXPECT_DOUBLE_EQ(errors[0].at("percent").to_number<double>(), 100.0);
  EXPECT_EQ(bad_stats.at("status_classes").at("4xx").as_int64(), kEvents);

  const auto flaky_summary =
      getJson("/v1/tenants/acme/stats").at("summary").as_object();  // only flaky has a tenant
  EXPECT_EQ(count(flaky_summary, "attempts"), 2 * kEvents);
  EXPECT_EQ(count(flaky_summary, "delivered"), kEvents);
  EXPECT_EQ(count(flaky_summary, "retried"), kEvents);
  EXPECT_EQ(count(flaky_summary, "retries"), kEvents);

  // Latency: the index's percentiles against the durations the deliverers wrote.
  std::vector<int64_t> durations;
  for (const auto& m : readTopic(pipeline_->config(), pipeline_->config().topics.attempts())) {
    auto rec = attempts::parse(m.value);
    ASSERT_TRUE(rec) << rec.error().message;
    if (rec->subscription_id == ok.id) durations.push_back(rec->duration_us);
  }
  ASSERT_EQ(durations.size(), static_cast<std::size_t>(kEvents));
  std::sort(durations.begin(), durations.end());
  const auto ok_latency =
      getJson("/v1/subscriptions/" + ok.id + "/stats").at("summary").at("latency").as_object();
  for (auto [q, field] : {std::pair{0.5, "p50_ms"}, std::pair{0.99, "p99_ms"}}) {
    const auto rank = static_cast<std::size_t>(std::ceil(q * kEvents));
    const double truth = static_cast<double>(durations[rank - 1]);
    const double reported = ok_latency.at(field).to_number<double>() * 1000;
    EXPECT_NEAR(reported, truth, truth * attempts::Histogram::kRelativeError + 1) << field;
  }
  EXPECT_NEAR(ok_latency.at("min_ms").to_number<double>() * 1000,
              static_cast<double>(durations.front()), 1);
  EXPECT_NEAR(ok_latency.at("max_ms").to_number<double>() * 1000,
              static_cast<double>(durations.back()), 1);

  // The log: every flaky delivery delivered at its second attempt, all pages walked.
  std::set<std::string> ids;
  std::string cursor;
  for (int page = 0; page < 10; ++page) {
    auto list = getJson("/v1/subscriptions/" + flaky.id + "/deliveries?limit=25" +
                        (cursor.empty() ? "" : "&cursor=" + cursor));
    for (const auto& e : list.at("data").as_array()) {
      EXPECT_EQ(e.at("status").as_string(), "delivered");
      EXPECT_EQ(e.at("attempts").as_int64(), 2);
      EXPECT_EQ(e.at("response_status").as_int64(), 200);
      EXPECT_TRUE(ids.insert(std::string(e.at("id").as_string())).second) << "repeated";
    }
    if (list.at("next_cursor").is_null()) break;
    cursor = std::string(list.at("next_cursor").as_string());
  }
  EXPECT_EQ(ids.size(), static_cast<std::size_t>(kEvents));
  const auto failed = getJson("/v1/subscriptions/" + bad.id + "/deliveries?status=failed");
  EXPECT_EQ(failed.at("data").as_array().size(), 50u);  // the default page
  EXPECT_EQ(failed.at("summary").at("dead_lettered").as_int64(), kEvents);

  // One delivery: both attempts, and the body sent read back from its topic.
  const auto one = getJson("/v1/deliveries/" + *ids.begin());
  const auto& tries = one.at("attempts").as_array();
  ASSERT_EQ(tries.size(), 2u);
  EXPECT_EQ(tries[0].at("outcome").as_string(), "retried");
  EXPECT_EQ(tries[0].at("response_status").as_int64(), 503);
  EXPECT_FALSE(tries[0].at("next_attempt_at").is_null());
  EXPECT_EQ(tries[1].at("outcome").as_string(), "delivered");
  ASSERT_TRUE(one.at("payload").is_object()) << bj::serialize(one);
  EXPECT_EQ(one.at("payload").at("type").as_string(), "exact.test");
}

}  // namespace
}  // namespace hookpipe::testing
