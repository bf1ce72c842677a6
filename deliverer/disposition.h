#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <unordered_map>

#include "common/config/config.h"
#include "common/kafka/hand_off.h"
#include "common/kafka/kafka.h"
#include "common/kafka/progress.h"
#include "common/observe/observer.h"
#include "common/subscriptions/subscription.h"
#include "common/subscriptions/table.h"
#include "common/subscriptions/writer.h"
#include "common/webhook/outcome.h"
#include "deliverer/metrics.h"
#include "deliverer/pending.h"

namespace hookpipe::deliverer {

struct Shared;

// An HTTP attempt that ended, as the observers are told of it.
struct AttemptResult {
  long status = 0;
  int64_t started_ms = 0;
  int64_t duration_us = 0;
  std::string_view error_class;
  std::string_view error_message;
  std::size_t request_bytes = 0;
  std::string_view response_head;
};

// Where each delivery ends for this worker: delivered, retried (a retry tier, or in place
// for an ordered subscription), parked without spending an attempt, dead-lettered, or
// skipped; and the offsets that follow from it. Every message is begun in the worker's
// kafka::Progress when taken in and finished when delivered, skipped, or acknowledged by
// the broker in a retry tier or the DLQ; only the contiguous finished prefix is stored
// (and committed). Partitions held paused for ordered lanes are resumed where intake left
// them. Each step ends in exactly one observe::Observers call.
//
// Thread and lifecycle: one per worker, made by Deliverer::create() once its consumer
// exists, used only on that worker's thread (hand-off acknowledgements are served from
// pump(), on it too). Owns the worker's producer.
class Disposition {
 public:
  Disposition(const Config& config, Shared& shared, SubscriptionTable& table,
              std::unique_ptr<kafka::Producer> producer, int worker);
  // The consumer whose offsets are stored and whose partitions are paused; set once,
  // before the first delivery.
  void attach(kafka::Consumer& consumer) { consumer_ = &consumer; }
  kafka::Producer& producer() { return *producer_; }

  // Intake: `offset` of `partition` was polled (resumes start after it) and begun.
  void takenIn(int32_t partition, int64_t offset) { next_offset_[partition] = offset + 1; }
  void begin(const kafka::OwnedMessage& msg) {
    progress_.begin(msg.topic, msg.partition, msg.offset);
  }

  // The steps. Each observes once and finishes the offset now or once the broker has
  // the record onwards.
  void delivered(const Pending& p, const Subscription& sub, const AttemptResult& attempt);
  // A retryable failure: a retry tier, or the dead-letter topic when the policy is spent.
  // `retry_after` (the receiver's Retry-After or its platform's retry_after) lengthens the
  // policy's delay, up to the policy's max_delay.
  // Returns true for an ordered subscription's retry in place: `p` is then kept (with its
  // not_before_ms) for the caller to put back at the head of its lane.
  bool retryOrDeadLetter(Pending& p, const Subscription& sub, const webhook::Outcome& outcome,
                         const std::string& message,
                         std::optional<std::chrono::milliseconds> retry_after,
                         const AttemptResult& attempt);
  // Re-queues in the shortest suitable tier without spending an attempt; `cause` is the
  // observed park reason.
  void park(Pending p, int64_t due_ms, std::string_view cause, const Subscription* sub = nullptr);
  void parkPaused(Pending p, const Subscription* sub = nullptr);
  // Holds a delivery back while its endpoint's breaker is open until `open_until_ms`,
  // without spending an attempt — unless its retry policy's horizon (first attempt + the
  // policy's delays) has passed: then it is dead-lettered as cut short, `breaker_open`.
  void parkForBreaker(Pending p, const Subscription& sub, int64_t open_until_ms);
  void deadLetter(Pending p, const std::string& reason, const Subscription* sub = nullptr,
                  const AttemptResult* attempt = nullptr);
  // Not sent: `reason` "duplicate" or "unknown_subscription".
  void skip(const Pending& p, std::string_view reason, const Subscription* sub = nullptr);
  // After a 410 Gone: writes `sub` back inactive through subscriptions::Writer (the API's
  // write path), once per version of the subscription.
  void disableSubscription(const Subscription& sub);

  // Ordered lanes at their bound pause their partition; it resumes where intake left it
  // once no lane holds it.
  void holdPartition(int32_t partition);
  void releasePartition(int32_t partition);
  bool holdsPause(const std::string& topic, int32_t partition) const;
  std::optional<int64_t> resumeOffset(int32_t partition) const;
  std::size_t partitionsHeld() const { return partition_holds_.size(); }
  // Rebalance: holds of revoked partitions are let go (unpaused) and their offsets forgotten.
  void revokeHolds(const rd_kafka_topic_partition_list_t& partitions);
  void forget(const rd_kafka_topic_partition_list_t& partitions) { progress_.forget(partitions); }

  // Serves hand-off acknowledgements and resends.
  void pump() { hand_off_->pump(0); }
  std::size_t waitingToResend() const { return hand_off_->waitingToResend(); }

 private:
  // Produces to `topic` and finishes the origin offset once the broker has it.
  void handOff(std::string topic, kafka::OwnedMessage msg, kafka::HeaderList headers);
  void finish(const kafka::OwnedMessage& msg) {
    progress_.finish(msg.topic, msg.partition, msg.offset);
  }
  void observe(observe::Outcome outcome, const Pending& p, const Subscription* sub,
               std::string_view reason, const AttemptResult* attempt, int64_t next_attempt_ms);

  const Config& config_;
  Shared& shared_;
  int worker_;
  // Declared before the producer it writes through, so it is destroyed after it (a closing
  // producer drops the callbacks of writes still pending).
  std::unique_ptr<subscriptions::Writer> subscription_writer_;
  std::unique_ptr<kafka::Producer> producer_;
  std::unique_ptr<kafka::HandOff> hand_off_;
  kafka::Consumer* consumer_ = nullptr;
  // Stores through consumer_, read when an offset is stored: attach() comes first.
  kafka::Progress progress_{[this](const std::string& topic, int32_t partition, int64_t next) {
    consumer_->storeOffset(topic, partition, next);
  }};
  std::unordered_map<int32_t, int64_t> next_offset_;  // partition -> after the last taken in
  std::unordered_map<int32_t, int> partition_holds_;  // partition -> ordered lanes holding it
  std::mt19937_64 rng_{std::random_device{}()};
};

}  // namespace hookpipe::deliverer
