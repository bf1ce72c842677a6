// Unit tests for common/records/delivery.h: delivery metadata in Kafka headers and
// delivery ids.
#include "common/records/delivery.h"

#include <gtest/gtest.h>

#include <cctype>
#include <set>
#include <string>
#include <vector>

#include "support/delivery_meta_sample.h"

namespace hookpipe::records {
namespace {

void expectSame(const DeliveryMeta& a, const DeliveryMeta& b) {
  EXPECT_EQ(a.delivery_id, b.delivery_id);
  EXPECT_EQ(a.event_id, b.event_id);
  EXPECT_EQ(a.event_type, b.event_type);
  EXPECT_EQ(a.subscription_id, b.subscription_id);
  EXPECT_EQ(a.attempt, b.attempt);
  EXPECT_EQ(a.first_attempt_ms, b.first_attempt_ms);
  EXPECT_EQ(a.due_ms, b.due_ms);
  EXPECT_EQ(a.last_status, b.last_status);
  EXPECT_EQ(a.error_class, b.error_class);
  EXPECT_EQ(a.error_message, b.error_message);
  EXPECT_EQ(a.replay_id, b.replay_id);
  EXPECT_EQ(a.parked_since_ms, b.parked_since_ms);
  EXPECT_EQ(a.origin.topic, b.origin.topic);
  EXPECT_EQ(a.origin.partition, b.origin.partition);
  EXPECT_EQ(a.origin.offset, b.origin.offset);
  EXPECT_EQ(a.dead_letter_reason, b.dead_letter_reason);
  EXPECT_EQ(a.dead_letter_at_ms, b.dead_letter_at_ms);
  EXPECT_EQ(a.replay_count, b.replay_count);
}

TEST(DeliveryMeta, RoundTripsThroughHeaders) {
  DeliveryMeta fresh;  // as the router writes it: optional fields unset
  fresh.delivery_id = "msg_x";
  fresh.event_id = "evt_1";
  fresh.event_type = "a";
  fresh.subscription_id = "sub_1";
  fresh.due_ms = 5;
  for (const DeliveryMeta& meta : {fullMeta(), fresh, DeliveryMeta{}}) {
    SCOPED_TRACE(meta.delivery_id);
    kafka::HeaderList headers;
    meta.writeTo(headers);
    expectSame(DeliveryMeta::fromHeaders(headers), meta);
  }
}

TEST(DeliveryMeta, ReadsTheLastCopyOfEachHeaderAndIgnoresOthers) {
  // A publisher's own headers pass through untouched; a field given twice takes the
  // later value (the one writeTo() or a tier appended last); a bad number falls back.
  const kafka::HeaderList headers = {{"hp-delivery-id", "msg_old"},
                                     {"x-tenant", "acme"},
                                     {"hp-", "nothing"},
                                     {"hp-attempt", "3"},
                                     {"hp-delivery-id", "msg_new"},
                                     {"hp-due-ms", "12x"},
                                     {"hp-attempt", "not a number"},
                                     {"hp-parked-since-ms", "77"},
                                     {"hp-subscription-id", ""}};
  const DeliveryMeta m = DeliveryMeta::fromHeaders(headers);
  EXPECT_EQ(m.delivery_id, "msg_new");
  EXPECT_EQ(m.attempt, 1);
  EXPECT_EQ(m.due_ms, 0);
  EXPECT_EQ(m.parked_since_ms, 77);
  EXPECT_EQ(m.subscription_id, "");
  EXPECT_EQ(m.event_id, "");
}

TEST(DeliveryMeta, WritesEachFieldUnderItsHeaderName) {
  kafka::HeaderList headers;
  fullMeta().writeTo(headers);
  const std::vector<std::pair<const char*, std::string>> expected = {
      {kDeliveryId, "msg_0123456789abcdef01234567"},
      {kEventId, "evt_abc"},
      {kEventType, "order.created"},
      {kSubscriptionId, "sub_1"},
      {kAttempt, "4"},
      {kFirstAttemptMs, "1767972600123"},
      {kDueMs, "1767972900123"},
      {kLastStatus, "503"},
      {kErrorClass, "http_5xx"},
      {kErrorMessage, "HTTP 503: busy"},
      {kReplayId, "rpl_9"},
      {kOriginTopic, "hookpipe.events"},
      {kOriginPartition, "3"},
      {kOriginOffset, "42"},
      {kDeadLetterReason, "retries_exhausted"},
      {kDeadLetterAtMs, "1767973000123"},
      {kReplayCount, "2"},
  };
  for (const auto& [name, value] : expected) {
    SCOPED_TRACE(name);
    EXPECT_EQ(kafka::findHeader(headers, name), std::optional<std::string>(value));
  }
  EXPECT_EQ(headers.size(), expected.size());
}

TEST(DeliveryMeta, UnsetFieldsOverwriteEarlierValues) {
  kafka::HeaderList headers = {{kLastStatus, "503"},
                               {kErrorClass, "http_5xx"},
                               {kErrorMessage, "HTTP 503"},
                               {kReplayId, "rpl_old"}};
  DeliveryMeta m;
  m.delivery_id = "msg_x";
  m.writeTo(headers);
  EXPECT_EQ(kafka::findHeader(headers, kLastStatus), std::optional<std::string>("0"));
  for (const char* name : {kErrorClass, kErrorMessage, kReplayId}) {
    SCOPED_TRACE(name);
    EXPECT_EQ(kafka::findHeader(headers, name), std::optional<std::string>(""));
  }
}

TEST(DeliveryMeta, WriteToKeepsOtherHeadersAndReplacesItsOwn) {
  kafka::HeaderList headers = {{kOriginTopic, "hookpipe.events"},
                               {kAttempt, "1"},
                               {"traceparent", "00-abc"},
                               {kOriginOffset, "42"}};
  DeliveryMeta m = fullMeta();
  m.origin = {};  // unset: the record's own origin headers stay
  m.writeTo(headers);
  m.attempt = 5;
  m.writeTo(headers);  // written twice, as a retried delivery is
  EXPECT_EQ(kafka::findHeader(headers, kOriginTopic),
            std::optional<std::string>("hookpipe.events"));
  EXPECT_EQ(kafka::findHeader(headers, kOriginOffset), std::optional<std::string>("42"));
  EXPECT_EQ(kafka::findHeader(headers, "traceparent"), std::optional<std::string>("00-abc"));
  std::set<std::string> names;
  for (const auto& [name, value] : headers)
    EXPECT_TRUE(names.insert(name).second) << "duplicate " << name;
  m.origin = {"hookpipe.events", -1, 42};  // as the headers say (no partition header)
  expectSame(DeliveryMeta::fromHeaders(headers), m);
}

TEST(DeliveryMeta, FreshDeliveryHeadersDecodeAsAFirstAttempt) {
  const auto views = freshDeliveryHeaders(
      {"msg_x", "evt_1", "order.created", "sub_1", "hookpipe.events", "3", "42"});
  kafka::HeaderList headers;
  for (const auto& [name, value] : views) headers.emplace_back(name, value);
  DeliveryMeta expected;
  expected.delivery_id = "msg_x";
  expected.event_id = "evt_1";
  expected.event_type = "order.created";
  expected.subscription_id = "sub_1";
  expected.origin = {"hookpipe.events", 3, 42};
  expectSame(DeliveryMeta::fromHeaders(headers), expected);
}

TEST(DeliveryMeta, DeadLetterKeepsAKnownOriginAndFillsAMissingOne) {
  DeliveryMeta routed = fullMeta();
  routed.dead_letter_reason.clear();
  routed.dead_letter_at_ms = 0;
  routed.deadLetter("http_4xx", 99, {"hookpipe.retry.5s", 1, 7});
  EXPECT_EQ(routed.dead_letter_reason, "http_4xx");
  EXPECT_EQ(routed.dead_letter_at_ms, 99);
  EXPECT_EQ(routed.origin.topic, "hookpipe.events");
  EXPECT_EQ(routed.origin.offset, 42);

  DeliveryMeta published;  // produced to `deliveries` by someone else: no origin
  published.deadLetter("paused", 100, {"hookpipe.deliveries", 2, 8});
  kafka::HeaderList headers;
  published.writeTo(headers);
  const DeliveryMeta read = DeliveryMeta::fromHeaders(headers);
  EXPECT_EQ(read.origin.topic, "hookpipe.deliveries");
  EXPECT_EQ(read.origin.partition, 2);
  EXPECT_EQ(read.origin.offset, 8);
  EXPECT_EQ(read.dead_letter_reason, "paused");
  EXPECT_EQ(read.dead_letter_at_ms, 100);
}

TEST(DeliveryMeta, ReplayStartsAFreshRunAndCountsIt) {
  DeliveryMeta m = fullMeta();
  m.replay("rpl_new", 5000);
  EXPECT_EQ(m.attempt, 1);
  EXPECT_EQ(m.first_attempt_ms, 0);
  EXPECT_EQ(m.due_ms, 5000);
  EXPECT_EQ(m.replay_id, "rpl_new");
  EXPECT_EQ(m.replay_count, 3);
  EXPECT_EQ(m.delivery_id, fullMeta().delivery_id);  // still the same delivery
}

TEST(DeliveryMeta, ABadReplayCountCountsAsNone) {
  for (const std::string bad : {"-1", "x", "1000000", "99999999999999999999"}) {
    SCOPED_TRACE(bad);
    EXPECT_EQ(DeliveryMeta::fromHeaders({{kReplayCount, bad}}).replay_count, 0);
  }
  EXPECT_EQ(DeliveryMeta::fromHeaders({{kReplayCount, "999999"}}).replay_count, 999999);
}

TEST(InvalidEvent, KeepsThePublishersHeadersAndAddsReasonAndPosition) {
  kafka::HeaderList headers = {{"traceparent", "00-abc"}};
  markInvalid(headers, "no type", {"hookpipe.events", 1, 9});
  EXPECT_EQ(kafka::findHeader(headers, "traceparent"), std::optional<std::string>("00-abc"));
  EXPECT_EQ(kafka::findHeader(headers, kInvalidReason), std::optional<std::string>("no type"));
  EXPECT_EQ(kafka::findHeader(headers, kOriginPartition), std::optional<std::string>("1"));
  EXPECT_EQ(kafka::findHeader(headers, kOriginOffset), std::optional<std::string>("9"));
}

TEST(DeliveryMeta, WriteToClearsLastStatusWhenTheLatestAttemptHadNoResponse) {
  // Attempt 1 got HTTP 503; attempt 2 timed out without a response (status 0). The record
  // must not go on claiming 503 next to error class "timeout".
  kafka::HeaderList headers;
  DeliveryMeta m = fullMeta();
  m.writeTo(headers);
  m.last_status = 0;
  m.error_class = "timeout";
  m.error_message = "Operation timed out";
  m.writeTo(headers);
  const DeliveryMeta read = DeliveryMeta::fromHeaders(headers);
  EXPECT_EQ(read.last_status, 0);
  EXPECT_EQ(read.error_class, "timeout");
}

TEST(DeliveryMeta, MissingOrMalformedNumbersFallBackToDefaults) {
  const DeliveryMeta empty = DeliveryMeta::fromHeaders({});
  EXPECT_EQ(empty.attempt, 1);
  EXPECT_EQ(empty.first_attempt_ms, 0);
  EXPECT_EQ(empty.due_ms, 0);
  EXPECT_EQ(empty.last_status, 0);
  EXPECT_EQ(empty.delivery_id, "");
  for (const std::string bad : {"", "abc", "3x", " 3", "0x10", "1e3"}) {
    SCOPED_TRACE(bad);
    const DeliveryMeta m = DeliveryMeta::fromHeaders(
        {{kAttempt, bad}, {kDueMs, bad}, {kFirstAttemptMs, bad}, {kLastStatus, bad}});
    EXPECT_EQ(m.attempt, 1);
    EXPECT_EQ(m.due_ms, 0);
    EXPECT_EQ(m.first_attempt_ms, 0);
    EXPECT_EQ(m.last_status, 0);
  }
}

TEST(DeliveryId, IsMsgAndTwentyFourHexDigitsOfSha256) {
  // printf '%s' 'evt_1/sub_1' | openssl dgst -sha256  ->  f8aaea693ec0b48f06dae934d224b0cb...
  EXPECT_EQ(deliveryIdFor("evt_1", "sub_1"), "msg_f8aaea693ec0b48f06dae934");
  for (const auto& [event, sub] : std::vector<std::pair<std::string, std::string>>{
           {"evt_1", "sub_1"}, {"", ""}, {"evt_" + std::string(500, 'x'), "sub_\xff"}}) {
    const std::string id = deliveryIdFor(event, sub);
    ASSERT_EQ(id.size(), 28u) << id;
    EXPECT_TRUE(id.starts_with("msg_")) << id;
    for (char c : id.substr(4))
      EXPECT_TRUE(std::isxdigit(static_cast<unsigned char>(c)) && !std::isupper(c)) << id;
  }
}

TEST(DeliveryId, IsStableAndDiffersPerSubscriptionAndEvent) {
  EXPECT_EQ(deliveryIdFor("evt_1", "sub_1"), deliveryIdFor("evt_1", "sub_1"));
  std::set<std::string> ids;
  for (const char* event : {"evt_1", "evt_2"})
    for (const char* sub : {"sub_1", "sub_2", "sub_3"}) ids.insert(deliveryIdFor(event, sub));
  EXPECT_EQ(ids.size(), 6u);
}

}  // namespace
}  // namespace hookpipe::records
