#pragma once

#include <librdkafka/rdkafka.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/config/config.h"
#include "common/error.h"

// RAII wrappers around librdkafka 2.0.2, shaped by the traps listed in DESIGN.md:
// consumers use rd_kafka_consumer_poll (never the batch API), store offsets themselves
// (enable.auto.offset.store=false) and use the eager assignor; every producer is idempotent.
namespace hookpipe::kafka {

struct KafkaDeleter {
  void operator()(rd_kafka_t* rk) const { rd_kafka_destroy(rk); }
  void operator()(rd_kafka_conf_t* c) const { rd_kafka_conf_destroy(c); }
  void operator()(rd_kafka_message_t* m) const { rd_kafka_message_destroy(m); }
  void operator()(rd_kafka_topic_partition_list_t* l) const {
    rd_kafka_topic_partition_list_destroy(l);
  }
  void operator()(rd_kafka_headers_t* h) const { rd_kafka_headers_destroy(h); }
};
using HandlePtr = std::unique_ptr<rd_kafka_t, KafkaDeleter>;
using ConfPtr = std::unique_ptr<rd_kafka_conf_t, KafkaDeleter>;
using MessagePtr = std::unique_ptr<rd_kafka_message_t, KafkaDeleter>;
using PartitionListPtr = std::unique_ptr<rd_kafka_topic_partition_list_t, KafkaDeleter>;

using Properties = std::map<std::string, std::string>;
using HeaderList = std::vector<std::pair<std::string, std::string>>;
// Headers that point into memory the caller keeps alive for the produce call (librdkafka
// copies them): the hot path's way to avoid building a HeaderList per record.
using HeaderView = std::pair<std::string_view, std::string_view>;

// The one place librdkafka error codes become our Error values.
Error toError(rd_kafka_resp_err_t err, std::string_view context = {});

// Calls fn(name, value) for each header of `msg` in order, as views into the message (a
// header without a value gives an empty one).
template <typename Fn>
void forEachHeader(const rd_kafka_message_t* msg, Fn&& fn) {
  rd_kafka_headers_t* hdrs = nullptr;
  if (rd_kafka_message_headers(msg, &hdrs) != RD_KAFKA_RESP_ERR_NO_ERROR) return;
  const char* name = nullptr;
  const void* value = nullptr;
  size_t size = 0;
  for (size_t i = 0;
       rd_kafka_header_get_all(hdrs, i, &name, &value, &size) == RD_KAFKA_RESP_ERR_NO_ERROR; ++i)
    fn(std::string_view(name), value != nullptr
                                   ? std::string_view(static_cast<const char*>(value), size)
                                   : std::string_view());
}
HeaderList readHeaders(const rd_kafka_message_t* msg);
std::optional<std::string> findHeader(const HeaderList& headers, std::string_view name);
// Replaces the value of `name` (or appends it).
void setHeader(HeaderList& headers, std::string_view name, std::string value);
// Removes every copy of `name`.
void eraseHeader(HeaderList& headers, std::string_view name);
std::string_view payloadOf(const rd_kafka_message_t* msg);
std::string_view keyOf(const rd_kafka_message_t* msg);

// A message's headers copied as one block (one allocation, where a HeaderList takes two
// strings per header), unpacked only when a record is produced onwards: the deliverer
// keeps every record it consumes this way (the copy's cost: benchmarks/README.md).
class PackedHeaders {
 public:
  static PackedHeaders of(const rd_kafka_message_t* msg);
  HeaderList unpack() const;
  bool empty() const { return blob_.empty(); }

 private:
  std::string blob_;  // per header: name length, name, value length, value (lengths u32)
};

// A message copied out of librdkafka, for work that outlives the rd_kafka_message_t.
struct OwnedMessage {
  std::string topic;
  int32_t partition = 0;
  int64_t offset = 0;
  int64_t timestamp_ms = 0;
  std::string key;
  std::string value;
  HeaderList headers;
  // `with_headers` false leaves `headers` empty (see PackedHeaders).
  static OwnedMessage copyOf(const rd_kafka_message_t* msg, bool with_headers = true);
};

// Idempotent producer. Thread-safe; callbacks run on the thread that calls poll().
class Producer {
 public:
  // Called once per message with nullopt on acknowledgement or the error that failed it.
  using Done = std::function<void(std::optional<Error>)>;

