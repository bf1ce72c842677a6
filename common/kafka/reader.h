#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "common/config/config.h"
#include "common/error.h"
#include "common/kafka/kafka.h"

namespace hookpipe::kafka {

// An assign-only consumer: it never joins a consumer group (no rebalance, no membership);
// its group id only names the committed offsets it may read or write. For reading a topic
// or a slice of one — the subscription mirror, the dead-letter commands and replay, tests
// and benchmarks. Partition EOF events are on, so a read can tell it reached the end even
// when trailing transaction markers keep the last offset from being handed out.
//
// Owned and used by one thread; the destructor closes the handle (after every MessagePtr
// it returned was destroyed).
class Reader {
 public:
  static constexpr auto kMetadataTimeout = std::chrono::seconds(30);

  // `extra` is applied over the reader's own properties (e.g. isolation.level).
  static Result<std::unique_ptr<Reader>> open(const Config& config, const std::string& group_id,
                                              const Properties& extra = {});
  ~Reader();
  Reader(const Reader&) = delete;
  Reader& operator=(const Reader&) = delete;

  rd_kafka_t* handle() const { return rk_.get(); }

  Result<int> partitionCount(const std::string& topic,
                             std::chrono::milliseconds timeout = kMetadataTimeout);
  // Low and high watermark (the last stable offset with isolation.level=read_committed).
  Result<std::pair<int64_t, int64_t>> watermarks(
      const std::string& topic, int32_t partition,
      std::chrono::milliseconds timeout = kMetadataTimeout);
  // Per partition 0..partitions-1, the first offset whose timestamp is >= ts_ms; partitions
  // with none are absent.
  Result<std::map<int32_t, int64_t>> offsetsForTime(const std::string& topic, int partitions,
                                                    int64_t ts_ms);
  // The group's committed offsets (next offset to read); partitions with none are absent.
  Result<std::map<int32_t, int64_t>> committed(const std::string& topic, int partitions);
  Result<void> commit(const std::string& topic, const std::map<int32_t, int64_t>& next_offsets);

  // Replaces the assignment with these partitions at these offsets (logical offsets such
  // as RD_KAFKA_OFFSET_BEGINNING too).
  Result<void> assign(const std::string& topic, const std::map<int32_t, int64_t>& offsets);
  // The same over several topics at once: topic -> partition -> offset.
  Result<void> assign(const std::map<std::string, std::map<int32_t, int64_t>>& topics);
  void unassign();
  // Null on timeout; error events (EOF included) are returned as they are.
  MessagePtr poll(int timeout_ms);

  // [begin, end) of one partition.
  struct Range {
    int64_t begin = 0;
    int64_t end = 0;
  };
  using Ranges = std::map<int32_t, Range>;
  struct ReadOptions {
    std::function<void()> idle;  // runs before every poll
    // Fails when nothing arrives for this long while ranges are still unfinished.
    std::chrono::milliseconds stall_timeout = std::chrono::seconds(60);
    // Gives up (successfully, with what was read) at this point; none: no deadline.
    std::optional<std::chrono::steady_clock::time_point> deadline;
    int poll_timeout_ms = 100;
    // An error event fails the read; false: it is skipped (the read goes on).
    bool stop_on_error = true;
  };
  // Assigns the ranges, calls `on_record` for each record in them (partitions side by side,
  // each in offset order) until every range is read or `on_record` returns false, and
  // unassigns. A partition is finished at its range's end or at its EOF.
  Result<void> read(const std::string& topic, Ranges ranges,
                    const std::function<bool(const rd_kafka_message_t*)>& on_record,
                    const ReadOptions& options);
  Result<void> read(const std::string& topic, Ranges ranges,
                    const std::function<bool(const rd_kafka_message_t*)>& on_record) {
    return read(topic, std::move(ranges), on_record, ReadOptions{});
  }
  // Every partition from its low to its high watermark as they are now.
  Result<Ranges> wholeTopic(const std::string& topic);

 private:
  explicit Reader(HandlePtr rk) : rk_(std::move(rk)) {}
  HandlePtr rk_;
};

}  // namespace hookpipe::kafka
