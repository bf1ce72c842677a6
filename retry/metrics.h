#pragma once

#include "common/metrics/metrics.h"

namespace hookpipe::retry {

// Every metric of the retry role, declared once. Updated on the worker's thread.
struct RetryMetrics {
  explicit RetryMetrics(metrics::Registry& registry);

  metrics::Counter& forwarded;  // records sent back to `deliveries`, due
  metrics::Counter& hops;       // records sent on to another tier (a longer wait)
  metrics::Gauge& held;         // records held in memory until due (one per paused partition)
  metrics::Gauge& in_flight;    // records sent on, not yet acknowledged by the broker
  metrics::Gauge& paused_partitions;
};

}  // namespace hookpipe::retry
