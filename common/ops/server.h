#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <thread>

#include "common/config/config.h"
#include "common/error.h"
#include "common/metrics/metrics.h"
#include "common/ops/readiness.h"

// The ops endpoints of a role without an API port (router, deliverer, retry, recorder):
//   GET /metrics  the role's Registry in the Prometheus text format (version 0.0.4)
//   GET /healthz  200 while the process runs
//   GET /readyz   200 when every readiness check passes, else 503; JSON saying which
// Boost.Beast on one thread of its own, HTTP/1.1 with keep-alive; anything else is a 404
// (405 for another method on these paths).
namespace hookpipe::ops {

inline constexpr std::string_view kMetricsContentType = "text/plain; version=0.0.4; charset=utf-8";

class Server {
 public:
  Server(std::string address, int port, const metrics::Registry& registry, Readiness& readiness);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;
  // Binds (port 0 picks a free one) and starts the thread; the error names the address.
  Result<void> start();
  unsigned short port() const { return port_; }
  void stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  unsigned short port_ = 0;
  std::thread thread_;
};

// What a role's run() calls first to serve its ops endpoints on HOOKPIPE_METRICS_PORT:
// turns librdkafka statistics on (so call it before the role makes its Kafka clients),
// declares the Kafka metrics of the process under hookpipe_<role>_ —
//   consumer_lag_messages{topic,partition}   per assigned partition, from the statistics
//   consumer_assigned_partitions             partitions assigned to the group consumers
//   kafka_produce_errors_total               records the producers failed or refused
//   kafka_queue_messages                     records in the producers' queues, unacknowledged
// — adds the Kafka readiness probe and, with `uses_redis`, the Redis one, and starts the
// server. Null when metrics_port is 0 (nothing declared, statistics stay off). Throws
// std::runtime_error when the port cannot be bound. `registry` outlives the result.
struct RoleOps {
  Readiness readiness;
  std::unique_ptr<Server> server;
};
std::unique_ptr<RoleOps> serveRole(const Config& config, std::string_view role,
                                   metrics::Registry& registry, bool uses_redis);

// The Kafka metrics and statistics of serveRole() without a server (the producer serves
// /metrics on its API port).
void declareKafkaMetrics(std::string_view role, metrics::Registry& registry);

}  // namespace hookpipe::ops
