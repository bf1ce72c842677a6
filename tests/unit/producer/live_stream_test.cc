#include "producer/live_stream.h"

#include <gtest/gtest.h>

namespace hookpipe::producer {
namespace {

TEST(StreamPositionTest, TextRoundTrips) {
  StreamPosition p{{12, 40, 0}, {5, 7}};
  EXPECT_EQ(p.text(), "12,40,0.5,7");
  auto back = StreamPosition::parse(p.text());
  ASSERT_TRUE(back);
  EXPECT_EQ(back->events, p.events);
  EXPECT_EQ(back->attempts, p.attempts);
}

TEST(StreamPositionTest, NoAttemptsTopicIsAnEmptyList) {
  auto p = StreamPosition::parse("3,4.");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->events, (std::vector<int64_t>{3, 4}));
  EXPECT_TRUE(p->attempts.empty());
}

TEST(StreamPositionTest, MalformedTextIsRefused) {
  for (const char* bad : {"", "1,2", "1..2", "1.2.3", "a.1", "1,,2.3", "-1.2", ".1", "1.2,x",
                          "99999999999999999999.1"})
    EXPECT_FALSE(StreamPosition::parse(bad)) << bad;
}

TEST(StreamFilterTest, ReadsKindsTypesTenantAndSubscription) {
  StreamFilter f;
  auto problems = parseStreamFilter({{"kinds", "attempts"},
                                     {"types", "order.*,invoice.paid"},
                                     {"tenant", "acme"},
                                     {"subscription", "sub_1"}},
                                    f);
  EXPECT_TRUE(problems.empty());
  EXPECT_FALSE(f.events);
  EXPECT_TRUE(f.attempts);
  EXPECT_EQ(f.types, (std::vector<std::string>{"order.*", "invoice.paid"}));
  EXPECT_EQ(f.tenant, "acme");
  EXPECT_EQ(f.subscription, "sub_1");
}

TEST(StreamFilterTest, EveryBadParameterIsNamed) {
  StreamFilter f;
  auto problems =
      parseStreamFilter({{"kinds", "events,logs"}, {"types", ""}, {"tenant", ""}, {"x", "1"}}, f);
  std::vector<std::string> names;
  for (const auto& p : problems) names.push_back(p.pointer);
  EXPECT_EQ(names, (std::vector<std::string>{"x", "kinds", "types", "tenant"}));
}

TEST(StreamMatchesTest, TypesTenantAndKinds) {
  StreamFilter f;
  f.types = {"order.*"};
  f.tenant = "acme";
  EXPECT_TRUE(streamMatches(f, "event", "order.created", "acme", ""));
  EXPECT_FALSE(streamMatches(f, "event", "invoice.paid", "acme", ""));
  EXPECT_FALSE(streamMatches(f, "event", "order.created", "other", ""));
  f.events = false;
  EXPECT_FALSE(streamMatches(f, "event", "order.created", "acme", ""));
  EXPECT_TRUE(streamMatches(f, "attempt", "order.created", "acme", "sub_1"));
}

TEST(StreamMatchesTest, SubscriptionSeesItsAttemptsAndTheEventsItWouldReceive) {
  StreamFilter f;
  f.subscription = "sub_1";
  f.subscription_types = {"invoice.*"};
  f.subscription_tenant = "acme";
  EXPECT_TRUE(streamMatches(f, "attempt", "invoice.paid", "acme", "sub_1"));
  EXPECT_FALSE(streamMatches(f, "attempt", "invoice.paid", "acme", "sub_2"));
  EXPECT_TRUE(streamMatches(f, "event", "invoice.paid", "acme", ""));
  EXPECT_FALSE(streamMatches(f, "event", "invoice.paid", "other", ""));
  EXPECT_FALSE(streamMatches(f, "event", "order.created", "acme", ""));
}

TEST(SseFrameTest, EveryLineOfTheDataIsADataLine) {
  EXPECT_EQ(sseFrame("1.2", "event", "{\"a\":\n1}\r\n"),
            "id: 1.2\nevent: event\ndata: {\"a\":\ndata: 1}\ndata: \n\n");
  EXPECT_EQ(sseFrame("", "dropped", "{}"), "event: dropped\ndata: {}\n\n");
}

}  // namespace
}  // namespace hookpipe::producer
