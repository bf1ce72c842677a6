#include "recorder/rebuild.h"

#include <chrono>
#include <map>
#include <thread>

#include "common/attempts/keys.h"
#include "common/attempts/record.h"
#include "common/kafka/kafka.h"
#include "common/kafka/reader.h"
#include "common/redis/redis.h"
#include "recorder/aggregator.h"
#include "recorder/applier.h"

namespace hookpipe::recorder {
namespace {

constexpr std::size_t kMaxFlushRecords = 5'000;   // as the recorder's (recorder.h)
constexpr std::size_t kMaxFlushBytes = 8u << 20;  // as the recorder's
constexpr auto kFlushInterval = std::chrono::seconds(1);
constexpr auto kProgressInterval = std::chrono::milliseconds(200);

struct Part {
  explicit Part(Aggregator a) : aggregate(std::move(a)) {}
  kafka::Reader::Range range;
  std::string applied = std::string(kRebuildingOffset);
  int64_t next = 0;
  Aggregator aggregate;
};

// Applies one partition's aggregate up to `next`, retrying while Redis is unreachable. The
// offset reads "rebuild:<next>" until the last flush (`done`) writes the plain offset: the
// running recorders must not take p over before the rebuild is done with it.
Result<void> flushPart(Applier& applier, int32_t p, Part& part, int64_t next, bool done) {
  auto delay = std::chrono::milliseconds(250);
  const std::string value =
      done ? std::to_string(next) : std::string(kRebuildingOffset) + ":" + std::to_string(next);
  for (;;) {
    auto applied = applier.apply(p, part.applied, value, part.aggregate.ops(kafka::nowMs()));
    if (applied && !*applied)
      return fail("partition " + std::to_string(p) +
                  ": its offset moved during the rebuild (another rebuild running?)");
    if (applied) break;
    if (!applied.error().retryable) return std::unexpected(applied.error());
    std::this_thread::sleep_for(delay);
    delay = std::min(delay * 2, std::chrono::milliseconds(5000));
  }
  part.applied = value;
  part.aggregate.clear();
  return {};
}

}  // namespace

Result<RebuildSummary> rebuild(const Config& config, std::ostream& progress, bool tty) {
  const auto began = std::chrono::steady_clock::now();
  const std::string topic = config.topics.attempts();
  const attempts::Keys keys(config.topics.prefix);
  const Aggregator::Options options{config.log_retention, config.log_max_per_subscription};
  RebuildSummary summary;

  auto reader = kafka::Reader::open(config, config.groupId("recorder-rebuild"));
  if (!reader) return std::unexpected(reader.error());
  auto count = (*reader)->partitionCount(topic);
  if (!count) return std::unexpected(count.error());
  summary.partitions = *count;
  std::map<int32_t, Part> parts;
  kafka::Reader::Ranges ranges;
  uint64_t total = 0;
  for (int32_t p = 0; p < *count; ++p) {
    auto marks = (*reader)->watermarks(topic, p);
    if (!marks) return std::unexpected(marks.error());
    auto& part = parts.try_emplace(p, Aggregator(keys, options)).first->second;
    part.range = {marks->first, marks->second};
    part.next = marks->first;
    ranges[p] = part.range;
    total += static_cast<uint64_t>(marks->second - marks->first);
  }

  redis::Client client(config.redis_host, config.redis_port, std::chrono::seconds(10));
  Applier applier(client, keys);
  std::map<int32_t, std::string> fence;
  for (const auto& [p, _] : parts) fence[p] = std::string(kRebuildingOffset);
  if (auto f = applier.setOffsets(fence); !f) return std::unexpected(f.error());
  auto wiped = applier.wipeExceptOffsets();
  if (!wiped) return std::unexpected(wiped.error());
  summary.keys_removed = *wiped;

  Result<void> failed;
  auto next_flush = std::chrono::steady_clock::now() + kFlushInterval;
  auto next_progress = std::chrono::steady_clock::now();
  auto show = [&](bool last) {
    if (!tty) return;
    const double pct = total == 0
                           ? 100.0
                           : 100.0 * static_cast<double>(summary.records + summary.bad_records) /
                                 static_cast<double>(total);
    const int width = 30;
    const int filled = static_cast<int>(pct / 100.0 * width);
    progress << "\rrebuild [" << std::string(filled, '#') << std::string(width - filled, ' ')
             << "] " << static_cast<int>(pct) << "% " << summary.records + summary.bad_records
             << "/" << total << " records" << (last ? "\n" : "") << std::flush;
  };
  auto flush_due = [&]() -> bool {
    if (std::chrono::steady_clock::now() < next_flush) return true;
    next_flush = std::chrono::steady_clock::now() + kFlushInterval;
    for (auto& [p, part] : parts) {
      if (part.aggregate.empty()) continue;
      if (auto r = flushPart(applier, p, part, part.next, false); !r) {
        failed = std::unexpected(r.error());
        return false;
      }
    }
    return true;
  };
  auto read = (*reader)->read(
      topic, ranges,
      [&](const rd_kafka_message_t* msg) {
        Part& part = parts.at(msg->partition);
        const std::string_view json = kafka::payloadOf(msg);
        auto record = attempts::parse(json);
        if (record) {
          rd_kafka_timestamp_type_t type = RD_KAFKA_TIMESTAMP_NOT_AVAILABLE;
          const int64_t ts = rd_kafka_message_timestamp(msg, &type);
          if (!implausibleFinish(record->finished_ms,
                                 type == RD_KAFKA_TIMESTAMP_NOT_AVAILABLE ? -1 : ts, kafka::nowMs())
                   .empty())
            record = fail("implausible finished_ms");
        }
        if (record) {
          part.aggregate.add(*record, json);
          ++summary.records;
        } else {
          ++summary.bad_records;
        }
        part.next = msg->offset + 1;
        if (part.aggregate.records() >= kMaxFlushRecords ||
            part.aggregate.bytes() >= kMaxFlushBytes) {
          if (auto r = flushPart(applier, msg->partition, part, part.next, false); !r) {
            failed = std::unexpected(r.error());
            return false;
          }
        }
        if (std::chrono::steady_clock::now() >= next_progress) {
          next_progress = std::chrono::steady_clock::now() + kProgressInterval;
          show(false);
        }
        return flush_due();
      },
      kafka::Reader::ReadOptions{.idle = [&] { (void)flush_due(); }});
  if (!failed) return std::unexpected(failed.error());
  if (!read) return std::unexpected(read.error());
  // Every partition ends at the high watermark taken at the start, where the recorders
  // take over (what lies between its last record and there is transaction markers).
  for (auto& [p, part] : parts)
    if (auto r = flushPart(applier, p, part, part.range.end, true); !r)
      return std::unexpected(r.error());
  show(true);
  summary.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - began).count();
  return summary;
}

}  // namespace hookpipe::recorder
