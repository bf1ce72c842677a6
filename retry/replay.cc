#include "retry/replay.h"

#include <map>

#include "common/json/event.h"
#include "common/kafka/hand_off.h"
#include "common/kafka/kafka.h"
#include "common/records/delivery.h"

namespace hookpipe::retry {

Result<ReplayStats> replayDeadLetters(const Config& config, const ReplayOptions& options) {
  ReplayStats stats;
  stats.replay_id = "rpl_" + json::newEventId().substr(4, 16);
  auto producer = kafka::Producer::create(config);
  if (!producer) return std::unexpected(producer.error());
  kafka::HandOff hand_off(**producer);

  std::string error;
  kafka::ConfPtr conf = kafka::baseConf(config,
                                        {{"group.id", config.groupId("dlq-replay")},
                                         {"enable.auto.commit", "false"},
                                         {"enable.partition.eof", "true"}},
                                        error);
  if (!conf) return fail(error);
  char errstr[512];
  kafka::HandlePtr rk(rd_kafka_new(RD_KAFKA_CONSUMER, conf.get(), errstr, sizeof errstr));
  if (!rk) return fail(std::string("dlq reader: ") + errstr);
  conf.release();
  rd_kafka_poll_set_consumer(rk.get());

  const std::string topic = config.topics.dlq();
  auto partitions = kafka::partitionCount(rk.get(), topic, std::chrono::seconds(30));
  if (!partitions) return std::unexpected(partitions.error());
  std::map<int32_t, int64_t> end;  // partition -> high watermark when the replay started
  kafka::PartitionListPtr list(rd_kafka_topic_partition_list_new(*partitions));
  for (int32_t p = 0; p < *partitions; ++p) {
    auto marks = kafka::watermarks(rk.get(), topic, p, std::chrono::seconds(30));
    if (!marks) return std::unexpected(marks.error());
    auto [low, high] = *marks;
    if (high > low) {
      end[p] = high;
      rd_kafka_topic_partition_list_add(list.get(), topic.c_str(), p)->offset = low;
    }
  }
  if (list->cnt > 0)
    if (auto err = rd_kafka_assign(rk.get(), list.get()))
      return std::unexpected(kafka::toError(err, "assign"));

  uint64_t acked = 0;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::minutes(10);
  while (!end.empty() && std::chrono::steady_clock::now() < deadline) {
    hand_off.pump(0);
    kafka::MessagePtr msg(rd_kafka_consumer_poll(rk.get(), 200));
    if (!msg) continue;
    if (msg->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
      end.erase(msg->partition);
      continue;
    }
    if (msg->err) return std::unexpected(kafka::toError(msg->err, "read " + topic));
    auto it = end.find(msg->partition);
    if (it == end.end() || msg->offset >= it->second) continue;
    if (msg->offset + 1 >= it->second) end.erase(it);
    ++stats.scanned;
    kafka::HeaderList headers = kafka::readHeaders(msg.get());
    auto meta = records::DeliveryMeta::fromHeaders(headers);
    if (!options.subscription_id.empty() && meta.subscription_id != options.subscription_id)
      continue;
    ++stats.replayed;
    if (options.dry_run) continue;
    meta.attempt = 1;
    meta.due_ms = kafka::nowMs();
    meta.replay_id = stats.replay_id;
    meta.writeTo(headers);
    hand_off.send(config.topics.deliveries(), std::string(kafka::keyOf(msg.get())),
                  std::string(kafka::payloadOf(msg.get())), std::move(headers),
                  [&acked] { ++acked; });
  }
  if (!end.empty())
    return fail("replay did not reach the end of " + topic + " within 10 minutes", true);
  while (acked < (options.dry_run ? 0 : stats.replayed) &&
         std::chrono::steady_clock::now() < deadline)
    hand_off.pump(100);
  rd_kafka_consumer_close(rk.get());
  if (!options.dry_run && acked < stats.replayed)
    return fail("replayed records not acknowledged in time", true);
  return stats;
}

}  // namespace hookpipe::retry
