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

TEST_F(RouterFilterTest, SubscriptionWithABadFilterIsRejectedWithTheReason) {
  auto res = httpRequest("POST", pipeline_->apiUrl("/v1/subscriptions"),
                         R"({"url":"https://example.com/h","events":["*"],)"
                         R"("filters":{"data.name":{"$regex":"(unclosed"}}})");
  EXPECT_EQ(res.status, 400) << res.body;
  EXPECT_NE(res.body.find("data.name.$regex"), std::string::npos) << res.body;
}

}  // namespace
}  // namespace hookpipe::testing
