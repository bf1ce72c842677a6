#include "deliverer/admission.h"

#include <algorithm>
#include <utility>
#include <vector>

namespace hookpipe::deliverer {
namespace {

// A rate-limited lane asks Redis for tokens at most this often (so one round trip
// covers every delivery that became due meanwhile), and drops tokens it held this long.
constexpr int64_t kMinAskSpacingMs = 10;
constexpr int64_t kTokenLifetimeMs = 1000;
// A delivery that found its endpoint busy and no room to wait comes back after this.
constexpr int64_t kBusyParkMs = 1000;
constexpr int64_t kBudgetStallMs = kBusyParkMs;
constexpr int64_t kMaxParkMs = 10 * 60'000;

}  // namespace

Admission::Admission(Settings settings, SubscriptionTable& table, EndpointGuard& guard,
                     RateLimiter& limiter, DelivererMetrics& metrics, AdmissionSink& sink,
                     const Clock& clock)
    : settings_(settings),
      table_(table),
      guard_(guard),
      limiter_(limiter),
      metrics_(metrics),
      sink_(sink),
      clock_(clock) {}

Admission::~Admission() { metrics_.waiting.sub(static_cast<int64_t>(waiting_total_)); }

void Admission::addWaiting(std::size_t n) {
  waiting_total_ += n;
  metrics_.waiting.add(static_cast<int64_t>(n));
}

void Admission::subWaiting(std::size_t n) {
  waiting_total_ -= n;
  metrics_.waiting.sub(static_cast<int64_t>(n));
}

std::size_t Admission::room(std::size_t in_flight, std::size_t slow_in_flight) {
  // Requests out for over a second (a hanging endpoint, at most its cap) cost curl
  // nothing while they wait, so they do not hold the window from the others — up to
  // three more windows' worth.
  const std::size_t window =
      settings_.max_in_flight + std::min(slow_in_flight, 3 * settings_.max_in_flight);
  std::size_t room = window - std::min(window, in_flight);
  // A spent waiting budget stops intake for a moment, as backpressure: the lanes of
  // endpoints that keep up drain in well under a second. Past that, intake goes on and
  // what cannot go at once is parked (admit()): lanes stuck behind slow endpoints must
  // not hold up this worker's other partitions, nor keep it from polling for longer than
  // max.poll.interval.ms (the group would evict it).
  if (waiting_total_ >= settings_.max_waiting) {
    const int64_t now = clock_.steadyMs();
    if (!budget_spent_since_ms_) budget_spent_since_ms_ = now;
    if (now - *budget_spent_since_ms_ < kBudgetStallMs) room = 0;
  } else {
    budget_spent_since_ms_.reset();
  }
  return room;
}

int Admission::capOf(const Subscription& sub) const {
  if (sub.ordered) return 1;
  return sub.max_concurrency > 0 ? sub.max_concurrency : settings_.endpoint_concurrency;
}

std::size_t Admission::laneBound() const {
  // A quarter of the budget: one slow or limited endpoint cannot fill it for the others.
  // (Ordered lanes never park: at their bound they pause their partition.)
  return std::max<std::size_t>(1, settings_.max_waiting / 4);
}

void Admission::admit(Pending p, const std::shared_ptr<const Subscription>& sub) {
  Lane& lane = lanes_[sub->id];
  const int64_t now = clock_.nowMs();
  // Straight out when nothing waits ahead of it and the endpoint may take it now.
  if (lane.waiting.empty() && !effectiveLimit(*sub).any()) {
    switch (guard_.acquire(sub->id, capOf(*sub), now)) {
      case EndpointGuard::Admit::kGo:
        sink_.start(std::move(p), sub);
        return;
      case EndpointGuard::Admit::kOpen:
        if (!sub->ordered) {
          sink_.parkForBreaker(std::move(p), *sub, guard_.view(sub->id).open_until_ms);
          return;
        }
        break;
      case EndpointGuard::Admit::kBusy:
        break;
    }
  }
  if (sub->ordered ||
      (lane.waiting.size() < laneBound() && waiting_total_ < settings_.max_waiting)) {
    const int32_t partition = p.msg.partition;
    lane.waiting.push_back(std::move(p));
    addWaiting(1);
    busy_lanes_.insert(sub->id);
    if (sub->ordered && lane.waiting.size() >= laneBound() && lane.holding < 0)
      holdPartition(lane, partition);
    return;
  }
  const int64_t due = overflowDue(lane, *sub, now);
  sink_.parkOverflow(std::move(p), *sub, due,
                     effectiveLimit(*sub).any() ? "rate_limit" : "lane_full");
}

void Admission::holdPartition(Lane& lane, int32_t partition) {
  lane.holding = partition;
  sink_.holdPartition(partition);
}

void Admission::releaseIfDrained(Lane& lane) {
  if (lane.holding < 0 || lane.waiting.size() > laneBound() / 2) return;
  sink_.releasePartition(std::exchange(lane.holding, -1));
}

int64_t Admission::overflowDue(Lane& lane, const Subscription& sub, int64_t now) {
  // The endpoint's pace: its rate limit, or how fast it has been getting through requests
  // (a hanging one's pace is measured by how long its requests have been out).
  double per = guard_.msPerDelivery(sub.id, capOf(sub), now);
  for (const auto& s : bucketsFor(effectiveLimit(sub))) per = std::max(per, 1.0 / s.per_ms);
  // Due when the lane ahead of it should have drained, and after the ones parked before it
  // by one delivery's time each: a burst comes back at the pace it can go out, instead of
  // all at once to be parked again (a hanging endpoint's backlog cycled through the tiers
  // every second). Never sooner than kBusyParkMs, never later than kMaxParkMs.
  const double lane_ahead = static_cast<double>(lane.waiting.size()) * per;
  const double due =
      std::clamp(std::max(static_cast<double>(now) + lane_ahead, lane.park_cursor_ms),
                 static_cast<double>(now + kBusyParkMs), static_cast<double>(now + kMaxParkMs));
  lane.park_cursor_ms = due + per;
  return static_cast<int64_t>(due);
}

void Admission::pump() {
  const int64_t now = clock_.nowMs();
  struct Ready {
    Lane* lane;
    std::shared_ptr<const Subscription> sub;
    int slots;
  };
  std::vector<Ready> ready;
  std::vector<RateLimiter::Ask> asks;
  std::vector<std::size_t> ask_of;  // index into `ready` for each ask
  for (auto it = busy_lanes_.begin(); it != busy_lanes_.end();) {
    const std::string& id = *it;
    Lane& lane = lanes_[id];
    auto sub = table_.find(id);
    auto take_all = [&] {
      std::deque<Pending> all = std::move(lane.waiting);
      lane.waiting.clear();
      subWaiting(all.size());
      releaseIfDrained(lane);
      return all;
    };
    releaseIfDrained(lane);
    if (lane.waiting.empty()) {
      it = busy_lanes_.erase(it);
      continue;
    }
    if (!sub) {
      for (auto& p : take_all()) sink_.dropUnknown(std::move(p));
      it = busy_lanes_.erase(it);
      continue;
    }
    if (!sub->is_active) {
      for (auto& p : take_all()) sink_.parkPaused(std::move(p), *sub);
      it = busy_lanes_.erase(it);
      continue;
    }
    const int slots = guard_.available(id, capOf(*sub), now);
    const auto breaker = guard_.view(id);
    if (breaker.state == BreakerState::kOpen && !sub->ordered) {
      for (auto& p : take_all()) sink_.parkForBreaker(std::move(p), *sub, breaker.open_until_ms);
      it = busy_lanes_.erase(it);
      continue;
    }
    ++it;
    if (slots <= 0 || lane.waiting.front().not_before_ms > now) continue;
    ready.push_back({&lane, sub, slots});
    if (const RateLimit limit = effectiveLimit(*sub); limit.any()) {
      if (lane.tokens > 0 && now - lane.tokens_at_ms > kTokenLifetimeMs) lane.tokens = 0;
      const int64_t want =
          std::min<int64_t>(slots, static_cast<int64_t>(lane.waiting.size())) - lane.tokens;
      if (want > 0 && now >= lane.next_ask_ms) {
        asks.push_back({id, limit, want});
        ask_of.push_back(ready.size() - 1);
      }
    }
  }
  if (!asks.empty()) {
    const auto grants = limiter_.acquire(asks, now);
    for (std::size_t i = 0; i < grants.size(); ++i) {
      Lane& lane = *ready[ask_of[i]].lane;
      if (grants[i].granted > 0) {
        lane.tokens += grants[i].granted;
        lane.tokens_at_ms = now;
      }
      if (grants[i].granted < asks[i].demand) metrics_.rate_limit_waits.inc();
      lane.next_ask_ms = now + std::max(kMinAskSpacingMs,
                                        grants[i].granted < asks[i].demand ? grants[i].wait_ms : 0);
    }
  }
  for (auto& r : ready) {
    Lane& lane = *r.lane;
    const bool limited = effectiveLimit(*r.sub).any();
    for (int n = 0; n < r.slots && !lane.waiting.empty(); ++n) {
      if (limited && lane.tokens <= 0) break;
      if (lane.waiting.front().not_before_ms > now) break;
      if (guard_.acquire(r.sub->id, capOf(*r.sub), now) != EndpointGuard::Admit::kGo) break;
      if (limited) --lane.tokens;
      Pending p = std::move(lane.waiting.front());
      lane.waiting.pop_front();
      subWaiting(1);
      sink_.start(std::move(p), r.sub);
    }
  }
}

void Admission::retryInPlace(Pending p, const std::string& subscription_id) {
  Lane& lane = lanes_[subscription_id];
  lane.waiting.push_front(std::move(p));
  addWaiting(1);
  busy_lanes_.insert(subscription_id);
}

void Admission::revoke(const std::function<bool(const Pending&)>& revoked,
                       std::span<const int32_t> partitions) {
  for (auto& [id, lane] : lanes_) {
    const auto before = lane.waiting.size();
    std::erase_if(lane.waiting, revoked);
    subWaiting(before - lane.waiting.size());
    for (int32_t partition : partitions)
      if (lane.holding == partition) lane.holding = -1;
  }
}

}  // namespace hookpipe::deliverer
