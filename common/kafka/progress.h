#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "common/kafka/hand_off.h"
#include "common/kafka/kafka.h"

namespace hookpipe::kafka {

// The consumer skeleton every role shares: a consumed record is begun, handed off
// (produced onwards, or delivered), finished once that is durable, and the consumer's
// progress advances to the contiguous prefix of finished records (OffsetTracker).
//
//   progress.begin(topic, partition, offset);            // taken in
//   ... work, possibly out of order ...
//   progress.finish(topic, partition, offset);           // done: maybe stores an offset
// or, for a record produced onwards,
//   progress.handOff(hand_off, destination, key, value, headers, {topic, partition, offset});
//
// `store` receives each new next-offset (a group consumer's storeOffset(), or a map a
// replay commits itself). Owned and used by one thread, like the consumer it serves.
class Progress {
 public:
  using Store =
      std::function<void(const std::string& topic, int32_t partition, int64_t next_offset)>;
  struct Position {
    std::string topic;
    int32_t partition = 0;
    int64_t offset = 0;
  };

  explicit Progress(Store store) : store_(std::move(store)) {}

  void begin(const std::string& topic, int32_t partition, int64_t offset) {
    tracker_.begin(topic, partition, offset);
  }
  // Returns whether the finished prefix advanced (and so an offset was stored).
  bool finish(const std::string& topic, int32_t partition, int64_t offset) {
    auto next = tracker_.finish(topic, partition, offset);
    if (next) store_(topic, partition, *next);
    return next.has_value();
  }
  // The finish of `at`, to run later (a HandOff acknowledgement).
  std::function<void()> finisher(Position at);
  // Begins `from` and produces the record to `destination`; finished once acknowledged,
  // then `on_acked` (if any) runs.
  void handOff(HandOff& hand_off, std::string destination, std::string key, std::string value,
               HeaderList headers, Position from, std::function<void()> on_acked = {});

  std::size_t pending(const rd_kafka_topic_partition_list_t& partitions) const {
    return tracker_.pending(partitions);
  }
  std::size_t pendingTotal() const { return tracker_.pendingTotal(); }
  std::optional<int64_t> lastBegun(const std::string& topic, int32_t partition) const {
    return tracker_.lastBegun(topic, partition);
  }
  // Drops the partitions' bookkeeping (after a revoke, once their work was drained).
  void forget(const rd_kafka_topic_partition_list_t& partitions) { tracker_.forget(partitions); }

 private:
  Store store_;
  OffsetTracker tracker_;
};

}  // namespace hookpipe::kafka
