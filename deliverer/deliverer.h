#pragma once

#include <curl/curl.h>

#include <atomic>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <span>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "common/config/config.h"
#include "common/kafka/hand_off.h"
#include "common/kafka/kafka.h"
#include "common/records/delivery.h"
#include "common/redis/redis.h"
#include "common/signing/signer.h"
#include "common/subscriptions/table.h"
#include "common/webhook/outcome.h"
#include "common/webhook/request.h"
#include "deliverer/governor.h"
#include "deliverer/rate_limiter.h"

namespace hookpipe::deliverer {

// Counters of one deliverer process (every worker adds to the same ones); read by the
// periodic log line now and by the stats API later.
struct Metrics {
  std::atomic<uint64_t> attempts{0};
  std::atomic<uint64_t> delivered{0};
  std::atomic<uint64_t> retried{0};
  std::atomic<uint64_t> dead_lettered{0};
  std::atomic<uint64_t> duplicates_skipped{0};
  std::atomic<uint64_t> unknown_subscription{0};  // deliveries of deleted subscriptions, dropped
  std::atomic<uint64_t> parked{0};                // re-queued without spending an attempt
  std::atomic<uint64_t> cut_short{0};  // dead-lettered: horizon passed behind an open breaker
  std::atomic<uint64_t> redis_errors{0};
  std::atomic<uint64_t> attempt_us_total{0};
};

// The last `capacity` delivery ids a worker delivered, to skip a re-routed twin without
// asking Redis. A ring of ids (each slot's string reused) indexed by an open-addressing
// table of (ring slot, hash) pairs: a lookup usually touches one cache line of the table
// and nothing else, and nothing is allocated once the ring is warm (std::unordered_set
// took a node per insert and several cache misses per lookup; hookpipe_recent_ids_bench,
// figures in benchmarks/README.md).
class RecentIds {
 public:
  explicit RecentIds(std::size_t capacity);
  bool contains(std::string_view id) const { return find(id, hashOf(id)) != kNone; }
  void insert(std::string_view id);

 private:
  struct Entry {
    uint32_t slot = 0;  // ring slot + 1; 0: empty
    uint32_t hash = 0;
  };
  static constexpr std::size_t kNone = ~std::size_t{0};
  static uint32_t hashOf(std::string_view id) {
    const std::size_t h = std::hash<std::string_view>{}(id);
    return static_cast<uint32_t>(h ^ (h >> 32));
  }
  // The table index holding `id`, or kNone.
  std::size_t find(std::string_view id, uint32_t hash) const;
  // Empties table index `at`, moving later entries of its probe run back (no tombstones).
  void eraseAt(std::size_t at);
  std::vector<std::string> ring_;
  std::vector<bool> used_;  // ring slots holding an id
  std::size_t next_ = 0;
  std::vector<Entry> table_;  // a power of two, at least twice the capacity
  std::size_t mask_ = 0;
};

// What every attempt's outcome was, for whoever records stats.
struct AttemptRecord {
  const std::string& subscription_id;
  const std::string& delivery_id;
  int attempt;
  long status;  // 0: no HTTP response
  int64_t duration_us;
  webhook::Verdict verdict;
  const char* error_class;  // "" when delivered
};

// What the workers of one process share.
struct Shared {
  explicit Shared(const Config& config)
      : governor({.failures = config.breaker_failures,
                  .cooldown = config.breaker_cooldown,
                  .window = config.breaker_window,
                  .failure_rate_pct = config.breaker_failure_rate_pct}) {}
  Governor governor;
  // Whether this process should write `sub` back disabled after a 410: once per version of
  // the subscription (its updated_at), however many of its requests answered 410.
  bool firstToDisable(const Subscription& sub) {
    std::lock_guard lock(disabled_mu_);
    return disabled_versions_.insert(sub.id + '\n' + sub.updated_at).second;
  }
  // The write failed: the next 410 of this version tries again.
  void forgetDisable(const Subscription& sub) {
    std::lock_guard lock(disabled_mu_);
    disabled_versions_.erase(sub.id + '\n' + sub.updated_at);
  }
  Metrics metrics;
  std::function<void(const AttemptRecord&)> on_attempt;  // optional; called on worker threads
  // Set when one worker fails fatally: the others stop too, so the process exits.
  std::atomic<bool> halt{false};

