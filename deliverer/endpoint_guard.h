#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>

#include "deliverer/metrics.h"

namespace hookpipe::deliverer {

enum class BreakerState { kClosed, kOpen, kHalfOpen };
const char* breakerStateName(BreakerState s);

// What an attempt said about its endpoint.
struct Feedback {
  bool success = false;      // 2xx
  bool failure = false;      // 5xx, timeout, connection/DNS/TLS error: counts for the breaker
  bool throttled = false;    // 429 or 503: the adaptive limit backs off
  int64_t duration_ms = -1;  // how long the attempt took; -1: it did not run to an end
  // An attempt of an operational (hookpipe.*) event: it counts for the breaker like any
  // other, but a breaker that only such attempts opened is not reported (no loop).
  bool operational = false;
};

// Told of a breaker's reported transitions (OperationalEvents). Called under the guard's
// lock, on a worker thread: copy and return, never call back into the guard.
class BreakerListener {
 public:
  virtual ~BreakerListener() = default;
  // closed -> open, when user (non-hookpipe.*) attempts failed in the window. Re-openings
  // after failed half-open probes are not reported again.
  virtual void breakerOpened(const std::string& subscription_id, int window_failures,
                             int window_attempts, int64_t now_ms, int64_t retry_at_ms) noexcept = 0;
  // -> closed, after a reported opening.
  virtual void breakerRecovered(const std::string& subscription_id, int64_t opened_ms,
                                int64_t now_ms) noexcept = 0;
};

// Per-endpoint admission for one deliverer process: a concurrency cap, an adaptive
// concurrency limit and a circuit breaker per subscription (what each endpoint may take
// now). One per process, made with the role's Shared and living as long; shared by the
// worker threads (one mutex; a subscription's deliveries live on one partition, so
// contention is rare). Times are passed in, so tests drive a fake clock. Counts breakers
// by state and their transitions in DelivererMetrics.
//
// Breaker (modelled on Envoy's outlier detection): it judges the endpoint by its failure
// rate over a rolling `window`, not by a run of independent deliveries. It opens when, over
// the window, at least `failures` attempts failed and they were at least `failure_rate_pct`
// percent of all attempts — and the rate has stayed that high for a whole window, so a
// burst of new deliveries whose first tries fail (a flaky endpoint, or one that fails each
// delivery's first tries) is judged only once their retries have had time to succeed. Open
// for `cooldown`, doubling on each failed half-open round up to 8x; then half-open: up to
// kProbes attempts at once, the first success closes it, kProbes failures reopen it. So an
// endpoint that is down for good sees kProbes requests per cooldown, whatever arrives.
// Adaptive limit (AIMD): starts at the cap; each throttled answer halves it (at most once
// per second, never below 1); each success adds 1/limit, so a full window of successes
// grows it by one, back up to the cap.
class EndpointGuard {
 public:
  struct Settings {
    int failures = 5;  // at least this many failures in the window to open
    std::chrono::milliseconds cooldown{30'000};
    std::chrono::milliseconds window{10'000};
    int failure_rate_pct = 90;
  };
  static constexpr int kProbes = 3;  // attempts a half-open breaker lets through
  enum class Admit { kGo, kBusy, kOpen };
  struct View {
    BreakerState state = BreakerState::kClosed;
    int in_flight = 0;
    double limit = 0;         // 0 until the endpoint was first used
    int window_failures = 0;  // in the rolling window, as of the last attempt that ended
    int window_attempts = 0;
    int64_t open_until_ms = 0;
  };

  EndpointGuard(Settings settings, DelivererMetrics& metrics)
      : settings_(settings), metrics_(metrics) {}

  // How many more requests `id` may start now (0 when busy or open), for an endpoint
  // whose hard cap is `cap`.
  int available(const std::string& id, int cap, int64_t now_ms);
  // Takes one slot. kGo: the caller must call release() when the attempt ends.
  // kOpen: the breaker is open until view(id).open_until_ms.
  Admit acquire(const std::string& id, int cap, int64_t now_ms);
  void release(const std::string& id, Feedback feedback, int64_t now_ms);
  View view(const std::string& id) const;
  // Set once, before the workers start (null: none).
  void setListener(BreakerListener* listener) { listener_ = listener; }
  // Endpoints whose breaker is open or half-open now (for the periodic stats line).
  int openBreakers() const;
  // About how many ms each delivery queued for `id` adds to the wait of the ones behind it:
  // its attempts' typical duration — or, while requests are out and none has ended for
  // longer than that, the time since one last ended — over how many may be out at once.
  // What a delivery that cannot wait in memory is parked for, per delivery ahead of it.
  double msPerDelivery(const std::string& id, int cap, int64_t now_ms) const;

 private:
  static constexpr int kBuckets = 10;  // the window in tenths
  struct Bucket {
    int64_t slot = -1;  // now_ms / (window / kBuckets) when it was filled
    int ok = 0;
    int failed = 0;
    int user_failed = 0;  // of `failed`, attempts of non-operational events
  };
  struct Entry {
    View v;
    std::array<Bucket, kBuckets> buckets;
    int64_t bad_since_ms = -1;  // since when the window's failure rate has been at the bar
    int probes_failed = 0;      // in this half-open round
    // Requests that were out when the breaker opened: they are not probes (their failures
    // do not count against the round, nor do they take its places); the first ones to
    // end after the opening are taken to be them.
    int stale = 0;
    int64_t cooldown_ms = 0;
    int64_t last_decrease_ms = INT64_MIN / 2;  // no decrease yet
    double latency_ms = 0;          // moving average of attempt durations, 0 until one ended
    int64_t progress_ms = 0;        // when an attempt last ended, or the first one of a run began
    int64_t reported_open_ms = -1;  // when the listener was told it opened; -1: not told
  };
  // Moves an open breaker whose cooldown passed to half-open.
  void refresh(const std::string& id, Entry& e, int cap, int64_t now_ms);
  void transition(const std::string& id, Entry& e, BreakerState to);
  // Counts an ended attempt into the rolling window and refreshes the window totals.
  void record(Entry& e, const Feedback& feedback, int64_t now_ms) const;
  // Failed attempts of non-operational events in the window.
  int windowUserFailures(const Entry& e, int64_t now_ms) const;
  void open(const std::string& id, Entry& e, int64_t cooldown_ms, int64_t now_ms);
  // The entry of `id`, made closed (and counted so) on first use. Under mu_.
  Entry& entry(const std::string& id);
  metrics::Gauge& gaugeOf(BreakerState s) const;

  Settings settings_;
  DelivererMetrics& metrics_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, Entry> entries_;
  BreakerListener* listener_ = nullptr;
};

}  // namespace hookpipe::deliverer
