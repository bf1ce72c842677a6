// recorder::Applier on the real Redis: the offset check (a fenced flush writes nothing), the
// event-type cap of a stats bucket, and the trim of a subscription's log to its cap.
#include "recorder/applier.h"

#include <gtest/gtest.h>

#include "recorder_support.h"

namespace hookpipe::testing {
namespace {

class ApplierTest : public ::testing::Test {
 protected:
  void TearDown() override {
    for (const auto& k : scanKeys(redis_, keys_.pattern())) (void)redis_.pipeline({{"UNLINK", k}});
  }
  std::string get(const std::string& key) {
    auto r = redis_.pipeline({{"GET", key}});
    return r && (*r)[0]->type == REDIS_REPLY_STRING ? (*r)[0]->str : "(nil)";
  }
  redis::Client redis_ = redisClient();
  attempts::Keys keys_{uniqueRedisPrefix("applier")};
  recorder::Applier applier_{redis_, keys_};
};

TEST_F(ApplierTest, AppliesOnlyWhenTheOffsetIsTheOneExpected) {
  const recorder::Ops ops = {"S",
                             keys_.stats("all", attempts::Granularity::kDay, 0),
                             "9999999999999",
                             "1",
                             "n",
                             "5",
                             "",
                             "",
                             "0"};
  auto first = applier_.apply(0, "", "10", ops);
  ASSERT_TRUE(first.has_value()) << first.error().message;
  EXPECT_TRUE(*first);
  EXPECT_EQ(get(keys_.offset(0)), "10");
  // Expecting absent again (a recorder that missed the move): refused, nothing written.
  auto second = applier_.apply(0, "", "20", ops);
  ASSERT_TRUE(second.has_value());
  EXPECT_FALSE(*second);
  EXPECT_EQ(get(keys_.offset(0)), "10");
  EXPECT_EQ(hgetall(redis_, std::string(ops[1])).at("n"), "5");
  auto third = applier_.apply(0, "10", "20", ops);
  ASSERT_TRUE(third.has_value());
  EXPECT_TRUE(*third);
  EXPECT_EQ(hgetall(redis_, std::string(ops[1])).at("n"), "10");
}

TEST_F(ApplierTest, CapsTheEventTypesOfABucketAndCountsTheRestAsOther) {
  const std::string key = keys_.stats("all", attempts::Granularity::kDay, 0);
  auto flush = [&](int from, int to, const std::string& expected, const std::string& next) {
    recorder::Ops ops = {"S", key, "9999999999999", "0", "", "", std::to_string(to - from)};
    for (int i = from; i < to; ++i) {
      ops.push_back("type." + std::to_string(i));
      ops.push_back("2");
      ops.push_back("1");
    }
    auto r = applier_.apply(0, expected, next, ops);
    ASSERT_TRUE(r.has_value() && *r);
  };
  flush(0, 150, "", "1");
  flush(100, 260, "1", "2");  // 100..149 known, 150..199 fit, 200..259 do not
  const Hash h = hgetall(redis_, key);
  EXPECT_EQ(h.at("tn"), std::to_string(attempts::kMaxEventTypesPerBucket));
  EXPECT_EQ(h.at("t:type.120"), "4");
  EXPECT_EQ(h.at("td:type.120"), "2");
  EXPECT_EQ(h.at("t:type.199"), "2");
  EXPECT_FALSE(h.contains("t:type.200"));
  EXPECT_EQ(h.at("t:(other)"), "120");
  EXPECT_EQ(h.at("td:(other)"), "60");
}

TEST_F(ApplierTest, TrimsASubscriptionLogToItsCapWithTheDeliveries) {
  recorder::Ops ops;
  for (int d = 0; d < 5; ++d) {
    for (const std::string& x :
         {std::string("D"), "d" + std::to_string(d), std::string("sub"), std::string("1"),
          std::string("a1"), std::string("{}"), std::string("9999999999999")})
      ops.push_back(x);
  }
  for (const std::string& x :
       {std::string("Z"), keys_.subscriptionLog("sub"), std::string("5"), std::string("1"),
        std::string("d0"), std::string("2"), std::string("d1"), std::string("3"), std::string("d2"),
        std::string("4"), std::string("d3"), std::string("5"), std::string("d4"), std::string("T"),
        keys_.subscriptionLog("sub"), std::string("2"), std::string("3"),
        std::string("9999999999999")})
    ops.push_back(x);
  auto r = applier_.apply(0, "", "5", ops);
  ASSERT_TRUE(r.has_value() && *r);
  auto z = redis_.pipeline({{"ZRANGE", keys_.subscriptionLog("sub"), "0", "-1"}});
  ASSERT_EQ((*z)[0]->elements, 3u);  // d2 d3 d4: d0 under the cutoff, d1 over the cap
  EXPECT_STREQ((*z)[0]->element[0]->str, "d2");
  auto e = redis_.pipeline({{"EXISTS", keys_.delivery("d0"), keys_.delivery("d1"),
                             keys_.delivery("d2"), keys_.delivery("d4")}});
  EXPECT_EQ((*e)[0]->integer, 3);  // d0 remains until it expires; d1 was deleted with the cap
}

// Redis restarted or its script cache flushed between two flushes: the applier's EVALSHA
// answers NOSCRIPT, and the flush is applied by EVAL (once: nothing counted twice).
TEST_F(ApplierTest, AFlushedScriptCacheIsCuredByEvalAndTheFlushAppliedOnce) {
  const std::string key = keys_.stats("all", attempts::Granularity::kMinute, 60);
  const recorder::Ops ops = {"S", key, "9999999999999", "1", "n", "1", "", "", "0"};
  auto first = applier_.apply(0, "", "1", ops);
  ASSERT_TRUE(first.has_value() && *first) << (first ? "" : first.error().message);
  auto flushed = redis_.pipeline({{"SCRIPT", "FLUSH"}});
  ASSERT_TRUE(flushed.has_value());
  auto second = applier_.apply(0, "1", "2", ops);
  ASSERT_TRUE(second.has_value()) << second.error().message;
  EXPECT_TRUE(*second);
  EXPECT_EQ(get(keys_.offset(0)), "2");
  EXPECT_EQ(hgetall(redis_, key).at("n"), "2");
  auto third = applier_.apply(0, "2", "3", ops);  // and by EVALSHA again after that
  ASSERT_TRUE(third.has_value() && *third);
  EXPECT_EQ(hgetall(redis_, key).at("n"), "3");
}

TEST_F(ApplierTest, WritesADeliveryWithMoreAttemptsThanLuaCanUnpackAtOnce) {
  // 5,000 attempts of one delivery: 10,000 HSET arguments, past Lua's ~8,000 C stack slots.
  recorder::Ops ops = {"D", "big", "sub", "5000"};
  for (int n = 1; n <= 5000; ++n) {
    ops.push_back(std::string("a").append(std::to_string(n)));  // attemptField(n)
    ops.push_back("{}");
  }
  ops.push_back("9999999999999");
  auto r = applier_.apply(0, "", "1", ops);
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_TRUE(*r);
  EXPECT_EQ(hgetall(redis_, keys_.delivery("big")).size(), 5001u);  // s + 5,000 attempts
  EXPECT_EQ(get(keys_.offset(0)), "1");
}

TEST_F(ApplierTest, ReadsAndWritesAStatsHashOfManyFieldsInChunks) {
  // 5,000 event types: an HMGET of 10,005 fields, beyond one unpack().
  const std::string key = keys_.stats("all", attempts::Granularity::kDay, 0);
  recorder::Ops ops = {"S", key, "9999999999999", "1", "n", "5000", "", "", "5000"};
  for (int i = 0; i < 5000; ++i) {
    ops.push_back("type." + std::to_string(i));
    ops.push_back("1");
    ops.push_back("0");
  }
  auto r = applier_.apply(0, "", "1", ops);
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_TRUE(*r);
  const Hash h = hgetall(redis_, key);
  EXPECT_EQ(h.at("n"), "5000");
  EXPECT_EQ(h.at("t:(other)"), std::to_string(5000 - attempts::kMaxEventTypesPerBucket));
}

TEST_F(ApplierTest, AScriptErrorAfterAWriteFencesThePartitionAndIsNotRetryable) {
  const std::string wrong = keys_.stats("all", attempts::Granularity::kDay, 0);
  ASSERT_TRUE(redis_.pipeline({{"SET", wrong, "not a hash"}}));
  // The D op writes, then the S op meets a string: WRONGTYPE half-way.
  const recorder::Ops ops = {"D", "d1",  "sub",           "1", "a1", "{}", "9999999999999",
                             "S", wrong, "9999999999999", "1", "n",  "1",  "",
                             "",  "0"};
  auto r = applier_.apply(0, "7", "9", ops);  // expected "7": set it first
  ASSERT_TRUE(r.has_value());
  EXPECT_FALSE(*r);  // fenced: the offset is absent, not 7
  ASSERT_TRUE(redis_.pipeline({{"SET", keys_.offset(0), "7"}}));
  r = applier_.apply(0, "7", "9", ops);
  ASSERT_FALSE(r.has_value());
  EXPECT_FALSE(r.error().retryable) << r.error().message;
  EXPECT_NE(r.error().message.find("WRONGTYPE"), std::string::npos) << r.error().message;
  // What was written stays (Redis does not roll back), and nobody applies it again.
  EXPECT_EQ(get(keys_.offset(0)), std::string(recorder::kFailedOffset) + ":7");
  auto again = applier_.apply(0, "7", "9", ops);
  ASSERT_TRUE(again.has_value());
  EXPECT_FALSE(*again);
}

TEST_F(ApplierTest, AScriptErrorBeforeAnyWriteLeavesTheOffsetAndIsNotRetried) {
  const std::string wrong = keys_.stats("all", attempts::Granularity::kDay, 0);
  ASSERT_TRUE(redis_.pipeline({{"SET", wrong, "not a hash"}}));
  const recorder::Ops ops = {"S", wrong, "9999999999999", "1", "n", "1", "", "", "0"};
  auto r = applier_.apply(0, "", "9", ops);
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().message.find("HOOKPIPE_NOWRITE WRONGTYPE"), std::string::npos)
      << r.error().message;
  EXPECT_FALSE(r.error().retryable);         // a repeat would meet it again
  EXPECT_EQ(get(keys_.offset(0)), "(nil)");  // nothing written: not fenced
}

TEST_F(ApplierTest, AMalformedFlushIsRefusedBeforeAnyWrite) {
  // A good D op, then an S op whose counts run past the end.
  const recorder::Ops ops = {"D", "d1", "sub", "1", "a1", "{}", "9999999999999",
                             "S", "k",  "1",   "9"};
  auto r = applier_.apply(0, "", "9", ops);
  ASSERT_FALSE(r.has_value());
  EXPECT_FALSE(r.error().retryable);
  auto e = redis_.pipeline({{"EXISTS", keys_.delivery("d1")}});
  EXPECT_EQ((*e)[0]->integer, 0);
  EXPECT_EQ(get(keys_.offset(0)), "(nil)");
}

TEST_F(ApplierTest, ASubscriptionLogExpiresWithItsNewestDelivery) {
  const int64_t newest = kafka::nowMs() + 60'000;
  const recorder::Ops ops = {"Z",
                             keys_.subscriptionLog("sub"),
                             "2",
                             std::to_string(newest - 1000),
                             "d0",
                             std::to_string(newest),
                             "d1",
                             "T",
                             keys_.subscriptionLog("sub"),
                             "0",
                             "-1",
                             "3600000"};
  auto r = applier_.apply(0, "", "1", ops);
  ASSERT_TRUE(r.has_value() && *r) << (r ? "" : r.error().message);
  auto t = redis_.pipeline({{"PEXPIRETIME", keys_.subscriptionLog("sub")}});
  ASSERT_EQ((*t)[0]->type, REDIS_REPLY_INTEGER);
  EXPECT_EQ((*t)[0]->integer, newest + 3'600'000);
}

}  // namespace
}  // namespace hookpipe::testing
