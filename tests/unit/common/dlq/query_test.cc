#include "common/dlq/query.h"

#include <gtest/gtest.h>

#include "common/records/delivery.h"

namespace hookpipe::dlq {
namespace {

TEST(DlqTime, ParsesRfc3339InUtc) {
  EXPECT_EQ(parseTimeMs("1970-01-01T00:00:00Z").value(), 0);
  EXPECT_EQ(parseTimeMs("2026-01-09T15:30:00Z").value(), 1767972600000);
  EXPECT_EQ(parseTimeMs("2026-01-09t15:30:00z").value(), 1767972600000);
}

TEST(DlqTime, AppliesOffsetsAndFractions) {
  EXPECT_EQ(parseTimeMs("2026-01-09T17:30:00+02:00").value(), 1767972600000);
  EXPECT_EQ(parseTimeMs("2026-01-09T10:00:00-05:30").value(), 1767972600000);
  EXPECT_EQ(parseTimeMs("2026-01-09T15:30:00.25Z").value(), 1767972600250);
  EXPECT_EQ(parseTimeMs("2026-01-09T15:30:00.123456Z").value(), 1767972600123);
}

TEST(DlqTime, AcceptsEpochMillisecondsAndDates) {
  EXPECT_EQ(parseTimeMs("1767972600000").value(), 1767972600000);
  EXPECT_EQ(parseTimeMs("0").value(), 0);
  EXPECT_EQ(parseTimeMs("2026-01-09").value(), 1767916800000);
}

TEST(DlqTime, RejectsMalformedTimes) {
  for (const char* bad :
       {"", "yesterday", "2026-13-01T00:00:00Z", "2026-02-30T00:00:00Z", "2026-01-09T15:30:00",
        "2026-01-09T25:00:00Z", "2026-01-09T15:30Z", "2026-01-09T15:30:00+2:00",
        "2026-01-09T15:30:00.Z", "2026-01-09T15:30:00Zjunk", "-5", "99999999999999999999",
        "2026-01-09T15:30:00+02"})
    EXPECT_FALSE(parseTimeMs(bad).has_value()) << bad;
}

TEST(DlqTime, FormatsRoundTrip) {
  EXPECT_EQ(formatTimeMs(1767972600250), "2026-01-09T15:30:00.250Z");
  EXPECT_EQ(parseTimeMs(formatTimeMs(1767972600250)).value(), 1767972600250);
  EXPECT_EQ(formatTimeMs(0), "1970-01-01T00:00:00.000Z");
}

TEST(DlqRate, ParsesPerSecondMinuteHour) {
  EXPECT_DOUBLE_EQ(parseRate("200/s").value(), 200.0);
  EXPECT_DOUBLE_EQ(parseRate("200").value(), 200.0);
  EXPECT_DOUBLE_EQ(parseRate("120/m").value(), 2.0);
  EXPECT_DOUBLE_EQ(parseRate("36/h").value(), 0.01);
  for (const char* bad : {"", "0/s", "fast", "10/d", "-1/s", "1.5/s", "/s"})
    EXPECT_FALSE(parseRate(bad).has_value()) << bad;
}

TEST(DlqPosition, ParsesPartitionColonOffset) {
  EXPECT_EQ(parsePartitionOffset("2:1500").value(), std::make_pair(2, int64_t{1500}));
  for (const char* bad : {"", "2", ":5", "2:", "a:1", "1:-1", "99999999999:1"})
    EXPECT_FALSE(parsePartitionOffset(bad).has_value()) << bad;
}

Result<DlqQuery> parseAll(const std::vector<std::string>& args) {
  DlqQuery f;
  for (std::size_t i = 0; i < args.size(); ++i) {
    auto r = parseQueryArg(args, i, f);
    if (!r) return std::unexpected(r.error());
    if (!*r) return fail("not a filter: " + args[i]);
  }
  return f;
}

TEST(DlqQueryArgs, ParsesEveryFilterFlag) {
  auto f = parseAll({"--subscription", "sub_1", "--event-type", "order.created", "--error-class",
                     "http_5xx", "--since", "2026-01-09T00:00:00Z", "--until", "1767972600000"});
  ASSERT_TRUE(f.has_value()) << f.error().message;
  EXPECT_EQ(f->subscription_id, "sub_1");
  EXPECT_EQ(f->event_type, "order.created");
  EXPECT_EQ(f->error_class, "http_5xx");
  EXPECT_EQ(f->since_ms, 1767916800000);
  EXPECT_EQ(f->until_ms, 1767972600000);
}

TEST(DlqQueryArgs, LeavesOtherArgumentsToTheCaller) {
  DlqQuery f;
  std::vector<std::string> args = {"--dry-run", "--subscription", "s"};
  std::size_t i = 0;
  EXPECT_FALSE(parseQueryArg(args, i, f).value());
  EXPECT_EQ(i, 0u);
  i = 1;
  EXPECT_TRUE(parseQueryArg(args, i, f).value());
  EXPECT_EQ(i, 2u);
}

TEST(DlqQueryArgs, RejectsMissingOrBadValues) {
  EXPECT_FALSE(parseAll({"--subscription"}).has_value());
  EXPECT_FALSE(parseAll({"--since", "soon"}).has_value());
  EXPECT_FALSE(parseAll({"--event-type", ""}).has_value());
  EXPECT_FALSE(parseAll({"--since", "2000", "--until", "1000"}).has_value());
}

TEST(DlqQuery, MatchesOnHeadersAndTimestamp) {
  DlqQuery f;
  f.subscription_id = "sub_a";
  f.error_class = "http_5xx";
  f.since_ms = 1000;
  f.until_ms = 2000;
  kafka::HeaderList h = {{records::kSubscriptionId, "sub_a"},
                         {records::kErrorClass, "http_5xx"},
                         {records::kEventType, "order.created"}};
  EXPECT_TRUE(f.matches(h, 1000));
  EXPECT_TRUE(f.matches(h, 2000));
  EXPECT_FALSE(f.matches(h, 999));
  EXPECT_FALSE(f.matches(h, 2001));
  f.event_type = "order.paid";
  EXPECT_FALSE(f.matches(h, 1500));
  f.event_type.clear();
  kafka::setHeader(h, records::kSubscriptionId, "sub_b");
  EXPECT_FALSE(f.matches(h, 1500));
  EXPECT_TRUE(DlqQuery{}.matches(kafka::HeaderList{}, 0));
}

TEST(DlqQuery, CanonicalFormDiffersWhenTheSelectionDiffers) {
  DlqQuery a, b;
  a.subscription_id = "x";
  b.event_type = "x";
  EXPECT_NE(a.canonical(), b.canonical());
  EXPECT_EQ(a.canonical(), DlqQuery{a}.canonical());
}

}  // namespace
}  // namespace hookpipe::dlq
