// The payload formatter seam end to end through the router: a test-only format
// registered here makes the body of its subscription's deliveries, and "json" subscriptions
// get the event's bytes. The router runs in-process against librdkafka's mock cluster.
#include <gtest/gtest.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <atomic>
#include <map>
#include <string>
#include <thread>

#include "common/format/formatter.h"
#include "common/json/event.h"
#include "common/kafka/reader.h"
#include "common/metrics/metrics.h"
#include "common/records/delivery.h"
#include "common/subscriptions/subscription.h"
#include "common/subscriptions/table.h"
#include "router/router.h"

namespace hookpipe {
namespace {

class ShoutFormatter final : public format::Formatter {
 public:
  std::string format(const json::Event& event, const Subscription& sub) const override {
    return "SHOUT " + event.type + " for " + sub.id;
  }
};

// Registers the test format for the test's lifetime.
struct RegisteredShout {
  RegisteredShout() {
    format::Registry::global().add("test-shout", std::make_shared<ShoutFormatter>());
  }
  ~RegisteredShout() { format::Registry::global().remove("test-shout"); }
};

Subscription subscription(const std::string& id, const std::string& format) {
  auto s = checkSubscription(R"({"id":")" + id + R"(","url":"https://hooks.example.com/x",)" +
                                 R"("events":["*"],"format":")" + format + R"("})",
                             SubscriptionSource::kCreate);
  EXPECT_TRUE(s) << (s ? "" : s.error().front().message);
  return s ? *s : Subscription{};
}

TEST(RouterFormat, AFormatRoundTripsThroughTheStoredJsonAndTheTable) {
  RegisteredShout shout;
  const Subscription s = subscription("sub_shout", "test-shout");
  ASSERT_NE(s.formatter, nullptr);
  auto stored = parseSubscription(toJson(s));
  ASSERT_TRUE(stored) << stored.error().message;
  EXPECT_EQ(stored->format, "test-shout");
  EXPECT_EQ(stored->formatter, s.formatter);
  SubscriptionTable table;
  table.upsert(*stored);
  auto found = table.find("sub_shout");
  ASSERT_TRUE(found);
  EXPECT_EQ(found->format, "test-shout");
  EXPECT_EQ(found->formatter, s.formatter);
}

TEST(RouterFormat, ASubscriptionsFormatMakesTheBodyOfItsDeliveries) {
  RegisteredShout shout;
  char err[256];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  rd_kafka_conf_set(conf, "test.mock.num.brokers", "1", err, sizeof err);
  kafka::HandlePtr mock(rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err));
  ASSERT_TRUE(mock) << err;
  rd_kafka_mock_cluster_t* cluster = rd_kafka_handle_mock_cluster(mock.get());
  Config config;
  config.brokers = rd_kafka_mock_cluster_bootstraps(cluster);
  config.events_partitions = 1;
  config.deliveries_partitions = 1;
  for (const std::string& topic :
       {config.topics.events(), config.topics.deliveries(), config.topics.invalid()})
    ASSERT_EQ(rd_kafka_mock_topic_create(cluster, topic.c_str(), 1, 1), RD_KAFKA_RESP_ERR_NO_ERROR);

  SubscriptionTable table;
  table.upsert(subscription("sub_shout", "test-shout"));
  table.upsert(subscription("sub_json", "json"));
  metrics::Registry registry;
  auto router = router::Router::create(config, table, registry);
  ASSERT_TRUE(router) << router.error().message;
  std::atomic<bool> stop{false};
  std::thread runner([&] { (*router)->run(stop); });

  const std::string event =
      R"({"id":"evt_1","type":"order.created","timestamp":"2026-01-09T15:30:00Z"})";
  auto producer = kafka::Producer::create(config);
  ASSERT_TRUE(producer);
  ASSERT_TRUE((*producer)->produceBlocking(config.topics.events(), "evt_1", event, {}, nullptr));
  ASSERT_TRUE((*producer)->flush(std::chrono::seconds(10)));

  std::map<std::string, std::string> body_of;  // by subscription id
  auto reader = kafka::Reader::open(config, "router-format-test");
  ASSERT_TRUE(reader);
  ASSERT_TRUE((*reader)->assign(config.topics.deliveries(), {{0, RD_KAFKA_OFFSET_BEGINNING}}));
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (body_of.size() < 2 && std::chrono::steady_clock::now() < deadline) {
    kafka::MessagePtr msg = (*reader)->poll(100);
    if (!msg || msg->err) continue;
    body_of[records::DeliveryMeta::fromMessage(msg.get()).subscription_id] =
        std::string(kafka::payloadOf(msg.get()));
  }
  stop = true;
  runner.join();

  EXPECT_EQ(body_of["sub_shout"], "SHOUT order.created for sub_shout");
  EXPECT_EQ(body_of["sub_json"], event);
  EXPECT_EQ(registry.value("hookpipe_router_events_total"), 1);
  EXPECT_EQ(registry.value("hookpipe_router_deliveries_total"), 2);
}

}  // namespace
}  // namespace hookpipe
