#include <gtest/gtest.h>

#include "common/dlq/replay.h"

namespace hookpipe::dlq {
namespace {

TEST(ReplayId, SameFilterAndTargetGiveTheSameReplayId) {
  DlqQuery f;
  f.subscription_id = "sub_1";
  EXPECT_EQ(defaultReplayId(f, ""), defaultReplayId(f, ""));
  EXPECT_TRUE(defaultReplayId(f, "").starts_with("rpl_"));
  EXPECT_EQ(defaultReplayId(f, "").size(), 20u);
}

TEST(ReplayId, DifferentFilterOrTargetGiveDifferentIds) {
  DlqQuery f, g;
  g.error_class = "http_5xx";
  EXPECT_NE(defaultReplayId(f, ""), defaultReplayId(g, ""));
  EXPECT_NE(defaultReplayId(f, ""), defaultReplayId(f, "sub_2"));
}

TEST(ReplayId, RedirectedDeliveryIdIsStableAndTargetSpecific) {
  const std::string a = redirectedDeliveryId("msg_0123456789abcdef01234567", "sub_2");
  EXPECT_EQ(a, redirectedDeliveryId("msg_0123456789abcdef01234567", "sub_2"));
  EXPECT_NE(a, redirectedDeliveryId("msg_0123456789abcdef01234567", "sub_3"));
  EXPECT_NE(a, "msg_0123456789abcdef01234567");
  EXPECT_TRUE(a.starts_with("msg_"));
}

}  // namespace
}  // namespace hookpipe::dlq
