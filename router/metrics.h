#pragma once

#include <array>
#include <cstdint>
#include <string_view>

#include "common/metrics/metrics.h"

namespace hookpipe::router {

// The label values of hookpipe_router_invalid_events_total{reason=…}.
inline constexpr std::array<std::string_view, 8> kInvalidReasons = {
    "too_large", "not_json",      "not_object",    "bad_type",
    "bad_id",    "bad_timestamp", "duplicate_key", "other"};
// Why an event went to `events.invalid`, as one of kInvalidReasons (the full reason
// travels in the record's hp-invalid-reason header).
std::string_view invalidReasonLabel(std::string_view reason);

// Every metric of the router role, declared once. Updated on the router's thread.
struct RouterMetrics {
  explicit RouterMetrics(metrics::Registry& registry);

  metrics::Counter& events;      // consumed from `events`, valid or not
  metrics::Counter& deliveries;  // delivery records produced (one per matching subscription)
  metrics::Counter& unmatched;   // valid events no subscription wanted
  metrics::Counter& transactions_committed;
  metrics::Counter& transactions_aborted;
  metrics::Counter& produce_errors;   // records the producer refused or failed (then retried)
  metrics::Histogram& match_seconds;  // matching one event (a sample of the events)

  // The invalid-events counter for a reason text.
  metrics::Counter& invalid(std::string_view reason);
  uint64_t invalidTotal() const;

 private:
  std::array<metrics::Counter*, kInvalidReasons.size()> invalid_{};
};

}  // namespace hookpipe::router