  static Result<std::unique_ptr<Producer>> create(const Config& config,
                                                  const Properties& extra = {});
  ~Producer();
  Producer(const Producer&) = delete;
  Producer& operator=(const Producer&) = delete;

  // Enqueues a message; `done` is called from poll(). A full local queue is a
  // retryable error (call poll() and try again).
  Result<void> produce(const std::string& topic, std::string_view key, std::string_view value,
                       const HeaderList& headers, Done done,
                       int32_t partition = RD_KAFKA_PARTITION_UA);
  // Same, with header views (copied by librdkafka) instead of a HeaderList.
  Result<void> produceViews(const std::string& topic, std::string_view key, std::string_view value,
                            std::span<const HeaderView> headers, Done done,
                            int32_t partition = RD_KAFKA_PARTITION_UA);
  // Like produce(), but waits (serving callbacks) while the local queue is full.
  Result<void> produceBlocking(const std::string& topic, std::string_view key,
                               std::string_view value, const HeaderList& headers, Done done);
  int poll(int timeout_ms);
  // Waits until everything enqueued was acknowledged or failed; false on timeout.
  bool flush(std::chrono::milliseconds timeout);
  int outstanding() const { return rd_kafka_outq_len(rk_.get()); }
  rd_kafka_t* handle() const { return rk_.get(); }

  // Transactions (consume-transform-produce), for a producer created with a
  // `transactional.id` in `extra`. Each call says what the caller must do on failure.
  struct TransactionError {
    std::string message;
    bool retriable = false;       // the same call may succeed if made again
    bool requires_abort = false;  // abortTransaction(), rewind the input, go on
    bool fatal = false;           // the producer is unusable (fenced by a newer instance)
  };
  using TransactionResult = std::expected<void, TransactionError>;
  TransactionResult initTransactions(std::chrono::milliseconds timeout);
  TransactionResult beginTransaction();
  // Adds `offsets` (next offsets to read) of `consumer`'s group to the transaction, so
  // they are committed with it.
  TransactionResult sendOffsetsToTransaction(const rd_kafka_topic_partition_list_t& offsets,
                                             rd_kafka_t* consumer,
                                             std::chrono::milliseconds timeout);
  // Flushes what was produced in the transaction and commits it.
  TransactionResult commitTransaction(std::chrono::milliseconds timeout);
  TransactionResult abortTransaction(std::chrono::milliseconds timeout);

