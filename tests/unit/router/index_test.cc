#include "router/index.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

namespace hookpipe::router {
namespace {

// Builds a table snapshot from subscription JSON, ids "s0", "s1", …
std::shared_ptr<const SubscriptionTable::Map> table(const std::vector<std::string>& json) {
  auto map = std::make_shared<SubscriptionTable::Map>();
  for (std::size_t i = 0; i < json.size(); ++i) {
    auto s = parseSubscription(json[i]);
    EXPECT_TRUE(s.has_value()) << json[i] << ": " << (s ? "" : s.error().message);
    if (!s) continue;
    s->id = "s";
    s->id += std::to_string(i);
    std::string id = s->id;  // read before the move below
    (*map)[id] = std::make_shared<const Subscription>(std::move(*s));
  }
  return map;
}

std::string sub(const std::string& events, const std::string& extra = "") {
  return R"({"url":"https://example.com/h","events":)" + events + extra + "}";
}

std::vector<std::string> ids(const std::vector<const Subscription*>& subs) {
  std::vector<std::string> out;
  for (const auto* s : subs) out.push_back(s->id);
  return out;
}

std::vector<std::string> route(const SubscriptionIndex& index, const std::string& type,
                               const std::string& body) {
  simdjson::dom::parser parser;
  EventView view(parser, type, body);
  std::vector<const Subscription*> out;
  index.match(view, out);
  return ids(out);
}

using Ids = std::vector<std::string>;

TEST(SubscriptionIndex, MatchesExactPrefixAndWildcardPatterns) {
  SubscriptionIndex index(
      table({sub(R"(["order.created"])"), sub(R"(["order.*"])"), sub(R"(["*"])"),
             sub(R"(["invoice.paid"])"), sub(R"(["order.created.*"])"), sub(R"(["ord.*"])")}));
  const std::string body = R"({"type":"x"})";
  EXPECT_EQ(route(index, "order.created", body), (Ids{"s0", "s1", "s2"}));
  EXPECT_EQ(route(index, "order.created.v2", body), (Ids{"s1", "s2", "s4"}));
  EXPECT_EQ(route(index, "order", body), (Ids{"s2"}));  // "order.*" needs the dot
  EXPECT_EQ(route(index, "orders.created", body), (Ids{"s2"}));
  EXPECT_EQ(route(index, "invoice.paid", body), (Ids{"s2", "s3"}));
  EXPECT_EQ(route(index, "Order.created", body), (Ids{"s2"}));  // case-sensitive
}

TEST(SubscriptionIndex, OverlappingPatternsDeliverOnce) {
  SubscriptionIndex index(table({sub(R"(["order.created","order.*","*","order.created"])")}));
  EXPECT_EQ(route(index, "order.created", "{}"), (Ids{"s0"}));
}

TEST(SubscriptionIndex, TenantSeesOnlyItsOwnEventsUntenantedSeesAll) {
  SubscriptionIndex index(table({sub(R"(["*"])", R"(,"tenant":"acme")"),
                                 sub(R"(["*"])", R"(,"tenant":"globex")"), sub(R"(["*"])")}));
  EXPECT_EQ(route(index, "a", R"({"tenant":"acme"})"), (Ids{"s0", "s2"}));
  EXPECT_EQ(route(index, "a", R"({"tenant":"globex"})"), (Ids{"s1", "s2"}));
  EXPECT_EQ(route(index, "a", R"({"tenant":"initech"})"), (Ids{"s2"}));
  EXPECT_EQ(route(index, "a", R"({})"), (Ids{"s2"}));
  EXPECT_EQ(route(index, "a", R"({"tenant":7})"), (Ids{"s2"}));  // not a string: no tenant
  EXPECT_EQ(route(index, "a", R"({"data":{"tenant":"acme"}})"), (Ids{"s2"}));  // top level only
}

TEST(SubscriptionIndex, FiltersAreEvaluatedOnCandidates) {
  SubscriptionIndex index(table(
      {sub(R"(["order.*"])", R"(,"filters":{"data.amount":{"$gte":100}})"),
       sub(R"(["order.*"])", R"(,"filters":{"data.status":["shipped"]})"), sub(R"(["order.*"])")}));
  EXPECT_EQ(route(index, "order.created", R"({"data":{"amount":150,"status":"new"}})"),
            (Ids{"s0", "s2"}));
  EXPECT_EQ(route(index, "order.created", R"({"data":{"amount":5,"status":"shipped"}})"),
            (Ids{"s1", "s2"}));
}

TEST(SubscriptionIndex, PausedSubscriptionsStillMatch) {
  SubscriptionIndex index(table({sub(R"(["*"])", R"(,"is_active":false)")}));
  EXPECT_EQ(route(index, "a", "{}"), (Ids{"s0"}));
}

TEST(SubscriptionIndex, UnfilteredUntenantedMatchingNeverParsesTheEvent) {
  SubscriptionIndex index(table({sub(R"(["a"])"), sub(R"(["b"])", R"(,"filters":{"x":1})")}));
  simdjson::dom::parser parser;
  EventView view(parser, "a", "not json at all");
  std::vector<const Subscription*> out;
  index.match(view, out);
  EXPECT_EQ(ids(out), (Ids{"s0"}));
  EXPECT_FALSE(view.parsed());
}

TEST(SubscriptionIndex, AgreesWithALinearScanOverRandomSubscriptions) {
  std::mt19937 rng(20260109);
  auto pick = [&](const std::vector<std::string>& from) {
    return from[std::uniform_int_distribution<std::size_t>(0, from.size() - 1)(rng)];
  };
  const std::vector<std::string> types = {"a", "a.b", "a.b.c", "a.c", "b", "b.a", "c.d.e", "a.b.d"};
  const std::vector<std::string> patterns = {"a",   "a.b",   "a.b.c", "a.c", "b",     "c.d.e",
                                             "a.*", "a.b.*", "b.*",   "c.*", "c.d.*", "*"};
  const std::vector<std::string> tenants = {"", "", "t1", "t2"};
  const std::vector<std::string> filters = {
      "",
      "",
      R"({"data.n":{"$gt":5}})",
      R"({"data.s":["x","y"]})",
      R"({"$or":[{"data.n":{"$lt":2}},{"data.s":{"$regex":"^z"}}]})",
      R"({"data.s":{"$exists":false}})",
      R"({"data.n":{"$ne":3}})"};
  std::vector<std::string> json;
  for (int i = 0; i < 400; ++i) {
    std::string events = "[";
    const int n = std::uniform_int_distribution<int>(1, 3)(rng);
    for (int j = 0; j < n; ++j) events += (j ? ",\"" : "\"") + pick(patterns) + "\"";
    events += "]";
    std::string extra;
    if (auto t = pick(tenants); !t.empty()) extra += R"(,"tenant":")" + t + "\"";
    if (auto f = pick(filters); !f.empty()) extra += R"(,"filters":)" + f;
    if (rng() % 5 == 0) extra += R"(,"is_active":false)";
    json.push_back(sub(events, extra));
  }
  auto snapshot = table(json);
  SubscriptionIndex index(snapshot);
  ASSERT_EQ(index.size(), 400u);
  const std::vector<std::string> event_tenants = {"", R"("tenant":"t1",)", R"("tenant":"t2",)",
                                                  R"("tenant":"t3",)", R"("tenant":1,)"};
  const std::vector<std::string> datas = {R"({"n":1,"s":"x"})", R"({"n":3})", R"({"n":9,"s":"z1"})",
                                          R"({"s":"y"})",       R"({})",      R"("scalar")"};
  std::size_t total = 0;
  for (int i = 0; i < 3000; ++i) {
    const std::string type = pick(types);
    const std::string body =
        "{" + pick(event_tenants) + R"("type":")" + type + R"(","data":)" + pick(datas) + "}";
    simdjson::dom::parser p1, p2;
    EventView v1(p1, type, body), v2(p2, type, body);
    std::vector<const Subscription*> indexed, linear;
    index.match(v1, indexed);
    matchLinear(*snapshot, v2, linear);
    ASSERT_EQ(ids(indexed), ids(linear)) << body;
    total += indexed.size();
  }
  EXPECT_GT(total, 3000u);  // the randomized cases do match, not just agree on nothing
}

}  // namespace
}  // namespace hookpipe::router
