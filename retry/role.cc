#include "retry/role.h"

#include <stdexcept>

#include "common/metrics/metrics.h"
#include "common/ops/server.h"
#include "common/role/role.h"
#include "retry/retry_worker.h"

namespace hookpipe::retry {

int run(const Config& config) {
  metrics::Registry registry;  // served on HOOKPIPE_METRICS_PORT
  auto ops = ops::serveRole(config, "retry", registry, /*uses_redis=*/false);
  ensureTopicsOrThrow(config);
  auto worker = RetryWorker::create(config, registry);
  if (!worker) throw std::runtime_error(worker.error().message);
  return (*worker)->run(stopRequested());
}

}  // namespace hookpipe::retry
