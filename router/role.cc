#include "router/role.h"

#include "common/metrics/metrics.h"
#include "common/ops/server.h"
#include "common/role/role.h"
#include "router/router.h"

namespace hookpipe::router {

int run(const Config& config) {
  tuneMallocForThroughput();
  // Served on HOOKPIPE_METRICS_PORT from the start (before the broker answers, /healthz
  // does and /readyz says what is missing).
  metrics::Registry registry;
  auto ops = ops::serveRole(config, "router", registry, /*uses_redis=*/false);
  ensureTopicsOrThrow(config);
  SubscriptionTable table;
  auto sync = loadSubscriptions(config, table);
  auto router = Router::create(config, table, registry);
  if (!router) throw std::runtime_error(router.error().message);
  return (*router)->run(stopRequested());
}

}  // namespace hookpipe::router
