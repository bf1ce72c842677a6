// Unit tests for deliverer::RecentIds: the bounded set of ids a worker delivered lately.
#include <gtest/gtest.h>

#include "deliverer/deliverer.h"

namespace hookpipe::deliverer {
namespace {

TEST(RecentIds, RemembersTheLastCapacityIdsAndForgetsTheOldest) {
  RecentIds recent(3);
  for (const char* id : {"a", "b", "c"}) recent.insert(id);
  EXPECT_TRUE(recent.contains("a"));
  recent.insert("d");  // evicts "a"
  EXPECT_FALSE(recent.contains("a"));
  for (const char* id : {"b", "c", "d"}) EXPECT_TRUE(recent.contains(id)) << id;
  recent.insert("c");  // already there: nothing evicted
  EXPECT_TRUE(recent.contains("b"));
  recent.insert("e");
  EXPECT_FALSE(recent.contains("b"));
  EXPECT_TRUE(recent.contains("e"));
}

}  // namespace
}  // namespace hookpipe::deliverer
