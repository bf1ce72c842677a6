// Validation returns its problems as data (common/error.h): each at its JSON pointer, the
// message joining them for callers that only show text. What the API's 400 bodies list.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "common/error.h"
#include "common/json/event.h"
#include "common/subscriptions/subscription.h"
#include "producer/event_type.h"

namespace hookpipe {
namespace {

std::vector<std::string> pointers(const Error& e) {
  std::vector<std::string> out;
  for (const auto& p : e.problems) out.push_back(p.pointer);
  return out;
}

TEST(Problems, InvalidInputJoinsTheMessagesAndIsNotRetryable) {
  const Error e =
      invalidInput({{"/url", "url is required"}, {"/events", "events must be an array"}});
  EXPECT_EQ(e.message, "url is required; events must be an array");
  EXPECT_FALSE(e.retryable);
  ASSERT_EQ(e.problems.size(), 2u);
  EXPECT_EQ(e.problems[1], (Problem{"/events", "events must be an array"}));
  EXPECT_TRUE(fail("broker down", true).error().problems.empty());
}

TEST(Problems, EventParserPointsAtTheFieldItRefuses) {
  json::EventParser parser(1024);
  struct Case {
    std::string json;
    std::string pointer;
  };
  for (const auto& c : std::vector<Case>{
           {R"({"id":"e1"})", "/type"},
           {R"({"type":""})", "/type"},
           {R"({"type":"a","id":5})", "/id"},
           {R"({"type":"a","timestamp":5})", "/timestamp"},
           {R"({"type":"a","data":{"amount":1,"amount":2}})", "/data/amount"},
           {R"({"type":"a","a/b":1,"a/b":2})", "/a~1b"},
           {"[1]", ""},
           {"{", ""},
           {std::string(2000, ' '), ""},
       }) {
    SCOPED_TRACE(c.json.substr(0, 60));
    auto ev = parser.parse(c.json, 0);
    ASSERT_FALSE(ev.has_value());
    EXPECT_EQ(pointers(ev.error()), std::vector<std::string>{c.pointer});
    EXPECT_EQ(ev.error().message, ev.error().problems[0].message);
  }
}

TEST(Problems, EventTypeListsEveryProblemAtItsPointer) {
  auto t = producer::parseEventType(
      R"({"name":"bad name","schema":[1],"archived":"yes","colour":"red","a/b":1})", true);
  ASSERT_FALSE(t.has_value());
  EXPECT_EQ(pointers(t.error()),
            (std::vector<std::string>{"/name", "/schema", "/archived", "/colour", "/a~1b"}));
  EXPECT_EQ(t.error().message.find("name may only hold"), 0u) << t.error().message;
  auto not_object = producer::parseEventType("[1]", true);
  ASSERT_FALSE(not_object.has_value());
  EXPECT_EQ(pointers(not_object.error()), std::vector<std::string>{""});
}

TEST(Problems, ParseSubscriptionKeepsCheckSubscriptionsProblems) {
  const std::string json = R"({"url":"ftp://x","events":[],"timeout_ms":1})";
  auto checked = checkSubscription(json, SubscriptionSource::kStored);
  auto parsed = parseSubscription(json);
  ASSERT_FALSE(checked.has_value());
  ASSERT_FALSE(parsed.has_value());
  EXPECT_EQ(parsed.error().problems, checked.error());
  EXPECT_EQ(parsed.error().message, invalidInput(checked.error()).message);
  EXPECT_GE(parsed.error().problems.size(), 2u);
}

}  // namespace
}  // namespace hookpipe
