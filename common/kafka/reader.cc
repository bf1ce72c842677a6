#include "common/kafka/reader.h"

namespace hookpipe::kafka {
namespace {

constexpr int kRequestTimeoutMs = 10'000;

PartitionListPtr listOf(const std::string& topic, int partitions) {
  PartitionListPtr list(rd_kafka_topic_partition_list_new(partitions));
  for (int32_t p = 0; p < partitions; ++p)
    rd_kafka_topic_partition_list_add(list.get(), topic.c_str(), p);
  return list;
}

}  // namespace

Result<std::unique_ptr<Reader>> Reader::open(const Config& config, const std::string& group_id,
                                             const Properties& extra) {
  Properties props = {{"group.id", group_id},
                      {"enable.auto.commit", "false"},
                      {"enable.auto.offset.store", "false"},
                      {"auto.offset.reset", "earliest"},
                      {"enable.partition.eof", "true"}};
  for (const auto& [k, v] : extra) props[k] = v;
  std::string error;
  ConfPtr conf = baseConf(config, props, error);
  if (!conf) return fail("kafka reader config: " + error);
  char errstr[512];
  HandlePtr rk(rd_kafka_new(RD_KAFKA_CONSUMER, conf.get(), errstr, sizeof errstr));
  if (!rk) return fail("kafka reader " + group_id + ": " + errstr);
  conf.release();  // owned by rk now
  rd_kafka_poll_set_consumer(rk.get());
  return std::unique_ptr<Reader>(new Reader(std::move(rk)));
}

Reader::~Reader() { rd_kafka_consumer_close(rk_.get()); }

Result<int> Reader::partitionCount(const std::string& topic, std::chrono::milliseconds timeout) {
  return kafka::partitionCount(rk_.get(), topic, timeout);
}

Result<std::pair<int64_t, int64_t>> Reader::watermarks(const std::string& topic, int32_t partition,
                                                       std::chrono::milliseconds timeout) {
  return kafka::watermarks(rk_.get(), topic, partition, timeout);
}

Result<std::map<int32_t, int64_t>> Reader::offsetsForTime(const std::string& topic, int partitions,
                                                          int64_t ts_ms) {
  PartitionListPtr list = listOf(topic, partitions);
  for (int i = 0; i < list->cnt; ++i) list->elems[i].offset = ts_ms;
  if (auto err = rd_kafka_offsets_for_times(rk_.get(), list.get(), kRequestTimeoutMs))
    return std::unexpected(toError(err, "offsets_for_times " + topic));
  std::map<int32_t, int64_t> out;
  for (int i = 0; i < list->cnt; ++i) {
    const auto& e = list->elems[i];
    if (e.err) return std::unexpected(toError(e.err, "offsets_for_times " + topic));
    if (e.offset >= 0) out[e.partition] = e.offset;
  }
  return out;
}

Result<std::map<int32_t, int64_t>> Reader::committed(const std::string& topic, int partitions) {
  PartitionListPtr list = listOf(topic, partitions);
  if (auto err = rd_kafka_committed(rk_.get(), list.get(), kRequestTimeoutMs))
    return std::unexpected(toError(err, "committed offsets of " + topic));
  std::map<int32_t, int64_t> out;
  for (int i = 0; i < list->cnt; ++i)
    if (list->elems[i].offset >= 0) out[list->elems[i].partition] = list->elems[i].offset;
  return out;
}

Result<void> Reader::commit(const std::string& topic,
                            const std::map<int32_t, int64_t>& next_offsets) {
  if (next_offsets.empty()) return {};
  PartitionListPtr list(rd_kafka_topic_partition_list_new(static_cast<int>(next_offsets.size())));
  for (const auto& [p, offset] : next_offsets)
    rd_kafka_topic_partition_list_add(list.get(), topic.c_str(), p)->offset = offset;
  if (auto err = rd_kafka_commit(rk_.get(), list.get(), 0))
    return std::unexpected(toError(err, "commit " + topic));
  return {};
}

Result<void> Reader::assign(const std::string& topic, const std::map<int32_t, int64_t>& offsets) {
  PartitionListPtr list(rd_kafka_topic_partition_list_new(static_cast<int>(offsets.size())));
  for (const auto& [p, offset] : offsets)
    rd_kafka_topic_partition_list_add(list.get(), topic.c_str(), p)->offset = offset;
  if (auto err = rd_kafka_assign(rk_.get(), list.get()))
    return std::unexpected(toError(err, "assign " + topic));
  return {};
}

Result<void> Reader::assign(const std::map<std::string, std::map<int32_t, int64_t>>& topics) {
  PartitionListPtr list(rd_kafka_topic_partition_list_new(static_cast<int>(topics.size())));
  for (const auto& [topic, offsets] : topics)
    for (const auto& [p, offset] : offsets)
      rd_kafka_topic_partition_list_add(list.get(), topic.c_str(), p)->offset = offset;
  if (auto err = rd_kafka_assign(rk_.get(), list.get()))
    return std::unexpected(toError(err, "assign"));
  return {};
}

void Reader::unassign() { rd_kafka_assign(rk_.get(), nullptr); }

MessagePtr Reader::poll(int timeout_ms) {
  return MessagePtr(rd_kafka_consumer_poll(rk_.get(), timeout_ms));
}

Result<void> Reader::read(const std::string& topic, Ranges ranges,
                          const std::function<bool(const rd_kafka_message_t*)>& on_record,
                          const ReadOptions& options) {
  std::erase_if(ranges, [](const auto& e) { return e.second.begin >= e.second.end; });
  if (ranges.empty()) return {};
  std::map<int32_t, int64_t> starts;
  for (const auto& [p, r] : ranges) starts[p] = r.begin;
  if (auto a = assign(topic, starts); !a) return a;
  auto last_progress = std::chrono::steady_clock::now();
  Result<void> result;
  while (!ranges.empty()) {
    if (options.idle) options.idle();
    const auto now = std::chrono::steady_clock::now();
    if (options.deadline && now >= *options.deadline) break;
    MessagePtr msg = poll(options.poll_timeout_ms);
    if (!msg) {
      if (std::chrono::steady_clock::now() - last_progress > options.stall_timeout) {
        result = fail("reading " + topic + " stalled", true);
        break;
      }
      continue;
    }
    last_progress = std::chrono::steady_clock::now();
    if (msg->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
      ranges.erase(msg->partition);
      continue;
    }
    if (msg->err) {
      if (!options.stop_on_error) continue;
      result = std::unexpected(toError(msg->err, "read " + topic));
      break;
    }
    auto it = ranges.find(msg->partition);
    if (it == ranges.end() || msg->offset >= it->second.end) continue;
    if (msg->offset + 1 >= it->second.end) ranges.erase(it);
    if (!on_record(msg.get())) break;
  }
  unassign();
  return result;
}

Result<Reader::Ranges> Reader::wholeTopic(const std::string& topic) {
  auto partitions = partitionCount(topic);
  if (!partitions) return std::unexpected(partitions.error());
  Ranges ranges;
  for (int32_t p = 0; p < *partitions; ++p) {
    auto marks = watermarks(topic, p);
    if (!marks) return std::unexpected(marks.error());
    if (marks->second > marks->first) ranges[p] = Range{marks->first, marks->second};
  }
  return ranges;
}

}  // namespace hookpipe::kafka
