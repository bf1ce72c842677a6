#include "router/role.h"

#include <malloc.h>

#include "common/role/role.h"
#include "router/router.h"

namespace hookpipe::router {

int run(const Config& config) {
  // No fastbins in the router process: its produce path allocates and frees small blocks
  // in bursts (librdkafka messages and headers, freed when a batch is acknowledged), and
  // glibc kept consolidating fastbins (malloc_consolidate and unlink_chunk were ~15 % of
  // the main thread). Measured with hookpipe-router-e2e-bench: 25-30 % less router CPU
  // per delivery (benchmarks/README.md).
  mallopt(M_MXFAST, 0);
  ensureTopicsOrThrow(config);
  SubscriptionTable table;
  auto sync = loadSubscriptions(config, table);
  auto router = Router::create(config, table);
  if (!router) throw std::runtime_error(router.error().message);
  return (*router)->run(stopRequested());
}

}  // namespace hookpipe::router
