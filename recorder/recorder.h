#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "common/attempts/keys.h"
#include "common/config/config.h"
#include "common/kafka/kafka.h"
#include "common/redis/redis.h"
#include "recorder/aggregator.h"
#include "recorder/applier.h"
#include "recorder/metrics.h"

namespace hookpipe::recorder {

// Whether Redis's maxmemory-policy may evict keys without an expiry (allkeys-*): then
// idx:off:<p> can go and a recorder would apply again from the start (README).
inline bool evictsKeysWithoutExpiry(std::string_view policy) {
  return policy.starts_with("allkeys-");
}

// The recorder role: a group consumer of `attempts` that keeps the delivery-log index in
// Redis (common/attempts/keys.h).
//
// Per assigned partition p (paused from its assignment until it knows where to start):
//   1. read idx:off:<p> (absent: a fresh index, read p from its beginning) and seek there;
//   2. aggregate the records taken in (Aggregator), skipping any below that offset;
//   3. flush about once a second, or at max_flush_records: one Applier::apply() that writes
//      everything only if idx:off:<p> still holds what step 1 (or the last flush) saw, and
//      moves it to the next offset. Fenced (someone else moved it): drop the aggregate, go
//      back to 1.
// Example: recorder A has applied p up to 1000 and aggregated 1000..1499 when a rebalance
// gives p to B. A's revoke flushes 1000..1499 (offset -> 1500); B reads 1500 and starts
// there. Had A been SIGKILLed instead, B would read 1000 and take 1000..1499 in itself:
// either way each record is counted once. The Kafka group offsets are committed too (the
// applied ones, so consumer lag shows), but idx:off is the truth.
//
// Redis down: flushes fail and are retried with a backoff, the aggregate kept; a partition
// whose aggregate is full (max_flush_records/bytes) is paused until its flush succeeds, and
// past max_unflushed records (or bytes) every partition is (nothing lost).
// A flush the script fails (an error reply, not an outage) is never tried again: the
// partition stops (State::kFailed), logged and counted (README "Script errors").
//
// Threads: run() owns the consumer, the Redis client and the aggregates; the rebalance
// callbacks run inside its poll().
class Recorder final : public kafka::RebalanceListener {
 public:
  struct Options {
    std::chrono::milliseconds flush_interval{1000};
    // A partition's aggregate is flushed at this size: the script blocks Redis while it runs
    // (about 30 µs a record, README "Cost"), so a flush stays near 150 ms at most.
    std::size_t max_flush_records = 5'000;
    // ... or at this many bytes of records (large records: a flush's size, not its count,
    // is what the script's time grows with).
    std::size_t max_flush_bytes = 8u << 20;
    std::size_t max_unflushed = 200'000;           // all partitions paused at this many
    std::size_t max_unflushed_bytes = 256u << 20;  // ... or this many bytes
  };
  // A partition's aggregate is due for a flush (max_flush_records or max_flush_bytes); a
  // partition whose flush failed is paused once it is this full, so the flush that
  // succeeds after an outage is no bigger than a normal one.
  static bool full(const Aggregator& aggregate, const Options& options) {
    return aggregate.records() >= options.max_flush_records ||
           aggregate.bytes() >= options.max_flush_bytes;
  }
  static Result<std::unique_ptr<Recorder>> create(const Config& config, metrics::Registry& registry,
                                                  Options options);
  static Result<std::unique_ptr<Recorder>> create(const Config& config,
                                                  metrics::Registry& registry) {
    return create(config, registry, Options{});
  }
  ~Recorder() override;
  // Runs until `stop`; returns the exit code (1 after a fatal consumer error).
  int run(const std::atomic<bool>& stop);

  void onAssigned(const rd_kafka_topic_partition_list_t& partitions) override;
  // Flushes what was aggregated for these partitions (the offset check still guards it)
  // and resumes the ones it paused.
  void onRevoked(const rd_kafka_topic_partition_list_t& partitions) override;
  bool holdsPause(const std::string& topic, int32_t partition) const override;
  std::optional<int64_t> resumeOffset(const std::string& topic, int32_t partition) const override;

  const RecorderMetrics& metrics() const { return metrics_; }

 private:
  // kFailed: its flush failed in the script (not retryable): paused until the partition is
  // revoked; never applied again.
  enum class State { kStarting, kRunning, kFailed };
  struct Part {
    explicit Part(Aggregator a) : aggregate(std::move(a)) {}
    State state = State::kStarting;
    std::string applied;    // idx:off:<p> as last seen; "" absent
    int64_t next = -1;      // the next offset to take in; -1: from the start, nothing taken yet
    bool dirty = false;     // `next` moved since `applied`
    bool paused = false;    // by this recorder (starting, or held for Redis)
    bool held = false;      // paused: its aggregate is full and its last flush failed
    bool gap_seen = false;  // a record past `next` came: seeked back once to check
    Aggregator aggregate;
    std::chrono::steady_clock::time_point retry_at{};
  };
  Recorder(const Config& config, metrics::Registry& registry, Options options);
  void take(const rd_kafka_message_t* msg);
  // Reads the partition's offset and starts it there; false while it cannot.
  bool start(int32_t partition, Part& part);
  // Flushes one partition; false when Redis failed (kept for later).
  bool flush(int32_t partition, Part& part);
  void flushAll();
  void pausePart(int32_t partition, Part& part);
  void resumePart(int32_t partition, Part& part);
  std::size_t unflushed() const;
  std::size_t unflushedBytes() const;
  void warnIfEvicting();
  void redisFailed(const Error& error);
  void redisOk();
  void report();

  Config config_;
  Options options_;
  std::string topic_;
  attempts::Keys keys_;
  Aggregator::Options aggregator_options_;
  redis::Client redis_;
  Applier applier_;
  std::unique_ptr<kafka::Consumer> consumer_;
  std::map<int32_t, Part> parts_;
  bool held_for_redis_ = false;
  bool redis_down_ = false;
  std::chrono::milliseconds backoff_{0};
  std::chrono::steady_clock::time_point redis_retry_at_{};
  std::chrono::steady_clock::time_point next_flush_{};
  std::chrono::steady_clock::time_point last_report_{};
  RecorderMetrics metrics_;
};

}  // namespace hookpipe::recorder
