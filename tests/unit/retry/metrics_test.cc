// Unit tests for retry/metrics.h: the retry role's metrics under their Prometheus names.
#include "retry/metrics.h"

#include <gtest/gtest.h>

namespace hookpipe::retry {
namespace {

TEST(RetryMetrics, AreDeclaredOnceWithPrometheusNames) {
  metrics::Registry registry;
  RetryMetrics m(registry);
  m.forwarded.inc(2);
  m.hops.inc();
  m.held.set(3);
  m.paused_partitions.set(3);
  m.in_flight.set(1);
  EXPECT_EQ(registry.value("hookpipe_retry_forwarded_total"), 2);
  EXPECT_EQ(registry.value("hookpipe_retry_hops_total"), 1);
  EXPECT_EQ(registry.value("hookpipe_retry_held_records"), 3);
  EXPECT_EQ(registry.value("hookpipe_retry_paused_partitions"), 3);
  EXPECT_EQ(registry.value("hookpipe_retry_in_flight_records"), 1);
  // A second declaration of the same names is a start-up error, not a silent duplicate.
  EXPECT_THROW(RetryMetrics{registry}, std::invalid_argument);
}

}  // namespace
}  // namespace hookpipe::retry
