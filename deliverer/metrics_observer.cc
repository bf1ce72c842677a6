#include "deliverer/metrics_observer.h"

namespace hookpipe::deliverer {

void MetricsObserver::onAttempt(const observe::Attempt& a) noexcept {
  metrics_.stepsOf(a.outcome).inc();
  if (a.attempted) {
    metrics_.attempt_duration.observe(static_cast<double>(a.duration_us) / 1e6);
    metrics_.responsesOf(a.status).inc();
  }
  switch (a.outcome) {
    case observe::Outcome::kDelivered:
      metrics_.attempts_delivered.inc();
      break;
    case observe::Outcome::kRetried:
      metrics_.attempts_retried.inc();
      break;
    case observe::Outcome::kParked:
      metrics_.parkedFor(a.reason).inc();
      break;
    case observe::Outcome::kDeadLettered:
      if (a.attempted) metrics_.attempts_dead_lettered.inc();
      metrics_.deadLettersFor(a.reason).inc();
      break;
    case observe::Outcome::kSkipped:
      (a.reason == "unknown_subscription" ? metrics_.unknown_subscription
                                          : metrics_.duplicates_skipped)
          .inc();
      break;
  }
}

}  // namespace hookpipe::deliverer
