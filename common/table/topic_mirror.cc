#include "common/table/topic_mirror.h"

#include "common/kafka/reader.h"

namespace hookpipe {

struct TopicMirror::Impl {
  std::unique_ptr<kafka::Reader> reader;
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
}

Result<void> TopicMirror::start() {
  auto opened =
      kafka::Reader::open(config_, config_.groupId(reader_), {{"fetch.wait.max.ms", "100"}});
  if (!opened) return std::unexpected(opened.error());
  impl_->reader = std::move(*opened);
  kafka::Reader& r = *impl_->reader;
  auto partitions = r.partitionCount(topic_);
  if (!partitions) return std::unexpected(partitions.error());
  std::map<int32_t, int64_t> from;
  for (int32_t p = 0; p < *partitions; ++p) {
    auto marks = r.watermarks(topic_, p);
    if (!marks) return std::unexpected(marks.error());
    auto [low, high] = *marks;
    if (high > low) high_watermarks_[p] = high;
    from[p] = RD_KAFKA_OFFSET_BEGINNING;
  }
  if (auto a = r.assign(topic_, from); !a) return a;
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
    kafka::MessagePtr msg = impl_->reader->poll(100);
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
