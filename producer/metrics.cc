#include "producer/metrics.h"

#include <string>

namespace hookpipe::producer {

ProducerMetrics::ProducerMetrics(metrics::Registry& r)
    : requests(r.counterFamily("hookpipe_producer_http_requests_total",
                               "HTTP requests answered, by method, route pattern and status code",
                               {"method", "route", "code"})),
      request_seconds(r.histogramFamily("hookpipe_producer_http_request_duration_seconds",
                                        "Time from a request's arrival to its answer, by route",
                                        metrics::durationBuckets(), {"route"})),
      ingest_seconds(r.histogram("hookpipe_producer_ingest_duration_seconds",
                                 "Time to accept events (POST /v1/events and /v1/events/batch "
                                 "answered 2xx): the request until the broker acknowledged it",
                                 metrics::durationBuckets())),
      in_flight(r.gauge("hookpipe_producer_http_requests_in_flight",
                        "HTTP requests received and not answered yet")),
      redis_round_trips(r.counter("hookpipe_producer_redis_round_trips_total",
                                  "Redis round trips of the idempotency store")),
      redis_errors(r.counter("hookpipe_producer_redis_errors_total",
                             "Redis round trips of the idempotency store that failed")) {}

void ProducerMetrics::answered(std::string_view method, std::string_view route, unsigned code,
                               std::chrono::steady_clock::duration took) {
  const double seconds = std::chrono::duration<double>(took).count();
  const std::string code_text = std::to_string(code);
  requests.labels({method, route, code_text}).inc();
  request_seconds.labels({route}).observe(seconds);
  if (code >= 200 && code < 300 && method == "POST" &&
      (route == "/v1/events" || route == "/v1/events/batch"))
    ingest_seconds.observe(seconds);
}

}  // namespace hookpipe::producer
