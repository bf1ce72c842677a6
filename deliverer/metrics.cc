#include "deliverer/metrics.h"

namespace hookpipe::deliverer {
namespace {

constexpr std::array<std::string_view, 10> kDeadLetterReasons = {
    "retries_exhausted", "breaker_open",    "paused",  "http_4xx",        "http_410_gone",
    "http_redirect",     "http_unexpected", "bad_url", "refused_address", "platform_rejected"};

}  // namespace

DelivererMetrics::DelivererMetrics(metrics::Registry& r)
    : registry(r),
      steps_family(r.counterFamily("hookpipe_deliverer_steps_total",
                                   "Finished delivery steps by outcome: one per delivery "
                                   "the deliverer is done with for now, attempted or not",
                                   {"outcome"})),
      attempts_family(r.counterFamily("hookpipe_deliverer_attempts_total",
                                      "HTTP attempts by the step they ended", {"outcome"})),
      attempts_delivered(attempts_family.labels({"delivered"})),
      attempts_retried(attempts_family.labels({"retried"})),
      attempts_dead_lettered(attempts_family.labels({"dead_lettered"})),
      attempt_duration(r.histogram("hookpipe_deliverer_attempt_duration_seconds",
                                   "Duration of the HTTP attempts", metrics::durationBuckets())),
      responses_family(r.counterFamily("hookpipe_deliverer_attempt_responses_total",
                                       "HTTP attempts by the status class of the answer (none: "
                                       "timeout, connection, DNS or TLS error)",
                                       {"class"})),
      parked_family(r.counterFamily("hookpipe_deliverer_parked_total",
                                    "Deliveries parked in a retry tier without spending an attempt",
                                    {"cause"})),
      parked_rate_limit(parked_family.labels({"rate_limit"})),
      parked_lane_full(parked_family.labels({"lane_full"})),
      parked_breaker_open(parked_family.labels({"breaker_open"})),
      parked_paused(parked_family.labels({"paused"})),
      dead_letters_family(r.counterFamily("hookpipe_deliverer_dead_letters_total",
                                          "Deliveries handed to the dead-letter topic",
                                          {"reason"})),
      duplicates_skipped(r.counter("hookpipe_deliverer_duplicates_skipped_total",
                                   "Deliveries not sent: delivered before or in flight")),
      unknown_subscription(r.counter("hookpipe_deliverer_unknown_subscription_total",
                                     "Deliveries dropped: their subscription is gone")),
      in_flight(r.gauge("hookpipe_deliverer_requests_in_flight", "HTTP requests out")),
      waiting(r.gauge("hookpipe_deliverer_waiting", "Deliveries waiting in memory in lanes")),
      partitions_held(r.gauge("hookpipe_deliverer_partitions_held",
                              "Deliveries partitions held paused by ordered lanes at their bound")),
      breakers_family(
          r.gaugeFamily("hookpipe_deliverer_breakers", "Endpoints by breaker state", {"state"})),
      breakers_closed(breakers_family.labels({"closed"})),
      breakers_open(breakers_family.labels({"open"})),
      breakers_half_open(breakers_family.labels({"half_open"})),
      breaker_opened(r.counter("hookpipe_deliverer_breaker_opened_total", "Breakers opened")),
      breaker_closed(r.counter("hookpipe_deliverer_breaker_closed_total", "Breakers closed again")),
      throttle_backoffs(r.counter("hookpipe_deliverer_throttle_backoffs_total",
                                  "Adaptive concurrency limits halved after a 429 or 503")),
      rate_limit_waits(r.counter("hookpipe_deliverer_rate_limit_waits_total",
                                 "Token asks granted less than asked for")),
      redis_round_trips_family(r.counterFamily("hookpipe_deliverer_redis_round_trips_total",
                                               "Redis round trips", {"use"})),
      redis_errors_family(
          r.counterFamily("hookpipe_deliverer_redis_errors_total", "Redis errors", {"use"})),
      redis_round_trips_rate_limit(redis_round_trips_family.labels({"rate_limit"})),
      redis_errors_rate_limit(redis_errors_family.labels({"rate_limit"})),
      redis_round_trips_dedup(redis_round_trips_family.labels({"dedup"})),
      redis_errors_dedup(redis_errors_family.labels({"dedup"})),
      attempt_log_family(r.counterFamily("hookpipe_deliverer_attempt_log_records_total",
                                         "Attempt log records by result: acknowledged "
                                         "(produced), failed by the broker, dropped unqueued",
                                         {"result"})),
      attempt_log_produced(attempt_log_family.labels({"produced"})),
      attempt_log_failed(attempt_log_family.labels({"failed"})),
      attempt_log_dropped(attempt_log_family.labels({"dropped"})),
      attempt_log_restarts(r.counter("hookpipe_deliverer_attempt_log_producer_restarts_total",
                                     "Attempt log producers replaced after a fatal error")),
      operational_events_family(r.counterFamily("hookpipe_deliverer_operational_events_total",
                                                "Operational (hookpipe.*) events by outcome",
                                                {"outcome"})),
      operational_events_produced(operational_events_family.labels({"produced"})),
      operational_events_failed(operational_events_family.labels({"failed"})),
      operational_events_dropped(operational_events_family.labels({"dropped"})) {
  responses = {&responses_family.labels({"none"}), &responses_family.labels({"2xx"}),
               &responses_family.labels({"3xx"}), &responses_family.labels({"4xx"}),
               &responses_family.labels({"5xx"})};
  for (int o = 0; o < 5; ++o)
    steps[static_cast<std::size_t>(o)] =
        &steps_family.labels({observe::name(static_cast<observe::Outcome>(o))});
  for (std::size_t i = 0; i < kDeadLetterReasons.size(); ++i)
    dead_letter_reasons_[i] = {kDeadLetterReasons[i],
                               &dead_letters_family.labels({kDeadLetterReasons[i]})};
  dead_letters_other_ = &dead_letters_family.labels({"other"});
}

metrics::Counter& DelivererMetrics::parkedFor(std::string_view cause) {
  if (cause == "rate_limit") return parked_rate_limit;
  if (cause == "breaker_open") return parked_breaker_open;
  if (cause == "paused") return parked_paused;
  return parked_lane_full;
}

metrics::Counter& DelivererMetrics::deadLettersFor(std::string_view reason) {
  // A platform's permanent answer (slack_invalid_token, telegram_forbidden …: a few dozen
  // classes, webhook::judge()) is one label.
  if (reason.starts_with("slack_") || reason.starts_with("discord_") ||
      reason.starts_with("telegram_"))
    reason = "platform_rejected";
  for (const Reason& r : dead_letter_reasons_)
    if (r.name == reason) return *r.counter;
  return *dead_letters_other_;
}

}  // namespace hookpipe::deliverer
