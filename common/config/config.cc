#include "common/config/config.h"

#include <charconv>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "common/net/address.h"
#include "common/text/number.h"

namespace hookpipe {
namespace {

std::string env(const char* name, const std::string& fallback) {
  const char* v = std::getenv(name);
  return (v != nullptr && *v != '\0') ? std::string(v) : fallback;
}

bool parseInt(const std::string& s, long long& out) {
  const auto v = text::parseInteger<long long>(s);
  if (v) out = *v;
  return v.has_value();
}

// Reads an integer variable; a bad value is remembered and reported by validate().
template <typename T>
void envInt(const char* name, T& field, std::vector<std::string>& errors) {
  const char* v = std::getenv(name);
  if (v == nullptr || *v == '\0') return;
  long long n = 0;
  if (!parseInt(v, n)) {
    errors.push_back(std::string(name) + " must be an integer, got '" + v + "'");
    return;
  }
  field = static_cast<T>(n);
}

std::vector<std::string>& envErrors() {
  static std::vector<std::string> errors;
  return errors;
}

}  // namespace

std::string Topics::retryTier(std::chrono::milliseconds delay) const {
  return prefix + "retry." + formatDuration(delay);
}

bool parseDuration(const std::string& text, std::chrono::milliseconds& out) {
  long long n = 0;
  std::size_t i = 0;
  while (i < text.size() && text[i] >= '0' && text[i] <= '9') ++i;
  // At most 2e12 of any unit, so that even hours fit in milliseconds (no overflow).
  if (i == 0 || !parseInt(text.substr(0, i), n) || n > 2'000'000'000'000) return false;
  const std::string unit = text.substr(i);
  if (unit == "ms")
    out = std::chrono::milliseconds(n);
  else if (unit == "s")
    out = std::chrono::seconds(n);
  else if (unit == "m")
    out = std::chrono::minutes(n);
  else if (unit == "h")
    out = std::chrono::hours(n);
  else
    return false;
  return true;
}

std::string formatDuration(std::chrono::milliseconds d) {
  const long long ms = d.count();
  if (ms % 3'600'000 == 0) return std::to_string(ms / 3'600'000) + "h";
  if (ms % 60'000 == 0) return std::to_string(ms / 60'000) + "m";
  if (ms % 1'000 == 0) return std::to_string(ms / 1'000) + "s";
  return std::to_string(ms) + "ms";
}

Config Config::fromEnv() {
  Config c;
  auto& errors = envErrors();
  errors.clear();
  c.brokers = env("HOOKPIPE_BROKERS", c.brokers);
  c.topics.prefix = env("HOOKPIPE_TOPIC_PREFIX", c.topics.prefix);
  c.group_prefix = env("HOOKPIPE_GROUP_PREFIX", c.group_prefix);
  const std::string redis =
      env("HOOKPIPE_REDIS", c.redis_host + ":" + std::to_string(c.redis_port));
  if (auto colon = redis.rfind(':'); colon != std::string::npos) {
    c.redis_host = redis.substr(0, colon);
    long long port = 0;
    if (parseInt(redis.substr(colon + 1), port))
      c.redis_port = static_cast<int>(port);
    else
      errors.push_back("HOOKPIPE_REDIS must be host:port, got '" + redis + "'");
  } else {
    errors.push_back("HOOKPIPE_REDIS must be host:port, got '" + redis + "'");
  }
  envInt("HOOKPIPE_EVENTS_PARTITIONS", c.events_partitions, errors);
  envInt("HOOKPIPE_DELIVERIES_PARTITIONS", c.deliveries_partitions, errors);
  envInt("HOOKPIPE_RETRY_PARTITIONS", c.retry_partitions, errors);
  envInt("HOOKPIPE_ATTEMPTS_PARTITIONS", c.attempts_partitions, errors);
  envInt("HOOKPIPE_LOG_MAX_PER_SUBSCRIPTION", c.log_max_per_subscription, errors);
  envInt("HOOKPIPE_METRICS_PORT", c.metrics_port, errors);
  envInt("HOOKPIPE_HTTP_PORT", c.http_port, errors);
  envInt("HOOKPIPE_HTTP_THREADS", c.http_threads, errors);
  envInt("HOOKPIPE_MAX_EVENT_BYTES", c.max_event_bytes, errors);
  envInt("HOOKPIPE_MAX_IN_FLIGHT", c.max_in_flight, errors);
  envInt("HOOKPIPE_DELIVERER_THREADS", c.deliverer_threads, errors);
  envInt("HOOKPIPE_ROUTER_LINGER_MS", c.router_linger_ms, errors);
  envInt("HOOKPIPE_ATTEMPT_LOG_LINGER_MS", c.attempt_log_linger_ms, errors);
  envInt("HOOKPIPE_HOT_FETCH_WAIT_MS", c.hot_fetch_wait_ms, errors);
  envInt("HOOKPIPE_ENDPOINT_CONCURRENCY", c.endpoint_concurrency, errors);
  envInt("HOOKPIPE_BREAKER_FAILURES", c.breaker_failures, errors);
  envInt("HOOKPIPE_BREAKER_FAILURE_RATE", c.breaker_failure_rate_pct, errors);
  envInt("HOOKPIPE_MAX_WAITING", c.max_waiting, errors);
  for (auto [name, field] : {std::pair{"HOOKPIPE_BREAKER_COOLDOWN", &c.breaker_cooldown},
                             std::pair{"HOOKPIPE_BREAKER_WINDOW", &c.breaker_window},
                             std::pair{"HOOKPIPE_MAX_PAUSE", &c.max_pause},
                             std::pair{"HOOKPIPE_ATTEMPTS_RETENTION", &c.attempts_retention},
                             std::pair{"HOOKPIPE_LOG_RETENTION", &c.log_retention},
                             std::pair{"HOOKPIPE_STREAM_HEARTBEAT", &c.stream_heartbeat}}) {
    const char* v = std::getenv(name);
    if (v == nullptr || *v == '\0') continue;
    std::chrono::milliseconds d{};
    if (parseDuration(v, d) && d.count() > 0)
      *field = d;
    else
      errors.push_back(std::string(name) + ": bad duration '" + v + "' (use 30s, 5m, 72h)");
  }
  long long ms = 0;
  if (const char* v = std::getenv("HOOKPIPE_CONNECT_TIMEOUT_MS"); v && parseInt(v, ms))
    c.connect_timeout = std::chrono::milliseconds(ms);
  if (const char* v = std::getenv("HOOKPIPE_REQUEST_TIMEOUT_MS"); v && parseInt(v, ms))
    c.request_timeout = std::chrono::milliseconds(ms);
  c.http_address = env("HOOKPIPE_HTTP_ADDRESS", c.http_address);
  if (const char* tokens = std::getenv("HOOKPIPE_API_TOKENS"); tokens != nullptr) {
    std::stringstream ss(tokens);
    std::string token;
    while (std::getline(ss, token, ','))
      if (!token.empty()) c.api_tokens.push_back(token);
  }
  long long window_s = 0;
  if (const char* v = std::getenv("HOOKPIPE_IDEMPOTENCY_WINDOW_S"); v != nullptr && *v != '\0') {
    if (parseInt(v, window_s) && window_s > 0)
      c.idempotency_window = std::chrono::seconds(window_s);
    else
      errors.push_back(
          std::string("HOOKPIPE_IDEMPOTENCY_WINDOW_S must be a positive integer, got '") + v + "'");
  }
  envInt("HOOKPIPE_MAX_BATCH_BYTES", c.max_batch_bytes, errors);
  envInt("HOOKPIPE_MAX_BATCH_EVENTS", c.max_batch_events, errors);
  c.allow_private_targets = env("HOOKPIPE_ALLOW_PRIVATE_TARGETS", "false") == "true";
  c.allowed_targets = env("HOOKPIPE_ALLOWED_TARGETS", "");
  c.https_only = env("HOOKPIPE_HTTPS_ONLY", "false") == "true";
  if (const std::string log = env("HOOKPIPE_ATTEMPT_LOG", "true"); log == "true" || log == "false")
    c.attempt_log = log == "true";
  else
    errors.push_back("HOOKPIPE_ATTEMPT_LOG must be true or false, got '" + log + "'");
  if (const std::string ops = env("HOOKPIPE_OPERATIONAL_EVENTS", "true");
      ops == "true" || ops == "false")
    c.operational_events = ops == "true";
  else
    errors.push_back("HOOKPIPE_OPERATIONAL_EVENTS must be true or false, got '" + ops + "'");
  if (const char* v = std::getenv("HOOKPIPE_OPERATIONAL_EVENTS_WINDOW"); v && *v != '\0') {
    std::chrono::milliseconds d{};
    if (parseDuration(v, d) && d.count() > 0)
      c.operational_events_window = d;
    else
      errors.push_back(std::string("HOOKPIPE_OPERATIONAL_EVENTS_WINDOW: bad duration '") + v +
                       "' (use 1m, 10s)");
  }
  c.ca_file = env("HOOKPIPE_CA_FILE", "");
  if (const std::string eo = env("HOOKPIPE_EXACTLY_ONCE_ROUTING", "false");
      eo == "true" || eo == "false")
    c.exactly_once_routing = eo == "true";
  else
    errors.push_back("HOOKPIPE_EXACTLY_ONCE_ROUTING must be true or false, got '" + eo + "'");
  long long commit_ms = c.exactly_once_commit_interval.count();
  envInt("HOOKPIPE_EXACTLY_ONCE_COMMIT_MS", commit_ms, errors);
  c.exactly_once_commit_interval = std::chrono::milliseconds(commit_ms);
  if (const char* tiers = std::getenv("HOOKPIPE_RETRY_TIERS"); tiers != nullptr && *tiers != '\0') {
    c.retry_tiers.clear();
    std::stringstream ss(tiers);
    std::string item;
    while (std::getline(ss, item, ',')) {
      std::chrono::milliseconds d{};
      if (parseDuration(item, d))
        c.retry_tiers.push_back(d);
      else
        errors.push_back("HOOKPIPE_RETRY_TIERS: bad duration '" + item + "' (use 5s, 1m, 1h)");
    }
  }
  return c;
}

std::vector<std::string> Config::validate() const {
  std::vector<std::string> problems = envErrors();
  if (brokers.empty()) problems.push_back("HOOKPIPE_BROKERS is empty");
  if (topics.prefix.empty()) problems.push_back("HOOKPIPE_TOPIC_PREFIX is empty");
  if (events_partitions < 1 || deliveries_partitions < 1 || retry_partitions < 1 ||
      attempts_partitions < 1)
    problems.push_back("partition counts must be at least 1");
  if (http_port < 0 || http_port > 65535) problems.push_back("HOOKPIPE_HTTP_PORT out of range");
  if (metrics_port < 0 || metrics_port > 65535)
    problems.push_back("HOOKPIPE_METRICS_PORT out of range");
  if (log_max_per_subscription < 1)
    problems.push_back("HOOKPIPE_LOG_MAX_PER_SUBSCRIPTION must be at least 1");
  if (http_threads < 1) problems.push_back("HOOKPIPE_HTTP_THREADS must be at least 1");
  if (max_in_flight < 1) problems.push_back("HOOKPIPE_MAX_IN_FLIGHT must be at least 1");
  if (deliverer_threads < 1 || deliverer_threads > 64)
    problems.push_back("HOOKPIPE_DELIVERER_THREADS must be 1..64");
  if (endpoint_concurrency < 1)
    problems.push_back("HOOKPIPE_ENDPOINT_CONCURRENCY must be at least 1");
  if (!ca_file.empty() && !std::ifstream(ca_file).good())
    problems.push_back("HOOKPIPE_CA_FILE: cannot read '" + ca_file + "'");
  if (auto ranges = net::AddressRanges::parse(allowed_targets); !ranges)
    problems.push_back("HOOKPIPE_ALLOWED_TARGETS: " + ranges.error());
  if (router_linger_ms < 0 || router_linger_ms > 1000)
    problems.push_back("HOOKPIPE_ROUTER_LINGER_MS must be 0..1000");
  if (attempt_log_linger_ms < 0 || attempt_log_linger_ms > 1000)
    problems.push_back("HOOKPIPE_ATTEMPT_LOG_LINGER_MS must be 0..1000");
  if (hot_fetch_wait_ms < 0 || hot_fetch_wait_ms > 100)
    problems.push_back("HOOKPIPE_HOT_FETCH_WAIT_MS must be 0..100");
  if (breaker_failures < 1) problems.push_back("HOOKPIPE_BREAKER_FAILURES must be at least 1");
  if (breaker_window.count() < 100)
    problems.push_back("HOOKPIPE_BREAKER_WINDOW must be at least 100ms");
  if (operational_events_window.count() < 100)
    problems.push_back("HOOKPIPE_OPERATIONAL_EVENTS_WINDOW must be at least 100ms");
  if (breaker_failure_rate_pct < 1 || breaker_failure_rate_pct > 100)
    problems.push_back("HOOKPIPE_BREAKER_FAILURE_RATE must be a percentage, 1..100");
  if (max_waiting < 1) problems.push_back("HOOKPIPE_MAX_WAITING must be at least 1");
  if (retry_tiers.empty()) problems.push_back("HOOKPIPE_RETRY_TIERS needs at least one tier");
  for (std::size_t i = 1; i < retry_tiers.size(); ++i)
    if (retry_tiers[i] <= retry_tiers[i - 1])
      problems.push_back("HOOKPIPE_RETRY_TIERS must be ascending");
  if (exactly_once_commit_interval.count() < 1 || exactly_once_commit_interval.count() > 10'000)
    problems.push_back("HOOKPIPE_EXACTLY_ONCE_COMMIT_MS must be 1..10000");
  if (connect_timeout.count() <= 0 || request_timeout.count() <= 0)
    problems.push_back("timeouts must be positive");
  if (max_batch_bytes < 1 || max_batch_events < 1)
    problems.push_back("HOOKPIPE_MAX_BATCH_BYTES and HOOKPIPE_MAX_BATCH_EVENTS must be at least 1");
  return problems;
}

}  // namespace hookpipe
