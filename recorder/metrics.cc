#include "recorder/metrics.h"

#include <array>

namespace hookpipe::recorder {
namespace {

// A flush of a partition takes a millisecond or so for a few records and up to some
// hundreds for 20,000.
constexpr std::array<double, 10> kFlushBuckets = {1e-4, 5e-4, 1e-3,   5e-3, 1e-2,
                                                  5e-2, 1e-1, 2.5e-1, 5e-1, 1};

}  // namespace

RecorderMetrics::RecorderMetrics(metrics::Registry& registry)
    : flushes_(registry.counterFamily("hookpipe_recorder_flushes_total",
                                      "Partition flushes by result", {"result"})),
      records(registry.counter("hookpipe_recorder_records_total",
                               "Attempt records applied to the delivery-log index")),
      bad_records(registry.counter("hookpipe_recorder_bad_records_total",
                                   "Attempt records that did not parse (counted and skipped)")),
      skipped(registry.counter("hookpipe_recorder_skipped_records_total",
                               "Records below their partition's applied offset (already in "
                               "the index)")),
      flushes_applied(flushes_.labels({"applied"})),
      flushes_fenced(flushes_.labels({"fenced"})),
      flushes_failed(flushes_.labels({"failed"})),
      flushes_error(flushes_.labels({"error"})),
      bad_times(registry.counter("hookpipe_recorder_bad_time_records_total",
                                 "Records whose finished_ms is more than a day off their "
                                 "message timestamp or ahead of now (skipped, in bad_records)")),
      flush_seconds(registry.histogram("hookpipe_recorder_flush_duration_seconds",
                                       "One partition's flush (its script call)", kFlushBuckets)),
      unflushed(registry.gauge("hookpipe_recorder_unflushed_records",
                               "Records aggregated in memory and not yet applied")),
      paused_partitions(registry.gauge("hookpipe_recorder_paused_partitions",
                                       "Partitions paused: waiting for their offset, a rebuild "
                                       "or Redis")) {}

}  // namespace hookpipe::recorder
