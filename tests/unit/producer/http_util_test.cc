#include "producer/http_util.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "producer/api.h"

namespace hookpipe::producer {
namespace {

TEST(PercentDecode, DecodesEscapesAndPlusAndRefusesBrokenEscapes) {
  EXPECT_EQ(percentDecode("order.%2A"), "order.*");
  EXPECT_EQ(percentDecode("a+b"), "a b");
  EXPECT_FALSE(percentDecode("%2"));
  EXPECT_FALSE(percentDecode("%zz"));
}

TEST(ParseQuery, SplitsPairsAndKeepsTheLastRepeat) {
  auto q = parseQuery("/v1/subscriptions?event_type=order.created&limit=5&limit=7&flag");
  ASSERT_TRUE(q);
  EXPECT_EQ(q->at("event_type"), "order.created");
  EXPECT_EQ(q->at("limit"), "7");
  EXPECT_EQ(q->at("flag"), "");
  EXPECT_TRUE(parseQuery("/v1/subscriptions")->empty());
  EXPECT_FALSE(parseQuery("/x?a=%G0"));
}

TEST(PathSegments, DropsEmptySegmentsAndTheQuery) {
  EXPECT_EQ(pathSegments("/v1/subscriptions/sub_1/secret/rotate?grace_ms=5"),
            (std::vector<std::string>{"v1", "subscriptions", "sub_1", "secret", "rotate"}));
  EXPECT_EQ(pathSegments("//healthz/"), std::vector<std::string>{"healthz"});
  EXPECT_TRUE(pathSegments("/").empty());
}

TEST(PathSegments, DecodesEachSegmentAfterSplitting) {
  // An encoded '/' stays inside its segment: a legacy id "x/../y" can be named.
  EXPECT_EQ(pathSegments("/v1/subscriptions/x%2F..%2Fy"),
            (std::vector<std::string>{"v1", "subscriptions", "x/../y"}));
  EXPECT_EQ(pathSegments("/v1/subscriptions/a%0Ab/pause"),
            (std::vector<std::string>{"v1", "subscriptions", "a\nb", "pause"}));
  // '+' is a space only in query strings; a broken escape leaves the segment as it is.
  EXPECT_EQ(pathSegments("/v1/a+b/c%2/d%zz"),
            (std::vector<std::string>{"v1", "a+b", "c%2", "d%zz"}));
  EXPECT_EQ(pathSegments("/v1/%73ubscriptions"), (std::vector<std::string>{"v1", "subscriptions"}));
}

TEST(PointerToken, EscapesTildeAndSlash) { EXPECT_EQ(pointerToken("a/b~c"), "a~1b~0c"); }

TEST(OpenApi, DocumentIsJsonAndDescribesEveryRoute) {
  boost::system::error_code ec;
  auto doc = boost::json::parse(openapiDocument(), ec);
  ASSERT_FALSE(ec) << ec.message();
  const auto& paths = doc.at("paths").as_object();
  for (const char* p :
       {"/healthz", "/v1/openapi.json", "/v1/events", "/v1/events/batch", "/v1/subscriptions",
        "/v1/subscriptions/{id}", "/v1/subscriptions/{id}/pause", "/v1/subscriptions/{id}/resume",
        "/v1/subscriptions/{id}/secret", "/v1/subscriptions/{id}/secret/rotate",
        "/v1/subscriptions/{id}/deliveries", "/v1/subscriptions/{id}/deliveries/export",
        "/v1/deliveries/export", "/v1/deliveries/{id}", "/v1/subscriptions/{id}/stats",
        "/v1/tenants/{tenant}/stats", "/v1/stats", "/v1/stream"})
    EXPECT_TRUE(paths.contains(p)) << p;
  const auto& sub = paths.at("/v1/subscriptions/{id}").as_object();
  for (const char* m : {"get", "put", "patch", "delete"}) EXPECT_TRUE(sub.contains(m)) << m;
}

}  // namespace
}  // namespace hookpipe::producer
