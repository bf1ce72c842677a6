#include "recorder/aggregator.h"

#include <algorithm>

#include "common/attempts/histogram.h"

namespace hookpipe::recorder {
namespace {

// Members per ZADD: the script unpacks a call's arguments onto Lua's C stack (8000 slots).
constexpr std::size_t kZaddChunk = 500;
constexpr attempts::Granularity kGranularities[] = {
    attempts::Granularity::kMinute, attempts::Granularity::kHour, attempts::Granularity::kDay};

void bump(std::vector<std::pair<std::string, int64_t>>& counts, std::string_view name, int64_t by) {
  for (auto& [k, v] : counts)
    if (k == name) {
      v += by;
      return;
    }
  counts.emplace_back(std::string(name), by);
}

// a + b, saturated at the int64 bounds (times come from records: no overflow, whatever
// they hold).
int64_t addSat(int64_t a, int64_t b) {
  int64_t r = 0;
  if (!__builtin_add_overflow(a, b, &r)) return r;
  return b > 0 ? INT64_MAX : INT64_MIN;
}

int64_t mulSat(int64_t a, int64_t b) {
  int64_t r = 0;
  if (!__builtin_mul_overflow(a, b, &r)) return r;
  return (a > 0) == (b > 0) ? INT64_MAX : INT64_MIN;
}

int64_t expiryOf(attempts::Granularity g, int64_t start_s) {
  using std::chrono::milliseconds;
  milliseconds kept = milliseconds(attempts::kDayBucketsKept);
  if (g == attempts::Granularity::kMinute) kept = attempts::kMinuteBucketsKept;
  if (g == attempts::Granularity::kHour) kept = attempts::kHourBucketsKept;
  return addSat(mulSat(addSat(start_s, attempts::bucketSeconds(g)), 1000), kept.count());
}

void pushCounts(const std::string& prefix,
                const std::vector<std::pair<std::string, int64_t>>& counts,
                std::vector<std::pair<std::string, std::string>>& fields) {
  for (const auto& [k, v] : counts) fields.emplace_back(prefix + k, std::to_string(v));
}

}  // namespace

std::string implausibleFinish(int64_t finished_ms, int64_t message_ms, int64_t now_ms) {
  if (finished_ms < 0) return "finished_ms is negative";
  if (finished_ms > addSat(now_ms, kMaxClockSkewMs))
    return "finished_ms " + std::to_string(finished_ms) + " is more than a day ahead of now";
  if (message_ms >= 0 && (finished_ms > addSat(message_ms, kMaxClockSkewMs) ||
                          finished_ms < addSat(message_ms, -kMaxClockSkewMs)))
    return "finished_ms " + std::to_string(finished_ms) +
           " is more than a day off the message timestamp " + std::to_string(message_ms);
  return {};
}

void Aggregator::Counts::merge(const Counts& o) {
  n += o.n;
  retries += o.retries;
  latency_n += o.latency_n;
  latency_sum += o.latency_sum;
  if (o.latency_min && (!latency_min || *o.latency_min < *latency_min)) latency_min = o.latency_min;
  if (o.latency_max && (!latency_max || *o.latency_max > *latency_max)) latency_max = o.latency_max;
  for (const auto& [k, v] : o.outcomes) bump(outcomes, k, v);
  for (const auto& [k, v] : o.status_classes) bump(status_classes, k, v);
  for (const auto& [k, v] : o.error_classes) bump(error_classes, k, v);
  for (const auto& [b, c] : o.histogram) histogram[b] += c;
  // The same cap as count()'s: an hour, a day, a tenant or "all" folds many minutes and
  // subscriptions, and never holds more than kMaxEventTypesPerBucket types (+ "(other)").
  for (const auto& [t, c] : o.event_types) {
    auto it = event_types.find(t);
    if (it == event_types.end()) {
      std::size_t named = event_types.size();
      if (event_types.contains(attempts::kOtherEventTypes)) --named;
      const std::string_view type =
          named < static_cast<std::size_t>(attempts::kMaxEventTypesPerBucket)
              ? std::string_view(t)
              : attempts::kOtherEventTypes;
      it = event_types.try_emplace(std::string(type)).first;
    }
    it->second.attempts += c.attempts;
    it->second.delivered += c.delivered;
  }
}

void Aggregator::count(Counts& c, const attempts::Record& r) {
  ++c.n;
  if (r.attempt > 1) ++c.retries;
  bump(c.outcomes, r.outcome, 1);
  bump(c.status_classes, attempts::statusClass(r.status), 1);
  if (auto e = attempts::statsErrorClass(r); !e.empty()) bump(c.error_classes, e, 1);
  if (r.attempted) {
    const int64_t us = std::max<int64_t>(r.duration_us, 0);
    ++c.latency_n;
    c.latency_sum += us;
    if (!c.latency_min || us < *c.latency_min) c.latency_min = us;
    if (!c.latency_max || us > *c.latency_max) c.latency_max = us;
    ++c.histogram[attempts::Histogram::bucketOf(us)];
  }
  // The cap of the index (kMaxEventTypesPerBucket a bucket) bounds the memory here too.
  auto it = c.event_types.find(r.event_type);
  if (it == c.event_types.end()) {
    const std::string_view type =
        c.event_types.size() < static_cast<std::size_t>(attempts::kMaxEventTypesPerBucket)
            ? std::string_view(r.event_type)
            : attempts::kOtherEventTypes;
    it = c.event_types.try_emplace(std::string(type)).first;
  }
  ++it->second.attempts;
  if (r.outcome == "delivered") ++it->second.delivered;
}

void Aggregator::add(const attempts::Record& r, std::string_view json) {
  ++records_;
  bytes_ += json.size();
  auto [d, fresh] = deliveries_.try_emplace(r.delivery_id);
  if (fresh) d->second.subscription = r.subscription_id;
  bool replaced = false;
  const std::pair<int, int> which{r.replay, r.attempt};
  for (auto& [n, j] : d->second.attempts)
    if (n == which) {  // the same attempt twice (a producer retry): the last one wins
      j.assign(json);
      replaced = true;
    }
  if (!replaced) d->second.attempts.emplace_back(which, std::string(json));
  d->second.latest_ms = std::max(d->second.latest_ms, r.finished_ms);

  auto s = subscriptions_.find(r.subscription_id);
  if (s == subscriptions_.end())
    subscriptions_.emplace(r.subscription_id, r.finished_ms);
  else
    s->second = std::max(s->second, r.finished_ms);

  auto [m, _] = minutes_.try_emplace(MinuteKey{
      r.subscription_id, attempts::bucketStart(attempts::Granularity::kMinute, r.finished_ms)});
  m->second.tenant = r.tenant;
  count(m->second.counts, r);
}

void Aggregator::clear() {
  records_ = 0;
  bytes_ = 0;
  deliveries_.clear();
  subscriptions_.clear();
  minutes_.clear();
}

Ops Aggregator::ops(int64_t now_ms) const {
  Ops ops;
  const int64_t retention = options_.log_retention.count();
  const int64_t cutoff = addSat(now_ms, -retention);

  // The delivery log: one D per delivery, then the subscriptions' sorted sets.
  std::map<std::string_view, std::vector<std::pair<int64_t, std::string_view>>> members;
  for (const auto& [id, d] : deliveries_) {
    if (d.latest_ms <= cutoff) continue;  // expired already
    ops.view("D");
    ops.view(id);
    ops.view(d.subscription);
    ops.push_back(std::to_string(d.attempts.size() + 1));
    for (const auto& [n, json] : d.attempts) {
      ops.push_back(attempts::Keys::attemptField(n.second, n.first));
      ops.view(json);
    }
    // The latest: the highest (replay, attempt) — a delivery redone after a deliverer crash
    // can bring an attempt again after a later one.
    const auto latest =
        std::max_element(d.attempts.begin(), d.attempts.end(),
                         [](const auto& x, const auto& y) { return x.first < y.first; });
    ops.view(attempts::Keys::kLatestField);
    ops.push_back(attempts::Keys::attemptField(latest->first.second, latest->first.first));
    ops.push_back(std::to_string(addSat(d.latest_ms, retention)));
    members[d.subscription].emplace_back(d.latest_ms, id);
  }
  auto zadd = [&ops](const std::string& key,
                     const std::vector<std::pair<int64_t, std::string_view>>& list) {
    for (std::size_t i = 0; i < list.size(); i += kZaddChunk) {
      const std::size_t n = std::min(kZaddChunk, list.size() - i);
      ops.view("Z");
      ops.push_back(key);
      ops.push_back(std::to_string(n));
      for (std::size_t j = i; j < i + n; ++j) {
        ops.push_back(std::to_string(list[j].first));
        ops.view(list[j].second);
      }
    }
  };
  std::vector<std::pair<int64_t, std::string_view>> subs;
  for (const auto& [sub, list] : members) {
    zadd(keys_.subscriptionLog(sub), list);
    subs.emplace_back(subscriptions_.find(sub)->second, sub);
  }
  zadd(keys_.subscriptions(), subs);

  // The statistics: every minute summed into its minute, hour and day, in its
  // subscription's, its tenant's and the "all" scope.
  std::map<std::string, std::pair<int64_t, Counts>> buckets;  // key -> (expiry, counts)
  for (const auto& [key, minute] : minutes_) {
    std::string scopes[3] = {
        attempts::Keys::subscriptionScope(key.subscription), attempts::Keys::allScope(), {}};
    const int nscopes = minute.tenant.empty() ? 2 : 3;
    if (nscopes == 3) scopes[2] = attempts::Keys::tenantScope(minute.tenant);
    for (auto g : kGranularities) {
      const int64_t start = attempts::bucketStart(g, key.minute_s * 1000);
      const int64_t expiry = expiryOf(g, start);
      if (expiry <= now_ms) continue;
      for (int i = 0; i < nscopes; ++i) {
        auto& b = buckets[keys_.stats(scopes[i], g, start)];
        b.first = expiry;
        b.second.merge(minute.counts);
      }
    }
  }
  std::vector<std::pair<std::string, std::string>> fields;
  for (const auto& [key, b] : buckets) {
    const Counts& c = b.second;
    fields.clear();
    fields.emplace_back("n", std::to_string(c.n));
    if (c.retries > 0) fields.emplace_back("r", std::to_string(c.retries));
    pushCounts("o:", c.outcomes, fields);
    pushCounts("sc:", c.status_classes, fields);
    pushCounts("e:", c.error_classes, fields);
    if (c.latency_n > 0) {
      fields.emplace_back("ln", std::to_string(c.latency_n));
      fields.emplace_back("ls", std::to_string(c.latency_sum));
    }
    for (const auto& [h, count] : c.histogram)
      fields.emplace_back("h:" + std::to_string(h), std::to_string(count));
    ops.view("S");
    ops.push_back(key);
    ops.push_back(std::to_string(b.first));
    ops.push_back(std::to_string(fields.size()));
    for (auto& [f, v] : fields) {
      ops.push_back(std::move(f));
      ops.push_back(std::move(v));
    }
    ops.push_back(c.latency_min ? std::to_string(*c.latency_min) : std::string());
    ops.push_back(c.latency_max ? std::to_string(*c.latency_max) : std::string());
    ops.push_back(std::to_string(c.event_types.size()));
    for (const auto& [type, tc] : c.event_types) {
      ops.push_back(type);
      ops.push_back(std::to_string(tc.attempts));
      ops.push_back(std::to_string(tc.delivered));
    }
  }

  // Trims: each subscription written to, to the retention and the cap; the list of
  // subscriptions to the retention.
  const std::string cutoff_text = std::to_string(cutoff);
  const std::string retention_text = std::to_string(retention);
  for (const auto& [sub, _] : members) {
    ops.view("T");
    ops.push_back(keys_.subscriptionLog(sub));
    ops.push_back(cutoff_text);
    ops.push_back(std::to_string(options_.log_max_per_subscription));
    ops.push_back(retention_text);
  }
  if (!members.empty()) {
    ops.view("T");
    ops.push_back(keys_.subscriptions());
    ops.push_back(cutoff_text);
    ops.view("-1");
    ops.push_back(retention_text);
  }
  return ops;
}

}  // namespace hookpipe::recorder
