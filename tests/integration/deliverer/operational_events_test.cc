// Operational events (docs/operational-events.md) on the real broker and Redis, every role
// its own `hookpipe` process: a subscription to `hookpipe.*` at a healthy receiver hears of
// another endpoint's breaker opening and recovering, of a 410 disabling a subscription, and
// of a storm of dead letters as one aggregated event; dead letters of hookpipe.* events
// raise nothing (no loop); and the types are in the event-type catalog.
#include <gtest/gtest.h>

#include <atomic>
#include <boost/json.hpp>
#include <map>
#include <string>
#include <vector>

#include "common/kafka/kafka.h"
#include "common/records/delivery.h"
#include "support/harness.h"
#include "support/poll.h"
#include "support/receiver.h"

namespace hookpipe::testing {
namespace {

using namespace std::chrono_literals;

constexpr auto kWindow = 3s;  // HOOKPIPE_OPERATIONAL_EVENTS_WINDOW in these tests

class OperationalEventsTest : public PipelineFixture {
 protected:
  // The API and a subscription to hookpipe.* at the healthy `ops_` receiver; the test's
  // own subscriptions are made next, before startRoles() (so the router has them all).
  void startApi() {
    ASSERT_NO_FATAL_FAILURE(PipelineFixture::startApi());
    ops_sub_ = subscribe(R"({"url":")" + ops_.url("/ops") + R"(","events":["hookpipe.*"]})").id;
  }
  // The router, the retry role and a one-worker deliverer with `env`.
  void startRoles(std::map<std::string, std::string> env = {}) {
    pipeline_->start("router");
    pipeline_->start("retry");
    env["HOOKPIPE_DELIVERER_THREADS"] = "1";
    env["HOOKPIPE_OPERATIONAL_EVENTS_WINDOW"] = "3s";
    pipeline_->start("deliverer", "1", env);
  }
  // Publishes `n` events of `type` straight to the events topic, of `tenant` when given.
  void produceEvents(const std::string& type, int n, const std::string& tenant = {}) {
    auto producer = kafka::Producer::create(pipeline_->config());
    ASSERT_TRUE(producer.has_value());
    const std::string tenant_field = tenant.empty() ? "" : R"(,"tenant":")" + tenant + "\"";
    for (int i = 0; i < n; ++i) {
      const std::string id = "evt_" + type + "_" + std::to_string(i);
      ASSERT_TRUE((*producer)->produceBlocking(pipeline_->config().topics.events(), id,
                                               R"({"id":")" + id + R"(","type":")" + type + "\"" +
                                                   tenant_field + R"(,"data":{"seq":)" +
                                                   std::to_string(i) + "}}",
                                               {}, nullptr));
    }
    ASSERT_TRUE((*producer)->flush(10s));
  }
  // The operational events the ops receiver got, parsed, in arrival order; of `type` about
  // `subscription` when given.
  std::vector<boost::json::object> received(const std::string& type = {},
                                            const std::string& subscription = {}) const {
    std::vector<boost::json::object> out;
    for (const auto& r : ops_.requestsTo("/ops")) {
      boost::system::error_code ec;
      auto v = boost::json::parse(r.body, ec);
      if (ec || !v.is_object()) continue;
      const auto& o = v.as_object();
      if (!type.empty() && o.at("type").as_string() != type) continue;
      if (!subscription.empty() &&
          o.at("data").as_object().at("subscription_id").as_string() != subscription)
        continue;
      out.push_back(o);
    }
    return out;
  }
  Receiver ops_;
  std::string ops_sub_;
};

TEST_F(OperationalEventsTest, ABreakerOpeningAndItsRecoveryReachAHookpipeSubscription) {
  std::atomic<bool> healthy{false};
  Receiver down([&](const ReceivedRequest&) { return healthy ? 200 : 503; });
  ASSERT_NO_FATAL_FAILURE(startApi());
  const auto sub = subscribe(R"({"url":")" + down.url("/down") +
                             R"(","events":["down.*"],"tenant":"acme","retry_config":)"
                             R"({"strategy":"fixed","retry_delay":500,"max_retries":100,)"
                             R"("jitter":false}})");
  startRoles({{"HOOKPIPE_BREAKER_WINDOW", "2s"},
              {"HOOKPIPE_BREAKER_COOLDOWN", "3s"},
              {"HOOKPIPE_ENDPOINT_CONCURRENCY", "4"}});
  produceEvents("down.event", 30, "acme");
  ASSERT_TRUE(testkit::pollUntil(
      [&] { return !received("hookpipe.subscription.breaker_opened", sub.id).empty(); }, 60s))
      << pipeline_->logs();
  EXPECT_TRUE(received("hookpipe.subscription.breaker_recovered", sub.id).empty());
  healthy = true;
  ASSERT_TRUE(testkit::pollUntil(
      [&] { return !received("hookpipe.subscription.breaker_recovered", sub.id).empty(); }, 30s));

  const auto opened = received("hookpipe.subscription.breaker_opened", sub.id);
  const auto recovered = received("hookpipe.subscription.breaker_recovered", sub.id);
  ASSERT_EQ(opened.size(), 1u);  // re-openings after failed probes are not reported
  ASSERT_EQ(recovered.size(), 1u);
  const auto& o = opened[0];
  EXPECT_EQ(o.at("tenant").as_string(), "acme");  // the subscription's tenant
  EXPECT_TRUE(o.at("id").as_string().starts_with("evt_"));
  EXPECT_FALSE(o.at("timestamp").as_string().empty());
  EXPECT_GE(o.at("data").at("window_failures").as_int64(), 5);
  EXPECT_EQ(recovered[0].at("data").at("opened_at"), o.at("data").at("opened_at"));
  EXPECT_GE(recovered[0].at("data").at("open_ms").as_int64(), 3000);  // a cooldown at least
  // In that order at the receiver.
  const auto all = received();
  std::vector<std::string> order;
  for (const auto& e : all)
    if (e.at("data").at("subscription_id").as_string() == sub.id &&
        e.at("type").as_string().starts_with("hookpipe.subscription.breaker"))
      order.push_back(std::string(e.at("type").as_string()));
  EXPECT_EQ(order, (std::vector<std::string>{"hookpipe.subscription.breaker_opened",
                                             "hookpipe.subscription.breaker_recovered"}));
}

