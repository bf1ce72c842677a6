#include "deliverer/governor.h"

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

void Governor::transition(const std::string& id, Entry& e, BreakerState to) {
  if (e.v.state == to) return;
  log()->warn("circuit breaker subscription={} {} -> {} consecutive_failures={}", id,
              breakerStateName(e.v.state), breakerStateName(to), e.v.consecutive_failures);
  if (to == BreakerState::kOpen) ++breaker_opened;
  if (to == BreakerState::kClosed) ++breaker_closed;
  e.v.state = to;
}

void Governor::refresh(const std::string& id, Entry& e, int cap, int64_t now_ms) {
  if (e.v.limit <= 0 || e.v.limit > cap) e.v.limit = cap;
  if (e.v.state == BreakerState::kOpen && now_ms >= e.v.open_until_ms)
    transition(id, e, BreakerState::kHalfOpen);
}

int Governor::available(const std::string& id, int cap, int64_t now_ms) {
  std::lock_guard lock(mu_);
  Entry& e = entries_[id];
  refresh(id, e, cap, now_ms);
  switch (e.v.state) {
    case BreakerState::kOpen:
      return 0;
    case BreakerState::kHalfOpen:
      return e.probe_in_flight ? 0 : 1;
    case BreakerState::kClosed:
      break;
  }
  const int limit = std::max(1, static_cast<int>(std::floor(e.v.limit)));
  return std::max(0, limit - e.v.in_flight);
}

Governor::Admit Governor::acquire(const std::string& id, int cap, int64_t now_ms) {
  std::lock_guard lock(mu_);
  Entry& e = entries_[id];
  refresh(id, e, cap, now_ms);
  switch (e.v.state) {
    case BreakerState::kOpen:
      return Admit::kOpen;
    case BreakerState::kHalfOpen:
      if (e.probe_in_flight) return Admit::kBusy;
      e.probe_in_flight = true;
      if (e.v.in_flight++ == 0) e.progress_ms = now_ms;
      return Admit::kGo;
    case BreakerState::kClosed:
      break;
  }
  const int limit = std::max(1, static_cast<int>(std::floor(e.v.limit)));
  if (e.v.in_flight >= limit) return Admit::kBusy;
  if (e.v.in_flight++ == 0) e.progress_ms = now_ms;
  return Admit::kGo;
}

void Governor::release(const std::string& id, Feedback feedback, int64_t now_ms) {
  std::lock_guard lock(mu_);
  Entry& e = entries_[id];
  e.v.in_flight = std::max(0, e.v.in_flight - 1);
  e.progress_ms = now_ms;
  if (feedback.duration_ms >= 0) {
    const auto d = static_cast<double>(feedback.duration_ms);
    e.latency_ms = e.latency_ms <= 0 ? d : (1 - kLatencyWeight) * e.latency_ms + kLatencyWeight * d;
  }
  const bool was_probe = e.v.state == BreakerState::kHalfOpen && e.probe_in_flight;
  if (was_probe) e.probe_in_flight = false;

  if (feedback.throttled && now_ms - e.last_decrease_ms >= kDecreaseSpacingMs) {
    e.v.limit = std::max(1.0, e.v.limit / 2);
    e.last_decrease_ms = now_ms;
    ++throttle_backoffs;
  } else if (feedback.success && e.v.limit > 0) {
    e.v.limit += 1.0 / e.v.limit;  // capped at the cap by refresh()
  }

  if (feedback.success) {
    e.v.consecutive_failures = 0;
    if (e.v.state != BreakerState::kClosed) {
      e.cooldown_ms = 0;
      transition(id, e, BreakerState::kClosed);
    }
    return;
  }
  if (!feedback.failure) return;
  ++e.v.consecutive_failures;
  const int64_t base = settings_.cooldown.count();
  if (was_probe || e.v.state == BreakerState::kHalfOpen) {
    e.cooldown_ms = std::min(base * kMaxCooldownFactor, std::max(base, e.cooldown_ms * 2));
    e.v.open_until_ms = now_ms + e.cooldown_ms;
    transition(id, e, BreakerState::kOpen);
  } else if (e.v.state == BreakerState::kClosed && e.v.consecutive_failures >= settings_.failures) {
    e.cooldown_ms = base;
    e.v.open_until_ms = now_ms + base;
    transition(id, e, BreakerState::kOpen);
  }
}

Governor::View Governor::view(const std::string& id) const {
  std::lock_guard lock(mu_);
  auto it = entries_.find(id);
  return it == entries_.end() ? View{} : it->second.v;
}

int Governor::openBreakers() const {
  std::lock_guard lock(mu_);
  return static_cast<int>(std::count_if(entries_.begin(), entries_.end(), [](const auto& e) {
    return e.second.v.state != BreakerState::kClosed;
  }));
}

double Governor::msPerDelivery(const std::string& id, int cap, int64_t now_ms) const {
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
