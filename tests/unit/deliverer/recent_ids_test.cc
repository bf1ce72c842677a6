// Unit tests for deliverer::RecentIds: the bounded set of ids a worker delivered lately.
#include "deliverer/recent_ids.h"

#include <gtest/gtest.h>

#include <deque>
#include <random>
#include <set>

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

TEST(RecentIds, MatchesASimpleModelOverRandomInsertsAndLookups) {
  // The open-addressing index moves entries back when the oldest id leaves: compare with
  // a plain model (the last `capacity` distinct ids) over many random operations, with few
  // distinct ids so that repeats, evictions and wrapped probe runs all happen.
  std::mt19937 rng(7);
  for (std::size_t capacity : {1u, 2u, 3u, 7u, 64u, 1000u}) {
    SCOPED_TRACE(capacity);
    RecentIds recent(capacity);
    std::deque<std::string> order;
    std::set<std::string> model;
    std::uniform_int_distribution<int> pick(0, static_cast<int>(capacity * 3));
    for (int op = 0; op < 20000; ++op) {
      std::string id = "msg_" + std::to_string(pick(rng));
      if (op % 3 == 0) {
        ASSERT_EQ(recent.contains(id), model.contains(id)) << "op " << op << " id " << id;
        continue;
      }
      recent.insert(id);
      if (!model.contains(id)) {
        if (order.size() == capacity) {
          model.erase(order.front());
          order.pop_front();
        }
        order.push_back(id);
        model.insert(id);
      }
    }
    for (int i = 0; i <= static_cast<int>(capacity * 3); ++i) {
      const std::string id = "msg_" + std::to_string(i);
      EXPECT_EQ(recent.contains(id), model.contains(id)) << id;
    }
  }
}

}  // namespace
}  // namespace hookpipe::deliverer
