#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace hookpipe::ops_events {

// A subscription's dead letters over one aggregation window: what one
// `hookpipe.delivery.dead_lettered` event reports.
struct DeadLetterSummary {
  std::string subscription_id;
  std::string tenant;
  int64_t count = 0;
  std::map<std::string, int64_t> reasons;        // hp-dlq-reason -> count
  std::map<std::string, int64_t> error_classes;  // the last attempt's error class -> count
  std::string first_delivery_id;
  std::string last_delivery_id;
  int64_t first_ms = 0;  // wall clock of the first and last dead letter
  int64_t last_ms = 0;
  int64_t window_start_ms = 0;  // = first_ms
  int64_t window_end_ms = 0;    // first_ms + window: when it is reported
};

// The `data` of a hookpipe.delivery.dead_lettered event.
std::string deadLetteredData(const DeadLetterSummary& s);

// Aggregates dead letters per subscription: the first dead letter of a subscription opens
// its window, every one until `window` later is counted into it, and the window is taken
// (takeDue) once it has ended — one summary per subscription per window, however many
// deliveries a storm dead-letters. Times are passed in (tests drive a fake clock).
// Bounded: at most `max_subscriptions` open windows (dead letters of further
// subscriptions are counted in dropped() only) and kMaxKeys distinct reasons and error
// classes per window (the rest counted under "other").
//
// Not thread-safe: the owner serialises calls (deliverer/operational_events.cc).
class DeadLetterAggregator {
 public:
  static constexpr std::size_t kMaxKeys = 16;
  explicit DeadLetterAggregator(std::chrono::milliseconds window,
                                std::size_t max_subscriptions = 10'000)
      : window_ms_(window.count()), max_subscriptions_(max_subscriptions) {}

  void add(std::string_view subscription_id, std::string_view tenant, std::string_view reason,
           std::string_view error_class, std::string_view delivery_id, int64_t now_ms);
  // The windows that ended by `now_ms` (window_end_ms <= now_ms), removed, oldest first.
  std::vector<DeadLetterSummary> takeDue(int64_t now_ms);
  // Every open window, ended or not (at shutdown).
  std::vector<DeadLetterSummary> takeAll();
  std::size_t open() const { return open_.size(); }
  int64_t dropped() const { return dropped_; }
  // When the next window ends; INT64_MAX when none is open.
  int64_t nextDueMs() const;

 private:
  int64_t window_ms_;
  std::size_t max_subscriptions_;
  std::unordered_map<std::string, DeadLetterSummary> open_;
  int64_t dropped_ = 0;
};

}  // namespace hookpipe::ops_events
