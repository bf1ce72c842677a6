#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace hookpipe {

// The names of every topic, derived from one prefix.
struct Topics {
  std::string prefix = "hookpipe.";
  std::string events() const { return prefix + "events"; }
  std::string invalid() const { return prefix + "events.invalid"; }
  std::string subscriptions() const { return prefix + "subscriptions"; }
  std::string eventTypes() const { return prefix + "event-types"; }  // the catalog, compacted
  std::string deliveries() const { return prefix + "deliveries"; }
  std::string dlq() const { return prefix + "dlq"; }
  std::string attempts() const { return prefix + "attempts"; }  // the attempt log
  std::string retryTier(std::chrono::milliseconds delay) const;
};

// Process configuration, read from HOOKPIPE_* environment variables. A plain struct:
// fromEnv() fills it, validate() lists every problem at once.
struct Config {
  std::string brokers = "127.0.0.1:9092";
  Topics topics;
  std::string redis_host = "127.0.0.1";
  int redis_port = 6379;
  int events_partitions = 6;
  int deliveries_partitions = 6;
  int retry_partitions = 3;
  // Fixed delays of the retry tier topics, ascending.
  std::vector<std::chrono::milliseconds> retry_tiers = {
      std::chrono::seconds(5), std::chrono::minutes(1), std::chrono::minutes(10),
      std::chrono::hours(1), std::chrono::hours(6)};
  std::string http_address = "0.0.0.0";
  int http_port = 8080;
  int http_threads = 2;
  std::size_t max_event_bytes = 256 * 1024;
  // Per deliverer worker. curl 7.88's cost per request grows with the transfers (and
  // connections) of one multi handle (benchmarks/README.md, "Deliverer"): more throughput
  // comes from more worker threads, not more in flight.
  std::size_t max_in_flight = 64;
  std::chrono::milliseconds connect_timeout{10'000};
  std::chrono::milliseconds request_timeout{30'000};
  bool allow_private_targets = false;  // loopback/private receivers (tests, demos)
  std::string allowed_targets;         // private CIDRs receivers may be at nonetheless
  bool https_only = false;             // refuse http:// receivers
  std::string ca_file;                 // CA bundle for receivers' TLS ("": the system's)
  // Router: produce deliveries and commit the events' offsets in Kafka transactions,
  // committed every `exactly_once_commit_interval` (router/README.md).
  bool exactly_once_routing = false;
  std::chrono::milliseconds exactly_once_commit_interval{100};
  std::chrono::hours delivered_ttl{24 * 7};
  // Deliverer: worker threads (each with its own consumer, curl multi handle and Redis
  // connection), the default per-endpoint concurrency cap, the circuit breaker, how
  // many deliveries one worker may hold waiting for a rate-limit token or a free slot,
  // and how long a paused subscription's deliveries wait before the dead-letter topic.
  int deliverer_threads = 2;
  // How long the router's producer lets a batch of deliveries fill (benchmarks/README.md).
  int router_linger_ms = 10;
  int endpoint_concurrency = 32;
  // Circuit breaker (deliverer/README.md): opens when, over a rolling window, at least
  // `breaker_failures` attempts failed and they were at least `breaker_failure_rate_pct`
  // percent of the attempts, for a whole window; stays open for the cooldown.
  int breaker_failures = 5;
  int breaker_failure_rate_pct = 90;
  std::chrono::milliseconds breaker_window{10'000};
  std::chrono::milliseconds breaker_cooldown{30'000};
  std::size_t max_waiting = 10'000;
  std::chrono::milliseconds max_pause{72LL * 3600 * 1000};
  std::string group_prefix;  // consumer group ids are <prefix><role>; defaults to topic prefix
  // Producer API: bearer tokens (HOOKPIPE_API_TOKENS, comma-separated; empty: auth off),
  // how long an Idempotency-Key or event id is remembered, and the batch limits.
  std::vector<std::string> api_tokens;
  std::chrono::seconds idempotency_window{24 * 3600};
  std::size_t max_batch_bytes = 4 * 1024 * 1024;
  std::size_t max_batch_events = 1000;
  // The attempt log (docs/attempts.md): the `attempts` topic's partitions and retention
  // (HOOKPIPE_ATTEMPTS_PARTITIONS, HOOKPIPE_ATTEMPTS_RETENTION), whether the deliverer writes
  // it (HOOKPIPE_ATTEMPT_LOG=false turns it off), and the recorder's Redis index: how long a
  // delivery's attempts stay queryable and how many deliveries a subscription keeps
  // (HOOKPIPE_LOG_RETENTION, HOOKPIPE_LOG_MAX_PER_SUBSCRIPTION).
  int attempts_partitions = 6;
  std::chrono::milliseconds attempts_retention{7LL * 24 * 3600 * 1000};
  bool attempt_log = true;
  // How long the attempt log's producer fills a batch (HOOKPIPE_ATTEMPT_LOG_LINGER_MS).
  // librdkafka sends one request per partition batch, so a longer linger makes fewer
  // produce requests at paced rates; 100 ms made 15-20 % fewer, but no less broker CPU and a
  // longer tail at fan-out 1, so the default stays 20 (benchmarks/README.md, "Paced load").
  int attempt_log_linger_ms = 20;
  // The router's and the deliverers' consumers (the hot path) fetch by time: the broker
  // holds a fetch until 64 KiB are there or this many ms have passed
  // (HOOKPIPE_HOT_FETCH_WAIT_MS; 0: answer as soon as any record is there, as every
  // other consumer does). benchmarks/README.md, "Hot fetches by time", has the figures.
  int hot_fetch_wait_ms = 0;
  std::chrono::milliseconds log_retention{7LL * 24 * 3600 * 1000};
  std::size_t log_max_per_subscription = 10'000;
  // /metrics, /healthz and /readyz of the roles without an API port (HOOKPIPE_METRICS_PORT;
  // 0: not served). The producer serves them on its API port.
  int metrics_port = 0;
  // GET /v1/stream: a comment line to every client idle this long, for proxies
  // (HOOKPIPE_STREAM_HEARTBEAT).
  std::chrono::milliseconds stream_heartbeat{15'000};
  // Operational events (docs/operational-events.md): whether the deliverer publishes
  // hookpipe.* events to the events topic (HOOKPIPE_OPERATIONAL_EVENTS), and the window
  // over which a subscription's dead letters are aggregated into one event
  // (HOOKPIPE_OPERATIONAL_EVENTS_WINDOW).
  bool operational_events = true;
  std::chrono::milliseconds operational_events_window{60'000};

  static Config fromEnv();
  // Every problem, one per entry; empty when the config is usable.
  std::vector<std::string> validate() const;
  std::string groupId(const std::string& role) const {
    return (group_prefix.empty() ? topics.prefix : group_prefix) + role;
  }
};

// Parses "5s", "1m", "10m", "1h", "250ms" into a duration; false on bad input.
bool parseDuration(const std::string& text, std::chrono::milliseconds& out);
std::string formatDuration(std::chrono::milliseconds d);

}  // namespace hookpipe
