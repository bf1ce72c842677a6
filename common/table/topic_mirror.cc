#include "common/table/topic_mirror.h"

#include "common/kafka/kafka.h"

namespace hookpipe {

struct TopicMirror::Impl {
  kafka::HandlePtr rk;
};

TopicMirror::TopicMirror(const Config& config, std::string topic, std::string reader, Apply apply)
    : config_(config),
      topic_(std::move(topic)),
      reader_(std::move(reader)),
      apply_(std::move(apply)),
      impl_(std::make_unique<Impl>()) {}

TopicMirror::~TopicMirror() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
  if (impl_->rk) rd_kafka_consumer_close(impl_->rk.get());
}

Result<void> TopicMirror::start() {
  std::string error;
  kafka::ConfPtr conf = kafka::baseConf(config_,
                                        {{"group.id", config_.groupId(reader_)},
                                         {"enable.auto.commit", "false"},
                                         {"enable.auto.offset.store", "false"},
                                         {"fetch.wait.max.ms", "100"}},
                                        error);
  if (!conf) return fail(error);
  char errstr[512];
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf.get(), errstr, sizeof errstr);
  if (rk == nullptr) return fail(reader_ + ": " + errstr);
  conf.release();
  impl_->rk.reset(rk);
  rd_kafka_poll_set_consumer(rk);

  auto partitions = kafka::partitionCount(rk, topic_, std::chrono::seconds(30));
  if (!partitions) return std::unexpected(partitions.error());
  kafka::PartitionListPtr list(rd_kafka_topic_partition_list_new(*partitions));
  for (int32_t p = 0; p < *partitions; ++p) {
    auto marks = kafka::watermarks(rk, topic_, p, std::chrono::seconds(30));
    if (!marks) return std::unexpected(marks.error());
    auto [low, high] = *marks;
    if (high > low) high_watermarks_[p] = high;
    rd_kafka_topic_partition_list_add(list.get(), topic_.c_str(), p)->offset =
        RD_KAFKA_OFFSET_BEGINNING;
  }
  if (auto err = rd_kafka_assign(rk, list.get()); err != RD_KAFKA_RESP_ERR_NO_ERROR)
    return std::unexpected(kafka::toError(err, "assign " + topic_));
  if (high_watermarks_.empty()) {
    std::lock_guard lock(mu_);
    loaded_ = true;
  }
  thread_ = std::thread([this] { run(); });
  return {};
}

bool TopicMirror::waitLoaded(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mu_);
  return loaded_cv_.wait_for(lock, timeout, [this] { return loaded_; });
}

void TopicMirror::run() {
  auto log = logger(reader_);
  while (!stop_) {
    kafka::MessagePtr msg(rd_kafka_consumer_poll(impl_->rk.get(), 100));
    if (!msg) continue;
    if (msg->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      if (msg->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
        log->warn("topic={} error={}", topic_, rd_kafka_message_errstr(msg.get()));
      continue;
    }
    const std::string key(kafka::keyOf(msg.get()));
    if (msg->payload == nullptr)
      apply_(key, std::nullopt);
    else
      apply_(key, kafka::payloadOf(msg.get()));
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