TEST_F(OperationalEventsTest, A410GivesOneSubscriptionDisabledEvent) {
  Receiver gone([](const ReceivedRequest&) { return 410; });
  ASSERT_NO_FATAL_FAILURE(startApi());
  const auto sub = subscribe(R"({"url":")" + gone.url("/gone") +
                             R"(","events":["gone.*"],"name":"going away"})");
  startRoles();
  produceEvents("gone.event", 5);
  ASSERT_TRUE(testkit::pollUntil(
      [&] { return !received("hookpipe.subscription.disabled", sub.id).empty(); }, 60s))
      << pipeline_->logs();
  const auto e = received("hookpipe.subscription.disabled", sub.id).at(0);
  EXPECT_EQ(e.at("data").at("reason").as_string(), "http_410_gone");
  EXPECT_EQ(e.at("data").at("status").as_int64(), 410);
  EXPECT_EQ(e.at("data").at("subscription_name").as_string(), "going away");
  EXPECT_FALSE(e.contains("tenant"));  // an untenanted subscription
  // Once, however many of its requests answered 410 (and its dead letters come aggregated).
  ASSERT_TRUE(testkit::pollUntil(
      [&] { return !received("hookpipe.delivery.dead_lettered", sub.id).empty(); }, 30s));
  EXPECT_TRUE(testkit::holdsFor(
      [&] { return received("hookpipe.subscription.disabled", sub.id).size() == 1; }, 2s));
}

TEST_F(OperationalEventsTest, FiftyDeadLettersWithinAWindowGiveOneEventWithTheirCount) {
  Receiver bad([](const ReceivedRequest&) { return 400; });
  ASSERT_NO_FATAL_FAILURE(startApi());
  const auto sub = subscribe(R"({"url":")" + bad.url("/bad") + R"(","events":["bad.*"]})");
  startRoles();
  produceEvents("bad.event", 50);
  ASSERT_TRUE(testkit::pollUntil(
      [&] { return !received("hookpipe.delivery.dead_lettered", sub.id).empty(); }, 60s))
      << pipeline_->logs();
  // No second event: all 50 went within the first window.
  EXPECT_TRUE(testkit::holdsFor(
      [&] { return received("hookpipe.delivery.dead_lettered", sub.id).size() == 1; },
      kWindow + 2s));
  const auto e = received("hookpipe.delivery.dead_lettered", sub.id).at(0);
  const auto& data = e.at("data").as_object();
  EXPECT_EQ(data.at("count").as_int64(), 50);
  EXPECT_EQ(data.at("reasons").at("http_4xx").as_int64(), 50);
  EXPECT_EQ(data.at("error_classes").at("http_4xx").as_int64(), 50);
  EXPECT_FALSE(data.at("first_delivery_id").as_string().empty());
  EXPECT_FALSE(data.at("last_delivery_id").as_string().empty());
  EXPECT_NE(data.at("first_delivery_id"), data.at("last_delivery_id"));
  EXPECT_LE(data.at("first_dead_lettered_at").as_string(),
            data.at("last_dead_lettered_at").as_string());
  EXPECT_EQ(bad.requestsTo("/bad").size(), 50u);
}

