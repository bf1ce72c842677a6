#pragma once

#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_set>

#include "common/attempts/histogram.h"

namespace hookpipe::loadtest {

// What the receiver saw of this run. Written by the receiver's thread, read by the progress
// line and the summary (every call takes the lock; a receipt costs a hash-set insert and a
// histogram bucket).
//
// A delivery counts as received once: at its first 2xx answer, keyed by its `webhook-id`
// (which every attempt and retry of one delivery shares). Its latency is then the time from
// publish (the time in the event) to that receipt, retries included. Every request of this
// run is an attempt; a 2xx for an id already received is a duplicate.
class Tally {
 public:
  // One request of this run: its webhook-id, the microseconds since its event was published
  // (negative: clocks apart; counted as 0) and whether it was answered 2xx.
  void attempt(std::string_view webhook_id, int64_t latency_us, bool success);
  // A request that did not carry this run's marker (answered 2xx, otherwise ignored).
  void foreign();

  struct Snapshot {
    uint64_t attempts = 0;
    uint64_t successes = 0;  // 2xx answers, duplicates included
    uint64_t received = 0;   // distinct deliveries answered 2xx
    uint64_t duplicates = 0;
    uint64_t foreign = 0;
    attempts::Histogram latency;  // µs, one value per received delivery
    std::optional<int64_t> min_latency_us;
    std::optional<int64_t> max_latency_us;
    int64_t last_receipt_us = 0;  // wall clock of the latest receipt (0: none)
  };
  Snapshot snapshot() const;
  uint64_t received() const;

 private:
  mutable std::mutex mu_;
  Snapshot s_;
  std::unordered_set<std::string> seen_;
};

// The latency figures of a snapshot, in milliseconds (0 when nothing was received).
struct Percentiles {
  double p50_ms = 0, p90_ms = 0, p99_ms = 0, max_ms = 0;
};
Percentiles percentiles(const Tally::Snapshot& s);

}  // namespace hookpipe::loadtest
