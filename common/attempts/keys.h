#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

// The delivery-log index in Redis: what the recorder writes (recorder/) and the API and the
// CLI read (common/attempts/query.h). Every key starts with the topic prefix
// (config.topics.prefix, "hookpipe." by default) and "idx:". Redis is a cache of the
// `attempts` topic here: losing it loses the index, never the log (`hookpipe recorder
// --rebuild`).
//
// Per partition p of `attempts`:
//   <prefix>idx:off:<p>            string: the next offset of p not yet applied. A recorder
//                                  applies a partition's flush and moves this in one Lua
//                                  call, only if it still holds the offset the recorder
//                                  last saw there (else another recorder took p over:
//                                  nothing is applied and the recorder reads it again).
// Per delivery:
//   <prefix>idx:d:<delivery id>    hash: "s" = subscription id, "a<N>" = the JSON record of
//                                  attempt N (as on the topic), "r<R>a<N>" = attempt N of
//                                  its R-th replay from the dead letters (attempts restart
//                                  at 1 in a replay), "l" = the field of its latest attempt.
//                                  Expires log_retention after its latest attempt.
// Per subscription:
//   <prefix>idx:s:<subscription>   sorted set: delivery id -> finished_ms of its latest
//                                  attempt. Trimmed to log_retention and to
//                                  log_max_per_subscription (the deliveries trimmed off by
//                                  the cap are deleted with it).
//   <prefix>idx:subs               sorted set: subscription id -> finished_ms of its latest
//                                  attempt (the subscriptions that have a log).
// Statistics, one hash per scope, granularity and bucket:
//   <prefix>idx:st:<scope>:<g>:<start>
//     scope  "s:<subscription>", "t:<tenant>", or "all"
//     g      "m" (minute), "h" (hour), "d" (day, UTC); <start> is the bucket's start in
//            epoch seconds. Every attempt is counted in its minute, hour and day at once
//            (so a query reads the coarsest buckets that cover its range).
//     fields "n" attempts; "o:<outcome>" per outcome (delivered, retried, dead_lettered);
//            "sc:<class>" per status class (2xx, 3xx, 4xx, 5xx, none); "e:<error class>"
//            per statsErrorClass() of the failed ones; "r" retries (attempt > 1);
//            "t:<event type>" attempts and "td:<event type>" delivered ones per event type
//            (at most kMaxEventTypesPerBucket types a bucket, the rest under "(other)");
//            latency of the attempts that made a request: "ln" count, "ls" sum, "lmin",
//            "lmax" (µs), and "h:<bucket>" counts of attempts::Histogram.
//     expires kMinuteBucketsKept / kHourBucketsKept / kDayBucketsKept after the bucket ends.
namespace hookpipe::attempts {

inline constexpr std::chrono::hours kMinuteBucketsKept{48};
inline constexpr std::chrono::hours kHourBucketsKept{24 * 35};
inline constexpr std::chrono::hours kDayBucketsKept{24 * 400};
inline constexpr int kMaxEventTypesPerBucket = 200;
inline constexpr std::string_view kOtherEventTypes = "(other)";

enum class Granularity : char { kMinute = 'm', kHour = 'h', kDay = 'd' };

inline int64_t bucketSeconds(Granularity g) {
  switch (g) {
    case Granularity::kMinute:
      return 60;
    case Granularity::kHour:
      return 3600;
    case Granularity::kDay:
      return 86400;
  }
  return 60;
}
// The start (epoch seconds) of the bucket holding `ms`.
inline int64_t bucketStart(Granularity g, int64_t ms) {
  const int64_t s = ms / 1000;
  return s - s % bucketSeconds(g);
}

class Keys {
 public:
  explicit Keys(std::string topic_prefix) : base_(std::move(topic_prefix) + "idx:") {}
  std::string offset(int32_t partition) const { return base_ + "off:" + std::to_string(partition); }
  std::string delivery(std::string_view delivery_id) const {
    return base_ + "d:" + std::string(delivery_id);
  }
  std::string subscriptionLog(std::string_view subscription_id) const {
    return base_ + "s:" + std::string(subscription_id);
  }
  std::string subscriptions() const { return base_ + "subs"; }
  static std::string subscriptionScope(std::string_view id) { return "s:" + std::string(id); }
  static std::string tenantScope(std::string_view tenant) { return "t:" + std::string(tenant); }
  static std::string allScope() { return "all"; }
  std::string stats(std::string_view scope, Granularity g, int64_t start_s) const {
    std::string k = base_ + "st:";
    k += scope;
    k += ':';
    k += static_cast<char>(g);
    k += ':';
    k += std::to_string(start_s);
    return k;
  }
  // Every key of the index matches this (SCAN MATCH), for a rebuild's wipe.
  std::string pattern() const { return base_ + "*"; }
  // The field of attempt n (of replay `replay`, 0 for the first run) in a delivery's hash.
  static std::string attemptField(int n, int replay = 0) {
    std::string f;
    if (replay > 0) {
      f += 'r';
      f += std::to_string(replay);
    }
    f += 'a';
    f += std::to_string(n);
    return f;
  }
  static bool isAttemptField(std::string_view field) {
    return field.starts_with('a') || field.starts_with('r');
  }
  // The field naming the delivery's latest attempt field.
  static constexpr std::string_view kLatestField = "l";

 private:
  std::string base_;
};

}  // namespace hookpipe::attempts
