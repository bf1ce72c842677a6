// `hookpipe loadtest` against a real pipeline (producer, router, deliverer; retry for the
// failing receiver) on the real broker and Redis: the command's own receiver, its own
// subscription, its JSON summary.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <sstream>

#include "support/harness.h"

namespace hookpipe::testing {
namespace {

using LoadtestCommand = PipelineFixture;

// The summary is the one line of the output that is a JSON object (progress lines and
// notes go to stderr, which the log file holds too).
boost::json::object summaryOf(const std::string& output) {
  std::istringstream in(output);
  std::string line;
  while (std::getline(in, line))
    if (line.starts_with("{\"")) return boost::json::parse(line).as_object();
  ADD_FAILURE() << "no JSON summary in:\n" << output;
  return {};
}

double number(const boost::json::object& o, const char* key) {
  return boost::json::value_to<double>(o.at(key));
}

TEST_F(LoadtestCommand, EveryEventPublishedIsReceivedOnceWithSaneFigures) {
  ASSERT_NO_FATAL_FAILURE(startApi());
  pipeline_->start("router");
  pipeline_->start("deliverer");
  const auto [status, output] =
      pipeline_->runCommand({"loadtest", "--api", pipeline_->apiUrl(""), "--subscribe",
                             "--receiver-port", std::to_string(freePort()), "--rate", "200",
                             "--duration", "3s", "--concurrency", "16", "--json"});
  ASSERT_EQ(status, 0) << output << pipeline_->logs();
  const auto s = summaryOf(output);
  ASSERT_FALSE(s.empty());
  // 200/s for 3 s: 600 events are due; on a loaded machine the API may fall a little
  // behind, and what is still due at the end is not sent (never more than due).
  EXPECT_GE(number(s, "published"), 540) << output;
  EXPECT_LE(number(s, "published"), 600) << output;
  EXPECT_EQ(number(s, "publish_errors"), 0);
  EXPECT_EQ(number(s, "received"), number(s, "published"));
  EXPECT_EQ(number(s, "expected"), number(s, "published"));
  EXPECT_GE(number(s, "attempts"), number(s, "received"));
  EXPECT_EQ(number(s, "success_rate"), 1.0);
  EXPECT_EQ(number(s, "foreign"), 0);
  EXPECT_GT(number(s, "published_per_s"), 150);
  EXPECT_LT(number(s, "published_per_s"), 220);
  EXPECT_GT(number(s, "received_per_s"), 100);
  const auto& latency = s.at("latency_ms").as_object();
  EXPECT_GT(number(latency, "p50"), 0);
  EXPECT_GE(number(latency, "p90"), number(latency, "p50"));
  EXPECT_GE(number(latency, "p99"), number(latency, "p90"));
  EXPECT_GE(number(latency, "max"), number(latency, "p99"));
  EXPECT_LT(number(latency, "max"), 30'000);
  EXPECT_TRUE(s.at("complete").as_bool());
  // The subscription it made is gone again.
  const auto list = httpRequest("GET", pipeline_->apiUrl("/v1/subscriptions"), "");
  EXPECT_NE(list.body.find("\"total\":0"), std::string::npos) << list.body;
}

TEST_F(LoadtestCommand, HalfTheAnswersFailingRetriesDeliverEverythingInTheEnd) {
  ASSERT_NO_FATAL_FAILURE(startApi());
  pipeline_->start("router");
  pipeline_->start("deliverer");
  pipeline_->start("retry");
  // 21 tries at 1 s each: an event failing them all has odds 0.5^21 (about 3e-4 over the run).
  const auto [status, output] = pipeline_->runCommand({"loadtest",
                                                       "--api",
                                                       pipeline_->apiUrl(""),
                                                       "--subscribe",
                                                       "--receiver-port",
                                                       std::to_string(freePort()),
                                                       "--rate",
                                                       "100",
                                                       "--duration",
                                                       "3s",
                                                       "--fail-rate",
                                                       "0.5",
                                                       "--status",
                                                       "503",
                                                       "--latency",
                                                       "1ms..5ms",
                                                       "--retry-delay",
                                                       "1s",
                                                       "--max-retries",
                                                       "20",
                                                       "--drain",
                                                       "90s",
                                                       "--json"});
  ASSERT_EQ(status, 0) << output << pipeline_->logs();
  const auto s = summaryOf(output);
  ASSERT_FALSE(s.empty());
  EXPECT_GE(number(s, "published"), 270) << output;
  EXPECT_LE(number(s, "published"), 300) << output;
  EXPECT_EQ(number(s, "received"), number(s, "published"));
  EXPECT_GT(number(s, "attempts"), number(s, "received"));
  // Each attempt fails with odds 1/2, so about half of some 600 attempts succeed.
  EXPECT_GT(number(s, "success_rate"), 0.4) << output;
  EXPECT_LT(number(s, "success_rate"), 0.6) << output;
  // Retried deliveries took at least a retry delay.
  EXPECT_GE(number(s.at("latency_ms").as_object(), "max"), 1000);
  EXPECT_TRUE(s.at("complete").as_bool());
}

TEST_F(LoadtestCommand, BadFlagsExitWithUsage) {
  const auto [status, output] = pipeline_->runCommand({"loadtest", "--rate", "fast"});
  EXPECT_EQ(status, 2);
  EXPECT_NE(output.find("loadtest: --rate must be"), std::string::npos) << output;
  EXPECT_NE(output.find("usage: hookpipe loadtest"), std::string::npos) << output;
}

TEST_F(LoadtestCommand, MissingDeliveriesMakeItFail) {
  // A receiver but no pipeline behind the API: nothing published arrives.
  ASSERT_NO_FATAL_FAILURE(startApi());
  const auto [status, output] =
      pipeline_->runCommand({"loadtest", "--api", pipeline_->apiUrl(""), "--receiver-port", "0",
                             "--rate", "50", "--duration", "1s", "--drain", "1s", "--json"});
  EXPECT_EQ(status, 1) << output;
  const auto s = summaryOf(output);
  ASSERT_FALSE(s.empty());
  EXPECT_GT(number(s, "published"), 0);
  EXPECT_EQ(number(s, "received"), 0);
  EXPECT_FALSE(s.at("complete").as_bool());
}

}  // namespace
}  // namespace hookpipe::testing
