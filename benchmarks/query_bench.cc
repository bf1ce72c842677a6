// Delivery-log and stats queries (common/attempts/query.h) against a real Redis holding an
// index the size of 1,000 subscriptions × 30 days: p50/p99 of a page of 50 log entries, of
// stats for 30 days by day and by hour, and of a day by minute.
//
//   hookpipe-query-bench [--redis host:port] [--full] [--repeat N]
//
// Written under a prefix of its own (deleted at the end unless --keep; --reuse PREFIX
// queries a kept one again without writing): day buckets for every
// subscription; hour buckets (30 days) for 100 of them and minute buckets (the last 48 h,
// what keys.h keeps) for 20 — --full writes hours and minutes for all 1,000 (about 3 GB of
// Redis); a query touches only its own scope's keys, so the figures do not depend on how
// many other subscriptions are stored. Every subscription has 50 deliveries in its log, one
// has a full log of 10,000 (log_max_per_subscription).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "common/attempts/histogram.h"
#include "common/attempts/keys.h"
#include "common/attempts/query.h"
#include "common/attempts/record.h"
#include "common/redis/redis.h"

namespace {

using namespace hookpipe;
using attempts::Granularity;
using Clock = std::chrono::steady_clock;

constexpr int kSubscriptions = 1000;
constexpr int kDays = 30;
constexpr int kLogPerSubscription = 50;
constexpr int kFullLog = 10'000;
const char* const kTypes[] = {"order.created", "order.paid", "order.shipped", "invoice.sent",
                              "customer.updated"};

class Writer {
 public:
  explicit Writer(redis::Client& c) : c_(c) {}
  void add(std::vector<std::string> cmd) {
    batch_.push_back(std::move(cmd));
    if (batch_.size() >= 2000) flush();
  }
  void flush() {
    if (batch_.empty()) return;
    auto r = c_.pipeline(batch_);
    if (!r) {
      std::fprintf(stderr, "redis: %s\n", r.error().message.c_str());
      std::exit(1);
    }
    batch_.clear();
  }

