#pragma once

#include <memory>
#include <string_view>

#include "common/config/config.h"
#include "common/kafka/kafka.h"
#include "common/metrics/metrics.h"
#include "common/ops/readiness.h"
#include "common/subscriptions/table.h"
#include "common/subscriptions/writer.h"
#include "producer/auth.h"
#include "producer/dead_letters.h"
#include "producer/delivery_log.h"
#include "producer/event_type.h"
#include "producer/http.h"
#include "producer/http_util.h"
#include "producer/idempotency.h"
#include "producer/live_stream.h"
#include "producer/metrics.h"
#include "producer/reply.h"
#include "producer/route_table.h"
#include "producer/test_send.h"

namespace hookpipe::producer {

// What the route handlers share, one per process: the producer, the subscription table
// (written through `subscription_writer`) and the event-type catalog, and the services
// that run work off the HTTP threads.
struct ApiServices {
  ApiServices(const Config& config, kafka::Producer& producer,
              SubscriptionTable& subscription_table, EventTypeTable& event_types,
              metrics::Registry& registry, ops::Readiness& readiness);

  Config config;
  kafka::Producer& producer;
  SubscriptionTable& subscription_table;
  EventTypeTable& event_types;
  // /metrics renders `registry`; /readyz asks `readiness` (both owned by the role).
  metrics::Registry& registry;
  ProducerMetrics metrics;
  ops::Readiness& readiness;
  subscriptions::Writer subscription_writer;
  std::shared_ptr<IdempotencyStore> idempotency;
  std::unique_ptr<DeadLetterService> dead_letters;
  std::unique_ptr<TestSender> test_sender;
  std::unique_ptr<DeliveryLogService> delivery_log;
  std::unique_ptr<LiveStream> live_stream;  // GET /v1/stream
};

// The HTTP API (docs/api.md, producer/openapi.json): the bearer-token check on /v1, then
// the route table that each resource's file (producer/routes/) fills. handle() runs on
// the HTTP threads; a handler answers at once or later, from the producer's callback
// thread once the broker has acknowledged what the request wrote, or from the
// dead-letter and test-send threads.
class Api {
 public:
  Api(const Config& config, kafka::Producer& producer, SubscriptionTable& table,
      EventTypeTable& event_types, metrics::Registry& registry, ops::Readiness& readiness);
  void handle(const Request& req, Responder responder);

 private:
  ApiServices services_;
  TokenAuth auth_;
  RouteTable routes_;
};

// The OpenAPI 3.1 document served at /v1/openapi.json (producer/openapi.json).
std::string_view openapiDocument();

}  // namespace hookpipe::producer
