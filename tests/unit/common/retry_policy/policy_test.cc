// Unit tests for common/retry_policy/policy.h: retry delays and retry tier choice.
#include "common/retry_policy/policy.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <optional>
#include <random>
#include <vector>

namespace hookpipe::retry_policy {
namespace {

using std::chrono::hours;
using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::seconds;
using Strategy = RetryConfig::Strategy;

const std::vector<milliseconds> kDefaultSchedule = {
    milliseconds(0), seconds(5), minutes(5), minutes(30), hours(2), hours(5), hours(10), hours(10)};

// Delays after failed attempts 1, 2, ... until the policy is spent (at most `limit`).
std::vector<milliseconds> delaysUntilSpent(const RetryConfig& config, int limit = 200) {
  std::mt19937_64 rng(7);
  std::vector<milliseconds> out;
  for (int attempt = 1; attempt <= limit; ++attempt) {
    auto d = retryDelay(config, attempt, rng);
    if (!d) break;
    out.push_back(*d);
  }
  return out;
}

TEST(RetryDelay, DefaultScheduleWithoutJitterIsExactThenSpentAfterEight) {
  RetryConfig config;
  config.jitter = false;
  EXPECT_EQ(delaysUntilSpent(config), kDefaultSchedule);
  EXPECT_EQ(defaultSchedule(), kDefaultSchedule);
}

TEST(RetryDelay, DefaultScheduleJitterStaysWithinTenPercent) {
  const RetryConfig config;  // jitter on by default
  std::mt19937_64 rng(42);
  for (int attempt = 1; attempt <= 8; ++attempt) {
    SCOPED_TRACE(attempt);
    const double nominal = static_cast<double>(kDefaultSchedule[attempt - 1].count());
    const double low = nominal * 0.9;
    const double high = std::min(nominal * 1.1, static_cast<double>(config.max_delay_ms));
    milliseconds smallest = milliseconds::max(), largest = milliseconds::min();
    for (int i = 0; i < 200; ++i) {
      auto d = retryDelay(config, attempt, rng);
      ASSERT_TRUE(d.has_value());
      EXPECT_GE(static_cast<double>(d->count()), std::floor(low));
      EXPECT_LE(static_cast<double>(d->count()), high);
      smallest = std::min(smallest, *d);
      largest = std::max(largest, *d);
    }
    if (nominal == 0) {
      EXPECT_EQ(largest, milliseconds(0));  // no jitter on an immediate retry
    } else {
      EXPECT_LT(smallest, largest);  // the jitter does spread
    }
  }
  EXPECT_FALSE(retryDelay(config, 9, rng).has_value());
}

TEST(RetryDelay, SameSeedGivesSameDelays) {
  const RetryConfig config;
  std::mt19937_64 a(1234), b(1234);
  for (int attempt = 1; attempt <= 8; ++attempt)
    EXPECT_EQ(retryDelay(config, attempt, a), retryDelay(config, attempt, b));
}

TEST(RetryDelay, ConfiguredStrategiesWithoutJitter) {
  struct Case {
    const char* what;
    RetryConfig config;
    std::vector<milliseconds> expected;
  };
  auto make = [](Strategy s, int max_retries, int64_t delay_ms, double multiplier,
                 int64_t max_delay_ms) {
    RetryConfig c;
    c.strategy = s;
    c.max_retries = max_retries;
    c.retry_delay_ms = delay_ms;
    c.backoff_multiplier = multiplier;
    c.max_delay_ms = max_delay_ms;
    c.jitter = false;
    return c;
  };
  const int64_t ten_hours = 10LL * 3600 * 1000;
  const std::vector<Case> cases = {
      {"fixed",
       make(Strategy::kFixed, 3, 2000, 2.0, ten_hours),
       {milliseconds(2000), milliseconds(2000), milliseconds(2000)}},
      {"linear",
       make(Strategy::kLinear, 4, 1000, 2.0, ten_hours),
       {milliseconds(1000), milliseconds(2000), milliseconds(3000), milliseconds(4000)}},
      {"exponential x2",
       make(Strategy::kExponential, 5, 1000, 2.0, ten_hours),
       {milliseconds(1000), milliseconds(2000), milliseconds(4000), milliseconds(8000),
        milliseconds(16000)}},
      {"exponential x3",
       make(Strategy::kExponential, 4, 500, 3.0, ten_hours),
       {milliseconds(500), milliseconds(1500), milliseconds(4500), milliseconds(13500)}},
      {"exponential x1.5",
       make(Strategy::kExponential, 3, 1000, 1.5, ten_hours),
       {milliseconds(1000), milliseconds(1500), milliseconds(2250)}},
      {"exponential capped",
       make(Strategy::kExponential, 6, 1000, 2.0, 5000),
       {milliseconds(1000), milliseconds(2000), milliseconds(4000), milliseconds(5000),
        milliseconds(5000), milliseconds(5000)}},
      {"linear capped",
       make(Strategy::kLinear, 4, 1000, 2.0, 2500),
       {milliseconds(1000), milliseconds(2000), milliseconds(2500), milliseconds(2500)}},
      {"fixed zero delay",
       make(Strategy::kFixed, 2, 0, 2.0, ten_hours),
       {milliseconds(0), milliseconds(0)}},
      {"no retries", make(Strategy::kFixed, 0, 1000, 2.0, ten_hours), {}},
      {"exponential no retries", make(Strategy::kExponential, 0, -1, 2.0, ten_hours), {}},
      {"none", make(Strategy::kNone, 5, 1000, 2.0, ten_hours), {}},
      {"none with defaults", make(Strategy::kNone, -1, -1, 2.0, ten_hours), {}},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.what);
    EXPECT_EQ(delaysUntilSpent(c.config), c.expected);
  }
}

TEST(RetryDelay, DefaultScheduleHonoursAnExplicitMaxRetries) {
  RetryConfig config;
  config.jitter = false;
  config.max_retries = 3;
  EXPECT_EQ(delaysUntilSpent(config),
            (std::vector<milliseconds>{milliseconds(0), seconds(5), minutes(5)}));
}

TEST(RetryDelay, DefaultScheduleRepeatsItsLastStepPastEightRetries) {
  RetryConfig config;
  config.jitter = false;
  config.max_retries = 10;
  auto delays = delaysUntilSpent(config);
  ASSERT_EQ(delays.size(), 10u);
  EXPECT_EQ(delays[8], hours(10));
  EXPECT_EQ(delays[9], hours(10));
}

TEST(RetryDelay, UnsetMaxRetriesAllowsAsManyRetriesAsTheDefaultSchedule) {
  RetryConfig config;
  config.strategy = Strategy::kFixed;
  config.retry_delay_ms = 1000;
  config.jitter = false;
  EXPECT_EQ(delaysUntilSpent(config), std::vector<milliseconds>(8, milliseconds(1000)));
}

TEST(RetryDelay, JitterNeverExceedsMaxDelay) {
  RetryConfig config;
  config.strategy = Strategy::kFixed;
  config.retry_delay_ms = 10'000;
  config.max_delay_ms = 10'000;
  config.max_retries = 100;
  std::mt19937_64 rng(99);
  for (int attempt = 1; attempt <= 100; ++attempt) {
    auto d = retryDelay(config, attempt, rng);
    ASSERT_TRUE(d.has_value());
    EXPECT_GE(d->count(), 9'000);
    EXPECT_LE(d->count(), 10'000);
  }
}

TEST(RetryDelay, AttemptBelowOneIsSpent) {
  const RetryConfig config;
  std::mt19937_64 rng(1);
  EXPECT_FALSE(retryDelay(config, 0, rng).has_value());
  EXPECT_FALSE(retryDelay(config, -1, rng).has_value());
}

TEST(ChooseTier, PicksTheLongestTierNotLongerThanTheWait) {
  const std::vector<milliseconds> tiers = {seconds(5), minutes(1), minutes(10), hours(1), hours(6)};
  struct Case {
    milliseconds remaining;
    int expected;
  };
  const std::vector<Case> cases = {
      {milliseconds(-5000), -1},
      {milliseconds(0), -1},
      {milliseconds(1), 0},
      {seconds(2), 0},
      {seconds(5), 0},
      {seconds(59), 0},
      {minutes(1), 1},
      {minutes(9), 1},
      {minutes(10), 2},
      {minutes(59), 2},
      {hours(1), 3},
      {hours(3), 3},
      {hours(6), 4},
      {hours(48), 4},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.remaining.count());
    EXPECT_EQ(chooseTier(tiers, c.remaining), c.expected);
  }
}

TEST(Horizon, IsTheSumOfThePolicysDelaysAtTheirLongest) {
  RetryConfig fixed;
  fixed.strategy = Strategy::kFixed;
  fixed.retry_delay_ms = 1000;
  fixed.max_retries = 3;
  fixed.jitter = false;
  EXPECT_EQ(horizon(fixed), seconds(3));
  fixed.jitter = true;  // every delay at +10 %
  EXPECT_EQ(horizon(fixed), milliseconds(3300));
  RetryConfig none;
  none.strategy = Strategy::kNone;
  EXPECT_EQ(horizon(none), milliseconds(0));
  RetryConfig defaults;
  defaults.jitter = false;
  EXPECT_EQ(horizon(defaults), seconds(5) + minutes(35) + hours(27));
  // Capped delays are summed as capped, jitter included.
  RetryConfig capped;
  capped.strategy = Strategy::kExponential;
  capped.retry_delay_ms = 1000;
  capped.max_retries = 4;  // 1 + 2 + 4 + 8 s, capped at 3 s
  capped.max_delay_ms = 3000;
  EXPECT_EQ(horizon(capped), milliseconds(1100 + 2200 + 3000 + 3000));
}

TEST(ChooseTier, NoTiersMeansNoTier) { EXPECT_EQ(chooseTier({}, minutes(5)), -1); }

}  // namespace
}  // namespace hookpipe::retry_policy
