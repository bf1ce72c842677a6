#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <initializer_list>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/attempts/keys.h"
#include "common/attempts/record.h"

namespace hookpipe::recorder {

// What one flush writes, in the flat form the apply script (applier.h) reads: a list of
// operations, each an opcode followed by its arguments, all strings.
//
//   D <delivery id> <subscription> <n> (<field> <json>)*n <expire at ms>
//        HSET idx:d:<id> s <subscription> a<N> <json>...; PEXPIREAT
//   Z <key> <n> (<score> <member>)*n        ZADD GT (a member's score only grows)
//   S <key> <expire at ms> <n> (<field> <delta>)*n <lmin> <lmax> <m> (<type> <attempts>
//     <delivered>)*m                        one stats hash: counts added, lmin/lmax
//                                           lowered/raised ("" "": no latency), event
//                                           types with the per-bucket cap; PEXPIREAT
//   T <zset key> <cutoff ms> <cap> <ttl ms> ZREMRANGEBYSCORE below cutoff; over the cap
//                                           (-1: none) the oldest go, their hashes too;
//                                           PEXPIREAT the set to its top score + ttl
//
// The arguments are views: into strings the list owns (numbers, keys it built), or, without
// a copy, into the Aggregator that made it (ids, records), so a list is used before its
// Aggregator changes.
class Ops {
 public:
  Ops() = default;
  Ops(std::initializer_list<std::string> args) {
    for (const auto& a : args) push_back(a);
  }
  Ops(const Ops&) = delete;  // views into owned_: not copyable as it is
  Ops& operator=(const Ops&) = delete;
  Ops(Ops&&) = default;
  Ops& operator=(Ops&&) = default;
  // An argument the list keeps.
  void push_back(std::string arg) {
    owned_.push_back(std::move(arg));
    args_.push_back(owned_.back());
  }
  // An argument that outlives the list (a literal, or the Aggregator's own strings).
  void view(std::string_view arg) { args_.push_back(arg); }
  std::size_t size() const { return args_.size(); }
  std::string_view operator[](std::size_t i) const { return args_[i]; }
  const std::vector<std::string_view>& args() const { return args_; }

 private:
  std::deque<std::string> owned_;  // a deque: its strings stay where they are
  std::vector<std::string_view> args_;
};

// How far a record's finished_ms may be from its Kafka message's timestamp, and ahead of
// the recorder's clock.
inline constexpr int64_t kMaxClockSkewMs = 24LL * 3600 * 1000;
// Why a parsed record's finished_ms cannot be right (empty: it can): more than
// kMaxClockSkewMs off its message's timestamp (`message_ms`, < 0: none) or ahead of
// `now_ms` (a time in µs or s by mistake, a broken clock). Such a record is counted as bad
// and skipped: it would land in buckets nobody queries and keep keys for centuries.
std::string implausibleFinish(int64_t finished_ms, int64_t message_ms, int64_t now_ms);

// The in-memory aggregate of one partition's records since its last flush: the delivery
// log's writes (one hash write per delivery however many of its attempts came in) and the
// statistics' deltas, summed per bucket. Pure: no I/O, no clock (the flush passes `now`).
//
// Example: 3 attempts of subscription S (tenant T) in the same minute add n=3 to each of
// the 9 buckets {s:S, t:T, all} x {m, h, d} of that minute: 9 hashes, not 27 writes.
//
// Threads: owned by the recorder's thread.
class Aggregator {
 public:
  struct Options {
    std::chrono::milliseconds log_retention{7LL * 24 * 3600 * 1000};
    std::size_t log_max_per_subscription = 10'000;
  };
  Aggregator(const attempts::Keys& keys, Options options) : keys_(keys), options_(options) {}

  // Takes in one attempt; `json` is the record as on the topic (kept in the delivery hash).
  void add(const attempts::Record& record, std::string_view json);
  // The operations of a flush at `now_ms` (what expired by then is left out).
  Ops ops(int64_t now_ms) const;
  std::size_t records() const { return records_; }
  // The bytes of the records taken in (their JSON): what a flush of it carries, roughly.
  std::size_t bytes() const { return bytes_; }
  bool empty() const { return records_ == 0; }
  void clear();

 private:
  struct Delivery {
    std::string subscription;
    // (replay, attempt number) -> JSON, in the order they came (a delivery's attempts come
    // in order: the last is its latest).
    std::vector<std::pair<std::pair<int, int>, std::string>> attempts;
    int64_t latest_ms = 0;
  };
  struct EventTypeCounts {
    int64_t attempts = 0;
    int64_t delivered = 0;
  };
  // The counts of one scope's bucket; minutes are what is kept, hours and days (and the
  // tenant and "all" scopes) are summed from them when a flush is written.
  struct Counts {
    int64_t n = 0;
    int64_t retries = 0;
    int64_t latency_n = 0;
    int64_t latency_sum = 0;
    std::optional<int64_t> latency_min;
    std::optional<int64_t> latency_max;
    std::vector<std::pair<std::string, int64_t>> outcomes;  // few values: a vector
    std::vector<std::pair<std::string, int64_t>> status_classes;
    std::vector<std::pair<std::string, int64_t>> error_classes;
    std::map<int, int64_t> histogram;
    std::map<std::string, EventTypeCounts, std::less<>> event_types;
    void merge(const Counts& other);
  };
  struct MinuteKey {
    std::string subscription;
    int64_t minute_s = 0;
    bool operator==(const MinuteKey&) const = default;
  };
  struct MinuteKeyHash {
    std::size_t operator()(const MinuteKey& k) const {
      return std::hash<std::string>()(k.subscription) ^ std::hash<int64_t>()(k.minute_s) * 31;
    }
  };
  struct Minute {
    std::string tenant;
    Counts counts;
  };
  void count(Counts& counts, const attempts::Record& record);

  attempts::Keys keys_;
  Options options_;
  std::size_t records_ = 0;
  std::size_t bytes_ = 0;
  std::unordered_map<std::string, Delivery> deliveries_;
  // Per subscription, the latest finished_ms seen (for idx:subs and the trims).
  std::map<std::string, int64_t, std::less<>> subscriptions_;
  std::unordered_map<MinuteKey, Minute, MinuteKeyHash> minutes_;
};

}  // namespace hookpipe::recorder
