#include "deliverer/disposition.h"

#include <algorithm>

#include "common/json/event.h"
#include "common/log/log.h"
#include "common/retry_policy/policy.h"
#include "deliverer/deliverer.h"
#include "deliverer/operational_events.h"

namespace hookpipe::deliverer {
namespace {

// A paused subscription's deliveries come back every so often to see whether it was resumed:
// after the shortest tier at first, then as long as it has been paused, up to this.
constexpr int64_t kMaxPausedParkMs = 60'000;

std::shared_ptr<spdlog::logger> log() {
  static auto l = logger("deliverer");
  return l;
}

}  // namespace

Disposition::Disposition(const Config& config, Shared& shared, SubscriptionTable& table,
                         std::unique_ptr<kafka::Producer> producer, int worker)
    : config_(config),
      shared_(shared),
      worker_(worker),
      subscription_writer_(
          std::make_unique<subscriptions::Writer>(*producer, table, config.topics.subscriptions())),
      producer_(std::move(producer)),
      hand_off_(std::make_unique<kafka::HandOff>(*producer_)) {}

void Disposition::observe(observe::Outcome outcome, const Pending& p, const Subscription* sub,
                          std::string_view reason, const AttemptResult* attempt,
                          int64_t next_attempt_ms) {
  if (shared_.observers.empty()) return;
  const records::DeliveryMeta& meta = p.meta;
  observe::Attempt a;
  a.outcome = outcome;
  a.subscription_id = meta.subscription_id;
  if (sub != nullptr) a.tenant = sub->tenant;
  a.delivery_id = meta.delivery_id;
  a.event_id = meta.event_id;
  a.event_type = meta.event_type;
  a.attempt = meta.attempt;
  a.replay = meta.replay_count;
  a.reason = reason;
  a.next_attempt_ms = next_attempt_ms;
  a.source_topic = p.msg.topic;
  a.source_partition = p.msg.partition;
  a.source_offset = p.msg.offset;
  if (attempt != nullptr) {
    a.attempted = true;
    a.started_ms = attempt->started_ms;
    a.duration_us = attempt->duration_us;
    a.status = attempt->status;
    a.error_class = attempt->error_class;
    a.error_message = attempt->error_message;
    a.request_bytes = attempt->request_bytes;
    a.response_bytes = attempt->response_head.size();
    a.response_head = attempt->response_head;
  } else if (outcome == observe::Outcome::kDeadLettered) {
    a.error_class = meta.error_class;
    a.error_message = meta.error_message;
  }
  shared_.observers.onAttempt(a);
}

void Disposition::delivered(const Pending& p, const Subscription& sub,
                            const AttemptResult& attempt) {
  observe(observe::Outcome::kDelivered, p, &sub, "", &attempt, 0);
  finish(p.msg);
}

void Disposition::skip(const Pending& p, std::string_view reason, const Subscription* sub) {
  observe(observe::Outcome::kSkipped, p, sub, reason, nullptr, 0);
  finish(p.msg);
}

bool Disposition::retryOrDeadLetter(Pending& p, const Subscription& sub,
                                    const webhook::Outcome& outcome, const std::string& message,
                                    std::optional<std::chrono::milliseconds> retry_after,
                                    const AttemptResult& attempt) {
  records::DeliveryMeta& meta = p.meta;
  meta.error_class = outcome.error_class;
  meta.error_message = message;
  auto delay = retry_policy::retryDelay(sub.retry_config, meta.attempt, rng_);
  if (!delay) {
    deadLetter(std::move(p), "retries_exhausted", &sub, &attempt);
    return false;
  }
  if (retry_after)
    delay = std::max(
        *delay, std::min(*retry_after, std::chrono::milliseconds(sub.retry_config.max_delay_ms)));
  const int64_t due_ms = kafka::nowMs() + delay->count();
  observe(observe::Outcome::kRetried, p, &sub, "", &attempt, due_ms);
  meta.attempt += 1;
  meta.due_ms = due_ms;
  if (sub.ordered) {
    // Retry in place: it stays at the head of its lane, holding back the ones behind it.
    p.not_before_ms = meta.due_ms;
    return true;
  }
  kafka::HeaderList headers = p.headers.unpack();
  meta.writeTo(headers);
  const int tier = retry_policy::chooseTier(config_.retry_tiers, *delay);
  std::string topic =
      tier < 0 ? config_.topics.deliveries() : config_.topics.retryTier(config_.retry_tiers[tier]);
  handOff(std::move(topic), std::move(p.msg), std::move(headers));
  return false;
}

void Disposition::park(Pending p, int64_t due_ms, std::string_view cause, const Subscription* sub) {
  const int64_t now = kafka::nowMs();
  p.meta.due_ms = std::max(due_ms, now + 1);
  observe(observe::Outcome::kParked, p, sub, cause, nullptr, p.meta.due_ms);
  kafka::HeaderList headers = p.headers.unpack();
  p.meta.writeTo(headers);
  // Never straight back to `deliveries`: a tier holds it until due_ms.
  const int tier =
      std::max(0, retry_policy::chooseTier(config_.retry_tiers,
                                           std::chrono::milliseconds(p.meta.due_ms - now)));
  handOff(config_.topics.retryTier(config_.retry_tiers[tier]), std::move(p.msg),
          std::move(headers));
}

void Disposition::parkForBreaker(Pending p, const Subscription& sub, int64_t open_until_ms) {
  const int64_t now = kafka::nowMs();
  records::DeliveryMeta& meta = p.meta;
  // Time held back counts against the schedule: a delivery first seen by an open breaker
  // starts its clock now (first_attempt_ms is "its first chance", attempted or not).
  if (meta.first_attempt_ms == 0) meta.first_attempt_ms = now;
  const int64_t deadline = meta.first_attempt_ms + retry_policy::horizon(sub.retry_config).count();
  if (now > deadline) {
    meta.error_message =
        "cut short by an open circuit breaker: the retry policy's horizon passed" +
        (meta.error_message.empty() ? std::string() : "; last error: " + meta.error_message);
    if (meta.error_class.empty()) meta.error_class = "breaker_open";
    deadLetter(std::move(p), "breaker_open", &sub);
    return;
  }
  // Back when it reopens (half-open: a probe may take it), or just past its deadline if
  // that comes first: then, the breaker still open, it goes to the dead-letter topic.
  park(std::move(p), std::min(open_until_ms, deadline + 1), "breaker_open", &sub);
}

void Disposition::parkPaused(Pending p, const Subscription* sub) {
  const int64_t now = kafka::nowMs();
  if (p.meta.parked_since_ms == 0) p.meta.parked_since_ms = now;
  if (now - p.meta.parked_since_ms >= config_.max_pause.count()) {
    p.meta.error_class = "paused";
    p.meta.error_message = "subscription paused for longer than max_pause";
    deadLetter(std::move(p), "paused", sub);
    return;
  }
  const int64_t shortest = config_.retry_tiers.front().count();
  const int64_t wait = std::clamp<int64_t>(now - p.meta.parked_since_ms, shortest,
                                           std::max(kMaxPausedParkMs, shortest));
  park(std::move(p), now + wait, "paused", sub);
}

void Disposition::deadLetter(Pending p, const std::string& reason, const Subscription* sub,
                             const AttemptResult* attempt) {
  observe(observe::Outcome::kDeadLettered, p, sub, reason, attempt, 0);
  kafka::OwnedMessage& msg = p.msg;
  kafka::HeaderList headers = p.headers.unpack();
  p.meta.deadLetter(reason, kafka::nowMs(), {msg.topic, msg.partition, msg.offset});
  p.meta.writeTo(headers);
  handOff(config_.topics.dlq(), std::move(msg), std::move(headers));
}

void Disposition::handOff(std::string topic, kafka::OwnedMessage msg, kafka::HeaderList headers) {
  // The record is spent here: its key and value move into the hand-off and its topic into
  // the position finished on acknowledgement.
  hand_off_->send(std::move(topic), std::move(msg.key), std::move(msg.value), std::move(headers),
                  progress_.finisher({std::move(msg.topic), msg.partition, msg.offset}));
}

void Disposition::disableSubscription(const Subscription& sub) {
  // Every request out when the endpoint went away answers 410: one write per version.
  if (!sub.is_active || !shared_.firstToDisable(sub)) return;
  log()->warn("disabling subscription id={} reason=410_gone", sub.id);
  subscription_writer_->disable(
      sub, "the endpoint answered 410 Gone",
      [&shared = shared_, version = std::make_shared<const Subscription>(sub)](
          const Result<std::shared_ptr<const Subscription>>& r) {
        if (r) {
          if (shared.operational_events != nullptr)
            shared.operational_events->subscriptionDisabled(**r, "http_410_gone",
                                                            "the endpoint answered 410 Gone", 410);
          return;
        }
        shared.forgetDisable(*version);  // the next 410 of this version tries again
        log()->error("could not disable subscription id={} error={}", version->id,
                     r.error().message);
      });
}

void Disposition::holdPartition(int32_t partition) {
  if (partition_holds_[partition]++ > 0) return;
  shared_.metrics.partitions_held.add(1);
  log()->info("worker={} partition={} paused: an ordered subscription's lane is full", worker_,
              partition);
  consumer_->pause(config_.topics.deliveries(), partition);
}

void Disposition::releasePartition(int32_t partition) {
  auto it = partition_holds_.find(partition);
  if (it == partition_holds_.end() || --it->second > 0) return;
  partition_holds_.erase(it);
  shared_.metrics.partitions_held.sub(1);
  // The pause purged what was fetched beyond intake: fetch again from where it stopped.
  auto next = next_offset_.find(partition);
  if (next == next_offset_.end()) {  // nothing taken in to resume after: never left paused
    consumer_->resume(config_.topics.deliveries(), partition);
    return;
  }
  log()->info("worker={} partition={} resumed at offset={}", worker_, partition, next->second);
  consumer_->resumeAt(config_.topics.deliveries(), partition, next->second);
}

bool Disposition::holdsPause(const std::string& topic, int32_t partition) const {
  return topic == config_.topics.deliveries() && partition_holds_.contains(partition);
}

std::optional<int64_t> Disposition::resumeOffset(int32_t partition) const {
  // Everything before it was taken in and is tracked.
  auto next = next_offset_.find(partition);
  if (next == next_offset_.end()) return std::nullopt;
  return next->second;
}

void Disposition::revokeHolds(const rd_kafka_topic_partition_list_t& partitions) {
  // Partitions held paused for ordered lanes are let go with them, unpaused (so that a
  // later assignment of the same partition starts fetching).
  for (int i = 0; i < partitions.cnt; ++i) {
    const int32_t partition = partitions.elems[i].partition;
    if (partition_holds_.erase(partition) > 0) {
      shared_.metrics.partitions_held.sub(1);
      consumer_->resume(config_.topics.deliveries(), partition);
    }
    next_offset_.erase(partition);
  }
}

}  // namespace hookpipe::deliverer
