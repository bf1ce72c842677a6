#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_set>
#include <vector>

#include "common/config/config.h"
#include "common/kafka/kafka.h"
#include "common/observe/observer.h"
#include "common/redis/redis.h"
#include "common/subscriptions/table.h"
#include "deliverer/admission.h"
#include "deliverer/clock.h"
#include "deliverer/dedup.h"
#include "deliverer/disposition.h"
#include "deliverer/endpoint_guard.h"
#include "deliverer/metrics.h"
#include "deliverer/rate_limiter.h"
#include "deliverer/recent_ids.h"
#include "deliverer/transport.h"

namespace hookpipe::deliverer {

class OperationalEvents;

// What the workers of one process share. Made by the role before the workers and outliving
// them; every member is safe to use from any worker thread.
struct Shared {
  Shared(const Config& config, DelivererMetrics& metrics, observe::Observers& observers)
      : metrics(metrics),
        observers(observers),
        guard({.failures = config.breaker_failures,
               .cooldown = config.breaker_cooldown,
               .window = config.breaker_window,
               .failure_rate_pct = config.breaker_failure_rate_pct},
              metrics) {}
  DelivererMetrics& metrics;
  // Told of every finished delivery step; not changed once the workers run.
  observe::Observers& observers;
  EndpointGuard guard;
  // Whether this process should write `sub` back disabled after a 410: once per version of
  // the subscription (its updated_at), however many of its requests answered 410.
  bool firstToDisable(const Subscription& sub) {
    std::lock_guard lock(disabled_mu_);
    return disabled_versions_.insert(sub.id + '\n' + sub.updated_at).second;
  }
  // The write failed: the next 410 of this version tries again.
  void forgetDisable(const Subscription& sub) {
    std::lock_guard lock(disabled_mu_);
    disabled_versions_.erase(sub.id + '\n' + sub.updated_at);
  }
  // Told of subscriptions written back disabled (null: operational events are off); set by
  // the role before the workers start.
  OperationalEvents* operational_events = nullptr;
  // Set when one worker fails fatally: the others stop too, so the process exits.
  std::atomic<bool> halt{false};

 private:
  std::mutex disabled_mu_;
  std::unordered_set<std::string> disabled_versions_;
};

// One deliverer worker: consumes `deliveries` (its own consumer in the `<prefix>deliverer`
// group), POSTs each record, and hands failures to a retry tier or the dead-letter topic.
// A process runs HOOKPIPE_DELIVERER_THREADS of them. The worker is a coordinator: it owns
// its parts and runs the loop — poll what Admission has room for, screen it (Dedup), admit
// it (Admission), drive the transfers (Transport) and dispose of each that ends
// (Disposition); it serves the rebalance callbacks.
//
// Threads and lifecycle: create() builds everything; run() owns it all on one thread
// until `stop` (producer delivery reports and rebalance callbacks are served inside it),
// then drains and closes; destroyed on the role's thread after run() returned.
class Deliverer final : public kafka::RebalanceListener, private AdmissionSink {
 public:
  static Result<std::unique_ptr<Deliverer>> create(const Config& config, SubscriptionTable& table,
                                                   Shared& shared, int worker = 0);
  ~Deliverer() override;
  // Runs until `stop`; returns the exit code (1 after a fatal consumer error).
  int run(const std::atomic<bool>& stop);

  void onAssigned(const rd_kafka_topic_partition_list_t& partitions) override;
  void onRevoked(const rd_kafka_topic_partition_list_t& partitions) override;
  // A partition is held paused while an ordered lane holds it.
  bool holdsPause(const std::string& topic, int32_t partition) const override;
  std::optional<int64_t> resumeOffset(const std::string& topic, int32_t partition) const override;

 private:
  Deliverer(const Config& config, SubscriptionTable& table, Shared& shared, int worker);

  // Takes in a polled batch (its elements are moved from; the caller clears it).
  void intake(std::vector<Pending>& batch);
  // Completes every finished transfer.
  void completeFinished();
  void complete(std::unique_ptr<Transfer> t, CURLcode code);
  void drain(const std::function<bool()>& done, std::chrono::milliseconds budget);
  void logStats(const char* what);

  // AdmissionSink
  void start(Pending p, std::shared_ptr<const Subscription> sub) override;
  void parkOverflow(Pending p, const Subscription& sub, int64_t due_ms,
                    std::string_view cause) override;
  void parkForBreaker(Pending p, const Subscription& sub, int64_t open_until_ms) override;
  void parkPaused(Pending p, const Subscription& sub) override;
  void dropUnknown(Pending p) override;
  void holdPartition(int32_t partition) override;
  void releasePartition(int32_t partition) override;

  Config config_;
  SubscriptionTable& table_;
  Shared& shared_;
  DelivererMetrics& metrics_;
  int worker_;
  SystemClock clock_;
  redis::Client redis_;
  RateLimiter limiter_;
  std::unique_ptr<Transport> transport_;
  std::unique_ptr<Disposition> disposition_;
  std::unique_ptr<Admission> admission_;
  std::unique_ptr<Dedup> dedup_;
  // Last, so that it goes first: its callbacks use the parts above.
  std::unique_ptr<kafka::Consumer> consumer_;
};

}  // namespace hookpipe::deliverer
