#include "common/dlq/reader.h"

#include <algorithm>

#include "common/records/delivery.h"

namespace hookpipe::dlq {
namespace {

constexpr auto kMetadataTimeout = std::chrono::seconds(30);

// First offset per partition whose timestamp is >= ts; the high watermark when none.
Result<std::map<int32_t, int64_t>> offsetsForTime(kafka::Reader& reader, const std::string& topic,
                                                  int partitions, int64_t ts,
                                                  const std::map<int32_t, int64_t>& high) {
  auto found = reader.offsetsForTime(topic, partitions, ts);
  if (!found) return std::unexpected(found.error());
  std::map<int32_t, int64_t> out = high;
  for (const auto& [p, offset] : *found) out[p] = offset;
  return out;
}

DeadLetter copyOf(const rd_kafka_message_t* msg) {
  DeadLetter d;
  d.partition = msg->partition;
  d.offset = msg->offset;
  d.timestamp_ms = rd_kafka_message_timestamp(msg, nullptr);
  d.key = std::string(kafka::keyOf(msg));
  d.value = std::string(kafka::payloadOf(msg));
  d.headers = kafka::readHeaders(msg);
  return d;
}

}  // namespace

std::string DeadLetter::header(const char* name) const {
  return kafka::findHeader(headers, name).value_or("");
}

records::DeliveryMeta DeadLetter::meta() const {
  return records::DeliveryMeta::fromHeaders(headers);
}

int64_t DeadLetter::deadLetteredAtMs() const {
  const int64_t at = meta().dead_letter_at_ms;
  return at > 0 ? at : timestamp_ms;
}

namespace detail {

Result<std::unique_ptr<kafka::Reader>> openReader(const Config& config,
                                                  const std::string& group_id) {
  return kafka::Reader::open(config, group_id);
}

Result<std::map<int32_t, Range>> plan(kafka::Reader& reader, const Config& config,
                                      const DlqQuery& filter,
                                      const std::vector<std::map<int32_t, int64_t>>& floors) {
  const std::string topic = config.topics.dlq();
  auto partitions = reader.partitionCount(topic, kMetadataTimeout);
  if (!partitions) return std::unexpected(partitions.error());
  std::map<int32_t, Range> ranges;
  std::map<int32_t, int64_t> high;
  for (int32_t p = 0; p < *partitions; ++p) {
    auto marks = reader.watermarks(topic, p, kMetadataTimeout);
    if (!marks) return std::unexpected(marks.error());
    ranges[p] = Range{marks->first, marks->second};
    high[p] = marks->second;
  }
  if (filter.since_ms) {
    auto since = offsetsForTime(reader, topic, *partitions, *filter.since_ms, high);
    if (!since) return std::unexpected(since.error());
    for (auto& [p, r] : ranges) r.begin = std::max(r.begin, since->at(p));
  }
  if (filter.until_ms) {
    auto until = offsetsForTime(reader, topic, *partitions, *filter.until_ms + 1, high);
    if (!until) return std::unexpected(until.error());
    for (auto& [p, r] : ranges) r.end = std::min(r.end, until->at(p));
  }
  for (const auto& floor : floors)
    for (const auto& [p, offset] : floor)
      if (auto it = ranges.find(p); it != ranges.end())
        it->second.begin = std::max(it->second.begin, offset);
  std::erase_if(ranges, [](const auto& e) { return e.second.begin >= e.second.end; });
  return ranges;
}

Result<std::map<int32_t, int64_t>> purgeFloor(const Config& config) {
  auto reader = openReader(config, config.groupId("dlq-purged"));
  if (!reader) return std::unexpected(reader.error());
  auto partitions = (*reader)->partitionCount(config.topics.dlq(), kMetadataTimeout);
  if (!partitions) return std::unexpected(partitions.error());
  return (*reader)->committed(config.topics.dlq(), *partitions);
}

}  // namespace detail

Result<ScanEnd> scanDeadLetters(const Config& config, const ScanOptions& options,
                                const std::function<void(const DeadLetter&)>& on_match) {
  std::vector<Positions> floors = {options.from};
  if (!options.include_purged) {
    auto floor = detail::purgeFloor(config);
    if (!floor) return std::unexpected(floor.error());
    floors.push_back(std::move(*floor));
  }
  auto reader = detail::openReader(config, config.groupId("dlq-reader"));
  if (!reader) return std::unexpected(reader.error());
  auto ranges = detail::plan(**reader, config, options.filter, floors);
  if (!ranges) return std::unexpected(ranges.error());
  ScanEnd end;
  end.next = options.from;
  for (const auto& [p, r] : *ranges) end.next[p] = std::max(end.next[p], r.begin);
  uint64_t matched = 0;
  bool cut_short = false;
  auto done =
      (*reader)->read(config.topics.dlq(), std::move(*ranges), [&](const rd_kafka_message_t* msg) {
        if ((options.max && matched >= *options.max) ||
            (options.max_read && end.read >= *options.max_read) ||
            (options.stop != nullptr && *options.stop)) {
          cut_short = true;
          return false;
        }
        ++end.read;
        end.next[msg->partition] = msg->offset + 1;
        const auto headers = kafka::readHeaders(msg);
        if (options.filter.matches(headers, rd_kafka_message_timestamp(msg, nullptr))) {
          ++matched;
          on_match(copyOf(msg));
        }
        return true;
      });
  if (!done) return std::unexpected(done.error());
  end.complete = !cut_short;
  return end;
}

std::string formatPositions(const Positions& positions) {
  std::string out;
  for (const auto& [p, offset] : positions) {
    if (!out.empty()) out.push_back(',');
    out.append(std::to_string(p)).append(":").append(std::to_string(offset));
  }
  return out;
}

Result<Positions> parsePositions(std::string_view text) {
  Positions out;
  if (text.empty()) return out;
  while (true) {
    const auto comma = text.find(',');
    auto position = parsePartitionOffset(text.substr(0, comma));
    if (!position) return std::unexpected(position.error());
    out[position->first] = position->second;
    if (comma == std::string_view::npos) return out;
    text = text.substr(comma + 1);
  }
}

Result<DeadLetter> readDeadLetter(const Config& config, int32_t partition, int64_t offset) {
  auto reader = detail::openReader(config, config.groupId("dlq-reader"));
  if (!reader) return std::unexpected(reader.error());
  const std::string topic = config.topics.dlq();
  auto partitions = (*reader)->partitionCount(topic, kMetadataTimeout);
  if (!partitions) return std::unexpected(partitions.error());
  if (partition >= *partitions)
    return fail(topic + " has no partition " + std::to_string(partition));
  auto marks = (*reader)->watermarks(topic, partition, kMetadataTimeout);
  if (!marks) return std::unexpected(marks.error());
  if (offset < marks->first || offset >= marks->second)
    return fail("no record at " + std::to_string(partition) + ":" + std::to_string(offset) +
                " (partition holds " + std::to_string(marks->first) + ".." +
                std::to_string(marks->second - 1) + ")");
  std::optional<DeadLetter> found;
  auto done = (*reader)->read(topic, {{partition, {offset, offset + 1}}},
                              [&](const rd_kafka_message_t* msg) {
                                if (msg->offset == offset) found = copyOf(msg);
                                return !found;
                              });
  if (!done) return std::unexpected(done.error());
  if (!found)  // e.g. a transaction marker or a compacted gap
    return fail("no record at " + std::to_string(partition) + ":" + std::to_string(offset));
  return *found;
}

Result<DlqStats> deadLetterStats(const Config& config, const ScanOptions& options) {
  DlqStats stats;
  auto read = scanDeadLetters(config, options, [&](const DeadLetter& d) {
    ++stats.total;
    const int64_t at = d.deadLetteredAtMs();
    stats.oldest_ms = stats.total == 1 ? at : std::min(stats.oldest_ms, at);
    stats.newest_ms = std::max(stats.newest_ms, at);
    const auto meta = d.meta();
    ++stats.by_subscription[meta.subscription_id];
    ++stats.by_event_type[meta.event_type];
    ++stats.by_error_class[meta.error_class];
    ++stats.by_reason[meta.dead_letter_reason];
  });
  if (!read) return std::unexpected(read.error());
  return stats;
}

Result<PurgeResult> purgeDeadLetters(const Config& config, const PurgeTarget& target) {
  if (target.until_ms.has_value() == target.until_position.has_value())
    return fail("purge needs exactly one of a time or a PARTITION:OFFSET");
  auto reader = detail::openReader(config, config.groupId("dlq-purged"));
  if (!reader) return std::unexpected(reader.error());
  const std::string topic = config.topics.dlq();
  auto partitions = (*reader)->partitionCount(topic, kMetadataTimeout);
  if (!partitions) return std::unexpected(partitions.error());
  auto floor = (*reader)->committed(topic, *partitions);
  if (!floor) return std::unexpected(floor.error());

  DlqQuery range;  // only the time bound matters here
  range.until_ms = target.until_ms;
  auto ranges = detail::plan(**reader, config, range, {*floor});
  if (!ranges) return std::unexpected(ranges.error());
  PurgeResult result;
  result.floor = *floor;
  std::map<int32_t, int64_t> moved;
  for (const auto& [p, r] : *ranges) {
    int64_t to = r.end;
    if (target.until_position) {
      if (p != target.until_position->first) continue;
      to = std::min(r.end, target.until_position->second + 1);
    }
    if (to <= r.begin) continue;
    result.purged += static_cast<uint64_t>(to - r.begin);
    moved[p] = to;
    result.floor[p] = to;
  }
  if (!target.dry_run)
    if (auto c = (*reader)->commit(topic, moved); !c) return std::unexpected(c.error());
  return result;
}

}  // namespace hookpipe::dlq
