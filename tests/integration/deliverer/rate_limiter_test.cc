// deliverer/rate_limiter.h against the real Redis: two limiters (as two deliverer
// processes would) share one budget through the Lua token buckets; an unreachable Redis
// falls back to per-process buckets without failing.
#include "deliverer/rate_limiter.h"

#include <gtest/gtest.h>

#include <chrono>
#include <random>
#include <thread>

#include "support/harness.h"

namespace hookpipe::deliverer {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

std::pair<std::string, int> redisAddress() { return testing::testRedisHostPort(); }
std::string uniquePrefix() { return testing::uniqueRedisPrefix("rltest"); }

// The metrics of one limiter, as of one deliverer process.
struct Counted {
  metrics::Registry registry;
  DelivererMetrics metrics{registry};
  double value(std::string_view name) const {
    return registry.value(name, {{"use", "rate_limit"}}).value_or(-1);
  }
  double errors() const { return value("hookpipe_deliverer_redis_errors_total"); }
  double roundTrips() const { return value("hookpipe_deliverer_redis_round_trips_total"); }
};

TEST(RateLimiterRedis, TwoLimitersShareOneBudget) {
  auto [host, port] = redisAddress();
  redis::Client a_conn(host, port), b_conn(host, port);
  const std::string prefix = uniquePrefix();
  Counted a_counted, b_counted;
  RateLimiter a(a_conn, prefix, a_counted.metrics), b(b_conn, prefix, b_counted.metrics);
  const RateLimit limit{.per_second = 100};
  int64_t granted = 0;
  const auto start = Clock::now();
  int asks = 0;
  while (Clock::now() - start < 2s) {
    RateLimiter& l = (asks++ % 2 == 0) ? a : b;
    auto g = l.acquire({{"sub_shared", limit, 7}}, 0);
    ASSERT_EQ(g.size(), 1u);
    EXPECT_LE(g[0].granted, 7);
    if (g[0].granted < 7) {
      EXPECT_GT(g[0].wait_ms, 0);
    }
    granted += g[0].granted;
    std::this_thread::sleep_for(5ms);
  }
  const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  // One bucket of 100/s holding 100: at most 100 + 100·t in all, and nearly that much.
  EXPECT_LE(granted, static_cast<int64_t>(100 + 100 * elapsed + 2));
  EXPECT_GE(granted, static_cast<int64_t>(100 + 100 * elapsed * 0.9));
  EXPECT_EQ(a_counted.errors() + b_counted.errors(), 0);
  // One round trip per acquire call, however many subscriptions it asks for.
  const double before = a_counted.roundTrips();
  auto g = a.acquire({{"sub_x", limit, 1}, {"sub_y", limit, 1}, {"sub_z", limit, 1}}, 0);
  EXPECT_EQ(a_counted.roundTrips(), before + 1);
  for (const auto& x : g) EXPECT_EQ(x.granted, 1);
}

TEST(RateLimiterRedis, TheTightestWindowWinsInRedisToo) {
  auto [host, port] = redisAddress();
  redis::Client conn(host, port);
  Counted counted;
  RateLimiter l(conn, uniquePrefix(), counted.metrics);
  const RateLimit limit{.per_second = 1000, .per_minute = 120};  // 2/s, bucket of 2
  auto g = l.acquire({{"sub_m", limit, 50}}, 0);
  EXPECT_EQ(g[0].granted, 2);
  g = l.acquire({{"sub_m", limit, 50}}, 0);
  EXPECT_EQ(g[0].granted, 0);
  EXPECT_GT(g[0].wait_ms, 0);
  EXPECT_LE(g[0].wait_ms, 500);
}

TEST(RateLimiterRedis, UnreachableRedisLimitsInThisProcess) {
  redis::Client conn("127.0.0.1", testing::freePort(), 200ms);
  Counted counted;
  RateLimiter l(conn, uniquePrefix(), counted.metrics);
  const RateLimit limit{.per_second = 10};
  auto g = l.acquire({{"sub_local", limit, 25}}, 1'000);
  EXPECT_EQ(g[0].granted, 10);
  g = l.acquire({{"sub_local", limit, 25}}, 1'500);
  EXPECT_EQ(g[0].granted, 5);
  EXPECT_GE(counted.errors(), 2);
}

}  // namespace
}  // namespace hookpipe::deliverer
