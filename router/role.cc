#include "router/role.h"

#include "common/metrics/metrics.h"
#include "common/role/role.h"
#include "router/router.h"

namespace hookpipe::router {

int run(const Config& config) {
  tuneMallocForThroughput();
  ensureTopicsOrThrow(config);
  SubscriptionTable table;
  auto sync = loadSubscriptions(config, table);
  metrics::Registry registry;  // served on /metrics by the next issue
  auto router = Router::create(config, table, registry);
  if (!router) throw std::runtime_error(router.error().message);
  return (*router)->run(stopRequested());
}

}  // namespace hookpipe::router
