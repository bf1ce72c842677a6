#pragma once

// The chaos harness's record of a run (benchmarks/chaos.cc): which events the broker
// acknowledged, and every request the receiver answered, per (event, subscription) pair.
// Written by two threads — the publisher's delivery reports and the receiver's one asio
// thread — under one mutex; read by the report once both have stopped.
//
// Times are wall-clock microseconds (CLOCK_REALTIME), because the fault schedule is
// written by script/chaos from bash's $EPOCHREALTIME.
#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>

namespace hookpipe::chaos {

inline int64_t wallMicros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// How a subscription's receiver answers.
//   ok     200 to every request.
//   flaky  500 to the first request of each delivery (and to the second one too for every
//          fourth event), 200 after that: the retry tiers carry every delivery of it.
enum class Kind { kOk, kFlaky };

struct SubSpec {
  std::string id;  // subscription id (chosen so subscriptions spread over partitions)
  Kind kind = Kind::kOk;
  int deliveries_partition = -1;
  int retry_partition = -1;
};

class Ledger {
 public:
  struct Pair {
    uint32_t requests = 0;  // every request for this pair, answered 2xx or not
    uint32_t ok = 0;        // requests answered 2xx: ok - 1 of them are duplicates
    int64_t first_ok_us = -1;
  };
  static constexpr int64_t kUnacked = -1;
  static constexpr int64_t kFailed = -2;

  Ledger(std::vector<SubSpec> subs, long events)
      : subs_(std::move(subs)),
        acked_us_(static_cast<std::size_t>(events), kUnacked),
        pairs_(static_cast<std::size_t>(events) * subs_.size()),
        first_ok_us_(subs_.size()),
        duplicate_us_(subs_.size()),
        failed_answers_(subs_.size(), 0),
        warm_ok_(subs_.size(), false) {}

  const std::vector<SubSpec>& subs() const { return subs_; }
  long events() const { return static_cast<long>(acked_us_.size()); }

  void acked(long seq, bool ok) {
    std::lock_guard lock(mu_);
    acked_us_[static_cast<std::size_t>(seq)] = ok ? wallMicros() : kFailed;
  }

  // The status to answer for a request of event `seq` (-1: a warm-up event, told apart
  // by its webhook id) to subscription `sub`, recorded.
  int answer(long seq, std::size_t sub, int64_t now_us, const std::string& webhook_id) {
    std::lock_guard lock(mu_);
    if (seq < 0) {
      // Warm-up events fail their first try too: a 2xx shows the retry role works.
      const bool ok = subs_[sub].kind == Kind::kOk || warm_requests_[webhook_id]++ > 0;
      if (ok) warm_ok_[sub] = true;
      return ok ? 200 : 500;
    }
    Pair& p = pairs_[static_cast<std::size_t>(seq) * subs_.size() + sub];
    const uint32_t before = p.requests++;
    if (subs_[sub].kind == Kind::kFlaky && (before == 0 || (before == 1 && seq % 4 == 0))) {
      ++failed_answers_[sub];
      return 500;
    }
    if (p.ok++ == 0) {
      p.first_ok_us = now_us;
      first_ok_us_[sub].push_back(now_us);
      last_progress_us_ = now_us;
      ++delivered_pairs_;
    } else {
      duplicate_us_[sub].push_back(now_us);
    }
    return 200;
  }

  void unknownRequest() {
    std::lock_guard lock(mu_);
    ++unknown_requests_;
  }

  // Every subscription (or every one of the ok kind) answered 2xx to a warm-up event.
  bool warmedUp(bool ok_kind_only = false) const {
    std::lock_guard lock(mu_);
    for (std::size_t s = 0; s < subs_.size(); ++s)
      if (!warm_ok_[s] && !(ok_kind_only && subs_[s].kind != Kind::kOk)) return false;
    return true;
  }
  // Pairs delivered at least once, the pairs expected (acknowledged events × subscriptions),
  // and when a pair was last delivered for the first time.
  struct Progress {
    long delivered = 0;
    long expected = 0;
    int64_t last_progress_us = 0;
  };
  Progress progress() const {
    std::lock_guard lock(mu_);
    long acked = 0;
    for (int64_t t : acked_us_) acked += t >= 0 ? 1 : 0;
    return {delivered_pairs_, acked * static_cast<long>(subs_.size()), last_progress_us_};
  }

  // For the report, once the publisher and the receiver have stopped.
  const std::vector<int64_t>& ackedMicros() const { return acked_us_; }
  const Pair& pair(long seq, std::size_t sub) const {
    return pairs_[static_cast<std::size_t>(seq) * subs_.size() + sub];
  }
  const std::vector<int64_t>& firstOkMicros(std::size_t sub) const { return first_ok_us_[sub]; }
  const std::vector<int64_t>& duplicateMicros(std::size_t sub) const { return duplicate_us_[sub]; }
  long failedAnswers(std::size_t sub) const { return failed_answers_[sub]; }
  long unknownRequests() const { return unknown_requests_; }

 private:
  mutable std::mutex mu_;
  std::vector<SubSpec> subs_;
  std::vector<int64_t> acked_us_;                   // per event: ack time, kUnacked or kFailed
  std::vector<Pair> pairs_;                         // seq * subs + sub
  std::vector<std::vector<int64_t>> first_ok_us_;   // per subscription, in arrival order
  std::vector<std::vector<int64_t>> duplicate_us_;  // per subscription, in arrival order
  std::vector<long> failed_answers_;
  std::vector<bool> warm_ok_;
  std::map<std::string, int> warm_requests_;
  long delivered_pairs_ = 0;
  long unknown_requests_ = 0;
  int64_t last_progress_us_ = 0;
};

}  // namespace hookpipe::chaos
