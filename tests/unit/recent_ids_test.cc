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

TEST(RecentIds, LongIdsStayFindableThroughManyWrapArounds) {
  // Ids longer than the small-string buffer: the ring reuses their heap buffers and the
  // set holds views into them (ASan checks the views stay valid).
  RecentIds recent(4);
  auto id = [](int i) {
    std::string s = "msg_0123456789abcdef0123";
    s += std::to_string(i);
    return s;
  };
  for (int i = 0; i < 100; ++i) {
    recent.insert(id(i));
    EXPECT_TRUE(recent.contains(id(i)));
    if (i >= 4) {
      EXPECT_FALSE(recent.contains(id(i - 4)));
    }
    for (int back = 1; back < 4 && back <= i; ++back) EXPECT_TRUE(recent.contains(id(i - back)));
  }
}

}  // namespace
}  // namespace hookpipe::deliverer
