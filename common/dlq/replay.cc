#include "common/dlq/replay.h"

#include <algorithm>
#include <thread>

#include "common/dlq/reader.h"
#include "common/kafka/hand_off.h"
#include "common/kafka/kafka.h"
#include "common/kafka/progress.h"
#include "common/records/delivery.h"

namespace hookpipe::dlq {
namespace {

constexpr auto kCommitInterval = std::chrono::seconds(1);
constexpr auto kProgressInterval = std::chrono::milliseconds(500);
constexpr auto kAckBudget = std::chrono::minutes(2);

}  // namespace

std::string defaultReplayId(const DlqQuery& filter, const std::string& to_subscription) {
  return "rpl_" + records::deliveryIdFor(filter.canonical(), "to=" + to_subscription).substr(4, 16);
}

std::string redirectedDeliveryId(const std::string& delivery_id, const std::string& target) {
  return records::deliveryIdFor(delivery_id, target);
}

Result<ReplayStats> replayDeadLetters(const Config& config, const ReplayOptions& options) {
  ReplayStats stats;
  stats.replay_id = options.replay_id.empty()
                        ? defaultReplayId(options.filter, options.to_subscription)
                        : options.replay_id;
  const std::string topic = config.topics.dlq();

  auto floor = detail::purgeFloor(config);
  if (!floor) return std::unexpected(floor.error());
  auto opened = detail::openReader(config, config.groupId("dlq-replay." + stats.replay_id));
  if (!opened) return std::unexpected(opened.error());
  kafka::Reader& reader = **opened;
  auto partitions = reader.partitionCount(topic);
  if (!partitions) return std::unexpected(partitions.error());
  auto progress = reader.committed(topic, *partitions);
  if (!progress) return std::unexpected(progress.error());
  stats.resumed = !progress->empty();
  auto ranges = detail::plan(reader, config, options.filter, {*floor, *progress});
  if (!ranges) return std::unexpected(ranges.error());
  uint64_t in_range = 0;
  for (const auto& [_, r] : *ranges) in_range += static_cast<uint64_t>(r.end - r.begin);

  auto producer = kafka::Producer::create(config);
  if (!producer) return std::unexpected(producer.error());
  kafka::HandOff hand_off(**producer);
  std::map<int32_t, int64_t> to_commit;  // advanced since the last commit
  kafka::Progress done_prefix([&to_commit](const std::string&, int32_t partition, int64_t next) {
    to_commit[partition] = next;
  });
  uint64_t acked = 0;
  Result<void> commit_error;
  const auto start = std::chrono::steady_clock::now();
  auto last_commit = start;
  auto last_progress = start;
  auto next_send = start;
  const auto send_interval = options.rate_per_s > 0
                                 ? std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                                       std::chrono::duration<double>(1.0 / options.rate_per_s))
                                 : std::chrono::steady_clock::duration::zero();

  const auto finish = [&](int32_t partition, int64_t offset) {
    done_prefix.finish(topic, partition, offset);
  };
  const auto commit_now = [&] {
    if (options.dry_run || to_commit.empty()) return;
    if (auto c = reader.commit(topic, to_commit); !c)
      commit_error = c;
    else
      to_commit.clear();
    last_commit = std::chrono::steady_clock::now();
  };
  const auto report = [&] {
    if (!options.on_progress) return;
    const auto now = std::chrono::steady_clock::now();
    options.on_progress(ReplayProgress{stats.scanned, stats.replayed, stats.refused,
                                       in_range - stats.scanned,
                                       std::chrono::duration<double>(now - start).count()});
    last_progress = now;
  };
  const auto idle = [&] {
    hand_off.pump(0);
    const auto now = std::chrono::steady_clock::now();
    if (now - last_commit >= kCommitInterval) commit_now();
    if (now - last_progress >= kProgressInterval) report();
  };

  auto done = reader.read(
      topic, std::move(*ranges),
      [&](const rd_kafka_message_t* msg) {
        if (options.max && stats.replayed >= *options.max) return false;
        if (options.stop != nullptr && *options.stop) {
          stats.stopped = true;
          return false;
        }
        ++stats.scanned;
        const int32_t partition = msg->partition;
        const int64_t offset = msg->offset;
        done_prefix.begin(topic, partition, offset);
        kafka::HeaderList headers = kafka::readHeaders(msg);
        auto meta = records::DeliveryMeta::fromHeaders(headers);
        if (!options.filter.matches(meta, rd_kafka_message_timestamp(msg, nullptr))) {
          finish(partition, offset);
          return true;
        }
        if (meta.replay_count >= options.max_replay_count) {
          ++stats.refused;
          finish(partition, offset);
          return true;
        }
        ++stats.replayed;
        if (options.dry_run) {
          finish(partition, offset);
          return !options.max || stats.replayed < *options.max;
        }
        if (options.rate_per_s > 0) {
          while (std::chrono::steady_clock::now() < next_send) {
            idle();
            const auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(
                next_send - std::chrono::steady_clock::now());
            hand_off.pump(static_cast<int>(std::clamp<int64_t>(wait.count(), 0, 50)));
          }
          next_send = std::max(next_send + send_interval,
                               std::chrono::steady_clock::now() - std::chrono::seconds(1));
        }
        std::string key(kafka::keyOf(msg));
        if (!options.to_subscription.empty()) {
          meta.delivery_id = redirectedDeliveryId(meta.delivery_id, options.to_subscription);
          meta.subscription_id = options.to_subscription;
          key = options.to_subscription;
        }
        meta.replay(stats.replay_id, kafka::nowMs());
        meta.writeTo(headers);
        hand_off.send(config.topics.deliveries(), std::move(key),
                      std::string(kafka::payloadOf(msg)), std::move(headers),
                      [&acked, finished = done_prefix.finisher({topic, partition, offset})] {
                        ++acked;
                        finished();
                      });
        return !options.max || stats.replayed < *options.max;
      },
      {.idle = idle});
  if (done && !options.dry_run &&
      !hand_off.pumpUntil([&] { return acked >= stats.replayed; }, kAckBudget))
    done = fail("replayed records not acknowledged in time", true);
  commit_now();  // whatever was acknowledged, even after an error
  report();
  if (!done) return std::unexpected(done.error());
  if (!commit_error) return std::unexpected(commit_error.error());
  return stats;
}

}  // namespace hookpipe::dlq
