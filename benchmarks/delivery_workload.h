#pragma once

// What the delivery benches (delivery_bench.cc) publish and subscribe on the real broker:
// the topics and the publishing application's producer, subscriptions as the API stores
// them, events of about 500 B, and delivery records as the router writes them.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <optional>
#include <string>

#include "benchmarks/dlq_bench_support.h"
#include "benchmarks/fast_sink.h"
#include "common/kafka/kafka.h"
#include "common/records/delivery.h"
#include "common/subscriptions/subscription.h"

namespace hookpipe::bench {

// A number from the environment: `fallback` when unset or empty.
inline long envLong(const char* name, long fallback) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? std::atol(v) : fallback;
}

// About 500 B, like a typical webhook event.
inline std::string eventBody(long i, int64_t t_us, const std::string& type = "bench.event") {
  return R"({"id":"evt_d)" + std::to_string(i) + R"(","type":")" + type + R"(","data":{"t":)" +
         std::to_string(t_us) + R"(,"order":)" + std::to_string(i) +
         R"(,"amount":1250,"currency":"EUR","customer":"cus_0123456789","items":[{"sku":"sku_1",)"
         R"("qty":2,"price":500},{"sku":"sku_2","qty":1,"price":250}],"shipping":{"name":"Ada )"
         R"(Lovelace","line1":"12 Analytical Engine Way","city":"London","postcode":"N1 9GU",)"
         R"("country":"GB"},"note":"benchmark payload padded to a typical webhook size ...."}})";
}

struct Setup {
  Config config;
  std::unique_ptr<kafka::Producer> producer;
};

inline std::optional<Setup> setUp(const std::string& name) {
  Setup s{benchConfig(name), nullptr};
  const int partitions = static_cast<int>(envLong("HOOKPIPE_BENCH_PARTITIONS", 6));
  s.config.events_partitions = partitions;
  s.config.deliveries_partitions = partitions;
  s.config.attempts_partitions = partitions;
  s.config.retry_partitions = 3;
  if (!brokerReachable(s.config)) return std::nullopt;
  if (auto t = kafka::ensureTopics(s.config); !t) {
    std::fprintf(stderr, "cannot create topics: %s\n", t.error().message.c_str());
    return std::nullopt;
  }
  // The publishing application: librdkafka's default linger (5 ms) unless
  // HOOKPIPE_BENCH_PRODUCER_LINGER_MS says otherwise.
  auto p = kafka::Producer::create(
      s.config, {{"linger.ms", std::to_string(envLong("HOOKPIPE_BENCH_PRODUCER_LINGER_MS", 5))}});
  if (!p) return std::nullopt;
  s.producer = std::move(*p);
  return s;
}

// Writes a subscription (JSON as the API would store it) to the subscriptions topic.
inline bool subscribe(Setup& s, const std::string& id, const std::string& url,
                      const std::string& extra = "", const std::string& event_type = "*") {
  auto sub =
      parseSubscription(R"({"id":")" + id + R"(","url":")" + url + R"(","events":[")" + event_type +
                        R"("],"secret":"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")" + extra + "}");
  if (!sub) {
    std::fprintf(stderr, "bad subscription: %s\n", sub.error().message.c_str());
    return false;
  }
  return s.producer
      ->produceBlocking(s.config.topics.subscriptions(), id, toJson(*sub, true), {}, nullptr)
      .has_value();
}

// A delivery record as the router writes it, keyed by delivery id (so deliveries spread
// over every partition).
inline bool produceDelivery(Setup& s, const std::string& event_id,
                            const std::string& subscription_id, const std::string& body,
                            bool blocking = false) {
  records::DeliveryMeta meta;
  meta.event_id = event_id;
  meta.event_type = "bench.event";
  meta.subscription_id = subscription_id;
  meta.delivery_id = records::deliveryIdFor(meta.event_id, meta.subscription_id);
  kafka::HeaderList headers;
  meta.writeTo(headers);
  const std::string& topic = s.config.topics.deliveries();
  return blocking
             ? s.producer->produceBlocking(topic, meta.delivery_id, body, headers, nullptr)
                   .has_value()
             : s.producer->produce(topic, meta.delivery_id, body, headers, nullptr).has_value();
}

// Event i's type: "bench.event.<i % groups>" with groups > 0 (the fan-out modes), or
// "bench.event".
inline std::string eventType(long i, int groups) {
  return groups > 0 ? "bench.event." + std::to_string(i % groups) : "bench.event";
}

inline bool produceEvents(Setup& s, long n, int groups = 0) {
  for (long i = 0; i < n; ++i)
    if (!s.producer->produceBlocking(s.config.topics.events(), "evt_d" + std::to_string(i),
                                     eventBody(i, steadyMicros(), eventType(i, groups)), {},
                                     nullptr))
      return false;
  return s.producer->flush(std::chrono::minutes(2));
}

}  // namespace hookpipe::bench
