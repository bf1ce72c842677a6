// Unit tests for common/kafka/kafka.h: OffsetTracker and the header list helpers.
#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

#include "common/kafka/kafka.h"

namespace hookpipe::kafka {
namespace {

TEST(OffsetTracker, FinishingAheadOfThePrefixStoresNothing) {
  // The worked example of kafka.h: 10, 11, 12 begin; 12 finishes first.
  OffsetTracker t;
  for (int64_t o : {10, 11, 12}) t.begin("events", 0, o);
  EXPECT_EQ(t.finish("events", 0, 12), std::nullopt);  // 10 and 11 still pending
  EXPECT_EQ(t.finish("events", 0, 10), std::optional<int64_t>(11));
  EXPECT_EQ(t.finish("events", 0, 11), std::optional<int64_t>(13));
  EXPECT_EQ(t.pending("events", 0), 0u);
}

TEST(OffsetTracker, CommitsOnlyTheContiguousFinishedPrefix) {
  OffsetTracker t;
  for (int64_t o : {10, 11, 12}) t.begin("events", 0, o);
  EXPECT_EQ(t.finish("events", 0, 10), std::optional<int64_t>(11));
  EXPECT_EQ(t.finish("events", 0, 12), std::nullopt);  // 11 still pending: stays at 11
  EXPECT_EQ(t.pending("events", 0), 1u);
  EXPECT_EQ(t.finish("events", 0, 11), std::optional<int64_t>(13));  // one past the last begun
}

TEST(OffsetTracker, InOrderFinishesAdvanceOneByOne) {
  OffsetTracker t;
  for (int64_t o = 100; o < 105; ++o) t.begin("events", 3, o);
  for (int64_t o = 100; o < 105; ++o)
    EXPECT_EQ(t.finish("events", 3, o), std::optional<int64_t>(o + 1));
}

TEST(OffsetTracker, BeginsOutOfOrderAreStillTrackedInOffsetOrder) {
  OffsetTracker t;
  for (int64_t o : {7, 5, 6}) t.begin("events", 0, o);
  EXPECT_EQ(t.finish("events", 0, 5), std::optional<int64_t>(6));
  EXPECT_EQ(t.finish("events", 0, 6), std::optional<int64_t>(7));
  EXPECT_EQ(t.finish("events", 0, 7), std::optional<int64_t>(8));
}

TEST(OffsetTracker, PartitionsAndTopicsAreIndependent) {
  OffsetTracker t;
  t.begin("events", 0, 5);
  t.begin("events", 1, 5);
  t.begin("deliveries", 0, 5);
  t.begin("events", 0, 6);
  EXPECT_EQ(t.finish("events", 1, 5), std::optional<int64_t>(6));
  EXPECT_EQ(t.pending("events", 0), 2u);
  EXPECT_EQ(t.pending("deliveries", 0), 1u);
  EXPECT_EQ(t.finish("deliveries", 0, 5), std::optional<int64_t>(6));
  EXPECT_EQ(t.pending("events", 0), 2u);
  EXPECT_EQ(t.finish("events", 0, 5), std::optional<int64_t>(6));
  EXPECT_EQ(t.finish("events", 0, 6), std::optional<int64_t>(7));
  EXPECT_EQ(t.pendingTotal(), 0u);
}

TEST(OffsetTracker, UnknownOffsetsAndPartitionsFinishNothing) {
  OffsetTracker t;
  t.begin("events", 0, 10);
  EXPECT_EQ(t.finish("events", 0, 11), std::nullopt);  // never begun
  EXPECT_EQ(t.finish("events", 1, 10), std::nullopt);  // unknown partition
  EXPECT_EQ(t.finish("other", 0, 10), std::nullopt);   // unknown topic
  EXPECT_EQ(t.pending("events", 0), 1u);
  EXPECT_EQ(t.finish("events", 0, 10), std::optional<int64_t>(11));
  EXPECT_EQ(t.finish("events", 0, 10), std::nullopt);  // finished twice
}

TEST(OffsetTracker, FinishAfterForgetReturnsNothing) {
  OffsetTracker t;
  t.begin("events", 0, 10);
  t.begin("events", 0, 11);
  t.begin("events", 1, 20);
  t.forget("events", 0);  // partition revoked
  EXPECT_EQ(t.pending("events", 0), 0u);
  EXPECT_EQ(t.finish("events", 0, 10), std::nullopt);
  EXPECT_EQ(t.finish("events", 0, 11), std::nullopt);
  EXPECT_EQ(t.finish("events", 1, 20), std::optional<int64_t>(21));  // others untouched
}

TEST(OffsetTracker, PendingTotalCountsEveryPartition) {
  OffsetTracker t;
  EXPECT_EQ(t.pendingTotal(), 0u);
  t.begin("events", 0, 1);
  t.begin("events", 0, 2);
  t.begin("events", 1, 1);
  t.begin("deliveries", 0, 1);
  EXPECT_EQ(t.pendingTotal(), 4u);
  t.finish("events", 0, 2);
  EXPECT_EQ(t.pendingTotal(), 3u);
  t.forget("events", 1);
  EXPECT_EQ(t.pendingTotal(), 2u);
  t.clear();
  EXPECT_EQ(t.pendingTotal(), 0u);
}

TEST(KafkaHeaders, FindHeaderIsExactAndCaseSensitive) {
  const HeaderList headers = {{"hp-attempt", "2"}, {"hp-empty", ""}, {"Content-Type", "json"}};
  EXPECT_EQ(findHeader(headers, "hp-attempt"), std::optional<std::string>("2"));
  EXPECT_EQ(findHeader(headers, "hp-empty"), std::optional<std::string>(""));
  EXPECT_EQ(findHeader(headers, "Content-Type"), std::optional<std::string>("json"));
  EXPECT_EQ(findHeader(headers, "content-type"), std::nullopt);
  EXPECT_EQ(findHeader(headers, "hp-attemp"), std::nullopt);
  EXPECT_EQ(findHeader(headers, "hp-attempt2"), std::nullopt);
  EXPECT_EQ(findHeader({}, "hp-attempt"), std::nullopt);
}

TEST(KafkaHeaders, SetHeaderReplacesEveryCopyOrAppends) {
  HeaderList headers = {{"a", "1"}, {"b", "2"}, {"a", "0"}};
  setHeader(headers, "a", "10");
  setHeader(headers, "c", "3");
  EXPECT_EQ(headers, (HeaderList{{"b", "2"}, {"a", "10"}, {"c", "3"}}));
  setHeader(headers, "c", "");
  EXPECT_EQ(findHeader(headers, "c"), std::optional<std::string>(""));
  EXPECT_EQ(headers.size(), 3u);
}

TEST(OffsetTracker, LastBegunIsTheHighestOffsetBegunUntilForgotten) {
  OffsetTracker t;
  EXPECT_EQ(t.lastBegun("t", 0), std::nullopt);
  t.begin("t", 0, 7);
  t.begin("t", 0, 5);
  t.finish("t", 0, 7);
  EXPECT_EQ(t.lastBegun("t", 0), std::optional<int64_t>(7));
  EXPECT_EQ(t.lastBegun("t", 1), std::nullopt);
  t.forget("t", 0);
  EXPECT_EQ(t.lastBegun("t", 0), std::nullopt);
}

TEST(KafkaHeaders, FindHeaderSeesWhatSetHeaderWroteEvenWithDuplicateNames) {
  // Kafka allows repeated header names, and the router copies a publisher's headers onto
  // invalid events before setting hp-origin-* on them.
  HeaderList headers = {
      {"hp-origin-topic", "forged-1"}, {"other", "x"}, {"hp-origin-topic", "forged-2"}};
  setHeader(headers, "hp-origin-topic", "hookpipe.events");
  EXPECT_EQ(findHeader(headers, "hp-origin-topic"), std::optional<std::string>("hookpipe.events"));
}

}  // namespace
}  // namespace hookpipe::kafka