 private:
  std::mutex disabled_mu_;
  std::unordered_set<std::string> disabled_versions_;
};

// One deliverer worker: consumes `deliveries` (its own consumer in the `<prefix>deliverer`
// group), POSTs each record with its own curl multi handle, and hands failures to a retry
// tier or the dead-letter topic. A process runs HOOKPIPE_DELIVERER_THREADS of them.
//
// Threads: run() owns everything here (consumer, producer, curl handles, offset tracker,
// lanes); producer delivery reports and rebalance callbacks are served inside it. One
// epoll_wait() waits on curl's sockets (curl_multi_socket_action) and on a pipe that
// librdkafka writes to when the consumer or producer queue gets work, so nothing polls on
// a timer.
//
// Admission: each subscription has a lane. A delivery goes out at once when its endpoint
// has a free slot (Governor: concurrency cap, adaptive limit, circuit breaker) and, for a
// rate-limited subscription, a token (RateLimiter, one Redis round trip per loop for every
// lane that needs tokens). Otherwise it waits in its lane, within bounds; beyond them, or
// while the breaker is open or the subscription paused, it is parked in a retry tier
// without spending an attempt, so the partition moves on. Ordered subscriptions send one at
// a time and retry in place.
//
// Offsets: every message is begun in the OffsetTracker when taken in and finished when
// delivered, skipped, or acknowledged by the broker in a retry tier or the DLQ; only the
// contiguous finished prefix is stored and committed.
class Deliverer final : public kafka::RebalanceListener {
 public:
  static Result<std::unique_ptr<Deliverer>> create(const Config& config, SubscriptionTable& table,
                                                   Shared& shared, int worker = 0);
  ~Deliverer() override;
  // Runs until `stop`; returns the exit code (1 after a fatal consumer error).
  int run(const std::atomic<bool>& stop);

  void onAssigned(const rd_kafka_topic_partition_list_t& partitions) override;
  void onRevoked(const rd_kafka_topic_partition_list_t& partitions) override;
  // A partition is held paused while an ordered lane holds it (partition_holds_).
  bool holdsPause(const std::string& topic, int32_t partition) const override;
  std::optional<int64_t> resumeOffset(const std::string& topic, int32_t partition) const override;

 private:
  struct Request;
  struct Pending {
    kafka::OwnedMessage msg;       // its `headers` left empty:
    kafka::PackedHeaders headers;  // unpacked only for a record produced onwards
    records::DeliveryMeta meta;
    int64_t not_before_ms = 0;  // an ordered delivery retrying in place
  };
  struct Lane {
    std::deque<Pending> waiting;
    int64_t tokens = 0;  // granted by the rate limiter, not used yet
    int64_t tokens_at_ms = 0;
    int64_t next_ask_ms = 0;
    int32_t holding = -1;  // an ordered lane at its bound: the partition it holds paused
    // The due time of the last delivery parked from this lane, plus the endpoint's pace.
    double park_cursor_ms = 0;
  };
  Deliverer(const Config& config, SubscriptionTable& table, Shared& shared, int worker);

  void intake(std::vector<Pending> batch);
  // Sends now, queues in the lane, or parks.
  void admit(Pending p, const std::shared_ptr<const Subscription>& sub);
  // Starts what every lane may start now (one Redis round trip for all token asks).
  void pumpLanes();
  void startRequest(Pending p, std::shared_ptr<const Subscription> sub);
  // Waits up to `timeout_ms` for curl's sockets, curl's next timeout or librdkafka's
  // wake pipe, lets curl act on what is ready and completes finished transfers.
  void driveCurl(int timeout_ms);
  static int onCurlSocket(CURL* easy, curl_socket_t fd, int what, void* self,
                          void* socket_data) noexcept;
  static int onCurlTimer(CURLM* multi, long timeout_ms, void* self) noexcept;
  void complete(Request* req, CURLcode code);
  void retryOrDeadLetter(Request& req, const webhook::Outcome& outcome, const std::string& message);
  // Re-queues in the shortest suitable tier without spending an attempt.
  void park(Pending p, int64_t due_ms);
  void parkPaused(Pending p);
  // Holds a delivery back while its endpoint's breaker is open until `open_until_ms`,
  // without spending an attempt — unless its retry policy's horizon (first attempt + the
  // policy's delays) has passed: then it is dead-lettered as cut short, `breaker_open`.
  void parkForBreaker(Pending p, const Subscription& sub, int64_t open_until_ms);
  // An ordered lane at its bound pauses its partition (its deliveries cannot be parked);
  // the partition resumes where intake left it once the lane is down to half.
  void holdPartition(Lane& lane, int32_t partition);
  void releaseIfDrained(Lane& lane);
  // When a delivery that found no room in its lane should come back (see admit()).
  int64_t overflowDue(Lane& lane, const Subscription& sub, int64_t now);
  void deadLetter(Pending p, const std::string& reason);
  // Produces to `topic` and finishes the origin offset once the broker has it.
  void handOff(std::string topic, kafka::OwnedMessage msg, kafka::HeaderList headers);
  void finish(const kafka::OwnedMessage& msg);
  void disableSubscription(const Subscription& sub);
  // Writes the 2xx'd ids to Redis: every 20 ms or 512 ids, or now when `force`.
  void flushDeliveredMarks(bool force = false);
  // Whether an earlier copy of this delivery may have been delivered (so Redis is asked).
  bool mayBeDelivered(const kafka::OwnedMessage& m, const records::DeliveryMeta& meta) const;
  void drain(const std::function<bool()>& done, std::chrono::milliseconds budget);
  int capOf(const Subscription& sub) const;
  std::size_t laneBound() const;
  // A pooled Request (with its easy handle) for the next attempt, and back.
  std::unique_ptr<Request> takeRequest();
  void putInFlight(std::unique_ptr<Request> req);
  std::unique_ptr<Request> takeFromFlight(Request* req);

