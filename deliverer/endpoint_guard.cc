#include "deliverer/endpoint_guard.h"

#include <algorithm>
#include <cmath>

#include "common/log/log.h"

namespace hookpipe::deliverer {
namespace {

constexpr int64_t kDecreaseSpacingMs = 1000;
constexpr int64_t kMaxCooldownFactor = 8;
constexpr double kLatencyWeight = 0.2;  // of the newest attempt in the moving average

std::shared_ptr<spdlog::logger> log() {
  static auto l = logger("breaker");
  return l;
}

}  // namespace

const char* breakerStateName(BreakerState s) {
  switch (s) {
    case BreakerState::kClosed:
      return "closed";
    case BreakerState::kOpen:
      return "open";
    case BreakerState::kHalfOpen:
      return "half_open";
  }
  return "closed";
}

void EndpointGuard::transition(const std::string& id, Entry& e, BreakerState to) {
  if (e.v.state == to) return;
  log()->warn("circuit breaker subscription={} {} -> {} window_failures={} window_attempts={}", id,
              breakerStateName(e.v.state), breakerStateName(to), e.v.window_failures,
              e.v.window_attempts);
  if (to == BreakerState::kOpen) metrics_.breaker_opened.inc();
  if (to == BreakerState::kClosed) metrics_.breaker_closed.inc();
  gaugeOf(e.v.state).sub(1);
  gaugeOf(to).add(1);
  e.v.state = to;
}

metrics::Gauge& EndpointGuard::gaugeOf(BreakerState s) const {
  switch (s) {
    case BreakerState::kOpen:
      return metrics_.breakers_open;
    case BreakerState::kHalfOpen:
      return metrics_.breakers_half_open;
    case BreakerState::kClosed:
      break;
  }
  return metrics_.breakers_closed;
}

EndpointGuard::Entry& EndpointGuard::entry(const std::string& id) {
  auto [it, made] = entries_.try_emplace(id);
  if (made) metrics_.breakers_closed.add(1);
  return it->second;
}

void EndpointGuard::refresh(const std::string& id, Entry& e, int cap, int64_t now_ms) {
  if (e.v.limit <= 0 || e.v.limit > cap) e.v.limit = cap;
  if (e.v.state == BreakerState::kOpen && now_ms >= e.v.open_until_ms) {
    e.probes_failed = 0;
    transition(id, e, BreakerState::kHalfOpen);
  }
}

void EndpointGuard::record(Entry& e, const Feedback& feedback, int64_t now_ms) const {
  const int64_t width = std::max<int64_t>(1, settings_.window.count() / kBuckets);
  const int64_t slot = now_ms / width;
  Bucket& b = e.buckets[static_cast<std::size_t>(slot % kBuckets)];
  if (b.slot != slot) b = {slot, 0, 0, 0};
  b.ok += feedback.success ? 1 : 0;
  b.failed += feedback.failure ? 1 : 0;
  b.user_failed += feedback.failure && !feedback.operational ? 1 : 0;
  e.v.window_failures = 0;
  e.v.window_attempts = 0;
  for (const Bucket& x : e.buckets) {
    if (x.slot < 0 || x.slot <= slot - kBuckets) continue;  // older than the window
    e.v.window_failures += x.failed;
    e.v.window_attempts += x.ok + x.failed;
  }
}

int EndpointGuard::windowUserFailures(const Entry& e, int64_t now_ms) const {
  const int64_t width = std::max<int64_t>(1, settings_.window.count() / kBuckets);
  const int64_t slot = now_ms / width;
  int n = 0;
  for (const Bucket& x : e.buckets)
    if (x.slot >= 0 && x.slot > slot - kBuckets) n += x.user_failed;
  return n;
}

void EndpointGuard::open(const std::string& id, Entry& e, int64_t cooldown_ms, int64_t now_ms) {
  e.stale = e.v.in_flight;
  e.cooldown_ms = cooldown_ms;
  e.v.open_until_ms = now_ms + cooldown_ms;
  transition(id, e, BreakerState::kOpen);
}

int EndpointGuard::available(const std::string& id, int cap, int64_t now_ms) {
  std::lock_guard lock(mu_);
  Entry& e = entry(id);
  refresh(id, e, cap, now_ms);
  switch (e.v.state) {
    case BreakerState::kOpen:
      return 0;
    case BreakerState::kHalfOpen:
      return std::max(0, kProbes - e.probes_failed - (e.v.in_flight - e.stale));
    case BreakerState::kClosed:
      break;
  }
  const int limit = std::max(1, static_cast<int>(std::floor(e.v.limit)));
  return std::max(0, limit - e.v.in_flight);
}

EndpointGuard::Admit EndpointGuard::acquire(const std::string& id, int cap, int64_t now_ms) {
  std::lock_guard lock(mu_);
  Entry& e = entry(id);
  refresh(id, e, cap, now_ms);
  int limit = 0;
  switch (e.v.state) {
    case BreakerState::kOpen:
      return Admit::kOpen;
    case BreakerState::kHalfOpen:
      limit = kProbes - e.probes_failed + e.stale;
      break;
    case BreakerState::kClosed:
      limit = std::max(1, static_cast<int>(std::floor(e.v.limit)));
      break;
  }
  if (e.v.in_flight >= limit) return Admit::kBusy;
  if (e.v.in_flight++ == 0) e.progress_ms = now_ms;
  return Admit::kGo;
}

void EndpointGuard::release(const std::string& id, Feedback feedback, int64_t now_ms) {
  std::lock_guard lock(mu_);
  Entry& e = entry(id);
  e.v.in_flight = std::max(0, e.v.in_flight - 1);
  e.progress_ms = now_ms;
  if (feedback.duration_ms >= 0) {
    const auto d = static_cast<double>(feedback.duration_ms);
    e.latency_ms = e.latency_ms <= 0 ? d : (1 - kLatencyWeight) * e.latency_ms + kLatencyWeight * d;
  }

  if (feedback.throttled && now_ms - e.last_decrease_ms >= kDecreaseSpacingMs) {
    e.v.limit = std::max(1.0, e.v.limit / 2);
    e.last_decrease_ms = now_ms;
    metrics_.throttle_backoffs.inc();
  } else if (feedback.success && e.v.limit > 0) {
    e.v.limit += 1.0 / e.v.limit;  // capped at the cap by refresh()
  }
  const bool was_stale = e.v.state != BreakerState::kClosed && e.stale > 0;
  if (was_stale) --e.stale;
  if (!feedback.success && !feedback.failure) return;  // e.g. a 400 or a 429: no verdict
  // A quiet gap ends a bad run: the rate must stay high for a window of attempts.
  if (e.v.state == BreakerState::kClosed) {
    const int64_t width = std::max<int64_t>(1, settings_.window.count() / kBuckets);
    const int64_t slot = now_ms / width;
    const bool window_empty = std::none_of(
        e.buckets.begin(), e.buckets.end(),
        [&](const Bucket& b) { return b.slot > slot - kBuckets && b.ok + b.failed > 0; });
    if (window_empty) e.bad_since_ms = -1;
  }
  record(e, feedback, now_ms);

  const int64_t base = settings_.cooldown.count();
  switch (e.v.state) {
    case BreakerState::kOpen:
      // An attempt that was out when it opened: a success says the endpoint is back.
      if (!feedback.success) return;
      [[fallthrough]];
    case BreakerState::kHalfOpen:
      if (feedback.success) {
        e.cooldown_ms = 0;
        e.stale = 0;
        e.buckets = {};  // judged afresh from here
        e.bad_since_ms = -1;
        transition(id, e, BreakerState::kClosed);
        if (e.reported_open_ms >= 0 && listener_ != nullptr)
          listener_->breakerRecovered(id, e.reported_open_ms, now_ms);
        e.reported_open_ms = -1;
      } else if (!was_stale && ++e.probes_failed >= kProbes) {
        open(id, e, std::min(base * kMaxCooldownFactor, std::max(base, e.cooldown_ms * 2)), now_ms);
      }
      return;
    case BreakerState::kClosed:
      break;
  }
  const bool bad = e.v.window_failures >= settings_.failures &&
                   int64_t{e.v.window_failures} * 100 >=
                       int64_t{settings_.failure_rate_pct} * e.v.window_attempts;
  if (!bad) {
    e.bad_since_ms = -1;
    return;
  }
  if (e.bad_since_ms < 0) e.bad_since_ms = now_ms;
  if (now_ms - e.bad_since_ms < settings_.window.count()) return;
  open(id, e, base, now_ms);
  // Reported only when user traffic failed too: attempts of operational events alone never
  // raise operational events (docs/operational-events.md, "No loops").
  if (listener_ != nullptr && windowUserFailures(e, now_ms) > 0) {
    e.reported_open_ms = now_ms;
    listener_->breakerOpened(id, e.v.window_failures, e.v.window_attempts, now_ms,
                             e.v.open_until_ms);
  }
}

EndpointGuard::View EndpointGuard::view(const std::string& id) const {
  std::lock_guard lock(mu_);
  auto it = entries_.find(id);
  return it == entries_.end() ? View{} : it->second.v;
}

int EndpointGuard::openBreakers() const {
  std::lock_guard lock(mu_);
  return static_cast<int>(std::count_if(entries_.begin(), entries_.end(), [](const auto& e) {
    return e.second.v.state != BreakerState::kClosed;
  }));
}

double EndpointGuard::msPerDelivery(const std::string& id, int cap, int64_t now_ms) const {
  std::lock_guard lock(mu_);
  auto it = entries_.find(id);
  if (it == entries_.end()) return 0;
  const Entry& e = it->second;
  double per_request = e.latency_ms;
  if (e.v.in_flight > 0)
    per_request = std::max(per_request, static_cast<double>(now_ms - e.progress_ms));
  const int at_once =
      e.v.state == BreakerState::kClosed
          ? std::max(1, static_cast<int>(std::floor(e.v.limit > 0 ? e.v.limit : cap)))
          : 1;
  return per_request / at_once;
}

}  // namespace hookpipe::deliverer
