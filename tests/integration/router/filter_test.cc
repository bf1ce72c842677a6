// Payload filters and tenants across real processes: the producer API compiles the
// filter, the router evaluates it, the deliverer sends only what matched.
#include <gtest/gtest.h>

#include <set>

#include "support/harness.h"
#include "support/receiver.h"

namespace hookpipe::testing {
namespace {

using namespace std::chrono_literals;

class RouterFilterTest : public PipelineFixture {
 protected:
  void SetUp() override {
    PipelineFixture::SetUp();
    ASSERT_NO_FATAL_FAILURE(startApi());
  }
};

TEST_F(RouterFilterTest, EventReachesOnlyTheSubscriptionsWhoseFilterAndTenantMatch) {
  Receiver receiver;
  auto sub = [&](const std::string& path, const std::string& extra) {
    return subscribe(R"({"url":")" + receiver.url(path) + R"(","events":["order.*"])" + extra + "}")
        .id;
  };
  const std::string big = sub("/big", R"(,"filters":{"data.amount":{"$gte":100}})");
  const std::string shipped =
      sub("/shipped", R"(,"filters":{"data.status":["shipped"],"data.amount":{"$lt":100}})");
  sub("/globex", R"(,"tenant":"globex")");
  sub("/never", R"(,"filters":{"$or":[{"data.amount":{"$gt":1000}},{"data.x":{"$exists":true}}]})");
  pipeline_->start("router");
  pipeline_->start("deliverer");

  const std::string first =
      publish(R"({"type":"order.created","tenant":"acme","data":{"amount":150,"status":"new"}})");
  const std::string second =
      publish(R"({"type":"order.updated","data":{"amount":5,"status":"shipped"}})");
  ASSERT_TRUE(receiver.waitFor(
      [](auto& reqs) {
        std::set<std::string> targets;
        for (const auto& r : reqs) targets.insert(r.target);
        return targets.contains("/big") && targets.contains("/shipped");
      },
      60s));
  // Every delivery the router produced: exactly one per matching subscription.
  std::vector<kafka::OwnedMessage> deliveries;
  ASSERT_TRUE(eventually(
      [&] {
        deliveries = readTopic(pipeline_->config(), pipeline_->config().topics.deliveries());
        return deliveries.size() >= 2;
      },
      30s));
  std::multiset<std::string> keys;
  for (const auto& d : deliveries) keys.insert(d.key);
  EXPECT_EQ(keys, (std::multiset<std::string>{big, shipped}));
  auto to_big = receiver.requestsTo("/big");
  auto to_shipped = receiver.requestsTo("/shipped");
  ASSERT_EQ(to_big.size(), 1u);
  ASSERT_EQ(to_shipped.size(), 1u);
  EXPECT_NE(to_big[0].body.find(first), std::string::npos);
  EXPECT_NE(to_shipped[0].body.find(second), std::string::npos);

  // The tenant's own event reaches the tenant's subscription (and the unscoped filter).
  publish(R"({"type":"order.created","tenant":"globex","data":{"amount":7}})");
  ASSERT_TRUE(receiver.waitFor([](auto& reqs) { return reqs.size() >= 3; }, 60s));
  EXPECT_EQ(receiver.requestsTo("/globex").size(), 1u);
  EXPECT_TRUE(receiver.requestsTo("/never").empty());
}

// Issue 13 §4: numbers simdjson's DOM cannot hold made the event invalid JSON. Now the
// event is routed, filters compare such a number as the nearest double (±1.8e308 beyond
// the double range), and the receiver gets the body as sent.
TEST_F(RouterFilterTest, FiltersCompareNumbersBeyondInt64AndDouble) {
  Receiver receiver;
  auto sub = [&](const std::string& path, const std::string& filter) {
    return subscribe(R"({"url":")" + receiver.url(path) + R"(","events":["big.*"],"filters":)" +
                     filter + "}")
        .id;
  };
  sub("/huge", R"({"data.n":{"$gt":1e300}})");
  sub("/above-uint64", R"({"data.n":{"$gte":18446744073709551615}})");
  sub("/below-int64", R"({"data.n":{"$lt":-1e18}})");
  sub("/small", R"({"data.n":{"$lt":1000}})");
  pipeline_->start("router");
  pipeline_->start("deliverer");

  const std::string e1 = R"({"id":"evt_n1","timestamp":"t","type":"big.a","data":{"n":1e400}})";
  const std::string e2 =
      R"({"id":"evt_n2","timestamp":"t","type":"big.a","data":{"n":18446744073709551616}})";
  const std::string e3 =
      R"({"id":"evt_n3","timestamp":"t","type":"big.a","data":{"n":-9223372036854775809}})";
  for (const auto& e : {e1, e2, e3}) ASSERT_EQ(publish(e).empty(), false) << e;
  publish(R"({"id":"evt_n4","timestamp":"t","type":"big.a","data":{"n":5}})");
  // huge: e1; above-uint64: e1, e2; below-int64: e3; small: e3, evt_n4.
  ASSERT_TRUE(receiver.waitFor([](auto& reqs) { return reqs.size() >= 6; }, 60s));
  // What the router produced: one delivery per match, no more.
  std::vector<kafka::OwnedMessage> deliveries;
  ASSERT_TRUE(eventually(
      [&] {
        deliveries = readTopic(pipeline_->config(), pipeline_->config().topics.deliveries());
        return deliveries.size() >= 6;
      },
      30s));
  EXPECT_EQ(deliveries.size(), 6u);
  auto bodies = [&](const std::string& path) {
    std::set<std::string> out;
    for (const auto& r : receiver.requestsTo(path)) out.insert(r.body);
    return out;
  };
  EXPECT_EQ(bodies("/huge"), (std::set<std::string>{e1}));
  EXPECT_EQ(bodies("/above-uint64"), (std::set<std::string>{e1, e2}));
  EXPECT_EQ(bodies("/below-int64"), (std::set<std::string>{e3}));
  EXPECT_EQ(bodies("/small").size(), 2u) << "e3 and evt_n4";
  EXPECT_TRUE(bodies("/small").contains(e3));
  EXPECT_TRUE(readTopic(pipeline_->config(), pipeline_->config().topics.invalid()).empty());
}

TEST_F(RouterFilterTest, SubscriptionWithABadFilterIsRejectedWithTheReason) {
  auto res = httpRequest("POST", pipeline_->apiUrl("/v1/subscriptions"),
                         R"({"url":"https://example.com/h","events":["*"],)"
                         R"("filters":{"data.name":{"$regex":"(unclosed"}}})");
  EXPECT_EQ(res.status, 400) << res.body;
  EXPECT_NE(res.body.find("data.name.$regex"), std::string::npos) << res.body;
}

}  // namespace
}  // namespace hookpipe::testing
