#pragma once

#include <chrono>
#include <string_view>

#include "common/metrics/metrics.h"

namespace hookpipe::producer {

// Every metric of the producer role, declared once (names hookpipe_producer_*; the Kafka
// client's — produce errors, queue depth — come from ops::declareKafkaMetrics). Updated on
// the HTTP threads and the producer's callback thread as requests are answered.
struct ProducerMetrics {
  explicit ProducerMetrics(metrics::Registry& registry);
  ProducerMetrics(const ProducerMetrics&) = delete;
  ProducerMetrics& operator=(const ProducerMetrics&) = delete;

  // One answered request: `route` is the pattern that matched ("/v1/subscriptions/{id}"),
  // or "unmatched" — never the path itself, so a scan of random paths adds no series.
  // Requests to the event routes answered 2xx also feed the ingest histogram (the time to
  // the broker's acknowledgement).
  void answered(std::string_view method, std::string_view route, unsigned code,
                std::chrono::steady_clock::duration took);

  metrics::Family<metrics::Counter>& requests;           // {method, route, code}
  metrics::Family<metrics::Histogram>& request_seconds;  // {route}
  metrics::Histogram& ingest_seconds;
  metrics::Gauge& in_flight;  // requests received and not answered yet
  // The idempotency store's Redis use.
  metrics::Counter& redis_round_trips;
  metrics::Counter& redis_errors;
};

}  // namespace hookpipe::producer
