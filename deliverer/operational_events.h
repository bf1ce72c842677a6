#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

#include "common/config/config.h"
#include "common/kafka/kafka.h"
#include "common/observe/observer.h"
#include "common/ops_events/dead_letter_aggregator.h"
#include "common/subscriptions/subscription.h"
#include "common/subscriptions/table.h"
#include "deliverer/endpoint_guard.h"
#include "deliverer/metrics.h"

namespace hookpipe::deliverer {

// Publishes the deliverer's operational events (docs/operational-events.md) to the events
// topic, as ordinary events the router routes to the subscriptions of `hookpipe.*` types:
// - hookpipe.subscription.disabled: a subscription written back disabled (410 Gone);
// - hookpipe.subscription.breaker_opened / _recovered: a breaker's closed -> open and
//   -> closed transitions that EndpointGuard reports (BreakerListener), which it reports
//   only when user traffic failed in the window (never for hookpipe.* traffic alone);
// - hookpipe.delivery.dead_lettered: dead letters (as observed, a DeliveryObserver)
//   aggregated per subscription per HOOKPIPE_OPERATIONAL_EVENTS_WINDOW, never for
//   deliveries of hookpipe.* events.
//
// Threads and lifecycle: one per process, made by the role before the workers and
// destroyed after them. The workers' calls (onAttempt, the BreakerListener calls under the
// guard's lock, subscriptionDisabled) only copy the facts into a queue or the aggregator
// under one mutex and return; the object's own thread builds the events, produces them
// with its own idempotent producer (async, acknowledgements served on that thread), and
// takes the aggregation windows that ended. The destructor reports every open window,
// and waits up to 5 s for the broker. Failures are counted and logged, never fatal.
class OperationalEvents final : public observe::DeliveryObserver, public BreakerListener {
 public:
  // Null when HOOKPIPE_OPERATIONAL_EVENTS=false. Throws (start-up) when its producer
  // cannot be made.
  static std::shared_ptr<OperationalEvents> create(const Config& config,
                                                   const SubscriptionTable& table,
                                                   DelivererMetrics& metrics);
  OperationalEvents(const Config& config, const SubscriptionTable& table, DelivererMetrics& metrics,
                    std::unique_ptr<kafka::Producer> producer);
  ~OperationalEvents() override;
  OperationalEvents(const OperationalEvents&) = delete;
  OperationalEvents& operator=(const OperationalEvents&) = delete;

  void onAttempt(const observe::Attempt& attempt) noexcept override;
  void breakerOpened(const std::string& subscription_id, int window_failures, int window_attempts,
                     int64_t now_ms, int64_t retry_at_ms) noexcept override;
  void breakerRecovered(const std::string& subscription_id, int64_t opened_ms,
                        int64_t now_ms) noexcept override;
  // `sub` as written back disabled.
  void subscriptionDisabled(const Subscription& sub, std::string_view reason,
                            std::string_view message, long status) noexcept;

 private:
  // One fact to report, as the workers hand it over.
  struct Fact {
    enum class Kind { kDisabled, kOpened, kRecovered } kind = Kind::kDisabled;
    std::string subscription_id;
    std::string tenant;
    std::string name;
    std::string reason;
    std::string message;
    long status = 0;
    int window_failures = 0;
    int window_attempts = 0;
    int64_t at_ms = 0;     // when it happened
    int64_t other_ms = 0;  // retry_at (opened) or opened_at (recovered)
  };
  static constexpr std::size_t kMaxQueued = 10'000;
  void push(Fact fact) noexcept;
  void run();
  // Builds and produces; counts failures.
  void publish(std::string_view type, std::string_view tenant, const std::string& data);
  void publishFact(const Fact& f);
  void publishSummary(const ops_events::DeadLetterSummary& s);

  const SubscriptionTable& table_;
  DelivererMetrics& metrics_;
  std::unique_ptr<kafka::Producer> producer_;
  std::string topic_;
  int64_t tick_ms_;

  std::mutex mu_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::deque<Fact> queue_;                         // guarded by mu_
  ops_events::DeadLetterAggregator dead_letters_;  // guarded by mu_
  int64_t dropped_reported_ = 0;                   // of dead_letters_.dropped(), counted so far
  int64_t last_error_log_ms_ = 0;                  // the thread's only
  std::jthread thread_;                            // last: it uses the members above
};

}  // namespace hookpipe::deliverer
