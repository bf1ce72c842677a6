// Unit tests for common/kafka/progress.h: the begin -> finish -> store skeleton.
#include "common/kafka/progress.h"

#include <gtest/gtest.h>

#include <string>
#include <tuple>
#include <vector>

namespace hookpipe::kafka {
namespace {

using Stored = std::vector<std::tuple<std::string, int32_t, int64_t>>;

TEST(Progress, StoresOnlyTheContiguousPrefixOfFinishedRecords) {
  Stored stored;
  Progress progress(
      [&](const std::string& t, int32_t p, int64_t next) { stored.emplace_back(t, p, next); });
  for (int64_t o : {10, 11, 12}) progress.begin("t", 0, o);
  EXPECT_FALSE(progress.finish("t", 0, 12));
  EXPECT_TRUE(stored.empty());
  EXPECT_TRUE(progress.finish("t", 0, 10));
  EXPECT_EQ(stored, (Stored{{"t", 0, 11}}));
  EXPECT_TRUE(progress.finish("t", 0, 11));
  EXPECT_EQ(stored.back(), std::make_tuple(std::string("t"), 0, int64_t{13}));
  EXPECT_EQ(progress.pendingTotal(), 0u);
  EXPECT_EQ(progress.lastBegun("t", 0), std::optional<int64_t>(12));
}

TEST(Progress, AFinisherFinishesItsOwnPositionLater) {
  Stored stored;
  Progress progress(
      [&](const std::string& t, int32_t p, int64_t next) { stored.emplace_back(t, p, next); });
  progress.begin("a", 1, 5);
  progress.begin("b", 2, 7);
  auto b = progress.finisher({"b", 2, 7});
  auto a = progress.finisher({"a", 1, 5});
  EXPECT_EQ(progress.pendingTotal(), 2u);
  b();
  a();
  EXPECT_EQ(stored, (Stored{{"b", 2, 8}, {"a", 1, 6}}));
  EXPECT_EQ(progress.pendingTotal(), 0u);
}

TEST(Progress, PartitionsAreTrackedApartAndForgottenOnRevoke) {
  Stored stored;
  Progress progress(
      [&](const std::string& t, int32_t p, int64_t next) { stored.emplace_back(t, p, next); });
  progress.begin("t", 0, 1);
  progress.begin("t", 1, 1);
  PartitionListPtr revoked(rd_kafka_topic_partition_list_new(1));
  rd_kafka_topic_partition_list_add(revoked.get(), "t", 1);
  EXPECT_EQ(progress.pending(*revoked), 1u);
  progress.forget(*revoked);
  EXPECT_EQ(progress.pending(*revoked), 0u);
  EXPECT_EQ(progress.pendingTotal(), 1u);
  EXPECT_TRUE(progress.finish("t", 0, 1));
  EXPECT_EQ(stored, (Stored{{"t", 0, 2}}));
}

}  // namespace
}  // namespace hookpipe::kafka