 private:
  explicit Producer(HandlePtr rk) : rk_(std::move(rk)) {}
  Result<void> produceWith(const std::string& topic, std::string_view key, std::string_view value,
                           rd_kafka_headers_t* headers, Done done, int32_t partition);
  static void onDelivery(rd_kafka_t*, const rd_kafka_message_t* msg, void* opaque) noexcept;
  HandlePtr rk_;
  std::atomic<bool> closing_{false};
};

// Partition-level callbacks of a group consumer; all run inside Consumer::poll().
class RebalanceListener {
 public:
  virtual ~RebalanceListener() = default;
  virtual void onAssigned(const rd_kafka_topic_partition_list_t& partitions) = 0;
  // Must finish or give up the work of these partitions, store their offsets, and resume
  // every one of them it paused (librdkafka 2.0.2 keeps an application's pause across a
  // revoke and re-assign: a partition that comes back would never be fetched again).
  virtual void onRevoked(const rd_kafka_topic_partition_list_t& partitions) = 0;
  // Whether the listener still holds something for a partition it paused (asked by the
  // consumer's periodic pause check). A paused partition held by nothing is stuck.
  virtual bool holdsPause(const std::string& /*topic*/, int32_t /*partition*/) const {
    return true;
  }
  // Where a stuck partition resumes: the next offset the listener has not taken in, or
  // nullopt for the committed offset.
  virtual std::optional<int64_t> resumeOffset(const std::string& /*topic*/,
                                              int32_t /*partition*/) const {
    return std::nullopt;
  }
};

// What the group consumers of this process went through, for the roles' stats lines.
struct ConsumerCounters {
  // Paused partitions found held by nothing (at a revoke, or by the periodic check) and
  // resumed: each one is a bug in the code that paused it, logged as an error.
  std::atomic<uint64_t> stuck_partitions{0};
  // Consumers recreated in-process after being fenced (static membership, see Consumer).
  std::atomic<uint64_t> rejoins{0};
};
ConsumerCounters& consumerCounters();

// The properties of a consumer on the hot path (the router's of events, the deliverers'
// of deliveries) with Config::hot_fetch_wait_ms set: the broker answers a fetch once
// kHotFetchMinBytes are there or that many ms have passed, so at paced rates a fetch
// carries what arrived in that time instead of the first record. Empty when it is 0.
inline constexpr int kHotFetchMinBytes = 64 * 1024;
Properties hotFetchProperties(const Config& config);

// Group consumer with manual offset storing and periodic auto-commit of stored offsets.
// Owned and used by a single thread.
//
// Pauses: pause()/resume()/resumeAt() are tracked per partition. A revoke resumes what
// the listener left paused, and every kPauseCheckInterval poll() asks the listener
// whether it still holds each paused partition (holdsPause()); one held by nothing is
// logged, counted (ConsumerCounters::stuck_partitions) and resumed at resumeOffset().
//
// Fencing: with static membership (group.instance.id) librdkafka makes
// FENCED_INSTANCE_ID fatal. A broker restart can cause it without any other process:
// the consumer rejoins under a new member id and a commit still in flight under the old
// one is fenced (seen as "OffsetCommit failed: Broker: Static consumer fenced by other
// consumer with same group.instance.id"). So poll() recreates the consumer in-process
// (the listener first gets onRevoked() for everything assigned) and goes on; only when
// fenced again and again — kMaxFences within kFenceWindow, the mark of two live
// processes with one id taking the membership from each other — does fatal() become
// true, with a message naming the instance id to check. Of two such processes, the one
// fenced first reaches the limit first and exits; the other keeps running.
class Consumer {
 public:
  static constexpr auto kPauseCheckInterval = std::chrono::seconds(5);
  static constexpr int kMaxFences = 3;
  static constexpr auto kFenceWindow = std::chrono::minutes(10);

  static Result<std::unique_ptr<Consumer>> create(const Config& config, const std::string& group_id,
                                                  RebalanceListener* listener,
                                                  const Properties& extra = {});
  ~Consumer();
  Consumer(const Consumer&) = delete;
  Consumer& operator=(const Consumer&) = delete;

  Result<void> subscribe(const std::vector<std::string>& topics);
  // Null on timeout. Error events (msg->err != 0) are returned to the caller as is,
  // except a fence that the consumer rides out by rejoining (see above).
  MessagePtr poll(int timeout_ms);
  // True once librdkafka raised a fatal error that cannot be ridden out (fenced over and
  // over by another member with the same group.instance.id): the role must stop and exit
  // non-zero.
  bool fatal() const { return fatal_; }
  // Stores `next_offset` (the offset of the next message to read) for commit.
  void storeOffset(const std::string& topic, int32_t partition, int64_t next_offset);
  void commitSync();
  void pause(const std::string& topic, int32_t partition);
  void resume(const std::string& topic, int32_t partition);
  // Resumes and seeks to `offset`, so messages purged by the pause are fetched again.
  void resumeAt(const std::string& topic, int32_t partition, int64_t offset);
  // Partitions paused by this consumer and not resumed yet.
  std::size_t pausedCount() const { return paused_.size(); }
  bool isPaused(const std::string& topic, int32_t partition) const {
    return paused_.contains({topic, partition});
  }
  // Wakes `fd` (writes `payload`) whenever the consumer queue gets work; kept across a
  // recreated consumer.
  void enableIoEvent(int fd, std::string payload);
  // Runs the pause check now (poll() runs it every kPauseCheckInterval); returns how many
  // stuck partitions it resumed.
  std::size_t checkPauses();
  void close();
  // The current handle: it changes when the consumer is recreated after a fence, so do
  // not keep it across poll() calls.
  rd_kafka_t* handle() const { return rk_.get(); }

