#include "deliverer/rate_limiter.h"

#include <algorithm>
#include <cmath>

#include "common/log/log.h"
#include "common/webhook/platform_rules.h"

namespace hookpipe::deliverer {
namespace {

std::shared_ptr<spdlog::logger> log() {
  static auto l = logger("rate-limit");
  return l;
}

// KEYS: one bucket per window. ARGV[1]: demand; then per bucket: tokens per ms,
// capacity, expiry in ms. Returns {granted, wait_ms}. Mirrors takeTokens().
constexpr const char* kScript = R"lua(
local now_t = redis.call('TIME')
local now = tonumber(now_t[1]) * 1000 + math.floor(tonumber(now_t[2]) / 1000)
local demand = tonumber(ARGV[1])
local avail = {}
local grant = demand
for i = 1, #KEYS do
  local per_ms = tonumber(ARGV[i * 3 - 1])
  local cap = tonumber(ARGV[i * 3])
  local st = redis.call('HMGET', KEYS[i], 't', 'at')
  local tokens = tonumber(st[1])
  local at = tonumber(st[2])
  if tokens == nil or at == nil then tokens = cap; at = now end
  tokens = math.min(cap, tokens + math.max(0, now - at) * per_ms)
  avail[i] = tokens
  grant = math.min(grant, math.floor(tokens + 1e-9))
end
if grant < 0 then grant = 0 end
local wait = 0
for i = 1, #KEYS do
  local per_ms = tonumber(ARGV[i * 3 - 1])
  local left = math.max(0, avail[i] - grant)
  redis.call('HSET', KEYS[i], 't', tostring(left), 'at', tostring(now))
  redis.call('PEXPIRE', KEYS[i], ARGV[i * 3 + 1])
  if grant < demand and left < 1 - 1e-9 then
    wait = math.max(wait, math.ceil((1 - left) / per_ms))
  end
end
return {grant, wait}
)lua";

}  // namespace

RateLimit effectiveLimit(const Subscription& sub) {
  return webhook::effectiveRateLimit(webhook::platformOf(sub.format), sub.rate_limit);
}

std::vector<BucketSpec> bucketsFor(const RateLimit& limit) {
  std::vector<BucketSpec> out;
  auto add = [&out](char window, int64_t count, int64_t period_ms) {
    if (count <= 0) return;
    const double per_ms = static_cast<double>(count) / static_cast<double>(period_ms);
    out.push_back({window, per_ms, std::max(1.0, std::floor(per_ms * 1000.0)), period_ms});
  };
  add('s', limit.per_second, 1000);
  add('m', limit.per_minute, 60'000);
  add('h', limit.per_hour, 3'600'000);
  return out;
}

Grant takeTokens(const std::vector<BucketSpec>& specs, std::vector<BucketState*> states,
                 int64_t demand, int64_t now_ms) {
  std::vector<double> avail(specs.size());
  int64_t grant = demand;
  for (std::size_t i = 0; i < specs.size(); ++i) {
    BucketState& st = *states[i];
    if (st.tokens < 0) st = {specs[i].capacity, now_ms};
    avail[i] = std::min(
        specs[i].capacity,
        st.tokens + static_cast<double>(std::max<int64_t>(0, now_ms - st.at_ms)) * specs[i].per_ms);
    // The epsilon keeps a token that is whole but for rounding from waiting a round.
    grant = std::min(grant, static_cast<int64_t>(std::floor(avail[i] + 1e-9)));
  }
  grant = std::max<int64_t>(0, grant);
  Grant g{grant, 0};
  for (std::size_t i = 0; i < specs.size(); ++i) {
    const double left = std::max(0.0, avail[i] - static_cast<double>(grant));
    *states[i] = {left, now_ms};
    if (grant < demand && left < 1 - 1e-9)
      g.wait_ms =
          std::max(g.wait_ms, static_cast<int64_t>(std::ceil((1 - left) / specs[i].per_ms)));
  }
  return g;
}

std::string RateLimiter::key(const std::string& id, char window) const {
  return prefix_ + "rl:{" + id + "}:" + window;
}

std::vector<Grant> RateLimiter::acquire(const std::vector<Ask>& asks, int64_t now_ms) {
  if (asks.empty()) return {};
  if (script_sha_.empty()) {
    auto loaded = client_.pipeline({{"SCRIPT", "LOAD", kScript}});
    if (!loaded || (*loaded)[0]->type != REDIS_REPLY_STRING) {
      metrics_.redis_errors_rate_limit.inc();
      return acquireLocally(asks, now_ms);
    }
    script_sha_.assign((*loaded)[0]->str, (*loaded)[0]->len);
  }
  std::vector<std::vector<std::string>> commands;
  commands.reserve(asks.size());
  for (const auto& ask : asks) {
    const auto specs = bucketsFor(ask.limit);
    std::vector<std::string> argv{"EVALSHA", script_sha_, std::to_string(specs.size())};
    for (const auto& s : specs) argv.push_back(key(ask.subscription_id, s.window));
    argv.push_back(std::to_string(ask.demand));
    for (const auto& s : specs) {
      char per_ms[32];
      std::snprintf(per_ms, sizeof per_ms, "%.9g", s.per_ms);
      argv.push_back(per_ms);
      argv.push_back(std::to_string(static_cast<int64_t>(s.capacity)));
      argv.push_back(std::to_string(2 * s.period_ms));
    }
    commands.push_back(std::move(argv));
  }
  metrics_.redis_round_trips_rate_limit.inc();
  auto replies = client_.pipeline(commands);
  if (!replies) {
    metrics_.redis_errors_rate_limit.inc();
    log()->warn("redis unreachable, limiting in this process only error={}",
                replies.error().message);
    return acquireLocally(asks, now_ms);
  }
  std::vector<Grant> grants(asks.size());
  for (std::size_t i = 0; i < asks.size(); ++i) {
    const redisReply* r = (*replies)[i].get();
    if (r->type == REDIS_REPLY_ERROR && std::string_view(r->str, r->len).starts_with("NOSCRIPT")) {
      script_sha_.clear();  // Redis restarted: load it again next time, local for now
      return acquireLocally(asks, now_ms);
    }
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 2) {
      metrics_.redis_errors_rate_limit.inc();
      log()->warn("unexpected rate-limit reply for subscription={}", asks[i].subscription_id);
      grants[i] = acquireLocally({asks[i]}, now_ms)[0];
      continue;
    }
    grants[i] = {r->element[0]->integer, r->element[1]->integer};
  }
  return grants;
}

std::vector<Grant> RateLimiter::acquireLocally(const std::vector<Ask>& asks, int64_t now_ms) {
  std::vector<Grant> grants;
  grants.reserve(asks.size());
  for (const auto& ask : asks) {
    const auto specs = bucketsFor(ask.limit);
    std::vector<BucketState*> states;
    for (const auto& s : specs) states.push_back(&local_[key(ask.subscription_id, s.window)]);
    grants.push_back(takeTokens(specs, std::move(states), ask.demand, now_ms));
  }
  return grants;
}

}  // namespace hookpipe::deliverer
