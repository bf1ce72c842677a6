#include "router/metrics.h"

#include <algorithm>
#include <utility>

namespace hookpipe::router {
namespace {

// What EventParser (common/json/event.cc) says, by the start of its message; the first
// match wins.
constexpr std::array<std::pair<std::string_view, std::string_view>, 7> kPrefixes = {{
    {"event is ", "too_large"},
    {"not valid JSON", "not_json"},
    {"event must be a JSON object", "not_object"},
    {"missing field: type", "bad_type"},
    {"field type ", "bad_type"},
    {"field id ", "bad_id"},
    {"field timestamp ", "bad_timestamp"},
}};

// Bounds in seconds: matching takes microseconds, a large subscription table milliseconds.
constexpr std::array<double, 10> kMatchBuckets = {1e-6, 2.5e-6, 5e-6, 1e-5, 2.5e-5,
                                                  5e-5, 1e-4,   1e-3, 1e-2, 1e-1};

}  // namespace

std::string_view invalidReasonLabel(std::string_view reason) {
  for (const auto& [prefix, label] : kPrefixes)
    if (reason.starts_with(prefix)) return label;
  if (reason.starts_with("field ") && reason.ends_with("(duplicate keys are refused)"))
    return "duplicate_key";
  return "other";
}

RouterMetrics::RouterMetrics(metrics::Registry& registry)
    : events(registry.counter("hookpipe_router_events_total",
                              "Events consumed from the events topic, valid or not")),
      deliveries(registry.counter("hookpipe_router_deliveries_total",
                                  "Delivery records produced, one per matching subscription")),
      unmatched(registry.counter("hookpipe_router_unmatched_events_total",
                                 "Valid events that matched no subscription")),
      transactions_committed(registry.counter("hookpipe_router_transactions_committed_total",
                                              "Exactly-once transactions committed")),
      transactions_aborted(registry.counter("hookpipe_router_transactions_aborted_total",
                                            "Exactly-once transactions aborted and rewound")),
      produce_errors(registry.counter("hookpipe_router_produce_errors_total",
                                      "Records the producer refused or failed (produced again, "
                                      "or the transaction aborted)")),
      match_seconds(registry.histogram(
          "hookpipe_router_match_duration_seconds",
          "Time to match one event against the subscriptions (one event in 8 is timed)",
          kMatchBuckets)) {
  auto& family = registry.counterFamily("hookpipe_router_invalid_events_total",
                                        "Events sent to the invalid topic, by reason", {"reason"});
  for (std::size_t i = 0; i < kInvalidReasons.size(); ++i)
    invalid_[i] = &family.labels({kInvalidReasons[i]});
}

metrics::Counter& RouterMetrics::invalid(std::string_view reason) {
  const std::string_view label = invalidReasonLabel(reason);
  const auto i = static_cast<std::size_t>(
      std::find(kInvalidReasons.begin(), kInvalidReasons.end(), label) - kInvalidReasons.begin());
  return *invalid_[std::min(i, kInvalidReasons.size() - 1)];
}

uint64_t RouterMetrics::invalidTotal() const {
  uint64_t n = 0;
  for (const metrics::Counter* c : invalid_) n += c->value();
  return n;
}

}  // namespace hookpipe::router