  Config config_;
  SubscriptionTable& table_;
  Shared& shared_;
  Metrics& metrics_;
  int worker_;
  webhook::Options http_options_;
  std::unique_ptr<kafka::Producer> producer_;
  std::unique_ptr<kafka::HandOff> hand_off_;
  std::unique_ptr<kafka::Consumer> consumer_;
  std::unique_ptr<CURLM, decltype(&curl_multi_cleanup)> multi_{nullptr, &curl_multi_cleanup};
  // Requests are reused (each keeps its easy handle and buffers): in_flight_ holds the
  // ones out (each knows its index), idle_requests_ the rest.
  std::vector<std::unique_ptr<Request>> in_flight_;
  std::vector<std::unique_ptr<Request>> idle_requests_;
  std::unordered_set<std::string_view> in_flight_ids_;  // delivery ids of in_flight_ (views)
  std::unordered_map<std::string, Lane> lanes_;         // by subscription id
  std::unordered_set<std::string> busy_lanes_;          // lanes with waiting deliveries
  std::size_t waiting_total_ = 0;
  std::size_t slow_in_flight_ = 0;  // out for over a second, recounted every 100 ms
  std::chrono::steady_clock::time_point last_slow_count_;
  kafka::OffsetTracker tracker_;
  redis::Client redis_;
  redis::DeliveredStore delivered_;
  RateLimiter limiter_;
  // 2xx'd, not yet written to Redis: the first marks_count_ (the strings are reused).
  std::vector<std::string> delivered_marks_;
  std::size_t marks_count_ = 0;
  std::chrono::steady_clock::time_point first_mark_at_;
  std::chrono::steady_clock::time_point marks_warned_at_;  // rate-limits the warning
  std::chrono::steady_clock::time_point kept_retry_at_;  // when kept marks are tried again
  RecentIds recent_{1 << 16};                          // ids this worker delivered lately
  std::unordered_map<int32_t, int64_t> assigned_end_;  // partition -> end offset when assigned
  std::unordered_map<int32_t, int64_t> next_offset_;   // partition -> after the last taken in
  std::unordered_map<int32_t, int> partition_holds_;   // partition -> ordered lanes holding it
  // Since when the waiting budget has been spent (intake stops for at most kBudgetStall).
  std::optional<std::chrono::steady_clock::time_point> budget_spent_since_;
  signing::Signer signer_;
  std::mt19937_64 rng_{std::random_device{}()};
  int wake_fds_[2] = {-1, -1};
  int epoll_fd_ = -1;
  // What epoll holds for each curl socket, by fd. A keep-alive connection that goes back
  // to curl's cache (CURL_POLL_REMOVE) stays registered, "parked", so the next request on
  // it costs one EPOLL_CTL_MOD instead of MOD+ADD+DEL; a parked socket that reports an
  // event (the server closed it) is removed then, and a closed one left epoll by itself.
  enum class FdState : uint8_t { kNone, kWatched, kParked };
  std::vector<FdState> fd_state_;
  std::chrono::steady_clock::time_point curl_deadline_ =
      std::chrono::steady_clock::time_point::max();
};

}  // namespace hookpipe::deliverer
