#include "producer/role.h"

#include "common/log/log.h"
#include "common/metrics/metrics.h"
#include "common/ops/readiness.h"
#include "common/ops/server.h"
#include "common/role/role.h"
#include "producer/api.h"
#include "producer/event_type.h"
#include "producer/operational_types.h"
#include "producer/server.h"

namespace hookpipe::producer {

int run(const Config& config) {
  auto log = logger("producer");
  // /metrics and /readyz are served on the API port; the Kafka metrics and statistics are
  // on before the producer is made.
  metrics::Registry registry;
  ops::declareKafkaMetrics("producer", registry);
  ops::Readiness readiness;
  readiness.add(ops::kafkaProbe());
  readiness.add(ops::redisProbe(config));  // the idempotency store
  ensureTopicsOrThrow(config);
  SubscriptionTable table;
  auto sync = loadSubscriptions(config, table);
  EventTypeTable event_types;
  EventTypeSync event_types_sync(config, event_types);
  loadOrThrow(event_types_sync, "event types");
  // An event is answered 202 only once stored; a broker away for 10 s gets a 503. Each
  // request waits for its ack, so the API producer favours latency: a short linger, no
  // Nagle delay on the broker connection, no compression for the small batches.
  auto producer = kafka::Producer::create(config, {{"message.timeout.ms", "10000"},
                                                   {"linger.ms", "0"},
                                                   {"socket.nagle.disable", "true"},
                                                   {"compression.type", "none"},
                                                   {"client.id", config.groupId("api")}});
  if (!producer) throw std::runtime_error(producer.error().message);
  registerOperationalEventTypes(event_types, **producer, config);  // the hookpipe.* types
  Api api(config, **producer, table, event_types, registry, readiness);
  Server server(config, [&api](const Request& req, Responder responder) {
    api.handle(req, std::move(responder));
  });
  if (auto r = server.start(); !r) throw std::runtime_error(r.error().message);
  log->info("listening address={} port={}", config.http_address, server.port());
  while (!stopRequested()) (*producer)->poll(100);  // this thread serves the acknowledgements
  server.stop();
  (*producer)->flush(std::chrono::seconds(10));
  return 0;
}

}  // namespace hookpipe::producer
