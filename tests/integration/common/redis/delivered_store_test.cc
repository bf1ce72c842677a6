// common/redis DeliveredStore against the real Redis: delivered ids are found for at least
// the TTL (through the time buckets), unknown ids are not, the bucket keys carry an expiry,
// and an unreachable Redis is an error, not a crash.
#include <gtest/gtest.h>

#include <random>

#include "common/redis/redis.h"
#include "support/harness.h"

namespace hookpipe::redis {
namespace {

using namespace std::chrono_literals;

std::pair<std::string, int> redisAddress() { return testing::testRedisHostPort(); }
std::string uniquePrefix() { return testing::uniqueRedisPrefix("dstest"); }

TEST(DeliveredStoreRedis, MarkedIdsAreFoundForTheTtlAndUnknownOnesAreNot) {
  auto [host, port] = redisAddress();
  Client client(host, port);
  const auto ttl = std::chrono::hours(24 * 7);
  DeliveredStore store(client, uniquePrefix(), ttl);
  const int64_t t0 = 1'800'000'000'000;  // any wall-clock time: buckets follow now_ms
  const std::vector<std::string> marked = {"msg_a", "msg_b"};
  ASSERT_TRUE(store.markDelivered(marked, t0).has_value());
  const std::vector<std::string> asked = {"msg_a", "msg_x", "msg_b"};
  const int64_t ttl_ms = std::chrono::duration_cast<std::chrono::milliseconds>(ttl).count();
  for (int64_t at : {t0, t0 + 1, t0 + ttl_ms / 2, t0 + ttl_ms - 1}) {
    auto found = store.wereDelivered(asked, at);
    ASSERT_TRUE(found.has_value()) << found.error().message;
    EXPECT_EQ(*found, (std::vector<bool>{true, false, true})) << "at +" << at - t0 << " ms";
  }
  // Long after the TTL (and the bucket margin) the old bucket is no longer asked.
  const int64_t width_ms = store.bucketWidth().count() * 1000;
  auto later = store.wereDelivered(asked, t0 + ttl_ms + 3 * width_ms);
  ASSERT_TRUE(later.has_value());
  EXPECT_EQ(*later, (std::vector<bool>{false, false, false}));
  // Another deliverer whose clock runs a little behind still finds them.
  auto behind = store.wereDelivered(asked, t0 - width_ms / 2);
  ASSERT_TRUE(behind.has_value());
  EXPECT_TRUE((*behind)[0]);
}

TEST(DeliveredStoreRedis, ManyIdsAcrossBucketsComeBackInOrder) {
  // One check of 2500 ids: ids marked in two different buckets, first, last and in the
  // middle, are flagged at their own positions and no other.
  auto [host, port] = redisAddress();
  Client client(host, port);
  DeliveredStore store(client, uniquePrefix(), std::chrono::hours(1));
  const int64_t t0 = 1'800'000'000'000;
  const int64_t width_ms = store.bucketWidth().count() * 1000;
  std::vector<std::string> asked;
  for (int i = 0; i < 2500; ++i) asked.push_back("msg_" + std::to_string(i));
  const std::vector<std::size_t> early = {0, 999, 1000}, late = {1999, 2000, 2499};
  std::vector<std::string> marks;
  for (auto i : early) marks.push_back(asked[i]);
  ASSERT_TRUE(store.markDelivered(marks, t0).has_value());
  marks.clear();
  for (auto i : late) marks.push_back(asked[i]);
  ASSERT_TRUE(store.markDelivered(marks, t0 + 2 * width_ms).has_value());
  auto found = store.wereDelivered(asked, t0 + 3 * width_ms);
  ASSERT_TRUE(found.has_value()) << found.error().message;
  ASSERT_EQ(found->size(), asked.size());
  std::vector<bool> expected(asked.size(), false);
  for (auto i : early) expected[i] = true;
  for (auto i : late) expected[i] = true;
  EXPECT_EQ(*found, expected);
}

TEST(DeliveredStoreRedis, BucketKeysExpireAfterTheTtl) {
  auto [host, port] = redisAddress();
  Client client(host, port);
  const std::string prefix = uniquePrefix();
  DeliveredStore store(client, prefix, std::chrono::hours(1));
  const int64_t now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                             std::chrono::system_clock::now().time_since_epoch())
                             .count();
  ASSERT_TRUE(store.markDelivered(std::vector<std::string>{"msg_t"}, now_ms).has_value());
  const int64_t bucket = now_ms / (store.bucketWidth().count() * 1000);
  auto ttl = client.pipeline({{"TTL", prefix + "delivered-ids:" + std::to_string(bucket)}});
  ASSERT_TRUE(ttl.has_value());
  ASSERT_EQ((*ttl)[0]->type, REDIS_REPLY_INTEGER);
  // At least the TTL, at most the TTL plus two buckets.
  EXPECT_GE((*ttl)[0]->integer, 3600 - 1);
  EXPECT_LE((*ttl)[0]->integer, 3600 + 2 * store.bucketWidth().count());
}

TEST(DeliveredStoreRedis, UnreachableRedisIsAnErrorNotACrash) {
  Client client("127.0.0.1", 1);  // nothing listens there
  DeliveredStore store(client, "x.", std::chrono::hours(1));
  EXPECT_FALSE(store.markDelivered(std::vector<std::string>{"msg_1"}, 1000).has_value());
  EXPECT_FALSE(store.wereDelivered(std::vector<std::string>{"msg_1"}, 1000).has_value());
}

}  // namespace
}  // namespace hookpipe::redis
