#pragma once

#include "common/metrics/metrics.h"

namespace hookpipe::recorder {

// Every metric of the recorder role, declared once. Updated on the recorder's thread.
struct RecorderMetrics {
  explicit RecorderMetrics(metrics::Registry& registry);

 private:
  metrics::Family<metrics::Counter>& flushes_;  // declared first: the three below are its

 public:
  metrics::Counter& records;      // attempt records applied to the index
  metrics::Counter& bad_records;  // records that did not parse: counted and skipped
  metrics::Counter& skipped;      // records below a partition's applied offset (read again)
  // Flushes by result: applied; fenced (the partition's offset had moved: another
  // recorder or a rebuild took it over; nothing was written); failed (Redis unreachable or
  // erring: kept and tried again).
  metrics::Counter& flushes_applied;
  metrics::Counter& flushes_fenced;
  metrics::Counter& flushes_failed;
  // error: the script failed (an error reply; not Redis unreachable): the partition stops,
  // its flush is never tried again (recorder/README.md "Script errors").
  metrics::Counter& flushes_error;
  metrics::Counter& bad_times;  // records whose finished_ms cannot be right (also bad_records)
  metrics::Histogram& flush_seconds;  // one partition's script call
  metrics::Gauge& unflushed;          // records aggregated in memory, not yet applied
  metrics::Gauge& paused_partitions;  // waiting for an offset, a rebuild, or Redis
};

}  // namespace hookpipe::recorder
