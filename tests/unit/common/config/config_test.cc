// Unit tests for common/config/config.h: durations, topic names and validation.
#include "common/config/config.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <string>
#include <vector>

namespace hookpipe {
namespace {

using std::chrono::hours;
using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::seconds;

bool contains(const std::vector<std::string>& problems, const std::string& part) {
  return std::any_of(problems.begin(), problems.end(),
                     [&](const std::string& p) { return p.find(part) != std::string::npos; });
}

std::string joined(const std::vector<std::string>& problems) {
  std::string out;
  for (const auto& p : problems) out += p + "\n";
  return out;
}

TEST(ParseDuration, AcceptsEachUnit) {
  struct Case {
    std::string text;
    milliseconds expected;
  };
  const std::vector<Case> cases = {
      {"5s", seconds(5)},      {"1m", minutes(1)},
      {"10m", minutes(10)},    {"1h", hours(1)},
      {"6h", hours(6)},        {"250ms", milliseconds(250)},
      {"0s", milliseconds(0)}, {"90s", seconds(90)},
      {"007s", seconds(7)},    {"1500ms", milliseconds(1500)},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.text);
    milliseconds out{-1};
    ASSERT_TRUE(parseDuration(c.text, out));
    EXPECT_EQ(out.count(), c.expected.count());
  }
}

TEST(ParseDuration, RejectsBadInput) {
  for (const std::string text : {"", "s", "ms", "5", "5x", "5S", "5 s", " 5s", "5s ", "-5s", "+5s",
                                 "1.5s", "5sec", "5mss", "5m5s", "1d", "99999999999999999999s"}) {
    SCOPED_TRACE(text);
    milliseconds out{0};
    EXPECT_FALSE(parseDuration(text, out));
  }
}

TEST(ParseDuration, RefusesCountsWhoseMillisecondsWouldOverflow) {
  std::chrono::milliseconds out{};
  ASSERT_TRUE(parseDuration("2000000000000h", out));  // 2e12 h still fits
  EXPECT_EQ(out, std::chrono::hours(2'000'000'000'000LL));
  for (const char* text : {"2000000000001h", "9999999999999h", "99999999999999999999ms"}) {
    SCOPED_TRACE(text);
    EXPECT_FALSE(parseDuration(text, out));
  }
}

TEST(FormatDuration, UsesTheLargestWholeUnit) {
  struct Case {
    milliseconds d;
    std::string expected;
  };
  const std::vector<Case> cases = {
      {seconds(5), "5s"},   {minutes(1), "1m"},   {minutes(10), "10m"},
      {hours(1), "1h"},     {hours(6), "6h"},     {milliseconds(250), "250ms"},
      {seconds(90), "90s"}, {minutes(90), "90m"}, {milliseconds(1500), "1500ms"},
      {hours(48), "48h"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.expected);
    EXPECT_EQ(formatDuration(c.d), c.expected);
  }
}

TEST(FormatDuration, RoundTripsThroughParseDuration) {
  for (milliseconds d :
       {milliseconds(1), milliseconds(250), milliseconds(5000), milliseconds(61'000),
        milliseconds(60'000), milliseconds(600'000), milliseconds(3'600'000),
        milliseconds(21'600'000), milliseconds(5'400'000)}) {
    SCOPED_TRACE(d.count());
    milliseconds out{-1};
    ASSERT_TRUE(parseDuration(formatDuration(d), out));
    EXPECT_EQ(out, d);
  }
}

TEST(Topics, RetryTierNamesCarryTheDelay) {
  const Topics topics;
  const Config config;
  std::vector<std::string> names;
  for (auto tier : config.retry_tiers) names.push_back(topics.retryTier(tier));
  EXPECT_EQ(names, (std::vector<std::string>{"hookpipe.retry.5s", "hookpipe.retry.1m",
                                             "hookpipe.retry.10m", "hookpipe.retry.1h",
                                             "hookpipe.retry.6h"}));
  EXPECT_EQ(topics.retryTier(milliseconds(250)), "hookpipe.retry.250ms");
}

TEST(Topics, EveryNameFollowsThePrefix) {
  Topics topics;
  topics.prefix = "t42.";
  EXPECT_EQ(topics.events(), "t42.events");
  EXPECT_EQ(topics.invalid(), "t42.events.invalid");
  EXPECT_EQ(topics.subscriptions(), "t42.subscriptions");
  EXPECT_EQ(topics.deliveries(), "t42.deliveries");
  EXPECT_EQ(topics.dlq(), "t42.dlq");
  EXPECT_EQ(topics.retryTier(seconds(5)), "t42.retry.5s");
}

TEST(ConfigValidate, DefaultsAreValid) {
  const Config config;
  EXPECT_TRUE(config.validate().empty()) << joined(config.validate());
}

TEST(ConfigValidate, ReportsEveryProblemAtOnce) {
  Config config;
  config.brokers = "";
  config.retry_tiers = {minutes(1), seconds(5), minutes(10)};
  config.http_port = 70000;
  const auto problems = config.validate();
  EXPECT_EQ(problems.size(), 3u) << joined(problems);
  EXPECT_TRUE(contains(problems, "HOOKPIPE_BROKERS is empty")) << joined(problems);
  EXPECT_TRUE(contains(problems, "HOOKPIPE_RETRY_TIERS must be ascending")) << joined(problems);
  EXPECT_TRUE(contains(problems, "HOOKPIPE_HTTP_PORT out of range")) << joined(problems);
}

TEST(ConfigValidate, EachProblemOnItsOwn) {
  struct Case {
    const char* what;
    void (*breakIt)(Config&);
    std::string problem;
  };
  const std::vector<Case> cases = {
      {"brokers", [](Config& c) { c.brokers = ""; }, "HOOKPIPE_BROKERS is empty"},
      {"prefix", [](Config& c) { c.topics.prefix = ""; }, "HOOKPIPE_TOPIC_PREFIX is empty"},
      {"events partitions", [](Config& c) { c.events_partitions = 0; }, "partition counts"},
      {"deliveries partitions", [](Config& c) { c.deliveries_partitions = -1; },
       "partition counts"},
      {"retry partitions", [](Config& c) { c.retry_partitions = 0; }, "partition counts"},
      {"negative port", [](Config& c) { c.http_port = -1; }, "HOOKPIPE_HTTP_PORT out of range"},
      {"breaker window", [](Config& c) { c.breaker_window = std::chrono::milliseconds(0); },
       "HOOKPIPE_BREAKER_WINDOW must be at least 100ms"},
      {"breaker rate", [](Config& c) { c.breaker_failure_rate_pct = 101; },
       "HOOKPIPE_BREAKER_FAILURE_RATE must be a percentage"},
      {"breaker failures", [](Config& c) { c.breaker_failures = 0; },
       "HOOKPIPE_BREAKER_FAILURES must be at least 1"},
      {"port too large", [](Config& c) { c.http_port = 65536; }, "HOOKPIPE_HTTP_PORT out of range"},
      {"threads", [](Config& c) { c.http_threads = 0; }, "HOOKPIPE_HTTP_THREADS"},
      {"in flight", [](Config& c) { c.max_in_flight = 0; }, "HOOKPIPE_MAX_IN_FLIGHT"},
      {"no tiers", [](Config& c) { c.retry_tiers.clear(); }, "at least one tier"},
      {"equal tiers",
       [](Config& c) {
         c.retry_tiers = {seconds(5), seconds(5)};
       },
       "must be ascending"},
      {"connect timeout", [](Config& c) { c.connect_timeout = milliseconds(0); },
       "timeouts must be positive"},
      {"request timeout", [](Config& c) { c.request_timeout = milliseconds(-1); },
       "timeouts must be positive"},
      {"router linger", [](Config& c) { c.router_linger_ms = -1; }, "HOOKPIPE_ROUTER_LINGER_MS"},
      {"attempt log linger", [](Config& c) { c.attempt_log_linger_ms = 1001; },
       "HOOKPIPE_ATTEMPT_LOG_LINGER_MS must be 0..1000"},
      {"hot fetch wait", [](Config& c) { c.hot_fetch_wait_ms = 101; },
       "HOOKPIPE_HOT_FETCH_WAIT_MS must be 0..100"},
      {"CA file", [](Config& c) { c.ca_file = "/nonexistent/ca.pem"; },
       "HOOKPIPE_CA_FILE: cannot read '/nonexistent/ca.pem'"},
      {"allowed targets", [](Config& c) { c.allowed_targets = "10.0.0.0/8,intranet"; },
       "HOOKPIPE_ALLOWED_TARGETS: 'intranet' is not an IPv4 or IPv6 address"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.what);
    Config config;
    c.breakIt(config);
    const auto problems = config.validate();
    EXPECT_EQ(problems.size(), 1u) << joined(problems);
    EXPECT_TRUE(contains(problems, c.problem)) << joined(problems);
  }
}

TEST(ConfigValidate, PortZeroAndOneTierAreFine) {
  Config config;
  config.http_port = 0;  // an ephemeral port, as tests use
  config.retry_tiers = {seconds(5)};
  EXPECT_TRUE(config.validate().empty()) << joined(config.validate());
}

TEST(ConfigGroupId, DefaultsToTheTopicPrefix) {
  Config config;
  EXPECT_EQ(config.groupId("router"), "hookpipe.router");
  config.group_prefix = "g-";
  EXPECT_EQ(config.groupId("router"), "g-router");
}

// An integer setting read from `name` into `field`: `fallback` when unset, `good` when set
// to it, and a problem naming `problem` for `bad`.
void expectIntSetting(const char* name, int Config::*field, int fallback, int good, const char* bad,
                      const std::string& problem) {
  SCOPED_TRACE(name);
  unsetenv(name);
  EXPECT_EQ(Config::fromEnv().*field, fallback);
  setenv(name, std::to_string(good).c_str(), 1);
  EXPECT_EQ(Config::fromEnv().*field, good);
  setenv(name, bad, 1);
  const auto problems = Config::fromEnv().validate();
  EXPECT_TRUE(contains(problems, problem)) << joined(problems);
  unsetenv(name);
  Config::fromEnv();  // forgets the problems remembered for validate()
}

TEST(ConfigFromEnv, TheAttemptLogLingers20MsUnlessToldOtherwise) {
  expectIntSetting("HOOKPIPE_ATTEMPT_LOG_LINGER_MS", &Config::attempt_log_linger_ms, 20, 100,
                   "soon", "HOOKPIPE_ATTEMPT_LOG_LINGER_MS");
}

TEST(ConfigFromEnv, ExactlyOnceRoutingIsOffByDefaultAndReadFromTheEnvironment) {
  unsetenv("HOOKPIPE_EXACTLY_ONCE_ROUTING");
  unsetenv("HOOKPIPE_EXACTLY_ONCE_COMMIT_MS");
  Config defaults = Config::fromEnv();
  EXPECT_FALSE(defaults.exactly_once_routing);
  EXPECT_EQ(defaults.exactly_once_commit_interval, milliseconds(100));
  EXPECT_TRUE(defaults.validate().empty()) << joined(defaults.validate());

  setenv("HOOKPIPE_EXACTLY_ONCE_ROUTING", "true", 1);
  setenv("HOOKPIPE_EXACTLY_ONCE_COMMIT_MS", "250", 1);
  Config on = Config::fromEnv();
  EXPECT_TRUE(on.exactly_once_routing);
  EXPECT_EQ(on.exactly_once_commit_interval, milliseconds(250));
  EXPECT_TRUE(on.validate().empty()) << joined(on.validate());

  setenv("HOOKPIPE_EXACTLY_ONCE_ROUTING", "yes", 1);
  setenv("HOOKPIPE_EXACTLY_ONCE_COMMIT_MS", "0", 1);
  const auto problems = Config::fromEnv().validate();
  EXPECT_TRUE(contains(problems, "HOOKPIPE_EXACTLY_ONCE_ROUTING must be true or false"))
      << joined(problems);
  EXPECT_TRUE(contains(problems, "HOOKPIPE_EXACTLY_ONCE_COMMIT_MS must be 1..10000"))
      << joined(problems);

  unsetenv("HOOKPIPE_EXACTLY_ONCE_ROUTING");
  unsetenv("HOOKPIPE_EXACTLY_ONCE_COMMIT_MS");
  Config::fromEnv();  // forgets the problems remembered for validate()
}

TEST(ConfigFromEnv, OperationalEventsAreOnByDefaultWithAOneMinuteWindow) {
  unsetenv("HOOKPIPE_OPERATIONAL_EVENTS");
  unsetenv("HOOKPIPE_OPERATIONAL_EVENTS_WINDOW");
  Config defaults = Config::fromEnv();
  EXPECT_TRUE(defaults.operational_events);
  EXPECT_EQ(defaults.operational_events_window, milliseconds(60'000));
  EXPECT_TRUE(defaults.validate().empty()) << joined(defaults.validate());

  setenv("HOOKPIPE_OPERATIONAL_EVENTS", "false", 1);
  setenv("HOOKPIPE_OPERATIONAL_EVENTS_WINDOW", "3s", 1);
  Config off = Config::fromEnv();
  EXPECT_FALSE(off.operational_events);
  EXPECT_EQ(off.operational_events_window, milliseconds(3000));
  EXPECT_TRUE(off.validate().empty()) << joined(off.validate());

  setenv("HOOKPIPE_OPERATIONAL_EVENTS", "off", 1);
  setenv("HOOKPIPE_OPERATIONAL_EVENTS_WINDOW", "soon", 1);
  auto problems = Config::fromEnv().validate();
  EXPECT_TRUE(contains(problems, "HOOKPIPE_OPERATIONAL_EVENTS must be true or false"))
      << joined(problems);
  EXPECT_TRUE(contains(problems, "HOOKPIPE_OPERATIONAL_EVENTS_WINDOW: bad duration 'soon'"))
      << joined(problems);
  setenv("HOOKPIPE_OPERATIONAL_EVENTS", "true", 1);
  setenv("HOOKPIPE_OPERATIONAL_EVENTS_WINDOW", "50ms", 1);
  problems = Config::fromEnv().validate();
  EXPECT_TRUE(contains(problems, "HOOKPIPE_OPERATIONAL_EVENTS_WINDOW must be at least 100ms"))
      << joined(problems);

  unsetenv("HOOKPIPE_OPERATIONAL_EVENTS");
  unsetenv("HOOKPIPE_OPERATIONAL_EVENTS_WINDOW");
  Config::fromEnv();  // forgets the problems remembered for validate()
}

TEST(ConfigFromEnv, HotFetchesByTimeAreOffUnlessToldOtherwise) {
  expectIntSetting("HOOKPIPE_HOT_FETCH_WAIT_MS", &Config::hot_fetch_wait_ms, 0, 5, "-1",
                   "HOOKPIPE_HOT_FETCH_WAIT_MS must be 0..100");
  expectIntSetting("HOOKPIPE_HOT_FETCH_WAIT_MS", &Config::hot_fetch_wait_ms, 0, 100, "soon",
                   "HOOKPIPE_HOT_FETCH_WAIT_MS");
}

}  // namespace
}  // namespace hookpipe