TEST_F(OperationalEventsTest, DeadLettersOfOperationalEventsRaiseNoOperationalEvents) {
  // A second hookpipe.* subscription whose endpoint refuses everything with a 400: every
  // operational event dead-letters there, and none of those dead letters is reported.
  Receiver refuses([](const ReceivedRequest&) { return 400; });
  Receiver bad([](const ReceivedRequest&) { return 400; });
  ASSERT_NO_FATAL_FAILURE(startApi());
  const auto loop =
      subscribe(R"({"url":")" + refuses.url("/loop") + R"(","events":["hookpipe.*"]})");
  const auto user = subscribe(R"({"url":")" + bad.url("/bad") + R"(","events":["bad.*"]})");
  startRoles();
  produceEvents("bad.event", 10);
  // The user subscription's dead letters: one event, to both hookpipe.* subscriptions.
  ASSERT_TRUE(testkit::pollUntil(
      [&] { return !received("hookpipe.delivery.dead_lettered", user.id).empty(); }, 60s))
      << pipeline_->logs();
  ASSERT_TRUE(refuses.waitFor([](auto& r) { return !r.empty(); }, 30s));
  // It dead-lettered there (a hookpipe.* event in the DLQ for `loop`) ...
  ASSERT_TRUE(testkit::pollUntil(
      [&] {
        for (const auto& m : readTopic(pipeline_->config(), pipeline_->config().topics.dlq()))
          if (m.key == loop.id)
            for (const auto& [name, value] : m.headers)
              if (name == records::kEventType && value == "hookpipe.delivery.dead_lettered")
                return true;
        return false;
      },
      30s));
  // ... and for three windows nothing is raised about it, nor anything else arrives.
  const std::size_t seen = received().size();
  EXPECT_TRUE(testkit::holdsFor(
      [&] {
        return received("hookpipe.delivery.dead_lettered", loop.id).empty() &&
               received().size() == seen && refuses.requestsTo("/loop").size() == 1;
      },
      3 * kWindow))
      << received().size() << " operational events, " << refuses.requestsTo("/loop").size()
      << " requests to the refusing one";
  EXPECT_EQ(seen, 1u);
}

TEST_F(OperationalEventsTest, TurnedOffTheDelivererPublishesNone) {
  Receiver gone([](const ReceivedRequest&) { return 410; });
  ASSERT_NO_FATAL_FAILURE(startApi());
  const auto sub = subscribe(R"({"url":")" + gone.url("/gone") + R"(","events":["gone.*"]})");
  startRoles({{"HOOKPIPE_OPERATIONAL_EVENTS", "false"}});
  produceEvents("gone.event", 5);
  // Disabled and dead-lettered as ever ...
  ASSERT_TRUE(testkit::pollUntil(
      [&] {
        return readTopic(pipeline_->config(), pipeline_->config().topics.dlq()).size() >=
                   gone.requestsTo("/gone").size() &&
               !gone.requestsTo("/gone").empty();
      },
      60s))
      << pipeline_->logs();
  // ... and no operational event for two windows.
  EXPECT_TRUE(testkit::holdsFor([&] { return received().empty(); }, 2 * kWindow));
  for (const auto& m : readTopic(pipeline_->config(), pipeline_->config().topics.events()))
    EXPECT_EQ(m.value.find("\"type\":\"hookpipe."), std::string::npos) << m.value;
}

TEST_F(OperationalEventsTest, TheTypesAreInTheCatalogWithSchemasAndExamples) {
  ASSERT_NO_FATAL_FAILURE(startApi());
  const std::vector<std::string> names = {
      "hookpipe.delivery.dead_lettered", "hookpipe.subscription.breaker_opened",
      "hookpipe.subscription.breaker_recovered", "hookpipe.subscription.disabled"};
  std::map<std::string, boost::json::object> listed;
  ASSERT_TRUE(testkit::pollUntil(
      [&] {
        listed.clear();
        auto res = httpRequest("GET", pipeline_->apiUrl("/v1/event-types"), "");
        if (res.status != 200) return false;
        const boost::json::value list = boost::json::parse(res.body);
        for (const auto& t : list.at("data").as_array())
          listed[std::string(t.at("name").as_string())] = t.as_object();
        for (const auto& n : names)
          if (!listed.contains(n)) return false;
        return true;
      },
      30s))
      << listed.size() << " listed\n"
      << pipeline_->logs();
  for (const auto& n : names) {
    const auto& t = listed.at(n);
    EXPECT_TRUE(t.at("schema").is_object()) << n;
    EXPECT_TRUE(t.at("schema").at("required").is_array()) << n;
    EXPECT_TRUE(t.at("example").is_object()) << n;
    EXPECT_FALSE(t.at("description").as_string().empty()) << n;
  }
  // A restart writes nothing again (idempotent): the catalog topic holds each once.
  const unsigned short port = freePort();
  pipeline_->start("producer", "2", {{"HOOKPIPE_HTTP_PORT", std::to_string(port)}});
  ASSERT_TRUE(testkit::pollUntil(
      [&] {
        return httpRequest("GET", "http://127.0.0.1:" + std::to_string(port) + "/healthz", "")
                   .status == 200;
      },
      30s));
  auto count = [&] {
    std::map<std::string, int> n;
    for (const auto& m : readTopic(pipeline_->config(), pipeline_->config().topics.eventTypes()))
      ++n[m.key];
    return n;
  };
  ASSERT_TRUE(testkit::pollUntil([&] { return count().size() == names.size(); }, 10s));
  EXPECT_TRUE(testkit::holdsFor(
      [&] {
        for (const auto& [name, writes] : count())
          if (writes != 1) return false;
        return true;
      },
      3s))
      << pipeline_->logs();
}

}  // namespace
}  // namespace hookpipe::testing
