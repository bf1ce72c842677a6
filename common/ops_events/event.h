#pragma once

#include <cstdint>
#include <string>
#include <string_view>

// hookpipe's operational events (docs/operational-events.md): events of `hookpipe.*` types
// that hookpipe publishes about itself to the events topic, delivered like any other.
namespace hookpipe::ops_events {

inline constexpr std::string_view kPrefix = "hookpipe.";
inline constexpr std::string_view kSubscriptionDisabled = "hookpipe.subscription.disabled";
inline constexpr std::string_view kBreakerOpened = "hookpipe.subscription.breaker_opened";
inline constexpr std::string_view kBreakerRecovered = "hookpipe.subscription.breaker_recovered";
inline constexpr std::string_view kDeadLettered = "hookpipe.delivery.dead_lettered";

// True for the types of operational events (`hookpipe.` prefix). Their deliveries' dead
// letters and breaker failures never raise operational events (the no-loop rule).
inline bool isOperational(std::string_view type) { return type.starts_with(kPrefix); }

// RFC 3339 UTC with milliseconds, e.g. "2026-01-09T15:30:00.123Z".
std::string formatTimestampMs(int64_t epoch_ms);

// The event as published: {"id","type","timestamp","data":<data_json>[,"tenant"]}, the
// tenant left out when empty. `data_json` is a JSON object, spliced in as given.
std::string eventJson(std::string_view id, std::string_view type, int64_t now_ms,
                      std::string_view tenant, std::string_view data_json);

// The `data` of each type (the dead-lettered one: dead_letter_aggregator.h).
struct Disabled {
  std::string_view subscription_id;
  std::string_view subscription_name;
  std::string_view reason;   // "http_410_gone"
  std::string_view message;  // for people
  long status = 0;           // the HTTP status that caused it; 0 if none
  std::string_view delivery_id;
  int64_t disabled_ms = 0;
};
std::string disabledData(const Disabled& d);

struct BreakerOpened {
  std::string_view subscription_id;
  std::string_view subscription_name;
  int window_failures = 0;
  int window_attempts = 0;
  int64_t opened_ms = 0;
  int64_t retry_at_ms = 0;  // when the first half-open probes go
};
std::string breakerOpenedData(const BreakerOpened& b);

struct BreakerRecovered {
  std::string_view subscription_id;
  std::string_view subscription_name;
  int64_t opened_ms = 0;
  int64_t recovered_ms = 0;
};
std::string breakerRecoveredData(const BreakerRecovered& b);

}  // namespace hookpipe::ops_events
