// Unit tests for recorder/aggregator.h: what one flush writes for a set of attempts, read
// through a small interpreter of the ops that does what the apply script does.
#include "recorder/aggregator.h"

#include <gtest/gtest.h>

#include <map>
#include <set>

#include "common/attempts/histogram.h"
#include "recorder/metrics.h"

namespace hookpipe::recorder {
namespace {

using attempts::Granularity;
using attempts::Keys;
using attempts::Record;

// 2026-01-09T15:30:10Z
constexpr int64_t kT = 1767972610000;
constexpr int64_t kNow = kT + 60'000;

// The ops applied to an in-memory "Redis": hashes, sorted sets, expiries.
struct Store {
  std::map<std::string, std::map<std::string, std::string>> hashes;
  std::map<std::string, std::map<std::string, int64_t>> zsets;  // member -> score
  std::map<std::string, int64_t> expiry;
  int64_t num(const std::string& key, const std::string& field) const {
    auto h = hashes.find(key);
    if (h == hashes.end()) return 0;
    auto f = h->second.find(field);
    return f == h->second.end() ? 0 : std::stoll(f->second);
  }
  void apply(const Ops& list, const std::string& delivery_prefix) {
    const std::vector<std::string> ops(list.args().begin(), list.args().end());
    for (std::size_t i = 0; i < ops.size();) {
      const std::string& op = ops[i];
      if (op == "D") {
        const std::string key = delivery_prefix + ops[i + 1];
        hashes[key]["s"] = ops[i + 2];
        const int n = std::stoi(ops[i + 3]);
        for (int j = 0; j < n; ++j) hashes[key][ops[i + 4 + 2 * j]] = ops[i + 5 + 2 * j];
        auto& e = expiry[key];
        e = std::max<int64_t>(e, std::stoll(ops[i + 4 + 2 * n]));
        i += 5 + 2 * n;
      } else if (op == "Z") {
        const int n = std::stoi(ops[i + 2]);
        for (int j = 0; j < n; ++j) {
          auto& s = zsets[ops[i + 1]][ops[i + 4 + 2 * j]];
          s = std::max<int64_t>(s, std::stoll(ops[i + 3 + 2 * j]));
        }
        i += 3 + 2 * n;
      } else if (op == "S") {
        const std::string& key = ops[i + 1];
        auto& h = hashes[key];
        expiry[key] = std::stoll(ops[i + 2]);
        const int n = std::stoi(ops[i + 3]);
        std::size_t at = i + 4;
        for (int j = 0; j < n; ++j, at += 2)
          h[ops[at]] = std::to_string(num(key, ops[at]) + std::stoll(ops[at + 1]));
        if (!ops[at].empty()) {
          if (!h.contains("lmin") || std::stoll(h["lmin"]) > std::stoll(ops[at]))
            h["lmin"] = ops[at];
          if (!h.contains("lmax") || std::stoll(h["lmax"]) < std::stoll(ops[at + 1]))
            h["lmax"] = ops[at + 1];
        }
        const int m = std::stoi(ops[at + 2]);
        at += 3;
        for (int j = 0; j < m; ++j, at += 3) {
          const std::string t = ops[at];
          h["t:" + t] = std::to_string(num(key, "t:" + t) + std::stoll(ops[at + 1]));
          if (ops[at + 2] != "0")
            h["td:" + t] = std::to_string(num(key, "td:" + t) + std::stoll(ops[at + 2]));
        }
        i = at;
      } else if (op == "T") {
        auto& z = zsets[ops[i + 1]];
        std::erase_if(z, [&](const auto& m) { return m.second < std::stoll(ops[i + 2]); });
        i += 5;  // the cap and the expiry are the script's: tested on the real Redis
      } else {
        FAIL() << "unknown op " << op << " at " << i;
      }
    }
  }
};

Record attempt(std::string delivery, std::string sub, int n, std::string outcome, long status,
               int64_t duration_us, int64_t finished_ms = kT) {
  Record r;
  r.delivery_id = std::move(delivery);
  r.event_id = "evt_" + r.delivery_id;
  r.event_type = "order.created";
  r.subscription_id = std::move(sub);
  r.tenant = "acme";
  r.attempt = n;
  r.outcome = std::move(outcome);
  r.attempted = status != 0 || duration_us > 0;
  r.finished_ms = finished_ms;
  r.started_ms = finished_ms - duration_us / 1000;
  r.duration_us = duration_us;
  r.status = status;
  if (r.outcome != "delivered") r.error_class = status >= 500 ? "http_5xx" : "timeout";
  return r;
}

class AggregatorTest : public ::testing::Test {
 protected:
  void add(const Record& r) {
    std::string json;
    attempts::encode(r, json);
    agg_.add(r, json);
  }
  void flush() {
    store_.apply(agg_.ops(kNow), keys_.delivery(""));
    agg_.clear();
  }
  std::string stats(const std::string& scope, Granularity g, int64_t ms = kT) const {
    return keys_.stats(scope, g, attempts::bucketStart(g, ms));
  }
  Keys keys_{"t."};
  Aggregator agg_{keys_, Aggregator::Options{std::chrono::hours(24), 100}};
  Store store_;
};

TEST_F(AggregatorTest, CountsEachAttemptInItsMinuteHourAndDayOfEveryScope) {
  add(attempt("d1", "sub_a", 1, "retried", 503, 2000));
  add(attempt("d1", "sub_a", 2, "delivered", 200, 1000));
  add(attempt("d2", "sub_b", 1, "dead_lettered", 0, 0));
  flush();
  for (auto g : {Granularity::kMinute, Granularity::kHour, Granularity::kDay}) {
    const std::string all = stats("all", g);
    EXPECT_EQ(store_.num(all, "n"), 3);
    EXPECT_EQ(store_.num(all, "r"), 1);
    EXPECT_EQ(store_.num(all, "o:delivered"), 1);
    EXPECT_EQ(store_.num(all, "o:retried"), 1);
    EXPECT_EQ(store_.num(all, "o:dead_lettered"), 1);
    EXPECT_EQ(store_.num(all, "sc:5xx"), 1);
    EXPECT_EQ(store_.num(all, "sc:2xx"), 1);
    EXPECT_EQ(store_.num(all, "sc:none"), 1);
    EXPECT_EQ(store_.num(all, "e:http_5xx"), 1);
    EXPECT_EQ(store_.num(all, "e:timeout"), 1);
    EXPECT_EQ(store_.num(all, "ln"), 2);  // the dead letter made no request
    EXPECT_EQ(store_.num(all, "ls"), 3000);
    EXPECT_EQ(store_.num(all, "lmin"), 1000);
    EXPECT_EQ(store_.num(all, "lmax"), 2000);
    EXPECT_EQ(store_.num(all, "h:" + std::to_string(attempts::Histogram::bucketOf(1000))), 1);
    EXPECT_EQ(store_.num(all, "h:" + std::to_string(attempts::Histogram::bucketOf(2000))), 1);
    EXPECT_EQ(store_.num(all, "t:order.created"), 3);
    EXPECT_EQ(store_.num(all, "td:order.created"), 1);
    EXPECT_EQ(store_.num(stats("t:acme", g), "n"), 3);
    EXPECT_EQ(store_.num(stats("s:sub_a", g), "n"), 2);
    EXPECT_EQ(store_.num(stats("s:sub_b", g), "n"), 1);
    EXPECT_EQ(store_.num(stats("s:sub_b", g), "ln"), 0);
  }
  // Expiry: the bucket's end plus what keys.h keeps of that granularity.
  const int64_t minute = attempts::bucketStart(Granularity::kMinute, kT);
  EXPECT_EQ(store_.expiry[stats("all", Granularity::kMinute)],
            (minute + 60) * 1000 + std::chrono::milliseconds(attempts::kMinuteBucketsKept).count());
}

TEST_F(AggregatorTest, WritesEachDeliveryOnceWithAllItsAttemptsAndItsLatestTime) {
  add(attempt("d1", "sub_a", 1, "retried", 503, 2000, kT));
  add(attempt("d1", "sub_a", 2, "delivered", 200, 1000, kT + 5000));
  add(attempt("d2", "sub_a", 1, "delivered", 200, 1000, kT + 1000));
  const Ops ops = agg_.ops(kNow);
  EXPECT_EQ(std::count(ops.args().begin(), ops.args().end(), "D"), 2);
  flush();
  const auto& d1 = store_.hashes[keys_.delivery("d1")];
  EXPECT_EQ(d1.at("s"), "sub_a");
  EXPECT_TRUE(d1.contains("a1"));
  EXPECT_TRUE(d1.contains("a2"));
  EXPECT_EQ(attempts::parse(d1.at("a2"))->status, 200);
  EXPECT_EQ(store_.expiry[keys_.delivery("d1")], kT + 5000 + 24 * 3600 * 1000);
  EXPECT_EQ(store_.zsets[keys_.subscriptionLog("sub_a")],
            (std::map<std::string, int64_t>{{"d1", kT + 5000}, {"d2", kT + 1000}}));
  EXPECT_EQ(store_.zsets[keys_.subscriptions()]["sub_a"], kT + 5000);
}

TEST_F(AggregatorTest, SumsAcrossFlushesLikeOneFlush) {
  add(attempt("d1", "sub_a", 1, "retried", 503, 2000));
  flush();
  add(attempt("d1", "sub_a", 2, "delivered", 200, 500));
  flush();
  const std::string m = stats("s:sub_a", Granularity::kMinute);
  EXPECT_EQ(store_.num(m, "n"), 2);
  EXPECT_EQ(store_.num(m, "lmin"), 500);
  EXPECT_EQ(store_.num(m, "lmax"), 2000);
  const auto& d1 = store_.hashes[keys_.delivery("d1")];
  EXPECT_EQ(d1.size(), 4u);     // s, a1, a2, l
  EXPECT_EQ(d1.at("l"), "a2");  // the second flush's latest
}

TEST_F(AggregatorTest, LeavesOutWhatExpiredBeforeTheFlush) {
  const int64_t old = kNow - 25LL * 3600 * 1000;  // past the 24 h log retention
  add(attempt("d_old", "sub_a", 1, "delivered", 200, 100, old));
  const int64_t ancient = kNow - 500LL * 24 * 3600 * 1000;  // past every stats bucket
  add(attempt("d_ancient", "sub_a", 1, "delivered", 200, 100, ancient));
  flush();
  EXPECT_FALSE(store_.hashes.contains(keys_.delivery("d_old")));
  EXPECT_FALSE(store_.zsets[keys_.subscriptionLog("sub_a")].contains("d_old"));
  EXPECT_EQ(store_.num(stats("all", Granularity::kDay, old), "n"), 1);  // days are kept
  EXPECT_FALSE(store_.hashes.contains(stats("all", Granularity::kDay, ancient)));
}

TEST_F(AggregatorTest, CapsEventTypesPerBucketInMemory) {
  for (int i = 0; i < attempts::kMaxEventTypesPerBucket + 5; ++i) {
    const std::string n = std::to_string(i);
    Record r = attempt(std::string("d").append(n), "sub_a", 1, "delivered", 200, 100);
    r.event_type = std::string("type.").append(n);
    add(r);
  }
  flush();
  const auto& all = store_.hashes[stats("all", Granularity::kMinute)];
  int types = 0;
  for (const auto& [f, _] : all)
    if (f.starts_with("t:") && f != "t:" + std::string(attempts::kOtherEventTypes)) ++types;
  EXPECT_EQ(types, attempts::kMaxEventTypesPerBucket);
  EXPECT_EQ(store_.num(stats("all", Granularity::kMinute), "t:(other)"), 5);
}

// The most event types any one S op of `ops` carries.
std::size_t maxEventTypesOfAnOp(const Ops& list) {
  const std::vector<std::string> ops(list.args().begin(), list.args().end());
  std::size_t most = 0;
  for (std::size_t i = 0; i < ops.size();) {
    if (ops[i] == "D") {
      i += 5 + 2 * std::stoul(ops[i + 3]);
    } else if (ops[i] == "Z") {
      i += 3 + 2 * std::stoul(ops[i + 2]);
    } else if (ops[i] == "S") {
      const std::size_t l0 = i + 4 + 2 * std::stoul(ops[i + 3]);
      const std::size_t m = std::stoul(ops[l0 + 2]);
      most = std::max(most, m);
      i = l0 + 3 + 3 * m;
    } else {
      i += 5;  // T
    }
  }
  return most;
}

TEST_F(AggregatorTest, CapsEventTypesOfTheBucketsSummedFromManyMinutesAndSubscriptions) {
  // Each (subscription, minute) holds few types, but the hour, the day, the tenant and
  // "all" fold 600 of them: one S op must still carry at most the cap (+ "(other)"), or the
  // script's argument lists grow without bound.
  int64_t n = 0;
  for (int i = 0; i < 300; ++i) {
    const std::string k = std::to_string(i);
    Record r = attempt("s" + k, "sub_" + k, 1, "delivered", 200, 100);
    r.event_type = "sub.type." + k;
    add(r);
    Record m = attempt("m" + k, "sub_x", 1, "retried", 503, 100, kT - 3600'000 + i * 10'000);
    m.event_type = "minute.type." + k;
    add(m);
    n += 2;
  }
  const Ops ops = agg_.ops(kNow);
  EXPECT_LE(maxEventTypesOfAnOp(ops),
            static_cast<std::size_t>(attempts::kMaxEventTypesPerBucket) + 1);
  flush();
  const std::string day = stats("all", Granularity::kDay);
  int64_t typed = 0;
  int named = 0;
  for (const auto& [f, v] : store_.hashes[day])
    if (f.starts_with("t:")) {
      typed += std::stoll(v);
      if (f != "t:" + std::string(attempts::kOtherEventTypes)) ++named;
    }
  EXPECT_EQ(named, attempts::kMaxEventTypesPerBucket);
  EXPECT_EQ(typed, n);  // nothing lost: the rest is under "(other)"
  EXPECT_EQ(store_.num(day, "t:(other)"), n - attempts::kMaxEventTypesPerBucket);
  EXPECT_EQ(store_.num(day, "n"), n);
}

TEST_F(AggregatorTest, ExpiriesOfATimeNearTheEndOfInt64SaturateInsteadOfWrapping) {
  const int64_t huge = INT64_MAX - 5;
  add(attempt("d1", "sub_a", 1, "delivered", 200, 100, huge));
  flush();
  EXPECT_EQ(store_.expiry.at(keys_.delivery("d1")), INT64_MAX);
  const std::string day =
      keys_.stats("all", Granularity::kDay, attempts::bucketStart(Granularity::kDay, huge));
  ASSERT_TRUE(store_.expiry.contains(day));
  EXPECT_EQ(store_.expiry.at(day), INT64_MAX);
}

TEST(ImplausibleFinish, AcceptsTimesWithinADayOfTheMessageAndNotAheadOfNow) {
  EXPECT_EQ(implausibleFinish(kT, kT + 5, kNow), "");
  EXPECT_EQ(implausibleFinish(kT, -1, kNow), "");  // no message timestamp: only the clock
  EXPECT_EQ(implausibleFinish(kT - 30LL * 86400'000, kT - 30LL * 86400'000, kNow), "");  // old
  EXPECT_NE(implausibleFinish(kT * 1000, kT, kNow), "");         // µs by mistake
  EXPECT_NE(implausibleFinish(kT * 1000, kT * 1000, kNow), "");  // and its timestamp too
  EXPECT_NE(implausibleFinish(kT + kMaxClockSkewMs + 1, kT, kT + kMaxClockSkewMs * 2), "");
  EXPECT_NE(implausibleFinish(kT - kMaxClockSkewMs - 1, kT, kNow), "");
  EXPECT_NE(implausibleFinish(INT64_MAX, INT64_MAX, kNow), "");
  EXPECT_NE(implausibleFinish(-1, -1, kNow), "");
}

TEST_F(AggregatorTest, CountsTheBytesOfWhatItHolds) {
  EXPECT_EQ(agg_.bytes(), 0u);
  Record r = attempt("d1", "sub_a", 1, "delivered", 200, 100);
  std::string json;
  attempts::encode(r, json);
  agg_.add(r, json);
  agg_.add(r, json);
  EXPECT_EQ(agg_.bytes(), 2 * json.size());
  agg_.clear();
  EXPECT_EQ(agg_.bytes(), 0u);
}

TEST_F(AggregatorTest, AnAttemptSeenTwiceIsKeptOnceInTheDeliveryHash) {
  add(attempt("d1", "sub_a", 1, "retried", 503, 2000));
  add(attempt("d1", "sub_a", 1, "retried", 503, 2000));
  const Ops ops = agg_.ops(kNow);
  auto d = std::find(ops.args().begin(), ops.args().end(), "D");
  ASSERT_NE(d, ops.args().end());
  EXPECT_EQ(*(d + 3), "2");  // one attempt field, and the latest
  EXPECT_EQ(*(d + 4), "a1");
  EXPECT_EQ(*(d + 6), "l");
  EXPECT_EQ(*(d + 7), "a1");
}

TEST_F(AggregatorTest, WithoutATenantCountsNoTenantScope) {
  Record r = attempt("d1", "sub_a", 1, "delivered", 200, 100);
  r.tenant.clear();
  add(r);
  flush();
  for (const auto& [key, _] : store_.hashes) EXPECT_EQ(key.find(":t:"), std::string::npos) << key;
}

TEST(RecorderMetrics, AreDeclaredOnceWithPrometheusNames) {
  metrics::Registry registry;
  RecorderMetrics m(registry);
  m.records.inc(3);
  m.flushes_fenced.inc();
  m.unflushed.set(7);
  EXPECT_EQ(registry.value("hookpipe_recorder_records_total"), 3);
  EXPECT_EQ(registry.value("hookpipe_recorder_flushes_total", {{"result", "fenced"}}), 1);
  EXPECT_EQ(registry.value("hookpipe_recorder_flushes_total", {{"result", "applied"}}), 0);
  EXPECT_EQ(registry.value("hookpipe_recorder_unflushed_records"), 7);
  EXPECT_THROW(RecorderMetrics{registry}, std::invalid_argument);
}

}  // namespace
}  // namespace hookpipe::recorder
