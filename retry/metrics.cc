#include "retry/metrics.h"

namespace hookpipe::retry {

RetryMetrics::RetryMetrics(metrics::Registry& registry)
    : forwarded(registry.counter("hookpipe_retry_forwarded_total",
                                 "Records released from a retry tier back to deliveries")),
      hops(registry.counter("hookpipe_retry_hops_total",
                            "Records released from a retry tier to another tier, not due yet")),
      held(registry.gauge("hookpipe_retry_held_records",
                          "Records held in memory until their release time")),
      in_flight(registry.gauge("hookpipe_retry_in_flight_records",
                               "Records sent on and not yet acknowledged")),
      paused_partitions(registry.gauge("hookpipe_retry_paused_partitions",
                                       "Tier partitions paused behind a held record")) {}

}  // namespace hookpipe::retry
