#include "common/subscriptions/table.h"

#include "common/kafka/kafka.h"
#include "common/log/log.h"

namespace hookpipe {

std::shared_ptr<const SubscriptionTable::Map> SubscriptionTable::snapshot() const {
  std::lock_guard lock(mu_);
  return map_;
}

std::shared_ptr<const Subscription> SubscriptionTable::find(const std::string& id) const {
  auto snap = snapshot();
  auto it = snap->find(id);
  return it == snap->end() ? nullptr : it->second;
}

void SubscriptionTable::upsert(Subscription s) {
  std::lock_guard lock(mu_);
  auto next = std::make_shared<Map>(*map_);
  std::string id = s.id;
  (*next)[id] = std::make_shared<const Subscription>(std::move(s));
  map_ = std::move(next);
}

void SubscriptionTable::erase(const std::string& id) {
  std::lock_guard lock(mu_);
  if (!map_->contains(id)) return;
  auto next = std::make_shared<Map>(*map_);
  next->erase(id);
  map_ = std::move(next);
}

void SubscriptionTable::pin(const std::string& id, std::string record) {
  std::lock_guard lock(mu_);
  pins_[id] = std::move(record);
}

void SubscriptionTable::unpin(const std::string& id, const std::string& record) {
  std::lock_guard lock(mu_);
  if (auto it = pins_.find(id); it != pins_.end() && it->second == record) pins_.erase(it);
}

bool SubscriptionTable::acceptFromLog(const std::string& id, std::string_view record) {
  std::lock_guard lock(mu_);
  auto it = pins_.find(id);
  if (it == pins_.end()) return true;
  if (it->second != record) return false;
  pins_.erase(it);
  return true;
}

struct SubscriptionSync::Impl {
  kafka::HandlePtr rk;
};

SubscriptionSync::SubscriptionSync(const Config& config, SubscriptionTable& table)
    : config_(config), table_(table), impl_(std::make_unique<Impl>()) {}

SubscriptionSync::~SubscriptionSync() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
  if (impl_->rk) rd_kafka_consumer_close(impl_->rk.get());
}

Result<void> SubscriptionSync::start() {
  std::string error;
  kafka::ConfPtr conf = kafka::baseConf(config_,
                                        {{"group.id", config_.groupId("subscriptions-reader")},
                                         {"enable.auto.commit", "false"},
                                         {"enable.auto.offset.store", "false"},
                                         {"fetch.wait.max.ms", "100"}},
                                        error);
  if (!conf) return fail(error);
  char errstr[512];
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf.get(), errstr, sizeof errstr);
  if (rk == nullptr) return fail(std::string("subscriptions reader: ") + errstr);
  conf.release();
  impl_->rk.reset(rk);
  rd_kafka_poll_set_consumer(rk);

  const std::string topic = config_.topics.subscriptions();
  auto partitions = kafka::partitionCount(rk, topic, std::chrono::seconds(30));
  if (!partitions) return std::unexpected(partitions.error());
  kafka::PartitionListPtr list(rd_kafka_topic_partition_list_new(*partitions));
  for (int32_t p = 0; p < *partitions; ++p) {
    auto marks = kafka::watermarks(rk, topic, p, std::chrono::seconds(30));
    if (!marks) return std::unexpected(marks.error());
    auto [low, high] = *marks;
    if (high > low) high_watermarks_[p] = high;
    rd_kafka_topic_partition_list_add(list.get(), topic.c_str(), p)->offset =
        RD_KAFKA_OFFSET_BEGINNING;
  }
  if (auto err = rd_kafka_assign(rk, list.get()); err != RD_KAFKA_RESP_ERR_NO_ERROR)
    return std::unexpected(kafka::toError(err, "assign " + topic));
  if (high_watermarks_.empty()) {
    std::lock_guard lock(mu_);
    loaded_ = true;
  }
  thread_ = std::thread([this] { run(); });
  return {};
}

bool SubscriptionSync::waitLoaded(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mu_);
  return loaded_cv_.wait_for(lock, timeout, [this] { return loaded_; });
}

void SubscriptionSync::run() {
  auto log = logger("subscriptions");
  while (!stop_) {
    kafka::MessagePtr msg(rd_kafka_consumer_poll(impl_->rk.get(), 100));
    if (!msg) continue;
    if (msg->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      if (msg->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
        log->warn("subscriptions topic error={}", rd_kafka_message_errstr(msg.get()));
      continue;
    }
    const std::string id(kafka::keyOf(msg.get()));
    if (!table_.acceptFromLog(id, kafka::payloadOf(msg.get()))) {
      // Older than what this process wrote itself: its own record is still to come.
    } else if (msg->payload == nullptr) {
      table_.erase(id);
    } else if (auto sub = parseSubscription(kafka::payloadOf(msg.get()))) {
      sub->id = id;
      table_.upsert(std::move(*sub));
    } else {
      log->warn("skipping bad subscription record id={} error={}", id, sub.error().message);
    }
    std::lock_guard lock(mu_);
    if (!loaded_) {
      auto it = high_watermarks_.find(msg->partition);
      if (it != high_watermarks_.end() && msg->offset + 1 >= it->second) high_watermarks_.erase(it);
      if (high_watermarks_.empty()) {
        loaded_ = true;
        loaded_cv_.notify_all();
      }
    }
  }
}

}  // namespace hookpipe
