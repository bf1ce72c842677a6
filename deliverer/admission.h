#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>

#include "common/subscriptions/table.h"
#include "deliverer/clock.h"
#include "deliverer/endpoint_guard.h"
#include "deliverer/metrics.h"
#include "deliverer/pending.h"
#include "deliverer/rate_limiter.h"

namespace hookpipe::deliverer {

// What admission decides, carried out by its owner (the Deliverer: Transport sends,
// Disposition parks, finishes and holds partitions).
class AdmissionSink {
 public:
  virtual ~AdmissionSink() = default;
  // The caller holds an EndpointGuard slot for it.
  virtual void start(Pending p, std::shared_ptr<const Subscription> sub) = 0;
  // No room to wait: back in a tier at `due_ms`; `cause` "lane_full" or "rate_limit".
  virtual void parkOverflow(Pending p, const Subscription& sub, int64_t due_ms,
                            std::string_view cause) = 0;
  virtual void parkForBreaker(Pending p, const Subscription& sub, int64_t open_until_ms) = 0;
  virtual void parkPaused(Pending p, const Subscription& sub) = 0;
  virtual void dropUnknown(Pending p) = 0;  // its subscription was deleted meanwhile
  // An ordered lane at its bound holds its partition paused, and lets it go.
  virtual void holdPartition(int32_t partition) = 0;
  virtual void releasePartition(int32_t partition) = 0;
};

// Admission for one worker: whether a delivery goes out now, waits in its subscription's
// lane, or is parked. A delivery goes out at once when its endpoint has a free slot
// (EndpointGuard: concurrency cap, adaptive limit, circuit breaker) and, for a rate-limited
// subscription, a token (RateLimiter, one Redis round trip per pump() for every lane that
// needs tokens). Otherwise it waits in its lane, within bounds (a lane a quarter of the
// waiting budget); beyond them, or while the breaker is open or the subscription paused, it
// is parked in a retry tier without spending an attempt, so the partition moves on.
// Ordered subscriptions send one at a time, retry in place, and at their bound hold their
// partition paused instead of parking.
//
// Thread and lifecycle: one per worker, made by Deliverer::create() and used only on that
// worker's thread; the EndpointGuard is the process's, shared. Time comes from `clock`.
class Admission {
 public:
  struct Settings {
    std::size_t max_in_flight = 64;
    std::size_t max_waiting = 4096;
    int endpoint_concurrency = 32;
  };
  Admission(Settings settings, SubscriptionTable& table, EndpointGuard& guard, RateLimiter& limiter,
            DelivererMetrics& metrics, AdmissionSink& sink, const Clock& clock);
  ~Admission();

  // How many records intake may take now, given the transfers out. Intake stops while
  // the request window is full, or for a moment once the waiting budget is spent.
  std::size_t room(std::size_t in_flight, std::size_t slow_in_flight);
  // Sends now, queues in the lane, or parks.
  void admit(Pending p, const std::shared_ptr<const Subscription>& sub);
  // Starts what every lane may start now (one Redis round trip for all token asks).
  void pump();
  // An ordered delivery retrying in place: back at the head of its lane until
  // p.not_before_ms, holding back the ones behind it.
  void retryInPlace(Pending p, const std::string& subscription_id);
  // Rebalance: waiting deliveries of revoked partitions are dropped unfinished (they were
  // not sent; the next owner has them), and lanes forget holds of those partitions.
  void revoke(const std::function<bool(const Pending&)>& revoked,
              std::span<const int32_t> partitions);

  bool busy() const { return !busy_lanes_.empty(); }
  std::size_t waiting() const { return waiting_total_; }
  int capOf(const Subscription& sub) const;
  std::size_t laneBound() const;

 private:
  struct Lane {
    std::deque<Pending> waiting;
    int64_t tokens = 0;  // granted by the rate limiter, not used yet
    int64_t tokens_at_ms = 0;
    int64_t next_ask_ms = 0;
    int32_t holding = -1;  // an ordered lane at its bound: the partition it holds paused
    // The due time of the last delivery parked from this lane, plus the endpoint's pace.
    double park_cursor_ms = 0;
  };
  void holdPartition(Lane& lane, int32_t partition);
  void releaseIfDrained(Lane& lane);
  // When a delivery that found no room in its lane should come back (see admit()).
  int64_t overflowDue(Lane& lane, const Subscription& sub, int64_t now);
  void addWaiting(std::size_t n);
  void subWaiting(std::size_t n);

  Settings settings_;
  SubscriptionTable& table_;
  EndpointGuard& guard_;
  RateLimiter& limiter_;
  DelivererMetrics& metrics_;
  AdmissionSink& sink_;
  const Clock& clock_;
  std::unordered_map<std::string, Lane> lanes_;  // by subscription id
  std::unordered_set<std::string> busy_lanes_;   // lanes with waiting deliveries
  std::size_t waiting_total_ = 0;
  // Since when the waiting budget has been spent (intake stops for at most kBudgetStall).
  std::optional<int64_t> budget_spent_since_ms_;
};

}  // namespace hookpipe::deliverer
