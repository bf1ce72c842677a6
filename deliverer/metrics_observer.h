#pragma once

#include "common/observe/observer.h"
#include "deliverer/metrics.h"

namespace hookpipe::deliverer {

// Turns each finished delivery step into the step counters of DelivererMetrics: attempts by
// outcome, the duration of the attempted ones, parks by cause, dead letters by reason and
// the skips. Registered by the role (deliverer/role.cc); thread-safe (relaxed atomics
// only), called on every worker thread.
class MetricsObserver final : public observe::DeliveryObserver {
 public:
  explicit MetricsObserver(DelivererMetrics& metrics) : metrics_(metrics) {}
  void onAttempt(const observe::Attempt& attempt) noexcept override;

 private:
  DelivererMetrics& metrics_;
};

}  // namespace hookpipe::deliverer
