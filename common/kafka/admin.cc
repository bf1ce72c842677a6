// kafka.h's topic administration: partition counts, watermarks, creating hookpipe's topics.
#include <thread>

#include "common/kafka/kafka.h"

namespace hookpipe::kafka {

Result<int> partitionCount(rd_kafka_t* rk, const std::string& topic,
                           std::chrono::milliseconds timeout) {
  // Right after CreateTopics the brokers may not know the topic yet: ask again until
  // `timeout` has passed.
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    const rd_kafka_metadata_t* md = nullptr;
    rd_kafka_topic_t* rkt = rd_kafka_topic_new(rk, topic.c_str(), nullptr);
    auto err = rd_kafka_metadata(rk, 0, rkt, &md, 5000);
    rd_kafka_topic_destroy(rkt);
    int count = -1;
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR) {
      if (md->topic_cnt == 1 && md->topics[0].err == RD_KAFKA_RESP_ERR_NO_ERROR)
        count = md->topics[0].partition_cnt;
      rd_kafka_metadata_destroy(md);
    }
    if (count > 0) return count;
    if (std::chrono::steady_clock::now() > deadline) {
      if (err != RD_KAFKA_RESP_ERR_NO_ERROR)
        return std::unexpected(toError(err, "metadata " + topic));
      return fail("topic " + topic + " does not exist", true);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
}

Result<std::pair<int64_t, int64_t>> watermarks(rd_kafka_t* rk, const std::string& topic,
                                               int32_t partition,
                                               std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    int64_t low = 0, high = 0;
    auto err = rd_kafka_query_watermark_offsets(rk, topic.c_str(), partition, &low, &high, 5000);
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR) return std::make_pair(low, high);
    if (std::chrono::steady_clock::now() > deadline)
      return std::unexpected(toError(err, "watermarks " + topic));
    std::this_thread::sleep_for(std::chrono::milliseconds(200));  // leader election after creation
  }
}

Result<void> ensureTopics(const Config& config) {
  std::string error;
  ConfPtr conf = baseConf(config, {}, error);
  if (!conf) return fail(error);
  char errstr[512];
  HandlePtr rk(rd_kafka_new(RD_KAFKA_PRODUCER, conf.get(), errstr, sizeof errstr));
  if (!rk) return fail(std::string("kafka admin: ") + errstr);
  conf.release();

  struct Spec {
    std::string name;
    int partitions;
    Properties configs;
  };
  const std::string week = std::to_string(7LL * 24 * 3600 * 1000);
  std::vector<Spec> specs = {
      {config.topics.events(), config.events_partitions, {}},
      {config.topics.invalid(), 1, {}},
      {config.topics.subscriptions(), 1, {{"cleanup.policy", "compact"}}},
      {config.topics.eventTypes(), 1, {{"cleanup.policy", "compact"}}},
      {config.topics.deliveries(), config.deliveries_partitions, {}},
      {config.topics.dlq(),
       config.retry_partitions,
       {{"retention.ms", std::to_string(30LL * 24 * 3600 * 1000)}}},
      // The attempt log of record (docs/attempts.md), keyed by subscription id.
      {config.topics.attempts(),
       config.attempts_partitions,
       {{"retention.ms", std::to_string(config.attempts_retention.count())}}},
  };
  for (auto tier : config.retry_tiers)
    specs.push_back(
        {config.topics.retryTier(tier), config.retry_partitions, {{"retention.ms", week}}});

  std::vector<rd_kafka_NewTopic_t*> topics;
  for (const auto& s : specs) {
    rd_kafka_NewTopic_t* t =
        rd_kafka_NewTopic_new(s.name.c_str(), s.partitions, 1, errstr, sizeof errstr);
    if (t == nullptr) {
      for (auto* x : topics) rd_kafka_NewTopic_destroy(x);
      return fail("topic " + s.name + ": " + errstr);
    }
    for (const auto& [k, v] : s.configs) rd_kafka_NewTopic_set_config(t, k.c_str(), v.c_str());
    topics.push_back(t);
  }
  rd_kafka_queue_t* queue = rd_kafka_queue_new(rk.get());
  rd_kafka_AdminOptions_t* options =
      rd_kafka_AdminOptions_new(rk.get(), RD_KAFKA_ADMIN_OP_CREATETOPICS);
  rd_kafka_AdminOptions_set_operation_timeout(options, 30000, errstr, sizeof errstr);
  rd_kafka_AdminOptions_set_request_timeout(options, 30000, errstr, sizeof errstr);
  rd_kafka_CreateTopics(rk.get(), topics.data(), topics.size(), options, queue);
  rd_kafka_event_t* ev = rd_kafka_queue_poll(queue, 60000);
  Result<void> result;
  if (ev == nullptr) {
    result =
        fail("create topics: no answer from the brokers at " + config.brokers + " in 60 s", true);
  } else if (rd_kafka_event_error(ev) != RD_KAFKA_RESP_ERR_NO_ERROR) {
    result = fail(std::string("create topics: ") + rd_kafka_event_error_string(ev), true);
  } else {
    const rd_kafka_CreateTopics_result_t* res = rd_kafka_event_CreateTopics_result(ev);
    size_t n = 0;
    const rd_kafka_topic_result_t** results = rd_kafka_CreateTopics_result_topics(res, &n);
    for (size_t i = 0; i < n; ++i) {
      auto err = rd_kafka_topic_result_error(results[i]);
      if (err != RD_KAFKA_RESP_ERR_NO_ERROR && err != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) {
        result = fail(std::string("create topic ") + rd_kafka_topic_result_name(results[i]) + ": " +
                      (rd_kafka_topic_result_error_string(results[i]) ?: rd_kafka_err2str(err)));
        break;
      }
    }
  }
  if (ev != nullptr) rd_kafka_event_destroy(ev);
  rd_kafka_AdminOptions_destroy(options);
  rd_kafka_queue_destroy(queue);
  for (auto* t : topics) rd_kafka_NewTopic_destroy(t);
  return result;
}

}  // namespace hookpipe::kafka