 private:
  redis::Client& c_;
  std::vector<std::vector<std::string>> batch_;
};

// A stats hash with realistic fields: outcomes, status classes, error classes, retries,
// five event types, latency sums and ~20 histogram buckets.
std::vector<std::string> statsHash(const std::string& key, std::mt19937& rng, uint64_t n) {
  std::vector<std::string> cmd = {"HSET", key};
  auto put = [&](std::string f, uint64_t v) {
    cmd.push_back(std::move(f));
    cmd.push_back(std::to_string(v));
  };
  const uint64_t failed = n / 20, dead = n / 200;
  put("n", n);
  put("o:delivered", n - failed);
  put("o:retried", failed - dead);
  put("o:dead_lettered", dead);
  put("sc:2xx", n - failed);
  put("sc:5xx", failed / 2);
  put("sc:4xx", failed / 4);
  put("sc:none", failed - failed / 2 - failed / 4);
  put("e:http_5xx", failed / 2);
  put("e:http_4xx", failed / 4);
  put("e:timeout", failed - failed / 2 - failed / 4);
  put("r", failed);
  for (int t = 0; t < 5; ++t) {
    put(std::string("t:") + kTypes[t], n / 5);
    put(std::string("td:") + kTypes[t], (n - failed) / 5);
  }
  put("ln", n);
  put("ls", n * 45'000);
  put("lmin", 3'000 + rng() % 1000);
  put("lmax", 900'000 + rng() % 100'000);
  std::lognormal_distribution<double> latency(std::log(40'000.0), 0.6);
  std::map<int, uint64_t> h;
  for (int i = 0; i < 64; ++i)
    h[attempts::Histogram::bucketOf(static_cast<int64_t>(latency(rng)))] += n / 64 + 1;
  int kept = 0;
  for (const auto& [b, c] : h) {
    if (++kept > 20) break;
    put("h:" + std::to_string(b), c);
  }
  return cmd;
}

struct Figures {
  double p50, p99, max;
};

template <typename F>
Figures measure(int repeat, F&& f) {
  std::vector<double> ms;
  for (int i = 0; i < repeat; ++i) {
    const auto t0 = Clock::now();
    f(i);
    ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
  }
  std::sort(ms.begin(), ms.end());
  auto at = [&](double q) {
    return ms[std::min(ms.size() - 1,
                       static_cast<std::size_t>(q * static_cast<double>(ms.size())))];
  };
  return {at(0.5), at(0.99), ms.back()};
}

void report(const char* what, const Figures& f, double target_ms) {
  std::printf("%-52s p50 %7.2f ms  p99 %7.2f ms  max %7.2f ms  (target p99 < %.0f ms: %s)\n", what,
              f.p50, f.p99, f.max, target_ms, f.p99 < target_ms ? "met" : "MISSED");
}

void wipe(redis::Client& c, const std::string& pattern) {
  std::string cursor = "0";
  do {
    auto r = c.pipeline({{"SCAN", cursor, "MATCH", pattern, "COUNT", "5000"}});
    if (!r || (*r)[0]->type != REDIS_REPLY_ARRAY) return;
    cursor = std::string((*r)[0]->element[0]->str, (*r)[0]->element[0]->len);
    const redisReply* keys = (*r)[0]->element[1];
    if (keys->elements == 0) continue;
    std::vector<std::string> del = {"UNLINK"};
    for (std::size_t i = 0; i < keys->elements; ++i)
      del.emplace_back(keys->element[i]->str, keys->element[i]->len);
    (void)c.pipeline({del});
  } while (cursor != "0");
}

}  // namespace

int main(int argc, char** argv) {
  std::string host = "127.0.0.1";
  int port = 6379;
  bool full = false;
  bool keep = false;
  std::string reuse;
  int repeat = 200;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--redis") && i + 1 < argc) {
      std::string hp = argv[++i];
      host = hp.substr(0, hp.find(':'));
      port = std::stoi(hp.substr(hp.find(':') + 1));
    } else if (!std::strcmp(argv[i], "--full")) {
      full = true;
    } else if (!std::strcmp(argv[i], "--keep")) {
      keep = true;
    } else if (!std::strcmp(argv[i], "--reuse") && i + 1 < argc) {
      reuse = argv[++i];
    } else if (!std::strcmp(argv[i], "--repeat") && i + 1 < argc) {
      repeat = std::stoi(argv[++i]);
    } else {
      std::fprintf(
          stderr, "usage: %s [--redis host:port] [--full] [--repeat N] [--keep] [--reuse PREFIX]\n",
          argv[0]);
      return 2;
    }
  }
  redis::Client client(host, port, std::chrono::seconds(10));
  const std::string prefix =
      reuse.empty() ? "qbench" + std::to_string(std::random_device{}() % 100000) + "." : reuse;
  attempts::Keys keys(prefix);
  std::mt19937 rng(42);
  const int64_t now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                             std::chrono::system_clock::now().time_since_epoch())
                             .count();
  const int64_t now_s = now_ms / 1000;

  const auto t0 = Clock::now();
  Writer w(client);
  const int hour_subs = full ? kSubscriptions : 100;
  const int minute_subs = full ? kSubscriptions : 20;
  std::size_t hashes = 0;
  for (int s = 0; s < kSubscriptions && reuse.empty(); ++s) {
    const std::string scope = attempts::Keys::subscriptionScope("sub_" + std::to_string(s));
    for (int d = 0; d <= kDays; ++d) {
      w.add(statsHash(keys.stats(scope, Granularity::kDay,
                                 attempts::bucketStart(Granularity::kDay, now_ms) - d * 86400),
                      rng, 20'000));
      ++hashes;
    }
    if (s < hour_subs)
      for (int h = 0; h <= kDays * 24; ++h) {
        w.add(statsHash(keys.stats(scope, Granularity::kHour,
                                   attempts::bucketStart(Granularity::kHour, now_ms) - h * 3600),
                        rng, 900));
        ++hashes;
      }
    if (s < minute_subs)
      for (int m = 0; m <= 48 * 60; ++m) {
        w.add(statsHash(keys.stats(scope, Granularity::kMinute,
                                   attempts::bucketStart(Granularity::kMinute, now_ms) - m * 60),
                        rng, 15));
        ++hashes;
      }
  }
  // The log: 50 deliveries per subscription, 10,000 for sub_0; one in ten retried once.
  std::size_t deliveries = 0;
  for (int s = 0; s < kSubscriptions && reuse.empty(); ++s) {
    const std::string sub = "sub_" + std::to_string(s);
    const int n = s == 0 ? kFullLog : kLogPerSubscription;
    for (int i = 0; i < n; ++i) {
      const std::string id = "dlv_" + std::to_string(s) + "_" + std::to_string(i);
      const int64_t finished = now_ms - static_cast<int64_t>(i) * 60'000 - s;
      std::vector<std::string> cmd = {"HSET", keys.delivery(id), "s", sub};
      const int attempts_made = i % 10 == 0 ? 2 : 1;
      for (int a = 1; a <= attempts_made; ++a) {
        attempts::Record r;
        r.delivery_id = id;
        r.event_id = "evt_" + id;
        r.event_type = kTypes[i % 5];
        r.subscription_id = sub;
        r.attempt = a;
        r.outcome = a < attempts_made ? "retried" : (i % 97 == 0 ? "dead_lettered" : "delivered");
        r.attempted = true;
        r.started_ms = finished - 40 - (attempts_made - a) * 5000;
        r.finished_ms = finished - (attempts_made - a) * 5000;
        r.duration_us = 40'000;
        r.status = r.outcome == "delivered" ? 200 : 503;
        if (r.status != 200) {
          r.error_class = "http_5xx";
          r.error_message = "HTTP 503";
        }
        r.response_body = R"({"ok":true,"id":"rcv_12345678"})";
        r.payload_topic = "hookpipe.deliveries";
        r.payload_partition = s % 6;
        r.payload_offset = i;
        std::string json;
        attempts::encode(r, json);
        cmd.push_back(attempts::Keys::attemptField(a));
        cmd.push_back(std::move(json));
      }
      cmd.push_back(std::string(attempts::Keys::kLatestField));  // as the recorder writes it
      cmd.push_back(attempts::Keys::attemptField(attempts_made));
      w.add(std::move(cmd));
      w.add({"ZADD", keys.subscriptionLog(sub), std::to_string(finished), id});
      ++deliveries;
    }
    w.add({"ZADD", keys.subscriptions(), std::to_string(now_ms), sub});
  }
  w.flush();
  std::printf("wrote %zu stats hashes and %zu deliveries under %s in %.1f s\n", hashes, deliveries,
              prefix.c_str(), std::chrono::duration<double>(Clock::now() - t0).count());
  (void)now_s;

  attempts::Query query(client, prefix);
  auto check = [](const auto& r) {
    if (!r) {
      std::fprintf(stderr, "query failed: %s\n", r.error().message.c_str());
      std::exit(1);
    }
  };
  std::uniform_int_distribution<int> any_sub(0, kSubscriptions - 1);
  std::uniform_int_distribution<int> hour_sub(0, hour_subs - 1);
  std::uniform_int_distribution<int> minute_sub(0, minute_subs - 1);

  report("log page of 50 (50-entry log, with summary)",
         measure(repeat,
                 [&](int) {
                   auto r = query.listDeliveries("sub_" + std::to_string(1 + any_sub(rng) % 999),
                                                 {}, std::nullopt, 50);
                   check(r);
                 }),
         20);
  report(
      "log page of 50 (10,000-entry log, cursor page)",
      measure(repeat,
              [&](int i) {
                attempts::Cursor c{now_ms - (i % 100) * 60'000, "dlv_0_" + std::to_string(i % 100)};
                auto r = query.listDeliveries("sub_0", {}, c, 50);
                check(r);
              }),
      20);
  report("log page of 50, status=failed (10,000-entry log)",
         measure(repeat,
                 [&](int) {
                   attempts::LogFilter f;
                   f.status = attempts::StatusFilter::kFailed;
                   auto r = query.listDeliveries("sub_0", f, attempts::Cursor{now_ms, "~"}, 50);
                   check(r);
                 }),
         20);
  report("log first page of 50 + summary of 10,000 deliveries",
         measure(std::min(repeat, 50),
                 [&](int) {
                   auto r = query.listDeliveries("sub_0", {}, std::nullopt, 50);
                   check(r);
                 }),
         20);
  auto statsOf = [&](int sub, attempts::GroupBy g, int64_t range_ms) {
    attempts::StatsQuery q;
    q.scope = attempts::Keys::subscriptionScope("sub_" + std::to_string(sub));
    q.until_ms = now_ms;
    q.since_ms = now_ms - range_ms;
    q.group_by = g;
    auto r = query.stats(q);
    check(r);
    return r->buckets_read;
  };
  std::size_t read = 0;
  report("stats 30 days by day",
         measure(repeat,
                 [&](int) {
                   read = statsOf(any_sub(rng), attempts::GroupBy::kDay, kDays * 86'400'000LL);
                 }),
         50);
  std::printf("  (%zu buckets a query)\n", read);
  report("stats 30 days by hour",
         measure(repeat,
                 [&](int) {
                   read = statsOf(hour_sub(rng), attempts::GroupBy::kHour, kDays * 86'400'000LL);
                 }),
         100);
  std::printf("  (%zu buckets a query)\n", read);
  // What the Redis round trip alone costs for the hour query (HGETALL ×721, no parsing).
  report(
      "  of which: the 721 pipelined HGETALLs alone",
      measure(
          repeat,
          [&](int) {
            const std::string scope =
                attempts::Keys::subscriptionScope("sub_" + std::to_string(hour_sub(rng)));
            std::vector<std::vector<std::string>> cmds;
            const int64_t last = attempts::bucketStart(Granularity::kHour, now_ms);
            for (int h = 0; h <= kDays * 24; ++h)
              cmds.push_back({"HGETALL", keys.stats(scope, Granularity::kHour, last - h * 3600)});
            auto r = client.pipeline(cmds);
            check(r);
          }),
      100);
  report("stats 24 h by minute",
         measure(repeat,
                 [&](int) {
                   read = statsOf(minute_sub(rng), attempts::GroupBy::kMinute, 86'400'000LL);
                 }),
         100);
  std::printf("  (%zu buckets a query)\n", read);
  if (keep)
    std::printf("kept under %s (--reuse %s to query it again)\n", prefix.c_str(), prefix.c_str());
  else
    wipe(client, keys.pattern());
  return 0;
}
