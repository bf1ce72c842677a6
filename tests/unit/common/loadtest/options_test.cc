#include "common/loadtest/options.h"

#include <gtest/gtest.h>

namespace hookpipe::loadtest {
namespace {

using namespace std::chrono_literals;

std::vector<std::string> problemsOf(const std::vector<std::string>& args) {
  auto r = parseOptions(args);
  return r ? std::vector<std::string>{} : r.error();
}

TEST(LoadtestOptions, DefaultsWithoutFlags) {
  auto o = parseOptions({});
  ASSERT_TRUE(o.has_value());
  EXPECT_EQ(o->api, "http://127.0.0.1:8080");
  EXPECT_EQ(o->duration, 30s);
  EXPECT_EQ(o->batch, 1);
  EXPECT_EQ(o->via, Via::kHttp);
  EXPECT_FALSE(o->receiver);
  EXPECT_FALSE(o->subscribe);
  EXPECT_EQ(o->drain, 30s);
  EXPECT_FALSE(o->json);
}

TEST(LoadtestOptions, ReadsEveryFlag) {
  auto o = parseOptions({"--api",
                         "http://h:9/",
                         "--token",
                         "t1",
                         "--rate",
                         "200/s",
                         "--duration",
                         "3s",
                         "--concurrency",
                         "16",
                         "--event-type",
                         "x.y",
                         "--payload-bytes",
                         "512",
                         "--batch",
                         "50",
                         "--receiver-port",
                         "9999",
                         "--receiver-host",
                         "127.0.0.2",
                         "--latency",
                         "5ms..50ms",
                         "--fail-rate",
                         "0.05",
                         "--status",
                         "500",
                         "--subscribe",
                         "--fan-out",
                         "3",
                         "--retry-delay",
                         "2s",
                         "--max-retries",
                         "4",
                         "--max-concurrency",
                         "200",
                         "--drain",
                         "10s",
                         "--seed",
                         "7",
                         "--json"},
                        "env-token");
  ASSERT_TRUE(o.has_value()) << o.error().front();
  EXPECT_EQ(o->api, "http://h:9");
  EXPECT_EQ(o->token, "t1");
  EXPECT_DOUBLE_EQ(o->rate_per_s, 200);
  EXPECT_EQ(o->duration, 3s);
  EXPECT_EQ(o->concurrency, 16);
  EXPECT_EQ(o->event_type, "x.y");
  EXPECT_EQ(o->payload_bytes, 512u);
  EXPECT_EQ(o->batch, 50);
  EXPECT_TRUE(o->receiver);
  EXPECT_EQ(o->receiver_port, 9999);
  EXPECT_EQ(o->receiver_host, "127.0.0.2");
  EXPECT_EQ(o->latency_min, 5ms);
  EXPECT_EQ(o->latency_max, 50ms);
  EXPECT_DOUBLE_EQ(o->fail_rate, 0.05);
  EXPECT_EQ(o->fail_status, 500);
  EXPECT_TRUE(o->subscribe);
  EXPECT_EQ(o->fan_out, 3);
  EXPECT_EQ(o->retry_delay, 2s);
  EXPECT_EQ(o->max_retries, 4);
  EXPECT_EQ(o->max_concurrency, 200);
  EXPECT_EQ(o->drain, 10s);
  EXPECT_EQ(o->seed, 7u);
  EXPECT_TRUE(o->json);
}

TEST(LoadtestOptions, TokenComesFromTheEnvironmentUnlessGiven) {
  EXPECT_EQ(parseOptions({}, "env-token")->token, "env-token");
  EXPECT_EQ(parseOptions({"--token", "flag"}, "env-token")->token, "flag");
}

TEST(LoadtestOptions, ReceiverPortZeroStartsAReceiverOnAnyPort) {
  auto o = parseOptions({"--receiver-port", "0"});
  ASSERT_TRUE(o.has_value());
  EXPECT_TRUE(o->receiver);
  EXPECT_EQ(o->receiver_port, 0);
}

TEST(LoadtestOptions, ViaKafka) {
  auto o = parseOptions({"--via", "kafka"});
  ASSERT_TRUE(o.has_value());
  EXPECT_EQ(o->via, Via::kKafka);
}

TEST(LoadtestOptions, BadValuesAreEachReportedWithTheirFlag) {
  const auto problems =
      problemsOf({"--rate", "fast", "--duration", "10", "--concurrency", "0", "--batch", "1001",
                  "--via", "carrier-pigeon", "--api", "localhost:8080", "--payload-bytes", "-1"});
  ASSERT_EQ(problems.size(), 7u);
  EXPECT_TRUE(problems[0].starts_with("--rate "));
  EXPECT_TRUE(problems[1].starts_with("--duration "));
  EXPECT_TRUE(problems[2].starts_with("--concurrency "));
  EXPECT_TRUE(problems[3].starts_with("--batch "));
  EXPECT_TRUE(problems[4].starts_with("--via "));
  EXPECT_TRUE(problems[5].starts_with("--api "));
  EXPECT_TRUE(problems[6].starts_with("--payload-bytes "));
}

TEST(LoadtestOptions, UnknownFlagsMissingValuesAndStrayArguments) {
  EXPECT_EQ(problemsOf({"--rat", "5"}),
            (std::vector<std::string>{"unknown flag --rat", "unexpected argument 5"}));
  EXPECT_EQ(problemsOf({"--rate"}), std::vector<std::string>{"--rate needs a value"});
  // An unknown flag does not swallow the next one.
  EXPECT_EQ(problemsOf({"--verbose", "--json"}),
            std::vector<std::string>{"unknown flag --verbose"});
  EXPECT_EQ(problemsOf({"--json", "--verbose"}),
            std::vector<std::string>{"unknown flag --verbose"});
}

TEST(LoadtestOptions, ReceiverFlagsNeedTheReceiver) {
  EXPECT_EQ(problemsOf({"--subscribe"}),
            std::vector<std::string>{"--subscribe needs --receiver-port"});
  EXPECT_EQ(problemsOf({"--fail-rate", "0.1"}).size(), 1u);
  EXPECT_EQ(problemsOf({"--latency", "5ms"}).size(), 1u);
  EXPECT_EQ(problemsOf({"--fan-out", "2"}),
            std::vector<std::string>{"--fan-out needs --receiver-port"});
  EXPECT_TRUE(problemsOf({"--receiver-port", "0", "--fan-out", "2"}).empty());
}

TEST(LoadtestOptions, FailRateAndStatusRanges) {
  EXPECT_EQ(problemsOf({"--receiver-port", "0", "--fail-rate", "1.5"}).size(), 1u);
  EXPECT_EQ(problemsOf({"--receiver-port", "0", "--fail-rate", "nan"}).size(), 1u);
  EXPECT_EQ(problemsOf({"--receiver-port", "0", "--status", "200"}),
            std::vector<std::string>{"--status must not be 2xx (it is the failing answer)"});
  EXPECT_EQ(problemsOf({"--receiver-port", "0", "--status", "99"}).size(), 1u);
  EXPECT_TRUE(problemsOf({"--receiver-port", "0", "--fail-rate", "1", "--status", "429"}).empty());
}

TEST(LoadtestOptions, BatchesAreHttpOnly) {
  EXPECT_EQ(problemsOf({"--via", "kafka", "--batch", "10"}),
            std::vector<std::string>{"--batch applies to --via http only"});
}

TEST(LoadtestRate, PerSecondOrPerMinute) {
  EXPECT_DOUBLE_EQ(*parseRate("200"), 200);
  EXPECT_DOUBLE_EQ(*parseRate("200/s"), 200);
  EXPECT_DOUBLE_EQ(*parseRate("0.5"), 0.5);
  EXPECT_DOUBLE_EQ(*parseRate("6000/m"), 100);
  for (const char* bad : {"", "0", "-5", "5/h", "abc", "/s", "1e9", "inf"})
    EXPECT_FALSE(parseRate(bad).has_value()) << bad;
}

TEST(LoadtestLatency, RangeFixedOrZero) {
  using std::chrono::microseconds;
  auto r = parseLatencyRange("5ms..50ms");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->first, 5ms);
  EXPECT_EQ(r->second, 50ms);
  EXPECT_EQ(parseLatencyRange("10ms")->first, 10ms);
  EXPECT_EQ(parseLatencyRange("10ms")->second, 10ms);
  EXPECT_EQ(parseLatencyRange("0")->second, microseconds(0));
  EXPECT_EQ(parseLatencyRange("250us..1s")->first, microseconds(250));
  EXPECT_EQ(parseLatencyRange("250us..1s")->second, 1s);
  for (const char* bad : {"", "5", "50ms..5ms", "5ms..", "..5ms", "5ms...6ms", "1h", "x..y"})
    EXPECT_FALSE(parseLatencyRange(bad).has_value()) << bad;
}

}  // namespace
}  // namespace hookpipe::loadtest
