#include "retry/retry_worker.h"

#include <algorithm>

#include "common/log/log.h"
#include "common/records/delivery.h"
#include "common/retry_policy/policy.h"

namespace hookpipe::retry {
namespace {

constexpr auto kDrainBudget = std::chrono::seconds(10);

std::shared_ptr<spdlog::logger> log() {
  static auto l = logger("retry");
  return l;
}

}  // namespace

RetryWorker::RetryWorker(const Config& config, metrics::Registry& registry)
    : config_(config),
      progress_([this](const std::string& topic, int32_t partition, int64_t next) {
        consumer_->storeOffset(topic, partition, next);
      }),
      metrics_(registry) {
  for (auto tier : config.retry_tiers) tier_of_topic_[config.topics.retryTier(tier)] = tier;
}

RetryWorker::~RetryWorker() {
  if (producer_) producer_->flush(kDrainBudget);
}

Result<std::unique_ptr<RetryWorker>> RetryWorker::create(const Config& config,
                                                         metrics::Registry& registry) {
  std::unique_ptr<RetryWorker> w(new RetryWorker(config, registry));
  auto producer = kafka::Producer::create(
      config, {{"message.timeout.ms", "0"}, {"client.id", config.groupId("retry") + "-producer"}});
  if (!producer) return std::unexpected(producer.error());
  w->producer_ = std::move(*producer);
  w->hand_off_ = std::make_unique<kafka::HandOff>(*w->producer_);
  // After a release the partition is resumed and seeked; with the default
  // fetch.wait.max.ms (500) the next fetch of a quiet tier can sit on the broker that
  // long, and records queued behind the held one come out late (tier_accuracy_bench:
  // p50 lateness 214 ms -> 1 ms with 50).
  auto consumer = kafka::Consumer::create(config, config.groupId("retry"), w.get(),
                                          {{"fetch.wait.max.ms", "50"}});
  if (!consumer) return std::unexpected(consumer.error());
  w->consumer_ = std::move(*consumer);
  std::vector<std::string> topics;
  for (const auto& [topic, _] : w->tier_of_topic_) topics.push_back(topic);
  if (auto s = w->consumer_->subscribe(topics); !s) return std::unexpected(s.error());
  return w;
}

int64_t RetryWorker::releaseAt(const kafka::OwnedMessage& msg) const {
  const int64_t due = records::DeliveryMeta::fromHeaders(msg.headers).due_ms;
  auto tier = tier_of_topic_.find(msg.topic);
  const int64_t tier_end =
      msg.timestamp_ms + (tier == tier_of_topic_.end() ? 0 : tier->second.count());
  return std::min(due, tier_end);
}

int RetryWorker::run(const std::atomic<bool>& stop) {
  auto last_report = std::chrono::steady_clock::now();
  while (!stop && !consumer_->fatal()) {
    hand_off_->pump(0);
    updateGauges();
    if (auto t = std::chrono::steady_clock::now(); t - last_report > std::chrono::seconds(10)) {
      last_report = t;
      const auto& counters = kafka::consumerCounters();
      log()->info(
          "forwarded={} hops={} held={} paused={} in_flight={} stuck_partitions={} "
          "consumer_rejoins={}",
          metrics_.forwarded.value(), metrics_.hops.value(), metrics_.held.value(),
          metrics_.paused_partitions.value(), metrics_.in_flight.value(),
          counters.stuck_partitions.load(), counters.rejoins.load());
    }
    const int64_t now = kafka::nowMs();
    int64_t next_release = now + 100;
    for (auto it = held_.begin(); it != held_.end();) {
      if (it->second.release_at_ms <= now) {
        const int64_t resume_at = it->second.msg.offset + 1;
        const auto [topic, partition] = it->first;
        forward(std::move(it->second.msg));
        consumer_->resumeAt(topic, partition, resume_at);
        it = held_.erase(it);
      } else {
        next_release = std::min(next_release, it->second.release_at_ms);
        ++it;
      }
    }
    const int timeout = static_cast<int>(std::clamp<int64_t>(next_release - now, 0, 100));
    kafka::MessagePtr msg =
        consumer_->poll(progress_.pendingTotal() > 0 ? std::min(timeout, 5) : timeout);
    if (!msg) continue;
    if (msg->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      log()->warn("consumer error={}", rd_kafka_message_errstr(msg.get()));
      continue;
    }
    // A record of a held partition fetched before the pause took effect: it will be
    // fetched again after the resume, so it is neither handled nor committed now.
    if (held_.contains({rd_kafka_topic_name(msg->rkt), msg->partition})) continue;
    take(kafka::OwnedMessage::copyOf(msg.get()));
  }
  hand_off_->pumpUntil([this] { return progress_.pendingTotal() == 0; }, kDrainBudget);
  consumer_->close();
  updateGauges();
  return consumer_->fatal() ? 1 : 0;
}

void RetryWorker::take(kafka::OwnedMessage msg) {
  const int64_t release = releaseAt(msg);
  if (release <= kafka::nowMs()) {
    forward(std::move(msg));
    return;
  }
  consumer_->pause(msg.topic, msg.partition);
  auto key = std::make_pair(msg.topic, msg.partition);
  held_.emplace(std::move(key), Held{std::move(msg), release});
}

void RetryWorker::forward(kafka::OwnedMessage msg) {
  const auto meta = records::DeliveryMeta::fromHeaders(msg.headers);
  const int tier = retry_policy::chooseTier(
      config_.retry_tiers, std::chrono::milliseconds(meta.due_ms - kafka::nowMs()));
  std::string destination;
  if (tier < 0) {
    destination = config_.topics.deliveries();
    metrics_.forwarded.inc();
  } else {
    destination = config_.topics.retryTier(config_.retry_tiers[tier]);
    metrics_.hops.inc();
  }
  progress_.handOff(*hand_off_, std::move(destination), std::move(msg.key), std::move(msg.value),
                    std::move(msg.headers), {std::move(msg.topic), msg.partition, msg.offset});
}

void RetryWorker::updateGauges() {
  metrics_.held.set(static_cast<int64_t>(held_.size()));
  metrics_.in_flight.set(static_cast<int64_t>(progress_.pendingTotal()));
  metrics_.paused_partitions.set(static_cast<int64_t>(consumer_->pausedCount()));
}

void RetryWorker::onRevoked(const rd_kafka_topic_partition_list_t& partitions) {
  hand_off_->pumpUntil([&] { return progress_.pending(partitions) == 0; }, kDrainBudget);
  // A held record was never begun: its offset stays uncommitted and the next owner
  // reads it again. Its partition is resumed as it is let go: librdkafka 2.0.2 keeps the
  // pause across the revoke, and a partition that came back to this consumer (the same
  // one rejoining after losing its membership, say) would never be fetched again.
  for (int i = 0; i < partitions.cnt; ++i) {
    const std::string topic = partitions.elems[i].topic;
    const int32_t partition = partitions.elems[i].partition;
    if (held_.erase({topic, partition}) > 0) consumer_->resume(topic, partition);
  }
  progress_.forget(partitions);
}

bool RetryWorker::holdsPause(const std::string& topic, int32_t partition) const {
  return held_.contains({topic, partition});
}

std::optional<int64_t> RetryWorker::resumeOffset(const std::string& topic,
                                                 int32_t partition) const {
  // Everything up to the last record begun was forwarded (or is being); what follows
  // was either not fetched or skipped while the partition was held.
  if (auto last = progress_.lastBegun(topic, partition)) return *last + 1;
  return std::nullopt;
}

}  // namespace hookpipe::retry
