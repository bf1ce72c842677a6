#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/redis/redis.h"
#include "common/subscriptions/subscription.h"
#include "deliverer/metrics.h"

namespace hookpipe::deliverer {

// One window of a rate limit as a token bucket: refills at `per_ms` tokens a
// millisecond and holds at most `capacity` (one second's worth, at least 1 token).
struct BucketSpec {
  char window;  // 's', 'm' or 'h'
  double per_ms;
  double capacity;
  int64_t period_ms;
};
std::vector<BucketSpec> bucketsFor(const RateLimit& limit);
// The limit a subscription's deliveries are held to: its `rate_limit`, lowered in each
// window to its platform's preset (slack, telegram 1 a second; discord 30 a minute:
// webhook::effectiveRateLimit). What Admission applies; the stored subscription is as given.
RateLimit effectiveLimit(const Subscription& sub);

struct BucketState {
  double tokens = -1;  // < 0: new, starts full
  int64_t at_ms = 0;
};

struct Grant {
  int64_t granted = 0;
  int64_t wait_ms = 0;  // when granted < demand: until the next token, else 0
};

// Takes up to `demand` tokens from every bucket at once (the smallest allowance wins).
// The same arithmetic as the Redis script below; used directly while Redis is down.
Grant takeTokens(const std::vector<BucketSpec>& specs, std::vector<BucketState*> states,
                 int64_t demand, int64_t now_ms);

// Per-subscription rate limits shared by every deliverer process through Redis.
// A worker asks for as many tokens as it has deliveries waiting, for every limited
// subscription at once: one pipelined round trip of one Lua call each (the buckets live
// in Redis and use Redis' clock), however many deliveries that covers.
// Keys: <prefix>rl:{<subscription id>}:<s|m|h>, a hash of tokens and time, expiring
// after two periods of disuse.
//
// When Redis cannot be reached the same buckets are kept in this process instead: the
// limits still hold per process, so N deliverers may reach N times the rate until Redis
// is back (counted in hookpipe_deliverer_redis_errors_total{use="rate_limit"}, logged).
// One per worker, on its thread.
class RateLimiter {
 public:
  RateLimiter(redis::Client& client, std::string prefix, DelivererMetrics& metrics)
      : client_(client), prefix_(std::move(prefix)), metrics_(metrics) {}

  struct Ask {
    std::string subscription_id;
    RateLimit limit;
    int64_t demand = 0;
  };
  std::vector<Grant> acquire(const std::vector<Ask>& asks, int64_t now_ms);

 private:
  std::vector<Grant> acquireLocally(const std::vector<Ask>& asks, int64_t now_ms);
  std::string key(const std::string& id, char window) const;

  redis::Client& client_;
  std::string prefix_;
  DelivererMetrics& metrics_;
  std::string script_sha_;
  std::unordered_map<std::string, BucketState> local_;
};

}  // namespace hookpipe::deliverer
