// Replays the fuzz seed corpus through the fuzz targets' bodies, so every build (g++
// included, which has no libFuzzer) exercises them; clang builds also get the fuzzers.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include "tests/fuzz/targets.h"

namespace hookpipe::fuzz {
namespace {

std::size_t replay(const std::string& target, int (*one)(const uint8_t*, std::size_t)) {
  std::size_t files = 0;
  for (const auto& entry :
       std::filesystem::directory_iterator(std::string(HOOKPIPE_FUZZ_CORPUS) + "/" + target)) {
    std::ifstream in(entry.path(), std::ios::binary);
    const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    SCOPED_TRACE(entry.path().string());
    EXPECT_EQ(one(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()), 0);
    ++files;
  }
  return files;
}

TEST(FuzzCorpus, FilterSeedsRunCleanly) { EXPECT_GE(replay("filter", filterOne), 5u); }

TEST(FuzzCorpus, EventSeedsRunCleanly) { EXPECT_GE(replay("event", eventOne), 5u); }

TEST(FuzzCorpus, SubscriptionSeedsRunCleanly) {
  EXPECT_GE(replay("subscription", subscriptionOne), 5u);
}

TEST(FuzzCorpus, EventTypeSeedsRunCleanly) { EXPECT_GE(replay("event_type", eventTypeOne), 5u); }

TEST(FuzzCorpus, DeadLetterQuerySeedsRunCleanly) {
  EXPECT_GE(replay("dead_letter_query", deadLetterQueryOne), 5u);
}

TEST(FuzzCorpus, QueryStringSeedsRunCleanly) {
  EXPECT_GE(replay("query_string", queryStringOne), 5u);
}

TEST(FuzzCorpus, DeliveryLogQuerySeedsRunCleanly) {
  EXPECT_GE(replay("delivery_log_query", deliveryLogQueryOne), 5u);
}

TEST(FuzzCorpus, RetryAfterSeedsRunCleanly) { EXPECT_GE(replay("retry_after", retryAfterOne), 5u); }

TEST(FuzzCorpus, PlatformAnswerSeedsRunCleanly) {
  EXPECT_GE(replay("platform_answer", platformAnswerOne), 5u);
}

TEST(FuzzCorpus, AttemptRecordSeedsRunCleanly) {
  EXPECT_GE(replay("attempt_record", attemptRecordOne), 5u);
}

TEST(FuzzCorpus, TemplateSeedsRunCleanly) { EXPECT_GE(replay("template", templateOne), 5u); }

TEST(FuzzCorpus, ConfigSeedsRunCleanly) { EXPECT_GE(replay("config", configOne), 4u); }

TEST(FuzzCorpus, EmptyAndTruncatedInputsRunCleanly) {
  const std::string inputs[] = {"", "{", "\"", "{\"type\":", "\xff\xfe"};
  for (const auto& s : inputs) {
    const auto* data = reinterpret_cast<const uint8_t*>(s.data());
    for (auto one : {filterOne, eventOne, subscriptionOne, eventTypeOne, deadLetterQueryOne,
                     queryStringOne, retryAfterOne, configOne, attemptRecordOne,
                     deliveryLogQueryOne, platformAnswerOne, templateOne})
      EXPECT_EQ(one(data, s.size()), 0);
  }
}

}  // namespace
}  // namespace hookpipe::fuzz
