#include "common/subscriptions/table.h"

#include <gtest/gtest.h>

namespace hookpipe {
namespace {

TEST(SubscriptionTablePins, OlderRecordsReadBeforeTheLocalWriteAreSkipped) {
  SubscriptionTable table;
  table.pin("sub_1", "v3");
  EXPECT_FALSE(table.acceptFromLog("sub_1", "v1"));
  EXPECT_FALSE(table.acceptFromLog("sub_1", "v2"));
  EXPECT_TRUE(table.acceptFromLog("sub_2", "other"));  // other ids are not held back
  EXPECT_TRUE(table.acceptFromLog("sub_1", "v3"));     // our own record releases the pin
  EXPECT_TRUE(table.acceptFromLog("sub_1", "v4"));     // later writers apply again
}

TEST(SubscriptionTablePins, ALaterLocalWriteReplacesThePin) {
  SubscriptionTable table;
  table.pin("sub_1", "a");
  table.pin("sub_1", "b");
  EXPECT_FALSE(table.acceptFromLog("sub_1", "a"));
  EXPECT_TRUE(table.acceptFromLog("sub_1", "b"));
}

Subscription named(std::string id, std::string url) {
  Subscription s;
  s.id = std::move(id);
  s.url = std::move(url);
  return s;
}

TEST(SubscriptionTablePins, AnAcknowledgedWriteAppliesWhileItIsStillPinned) {
  SubscriptionTable table;
  table.pin("sub_1", "disabled");
  table.putIfPinned("sub_1", "disabled", named("sub_1", "http://a/"));
  ASSERT_NE(table.find("sub_1"), nullptr);
  EXPECT_EQ(table.find("sub_1")->url, "http://a/");
  EXPECT_TRUE(table.acceptFromLog("sub_1", "disabled"));  // the reader still releases it
}

TEST(SubscriptionTablePins, ALateAcknowledgementNeverOverwritesANewerRecordFromTheLog) {
  SubscriptionTable table;
  table.pin("sub_1", "disabled");
  // The reader gets there first: our record, then an operator's newer one.
  ASSERT_TRUE(table.acceptFromLog("sub_1", "disabled"));
  table.upsert(named("sub_1", "http://ours/"));
  ASSERT_TRUE(table.acceptFromLog("sub_1", "resumed"));
  table.upsert(named("sub_1", "http://newer/"));
  table.putIfPinned("sub_1", "disabled", named("sub_1", "http://ours/"));  // the ack, late
  EXPECT_EQ(table.find("sub_1")->url, "http://newer/");
}

TEST(SubscriptionTablePins, TombstonesPinAsEmptyRecords) {
  SubscriptionTable table;
  table.pin("sub_1", "");
  EXPECT_FALSE(table.acceptFromLog("sub_1", "still there"));
  EXPECT_TRUE(table.acceptFromLog("sub_1", ""));
}

TEST(SubscriptionTablePins, UnpinUndoesOnlyTheFailedWrite) {
  SubscriptionTable table;
  table.pin("sub_1", "a");
  table.unpin("sub_1", "b");  // not the current pin: kept
  EXPECT_FALSE(table.acceptFromLog("sub_1", "x"));
  table.unpin("sub_1", "a");
  EXPECT_TRUE(table.acceptFromLog("sub_1", "x"));
}

}  // namespace
}  // namespace hookpipe
