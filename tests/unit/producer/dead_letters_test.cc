// Parameters of GET /v1/dead-letters and POST /v1/dead-letters/replay, and the page
// cursor of the shared dead-letter reader.
#include "producer/dead_letters.h"

#include <gtest/gtest.h>

#include "common/dlq/reader.h"

namespace hookpipe::producer {
namespace {

std::string pointers(const std::vector<Problem>& problems) {
  std::string out;
  for (const auto& p : problems) out += p.pointer + "=" + p.message + "\n";
  return out;
}

TEST(DeadLetterQuery, ReadsFiltersTimeRangeLimitAndCursor) {
  DeadLetterQuery q;
  auto problems = parseDeadLetterQuery({{"subscription_id", "sub_1"},
                                        {"event_type", "order.created"},
                                        {"error_class", "http_5xx"},
                                        {"since", "2026-01-09T15:30:00Z"},
                                        {"until", "1767972700000"},
                                        {"limit", "5"},
                                        {"cursor", "0:12,2:7"},
                                        {"include_body", "true"}},
                                       q);
  ASSERT_TRUE(problems.empty()) << pointers(problems);
  EXPECT_EQ(q.filter.subscription_id, "sub_1");
  EXPECT_EQ(q.filter.event_type, "order.created");
  EXPECT_EQ(q.filter.error_class, "http_5xx");
  EXPECT_EQ(q.filter.since_ms, 1767972600000);
  EXPECT_EQ(q.filter.until_ms, 1767972700000);
  EXPECT_EQ(q.limit, 5u);
  EXPECT_EQ(q.cursor, (dlq::Positions{{0, 12}, {2, 7}}));
  EXPECT_TRUE(q.include_body);
}

TEST(DeadLetterQuery, EveryBadParameterIsNamed) {
  DeadLetterQuery q;
  auto problems = parseDeadLetterQuery(
      {{"since", "yesterday"}, {"limit", "0"}, {"cursor", "x"}, {"colour", "red"}}, q);
  const std::string text = pointers(problems);
  ASSERT_EQ(problems.size(), 4u) << text;
  EXPECT_NE(text.find("since=since: bad time"), std::string::npos) << text;
  EXPECT_NE(text.find("limit=limit must be 1..1000"), std::string::npos) << text;
  EXPECT_NE(text.find("cursor=cursor must be a next_cursor"), std::string::npos) << text;
  EXPECT_NE(text.find("colour=unknown parameter colour"), std::string::npos) << text;
}

TEST(DeadLetterQuery, SinceAfterUntilIsRefused) {
  DeadLetterQuery q;
  auto problems = parseDeadLetterQuery({{"since", "2000"}, {"until", "1000"}}, q);
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_EQ(problems[0].message, "since is after until");
}

TEST(ReplayRequest, ReadsEveryFieldAndDerivesTheReplayId) {
  dlq::ReplayOptions o;
  auto problems = parseReplayRequest(
      R"({"subscription_id":"sub_1","error_class":"timeout","since":1000,
          "until":"2026-01-09T15:30:00Z","dry_run":true,"max":10,"to_subscription":"sub_2",
          "rate_per_s":2.5,"max_replay_count":7})",
      o);
  ASSERT_TRUE(problems.empty()) << pointers(problems);
  EXPECT_EQ(o.filter.subscription_id, "sub_1");
  EXPECT_EQ(o.filter.error_class, "timeout");
  EXPECT_EQ(o.filter.since_ms, 1000);
  EXPECT_EQ(o.filter.until_ms, 1767972600000);
  EXPECT_TRUE(o.dry_run);
  EXPECT_EQ(o.max, 10u);
  EXPECT_EQ(o.to_subscription, "sub_2");
  EXPECT_DOUBLE_EQ(o.rate_per_s, 2.5);
  EXPECT_EQ(o.max_replay_count, 7);
  EXPECT_EQ(o.replay_id, dlq::defaultReplayId(o.filter, "sub_2"));
}

TEST(ReplayRequest, AnExplicitReplayIdIsKept) {
  dlq::ReplayOptions o;
  ASSERT_TRUE(parseReplayRequest(R"({"replay_id":"incident-42"})", o).empty());
  EXPECT_EQ(o.replay_id, "incident-42");
}

TEST(ReplayRequest, EveryBadFieldGetsAPointer) {
  dlq::ReplayOptions o;
  auto problems = parseReplayRequest(
      R"({"max":0,"dry_run":"yes","since":"soon","rate_per_s":-1,"replay_id":"a b","x":1,
          "to_subscription":""})",
      o);
  const std::string text = pointers(problems);
  EXPECT_EQ(problems.size(), 7u) << text;
  for (const char* pointer :
       {"/max=", "/dry_run=", "/since=", "/rate_per_s=", "/replay_id=", "/x=", "/to_subscription="})
    EXPECT_NE(text.find(pointer), std::string::npos) << pointer << "\n" << text;
}

// The body is read with Boost.JSON, which would quietly keep the last "max".
TEST(ReplayRequest, ANameGivenTwiceIsRefusedAtIt) {
  dlq::ReplayOptions o;
  auto problems = parseReplayRequest(R"({"max":1,"subscription_id":"s","max":1000000})", o);
  ASSERT_EQ(problems.size(), 1u) << pointers(problems);
  EXPECT_EQ(problems[0].pointer, "/max");
  EXPECT_EQ(problems[0].message, "'max' is given more than once");
}

TEST(ReplayRequest, TheBodyMustBeAnObject) {
  dlq::ReplayOptions o;
  auto problems = parseReplayRequest("", o);
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_NE(problems[0].message.find("send {} to replay every dead letter"), std::string::npos);
  EXPECT_EQ(parseReplayRequest("[]", o).size(), 1u);
}

TEST(DeadLetterCursor, PositionsRoundTripAndBadTextIsAnError) {
  const dlq::Positions positions{{0, 12}, {1, 0}, {5, 123456789012}};
  EXPECT_EQ(dlq::formatPositions(positions), "0:12,1:0,5:123456789012");
  EXPECT_EQ(dlq::parsePositions("0:12,1:0,5:123456789012"), positions);
  EXPECT_FALSE(dlq::parsePositions("0:12,").has_value());
  EXPECT_FALSE(dlq::parsePositions("0-12").has_value());
  EXPECT_FALSE(dlq::parsePositions("-1:3").has_value());
}

}  // namespace
}  // namespace hookpipe::producer
