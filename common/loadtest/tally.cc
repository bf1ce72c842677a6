#include "common/loadtest/tally.h"

#include <algorithm>

#include "common/loadtest/event.h"

namespace hookpipe::loadtest {

void Tally::attempt(std::string_view webhook_id, int64_t latency_us, bool success) {
  latency_us = std::max<int64_t>(latency_us, 0);
  std::lock_guard lock(mu_);
  ++s_.attempts;
  if (!success) return;
  ++s_.successes;
  if (!seen_.emplace(webhook_id).second) {
    ++s_.duplicates;
    return;
  }
  ++s_.received;
  s_.latency.record(latency_us);
  s_.min_latency_us = std::min(s_.min_latency_us.value_or(latency_us), latency_us);
  s_.max_latency_us = std::max(s_.max_latency_us.value_or(latency_us), latency_us);
  s_.last_receipt_us = wallMicros();
}

void Tally::foreign() {
  std::lock_guard lock(mu_);
  ++s_.foreign;
}

Tally::Snapshot Tally::snapshot() const {
  std::lock_guard lock(mu_);
  return s_;
}

uint64_t Tally::received() const {
  std::lock_guard lock(mu_);
  return s_.received;
}

Percentiles percentiles(const Tally::Snapshot& s) {
  auto at = [&](double q) {
    return static_cast<double>(
               s.latency.quantile(q, s.min_latency_us, s.max_latency_us).value_or(0)) /
           1000.0;
  };
  Percentiles p;
  p.p50_ms = at(0.50);
  p.p90_ms = at(0.90);
  p.p99_ms = at(0.99);
  p.max_ms = static_cast<double>(s.max_latency_us.value_or(0)) / 1000.0;
  return p;
}

}  // namespace hookpipe::loadtest