 private:
  using TopicPartition = std::pair<std::string, int32_t>;
  Consumer(RebalanceListener* listener) : listener_(listener) {}
  Result<void> open();
  void handleFatal();
  // Recovers a stuck partition: logged, counted, resumed (where the listener says, when
  // `set_position`).
  void unstick(const TopicPartition& tp, const char* found, bool set_position);
  static void onRebalance(rd_kafka_t* rk, rd_kafka_resp_err_t err,
                          rd_kafka_topic_partition_list_t* partitions, void* opaque) noexcept;
  HandlePtr rk_;
  ConfPtr conf_;  // what every (re)created handle is made from
  RebalanceListener* listener_;
  std::string instance_id_;  // group.instance.id, empty without static membership
  std::vector<std::string> topics_;
  int io_fd_ = -1;
  std::string io_payload_;
  std::set<TopicPartition> assigned_;
  std::set<TopicPartition> paused_;
  std::chrono::steady_clock::time_point next_pause_check_;
  std::deque<std::chrono::steady_clock::time_point> fences_;
  bool closed_ = false;
  bool fatal_ = false;
};

// Tracks in-progress offsets per partition so that only the contiguous prefix of
// finished work is committed.
//
// Example: offsets 10, 11, 12 begin; 12 and 10 finish. committable() is 11 (10 is
// done, 11 is not); when 11 finishes it becomes 13. A partition with nothing pending
// commits one past the last offset begun.
class OffsetTracker {
 public:
  void begin(const std::string& topic, int32_t partition, int64_t offset);
  // Returns the new next-offset to store if the finished prefix advanced.
  std::optional<int64_t> finish(const std::string& topic, int32_t partition, int64_t offset);
  std::size_t pending(const std::string& topic, int32_t partition) const;
  std::size_t pending(const rd_kafka_topic_partition_list_t& partitions) const;
  std::size_t pendingTotal() const;
  // The highest offset begun since the partition was last forgotten, if any.
  std::optional<int64_t> lastBegun(const std::string& topic, int32_t partition) const;
  void forget(const std::string& topic, int32_t partition);
  void forget(const rd_kafka_topic_partition_list_t& partitions);
  void clear() { parts_.clear(); }

 private:
  struct Part {
    std::vector<int64_t> pending;  // sorted ascending; small (bounded in-flight)
    int64_t last_begun = -1;
    int64_t stored = -1;
    int64_t floor = -1;
  };
  // Ordered by (topic, partition); looked up by views, so a lookup copies no topic name.
  struct PartLess {
    using is_transparent = void;
    template <typename A, typename B>
    bool operator()(const A& a, const B& b) const {
      const int c = std::string_view(a.first).compare(std::string_view(b.first));
      return c < 0 || (c == 0 && a.second < b.second);
    }
  };
  using Key = std::pair<std::string_view, int32_t>;
  std::map<std::pair<std::string, int32_t>, Part, PartLess> parts_;
};

// Creates hookpipe's topics with the configured partition counts (subscriptions and
// event types compacted); existing topics are left as they are.
Result<void> ensureTopics(const Config& config);

// Number of partitions of a topic, from broker metadata.
Result<int> partitionCount(rd_kafka_t* rk, const std::string& topic,
                           std::chrono::milliseconds timeout);

// Low and high watermark of a partition, retried while the partition has no leader yet
// (right after the topic was created) until `timeout` has passed.
Result<std::pair<int64_t, int64_t>> watermarks(rd_kafka_t* rk, const std::string& topic,
                                               int32_t partition,
                                               std::chrono::milliseconds timeout);

// Base client properties for every handle (brokers, client id, sane timeouts).
ConfPtr baseConf(const Config& config, const Properties& extra, std::string& error);

int64_t nowMs();

}  // namespace hookpipe::kafka
