#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.h"
#include "common/filter/filter.h"

namespace hookpipe {

struct RetryConfig {
  enum class Strategy { kExponential, kLinear, kFixed, kNone };
  Strategy strategy = Strategy::kExponential;
  // Unset (-1) fields use the default schedule of DESIGN.md.
  int max_retries = -1;
  int64_t retry_delay_ms = -1;
  double backoff_multiplier = 2.0;
  int64_t max_delay_ms = 10LL * 3600 * 1000;
  bool jitter = true;
};

// Per-subscription delivery rate limits, shared by every deliverer through Redis.
// 0 means no limit for that window. Each limit is enforced as a smooth rate (a token
// bucket holding at most one second's worth of tokens, at least one).
struct RateLimit {
  int64_t per_second = 0;
  int64_t per_minute = 0;
  int64_t per_hour = 0;
  bool any() const { return per_second > 0 || per_minute > 0 || per_hour > 0; }
};

// A subscription as stored on the compacted subscriptions topic (the record is the
// JSON form below, secrets included; the topic is internal).
struct Subscription {
  std::string id;
  std::string name;
  std::string description;
  std::string url;
  std::vector<std::string> events;  // exact types, "prefix.*" or "*"
  std::string secret;               // whsec_...
  // During a rotation's grace period the previous secret signs too (both signatures
  // are sent); 0 when no rotation is in progress.
  std::string previous_secret;
  int64_t previous_secret_expires_ms = 0;
  std::string tenant;        // empty: sees every tenant's events
  std::string filters_json;  // the payload filter as given ("" for none)
  // filters_json compiled once when the subscription is parsed; null for none.
  std::shared_ptr<const filter::Filter> filter;
  bool is_active = true;
  // Why hookpipe itself deactivated it (the endpoint answered 410 Gone); empty otherwise,
  // and cleared when it is made active again. Not settable through the API.
  std::string disabled_reason;
  std::string signature_style = "standard";  // or "github"
  std::map<std::string, std::string> headers;
  RetryConfig retry_config;
  int64_t timeout_ms = 0;          // 0: the deliverer's default (HOOKPIPE_REQUEST_TIMEOUT_MS)
  int64_t connect_timeout_ms = 0;  // 0: the deliverer's default (HOOKPIPE_CONNECT_TIMEOUT_MS)
  RateLimit rate_limit;
  // Most requests in flight at once to this endpoint from one deliverer process
  // (0: the deliverer's default, HOOKPIPE_ENDPOINT_CONCURRENCY).
  int max_concurrency = 0;
  // Deliveries go one at a time, in order, retrying in place.
  bool ordered = false;
  // Decoded key bytes of `secret` and `previous_secret`, filled by parseSubscription.
  std::string secret_key;
  std::string previous_secret_key;
  std::string created_at;
  std::string updated_at;

  bool matchesType(std::string_view type) const;
  // The keys that sign a delivery at `now_ms`: the secret, plus the previous one while
  // its grace period lasts.
  std::vector<std::string> signingSecrets(int64_t now_ms) const;
  // The same as decoded key bytes (decoded once at parse time when possible).
  std::vector<std::string> signingKeys(int64_t now_ms) const;
};

// True when `type` matches `pattern`: exact, "*" (all) or "order.*" (prefix "order.").
bool matchesEventType(std::string_view pattern, std::string_view type);

// Parses and validates a subscription; on failure the message lists every problem.
Result<Subscription> parseSubscription(std::string_view json);
// What the API refuses on top of parseSubscription (stored records written before a rule
// existed still load): custom headers that would replace the ones hookpipe sets
// (Content-Type, Content-Length, Host, User-Agent, the signature headers, …). Empty when fine.
std::vector<std::string> apiProblems(const Subscription& s);
// The stored form; `with_secret` false for API listings.
std::string toJson(const Subscription& s, bool with_secret = true);

}  // namespace hookpipe
