#pragma once

#include <optional>
#include <string>

#include "common/loadtest/options.h"
#include "common/loadtest/tally.h"

namespace hookpipe::loadtest {

// The figures of a run, as printed at the end (text or --json).
struct Summary {
  // what was asked
  std::string via;
  double target_rate_per_s = 0;
  double duration_s = 0;
  int concurrency = 0;
  int batch = 1;
  int fan_out = 1;
  // publishing
  double publish_elapsed_s = 0;  // first request to the last answer
  uint64_t published = 0;
  uint64_t publish_errors = 0;
  uint64_t requests = 0;
  std::string last_publish_error;
  // the receiver (when one ran)
  bool receiver = false;
  uint64_t expected = 0;  // published × fan-out
  uint64_t received = 0;
  uint64_t attempts = 0;
  uint64_t successes = 0;
  uint64_t duplicates = 0;
  uint64_t foreign = 0;
  double receive_elapsed_s = 0;  // first request to the last receipt
  Percentiles latency;
  double drain_s = 0;        // how long the wait after publishing took
  bool interrupted = false;  // stopped by SIGINT/SIGTERM

  double publishedPerS() const;
  double receivedPerS() const;
  // 2xx answers / attempts seen (1 when there were none).
  double successRate() const;
  bool complete() const { return !receiver || received >= expected; }
};

// Fills the receiver's part of `s` from a tally snapshot, `first_send_us` (wall clock)
// being when publishing began.
void addReceipts(Summary& s, const Tally::Snapshot& t, int64_t first_send_us);

std::string summaryText(const Summary& s);
std::string summaryJson(const Summary& s);
// One progress line (no newline): elapsed, published and its rate over `publish_s` (the time
// spent publishing so far), errors, and with a receiver what arrived, the success rate so far
// and p99.
std::string progressLine(double elapsed_s, double publish_s, uint64_t published, uint64_t errors,
                         const std::optional<Tally::Snapshot>& receipts, uint64_t expected);

}  // namespace hookpipe::loadtest
