#include "deliverer/dedup.h"

#include "common/log/log.h"

namespace hookpipe::deliverer {
namespace {

constexpr std::size_t kMarksPerFlush = 512;
constexpr auto kMarksFlushInterval = std::chrono::milliseconds(20);
constexpr auto kKeptMarksRetryInterval = std::chrono::seconds(1);

std::shared_ptr<spdlog::logger> log() {
  static auto l = logger("deliverer");
  return l;
}

}  // namespace

Dedup::Dedup(redis::Client& redis, const Config& config, DelivererMetrics& metrics)
    : metrics_(metrics),
      delivered_(redis, config.topics.prefix,
                 std::chrono::duration_cast<std::chrono::seconds>(config.delivered_ttl)) {}

bool Dedup::mayBeDelivered(const kafka::OwnedMessage& m, const records::DeliveryMeta& meta) const {
  // Came back through a tier or a replay: an earlier copy may have been delivered.
  if (meta.attempt > 1 || meta.due_ms != 0 || !meta.replay_id.empty()) return true;
  // Written before this worker took the partition over: its previous owner may have
  // delivered it and died (or lost the partition) before committing the offset.
  auto it = assigned_end_.find(m.partition);
  return it == assigned_end_.end() || m.offset < it->second;
}

void Dedup::lookUp(std::span<const Pending> batch) {
  asked_count_ = 0;
  asked_.assign(batch.size(), -1);
  for (std::size_t i = 0; i < batch.size(); ++i) {
    if (!mayBeDelivered(batch[i].msg, batch[i].meta)) continue;
    asked_[i] = static_cast<int>(asked_count_);
    if (asked_count_ == asked_ids_.size()) asked_ids_.emplace_back();
    asked_ids_[asked_count_++].assign(batch[i].meta.delivery_id);
  }
  // One round trip for what may have been delivered before; Redis down means "send
  // anyway". A fresh delivery written after the partition was assigned needs no lookup:
  // only this worker can have sent it (a re-routed twin is caught by recent_).
  answer_ = std::vector<bool>{};
  if (asked_count_ == 0) return;
  metrics_.redis_round_trips_dedup.inc();
  answer_ = delivered_.wereDelivered(std::span<const std::string>(asked_ids_.data(), asked_count_),
                                     kafka::nowMs());
  if (!answer_) {
    metrics_.redis_errors_dedup.inc();
    log()->warn("delivered-id check skipped error={}", answer_.error().message);
  }
}

bool Dedup::deliveredBefore(std::size_t i, std::string_view delivery_id) const {
  return (answer_ && asked_[i] >= 0 && (*answer_)[static_cast<std::size_t>(asked_[i])]) ||
         recent_.contains(delivery_id);
}

void Dedup::markDelivered(std::string_view delivery_id) {
  if (marks_count_ == 0) first_mark_at_ = std::chrono::steady_clock::now();
  if (marks_count_ == delivered_marks_.size()) delivered_marks_.emplace_back();
  delivered_marks_[marks_count_++].assign(delivery_id);
  recent_.insert(delivery_id);
}

void Dedup::flush(bool force) {
  // Marks Redis could not take are kept by the store (bounded) and written with the next
  // flush that reaches it, new marks or not.
  const std::size_t kept = delivered_.unwritten();
  if (marks_count_ == 0 && kept == 0) return;
  const auto now = std::chrono::steady_clock::now();
  // One pipelined round trip per 20 ms or 512 marks, not one per loop (recent_ covers
  // the ids meanwhile); kept marks alone are tried again once a second, so a Redis that is
  // down (or refuses writes) is not sent the whole backlog on every pass of the loop.
  if (!force && marks_count_ < kMarksPerFlush &&
      (marks_count_ > 0 ? now - first_mark_at_ < kMarksFlushInterval : now < kept_retry_at_))
    return;
  kept_retry_at_ = now + kKeptMarksRetryInterval;
  metrics_.redis_round_trips_dedup.inc();
  if (auto r = delivered_.markDelivered(
          std::span<const std::string>(delivered_marks_.data(), marks_count_), kafka::nowMs());
      !r) {
    if (marks_count_ > 0) {
      metrics_.redis_errors_dedup.inc();
      if (now - marks_warned_at_ >= std::chrono::seconds(1)) {
        marks_warned_at_ = now;
        log()->warn(
            "delivered-id marks kept until Redis is back count={} kept={} dropped={} error={}",
            marks_count_, delivered_.unwritten(), delivered_.dropped(), r.error().message);
      }
    }
  } else if (kept > 0) {
    log()->info("delivered-id marks kept during a Redis outage written count={} dropped={}", kept,
                delivered_.dropped());
  }
  marks_count_ = 0;
}

}  // namespace hookpipe::deliverer
