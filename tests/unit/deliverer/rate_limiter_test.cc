// Unit tests for deliverer/rate_limiter.h: bucket sizes per window and the token-bucket
// arithmetic (the same as the Redis script's, which the integration tests exercise).
#include "deliverer/rate_limiter.h"

#include <gtest/gtest.h>

namespace hookpipe::deliverer {
namespace {

TEST(RateLimitBuckets, OneSecondOfTokensAtLeastOne) {
  auto specs = bucketsFor({.per_second = 100, .per_minute = 600, .per_hour = 60});
  ASSERT_EQ(specs.size(), 3u);
  EXPECT_EQ(specs[0].window, 's');
  EXPECT_DOUBLE_EQ(specs[0].capacity, 100);
  EXPECT_DOUBLE_EQ(specs[0].per_ms, 0.1);
  EXPECT_EQ(specs[1].window, 'm');
  EXPECT_DOUBLE_EQ(specs[1].capacity, 10);
  EXPECT_EQ(specs[2].window, 'h');
  EXPECT_DOUBLE_EQ(specs[2].capacity, 1);
  EXPECT_TRUE(bucketsFor({}).empty());
}

Subscription subscription(const std::string& fields) {
  auto s = parseSubscription(R"({"id":"sub_1","url":"https://hooks.example.com/x","events":["*"])" +
                             fields + "}");
  EXPECT_TRUE(s.has_value()) << s.error().message;
  return s ? *s : Subscription{};
}

// What Admission applies: a chat platform's preset, lowered (never raised) by the
// subscription's own rate_limit; other formats exactly their own.
TEST(EffectiveLimit, ChatFormatsGetTheirPlatformsPresetUnlessTheyAskForLess) {
  const auto slack = effectiveLimit(subscription(R"(,"format":"slack")"));
  EXPECT_EQ(slack.per_second, 1);
  const auto slack_buckets = bucketsFor(slack);
  ASSERT_EQ(slack_buckets.size(), 1u);
  EXPECT_EQ(slack_buckets[0].window, 's');
  EXPECT_DOUBLE_EQ(slack_buckets[0].capacity, 1);  // no burst beyond one message
  EXPECT_EQ(effectiveLimit(subscription(R"(,"format":"slack","rate_limit":{"per_second":10})"))
                .per_second,
            1);
  const auto discord =
      effectiveLimit(subscription(R"(,"format":"discord","rate_limit":{"per_minute":12})"));
  EXPECT_EQ(discord.per_minute, 12);
  EXPECT_EQ(discord.per_second, 0);
  EXPECT_EQ(effectiveLimit(subscription(R"(,"format":"discord")")).per_minute, 30);
  const auto telegram =
      effectiveLimit(subscription(R"(,"format":"telegram","format_options":{"chat_id":-100},)"
                                  R"("rate_limit":{"per_hour":100})"));
  EXPECT_EQ(telegram.per_second, 1);
  EXPECT_EQ(telegram.per_hour, 100);
  EXPECT_FALSE(effectiveLimit(subscription(R"(,"format":"teams")")).any());
  EXPECT_FALSE(effectiveLimit(subscription("")).any());  // json
  EXPECT_EQ(effectiveLimit(subscription(R"(,"rate_limit":{"per_second":500})")).per_second, 500);
}

Grant take(std::vector<BucketSpec> specs, std::vector<BucketState>& st, int64_t demand,
           int64_t now) {
  std::vector<BucketState*> ptrs;
  for (auto& s : st) ptrs.push_back(&s);
  return takeTokens(specs, ptrs, demand, now);
}

TEST(TokenBucket, StartsFullThenRefillsAtTheRate) {
  const auto specs = bucketsFor({.per_second = 10});
  std::vector<BucketState> st(1);
  EXPECT_EQ(take(specs, st, 25, 0).granted, 10);  // a full second's worth
  Grant g = take(specs, st, 5, 0);
  EXPECT_EQ(g.granted, 0);
  EXPECT_EQ(g.wait_ms, 100);  // one token every 100 ms
  EXPECT_EQ(take(specs, st, 5, 250).granted, 2);
  EXPECT_EQ(take(specs, st, 100, 10'000).granted, 10);  // capped at capacity, not 97
}

TEST(TokenBucket, NeverMoreThanTheRateOverAMinuteWhateverTheAskingPattern) {
  const auto specs = bucketsFor({.per_second = 50});
  std::vector<BucketState> st(1);
  int64_t granted = 0;
  for (int64_t t = 0; t < 60'000; t += 7) granted += take(specs, st, 3, t).granted;
  // 60 s × 50/s plus the initial full bucket (50), give or take the last partial token.
  EXPECT_GE(granted, 3000);
  EXPECT_LE(granted, 3050);
}

TEST(TokenBucket, TheTightestWindowWins) {
  const auto specs = bucketsFor({.per_second = 100, .per_minute = 60});
  std::vector<BucketState> st(2);
  EXPECT_EQ(take(specs, st, 50, 0).granted, 1);  // minute bucket holds one token
  Grant g = take(specs, st, 50, 10);
  EXPECT_EQ(g.granted, 0);
  EXPECT_EQ(g.wait_ms, 990);  // the minute bucket refills one token a second
  int64_t granted = 0;
  for (int64_t t = 1000; t <= 60'000; t += 100) granted += take(specs, st, 50, t).granted;
  EXPECT_EQ(granted, 60);  // one a second, even when asked exactly at the boundaries
}

TEST(TokenBucket, ZeroDemandTakesNothing) {
  const auto specs = bucketsFor({.per_second = 5});
  std::vector<BucketState> st(1);
  EXPECT_EQ(take(specs, st, 0, 0).granted, 0);
  EXPECT_EQ(take(specs, st, 5, 0).granted, 5);
}

}  // namespace
}  // namespace hookpipe::deliverer
