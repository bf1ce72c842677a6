#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <optional>

#include "common/config/config.h"
#include "common/kafka/hand_off.h"
#include "common/kafka/kafka.h"
#include "common/kafka/progress.h"
#include "retry/metrics.h"

namespace hookpipe::retry {

// The retry role: consumes every retry tier topic and sends each record on when it is
// due — back to `deliveries`, or to another tier when the wait is longer than its tier
// (a "hop").
//
// Holding without polling: a record released at T = min(due, produced + tier delay)
// that is not due yet pauses its partition and is kept in memory (one record per
// partition, so memory is bounded by the assignment). Its release time bounds the
// poll timeout; when it passes, the record is produced and the partition resumed
// *at the record's offset + 1* — librdkafka 2.0.2 purges a paused partition's
// prefetched records, so the position is set explicitly rather than trusted.
//
// Example with tiers 5s and 1m: a delivery due in 3 min goes to retry.1m; released
// after 1 min it still has 2 min to wait, so it hops to retry.1m again; after the
// second minute 1 min remains: retry.1m once more, then deliveries.
//
// Threads: run() owns the consumer, the held records and the offset tracker.
class RetryWorker final : public kafka::RebalanceListener {
 public:
  // The worker's metrics are declared in `registry` (owned by the role, outliving it).
  static Result<std::unique_ptr<RetryWorker>> create(const Config& config,
                                                     metrics::Registry& registry);
  ~RetryWorker() override;
  // Runs until `stop`; returns the exit code (1 after a fatal consumer error).
  int run(const std::atomic<bool>& stop);

  void onAssigned(const rd_kafka_topic_partition_list_t&) override {}
  // Resumes the partitions it held: every pause has its resume.
  void onRevoked(const rd_kafka_topic_partition_list_t& partitions) override;
  bool holdsPause(const std::string& topic, int32_t partition) const override;
  std::optional<int64_t> resumeOffset(const std::string& topic, int32_t partition) const override;

  const RetryMetrics& metrics() const { return metrics_; }

 private:
  RetryWorker(const Config& config, metrics::Registry& registry);
  // Brings the gauges up to date (held records, in flight, paused partitions).
  void updateGauges();
  void take(kafka::OwnedMessage msg);
  void forward(kafka::OwnedMessage msg);
  int64_t releaseAt(const kafka::OwnedMessage& msg) const;

  struct Held {
    kafka::OwnedMessage msg;
    int64_t release_at_ms;
  };
  Config config_;
  std::map<std::string, std::chrono::milliseconds> tier_of_topic_;
  std::unique_ptr<kafka::Producer> producer_;
  std::unique_ptr<kafka::HandOff> hand_off_;
  std::unique_ptr<kafka::Consumer> consumer_;
  kafka::Progress progress_;
  std::map<std::pair<std::string, int32_t>, Held> held_;
  RetryMetrics metrics_;
};

}  // namespace hookpipe::retry
