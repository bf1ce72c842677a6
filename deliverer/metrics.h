#pragma once

#include <array>
#include <string_view>

#include "common/metrics/metrics.h"
#include "common/observe/observer.h"

namespace hookpipe::deliverer {

// Every metric of the deliverer role, declared once (names hookpipe_deliverer_*). One
// instance per process, made by the role with the registry it owns and shared by every
// worker; updates are relaxed atomic adds on references kept here, no lookup.
//
// Two kinds of writers: the counters of finished delivery steps (steps by outcome, HTTP
// attempts by outcome, the duration histogram, parks by cause, dead letters by reason, skips) are
// fed only by MetricsObserver from the observe::Attempt of each step; the rest (in flight, waiting,
// breakers, rate limits, Redis, held partitions) by the part that owns the state.
struct DelivererMetrics {
  explicit DelivererMetrics(metrics::Registry& registry);
  DelivererMetrics(const DelivererMetrics&) = delete;
  DelivererMetrics& operator=(const DelivererMetrics&) = delete;

  metrics::Registry& registry;

  // Fed by MetricsObserver.
  metrics::Family<metrics::Counter>& steps_family;  // {outcome}
  std::array<metrics::Counter*, 5> steps{};         // by observe::Outcome
  metrics::Counter& stepsOf(observe::Outcome o) { return *steps[static_cast<int>(o)]; }
  // The steps that made an HTTP request: delivered, retried, dead-lettered.
  metrics::Family<metrics::Counter>& attempts_family;  // {outcome}
  metrics::Counter& attempts_delivered;
  metrics::Counter& attempts_retried;
  metrics::Counter& attempts_dead_lettered;
  metrics::Histogram& attempt_duration;  // seconds, attempted steps only
  // The attempts by the status class of their answer: 2xx, 3xx, 4xx, 5xx, or none (no
  // answer: timeout, connection, DNS or TLS error).
  metrics::Family<metrics::Counter>& responses_family;  // {class}
  std::array<metrics::Counter*, 5> responses{};         // none, 2xx..5xx (1xx and others: none)
  metrics::Counter& responsesOf(long status) {
    const long c = status / 100;
    return *responses[c >= 2 && c <= 5 ? static_cast<std::size_t>(c - 1) : 0];
  }
  // Parks by cause (observe::Attempt::reason: "rate_limit", "lane_full", "breaker_open",
  // "paused"); an unknown cause counts as lane_full.
  metrics::Family<metrics::Counter>& parked_family;
  metrics::Counter& parked_rate_limit;
  metrics::Counter& parked_lane_full;
  metrics::Counter& parked_breaker_open;
  metrics::Counter& parked_paused;
  metrics::Counter& parkedFor(std::string_view cause);
  // Dead letters by reason (hp-dlq-reason): the error classes that are permanent, and
  // retries_exhausted, breaker_open (cut short), paused; "other" for anything else.
  metrics::Family<metrics::Counter>& dead_letters_family;
  metrics::Counter& deadLettersFor(std::string_view reason);
  metrics::Counter& duplicates_skipped;
  metrics::Counter& unknown_subscription;

  // Fed by the owners of the state.
  metrics::Gauge& in_flight;        // requests out, all workers (Transport)
  metrics::Gauge& waiting;          // deliveries waiting in lanes (Admission)
  metrics::Gauge& partitions_held;  // paused for an ordered lane at its bound (Disposition)
  // Endpoints by breaker state, counts per state (EndpointGuard).
  metrics::Family<metrics::Gauge>& breakers_family;  // {state}
  metrics::Gauge& breakers_closed;
  metrics::Gauge& breakers_open;
  metrics::Gauge& breakers_half_open;
  metrics::Counter& breaker_opened;
  metrics::Counter& breaker_closed;
  metrics::Counter& throttle_backoffs;  // the adaptive limit halved after a 429/503
  metrics::Counter& rate_limit_waits;   // a lane granted fewer tokens than it asked (Admission)
  // Redis use by the rate limiter and the delivered-id store (Dedup): {use}.
  metrics::Family<metrics::Counter>& redis_round_trips_family;
  metrics::Family<metrics::Counter>& redis_errors_family;
  metrics::Counter& redis_round_trips_rate_limit;
  metrics::Counter& redis_errors_rate_limit;
  metrics::Counter& redis_round_trips_dedup;
  metrics::Counter& redis_errors_dedup;
  // The attempt log's records (AttemptLog): acknowledged by the broker, failed in a
  // delivery report, or dropped unqueued (a full local queue): {result}.
  metrics::Family<metrics::Counter>& attempt_log_family;
  metrics::Counter& attempt_log_produced;
  metrics::Counter& attempt_log_failed;
  metrics::Counter& attempt_log_dropped;
  // The attempt log's producer replaced after a fatal error (AttemptLog).
  metrics::Counter& attempt_log_restarts;

  // Operational events (OperationalEvents, operational_events.h): {outcome} produced
  // (acknowledged by the broker), failed (not produced or not acknowledged), dropped (over
  // the in-memory bounds).
  metrics::Family<metrics::Counter>& operational_events_family;
  metrics::Counter& operational_events_produced;
  metrics::Counter& operational_events_failed;
  metrics::Counter& operational_events_dropped;

 private:
  struct Reason {
    std::string_view name;
    metrics::Counter* counter;
  };
  std::array<Reason, 10> dead_letter_reasons_{};
  metrics::Counter* dead_letters_other_ = nullptr;
};

}  // namespace hookpipe::deliverer
