#include "common/metrics/metrics.h"

#include <gtest/gtest.h>

#include <stdexcept>
#include <thread>

namespace hookpipe::metrics {
namespace {

TEST(Metrics, CountersAndGaugesRenderInTheTextFormat) {
  Registry r;
  Counter& routed = r.counter("hookpipe_router_events_total", "Events routed.");
  Gauge& depth = r.gauge("hookpipe_router_queue_depth", "Deliveries waiting.", {{"queue", "a"}});
  routed.inc();
  routed.inc(2);
  depth.set(7);
  depth.sub(2);
  const std::string text = r.render();
  EXPECT_NE(text.find("# HELP hookpipe_router_events_total Events routed.\n"
                      "# TYPE hookpipe_router_events_total counter\n"
                      "hookpipe_router_events_total 3\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("hookpipe_router_queue_depth{queue=\"a\"} 5\n"), std::string::npos) << text;
  EXPECT_EQ(r.value("hookpipe_router_events_total"), 3);
  EXPECT_EQ(r.value("hookpipe_router_queue_depth", {{"queue", "a"}}), 5);
  EXPECT_EQ(r.value("hookpipe_router_queue_depth", {{"queue", "b"}}), std::nullopt);
}

TEST(Metrics, FamilyChildrenAreMadeOnceAndRenderedWithTheirLabels) {
  Registry r;
  auto& attempts = r.counterFamily("hookpipe_deliverer_attempts_total", "Attempts.", {"outcome"});
  Counter& delivered = attempts.labels({"delivered"});
  EXPECT_EQ(&delivered, &attempts.labels({"delivered"}));
  delivered.inc(4);
  attempts.labels({"retried"}).inc();
  EXPECT_EQ(r.value("hookpipe_deliverer_attempts_total", {{"outcome", "delivered"}}), 4);
  EXPECT_EQ(r.value("hookpipe_deliverer_attempts_total", {{"outcome", "retried"}}), 1);
  EXPECT_THROW(attempts.labels({"a", "b"}), std::invalid_argument);
}

TEST(Metrics, HistogramBucketsAreCumulativeWithSumAndCount) {
  Registry r;
  const double bounds[] = {0.1, 1};
  Histogram& h = r.histogram("hookpipe_deliverer_attempt_duration_seconds", "Durations.", bounds);
  h.observe(0.05);
  h.observe(0.1);  // le is inclusive
  h.observe(0.5);
  h.observe(3);
  const std::string text = r.render();
  EXPECT_NE(text.find("hookpipe_deliverer_attempt_duration_seconds_bucket{le=\"0.1\"} 2\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("hookpipe_deliverer_attempt_duration_seconds_bucket{le=\"1\"} 3\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("hookpipe_deliverer_attempt_duration_seconds_bucket{le=\"+Inf\"} 4\n"),
            std::string::npos)
      << text;
  EXPECT_EQ(r.value("hookpipe_deliverer_attempt_duration_seconds_count"), 4);
  EXPECT_DOUBLE_EQ(*r.value("hookpipe_deliverer_attempt_duration_seconds_sum"), 3.65);
}

TEST(Metrics, BadDeclarationsFailAtOnce) {
  Registry r;
  EXPECT_THROW(r.counter("hookpipe_x", "no _total"), std::invalid_argument);
  EXPECT_THROW(r.gauge("1bad", "starts with a digit"), std::invalid_argument);
  EXPECT_THROW(r.gauge("ok_name", "bad label", {{"le", "x"}}), std::invalid_argument);
  r.gauge("hookpipe_twice", "first");
  EXPECT_THROW(r.gauge("hookpipe_twice", "second"), std::invalid_argument);
  const double unsorted[] = {1, 0.5};
  EXPECT_THROW(r.histogram("hookpipe_h_seconds", "unsorted", unsorted), std::invalid_argument);
}

TEST(Metrics, LabelValuesAreEscaped) {
  Registry r;
  r.gauge("hookpipe_g", "help with \\ and\nnewline", {{"reason", "a\"b\\c\nd"}}).set(1);
  const std::string text = r.render();
  EXPECT_NE(text.find("# HELP hookpipe_g help with \\\\ and\\nnewline\n"), std::string::npos)
      << text;
  EXPECT_NE(text.find("hookpipe_g{reason=\"a\\\"b\\\\c\\nd\"} 1\n"), std::string::npos) << text;
}

TEST(Metrics, GaugeFunctionsAreReadWhenRendered) {
  Registry r;
  int depth = 1;
  r.gaugeFn("hookpipe_lag", "Lag.", {{"partition", "0"}}, [&] { return double(depth); });
  r.gaugeFn("hookpipe_lag", "Lag.", {{"partition", "1"}}, [&] { return double(depth * 10); });
  depth = 3;
  EXPECT_EQ(r.value("hookpipe_lag", {{"partition", "0"}}), 3);
  EXPECT_EQ(r.value("hookpipe_lag", {{"partition", "1"}}), 30);
}

TEST(Metrics, CounterFunctionsRenderAsCounters) {
  Registry r;
  uint64_t errors = 2;
  r.counterFn("hookpipe_x_errors_total", "Errors.", {}, [&] { return double(errors); });
  errors = 5;
  EXPECT_EQ(r.value("hookpipe_x_errors_total"), 5);
  const auto text = r.render();
  EXPECT_NE(text.find("# TYPE hookpipe_x_errors_total counter\nhookpipe_x_errors_total 5\n"),
            std::string::npos)
      << text;
  EXPECT_THROW(r.counterFn("hookpipe_x_errors", "No _total.", {}, [] { return 0.0; }),
               std::invalid_argument);
}

TEST(Metrics, GaugeFamilyFunctionsRenderTheSamplesOfTheMoment) {
  Registry r;
  Registry::FnSamples now = {{{"t", "0"}, 4}, {{"t", "1"}, 0}};
  r.gaugeFamilyFn("hookpipe_x_lag_messages", "Lag.", {"topic", "partition"}, [&] { return now; });
  auto text = r.render();
  EXPECT_NE(text.find("# TYPE hookpipe_x_lag_messages gauge\n"
                      "hookpipe_x_lag_messages{topic=\"t\",partition=\"0\"} 4\n"
                      "hookpipe_x_lag_messages{topic=\"t\",partition=\"1\"} 0\n"),
            std::string::npos)
      << text;
  now = {{{"t", "1"}, 7}};  // partition 0 was revoked: its sample goes
  EXPECT_EQ(r.value("hookpipe_x_lag_messages", {{"topic", "t"}, {"partition", "1"}}), 7);
  EXPECT_EQ(r.value("hookpipe_x_lag_messages", {{"topic", "t"}, {"partition", "0"}}), std::nullopt);
  text = r.render();
  EXPECT_EQ(text.find("partition=\"0\""), std::string::npos) << text;
}

TEST(Metrics, CounterFamilyFunctionsRenderAsCounters) {
  Registry r;
  r.counterFamilyFn("hookpipe_x_requests_total", "Requests.", {"client", "request"}, [] {
    return Registry::FnSamples{{{"hookpipe-router", "Produce"}, 12}};
  });
  const auto text = r.render();
  EXPECT_NE(text.find("# TYPE hookpipe_x_requests_total counter\n"
                      "hookpipe_x_requests_total{client=\"hookpipe-router\",request=\"Produce\"} "
                      "12\n"),
            std::string::npos)
      << text;
  EXPECT_THROW(r.counterFamilyFn("hookpipe_x_requests", "No _total.", {"client"},
                                 [] { return Registry::FnSamples{}; }),
               std::invalid_argument);
}

TEST(Metrics, ConcurrentIncrementsAreAllCounted) {
  Registry r;
  Counter& c = r.counter("hookpipe_c_total", "c");
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < 100000; ++i) c.inc();
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(c.value(), 400000u);
}

}  // namespace
}  // namespace hookpipe::metrics
