// Unit tests of the recorder's pure rules: when a partition's aggregate is full, which
// apply errors may be tried again, which maxmemory policies endanger the index.
#include <gtest/gtest.h>

#include "recorder/applier.h"
#include "recorder/recorder.h"

namespace hookpipe::recorder {
namespace {

const attempts::Keys& keys() {
  static const attempts::Keys k("t.");
  return k;
}

TEST(RecorderFull, AtTheRecordCountOrTheByteBound) {
  Recorder::Options options;
  options.max_flush_records = 3;
  options.max_flush_bytes = 1000;
  Aggregator agg(keys(), Aggregator::Options{});
  auto parsed = attempts::parse(
      R"({"delivery_id":"d1","subscription_id":"s","attempt":1,"outcome":"delivered",)"
      R"("finished_ms":1767972610000})");
  ASSERT_TRUE(parsed) << parsed.error().message;
  const attempts::Record& r = *parsed;
  agg.add(r, std::string(10, 'x'));
  agg.add(r, std::string(10, 'x'));
  EXPECT_FALSE(Recorder::full(agg, options));
  agg.add(r, std::string(10, 'x'));
  EXPECT_TRUE(Recorder::full(agg, options));  // 3 records
  agg.clear();
  agg.add(r, std::string(1000, 'x'));
  EXPECT_TRUE(Recorder::full(agg, options));  // one record of 1000 bytes
}

TEST(RetryableApplyError, OnlyWhatWroteNothing) {
  EXPECT_TRUE(retryableApplyError("BUSY Redis is busy running a script"));
  EXPECT_TRUE(retryableApplyError("LOADING Redis is loading the dataset in memory"));
  EXPECT_TRUE(retryableApplyError("OOM command not allowed when used memory > 'maxmemory'."));
  EXPECT_TRUE(retryableApplyError("HOOKPIPE_NOWRITE OOM command not allowed when used memory"));
  EXPECT_FALSE(retryableApplyError("HOOKPIPE_NOWRITE WRONGTYPE Operation against a key"));
  EXPECT_FALSE(retryableApplyError("HOOKPIPE_PARTIAL too many results to unpack"));
  EXPECT_FALSE(retryableApplyError("ERR user_script:1: too many results to unpack"));
  EXPECT_FALSE(retryableApplyError("hookpipe recorder: bad op X at 6"));
}

TEST(EvictsKeysWithoutExpiry, AllkeysPoliciesOnly) {
  EXPECT_TRUE(evictsKeysWithoutExpiry("allkeys-lru"));
  EXPECT_TRUE(evictsKeysWithoutExpiry("allkeys-random"));
  EXPECT_TRUE(evictsKeysWithoutExpiry("allkeys-lfu"));
  EXPECT_FALSE(evictsKeysWithoutExpiry("noeviction"));
  EXPECT_FALSE(evictsKeysWithoutExpiry("volatile-lru"));
  EXPECT_FALSE(evictsKeysWithoutExpiry("volatile-ttl"));
}

}  // namespace
}  // namespace hookpipe::recorder
