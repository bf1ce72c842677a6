#include "retry/role.h"

#include <stdexcept>

#include "common/metrics/metrics.h"
#include "common/role/role.h"
#include "retry/retry_worker.h"

namespace hookpipe::retry {

int run(const Config& config) {
  ensureTopicsOrThrow(config);
  metrics::Registry registry;  // served on /metrics by the next issue
  auto worker = RetryWorker::create(config, registry);
  if (!worker) throw std::runtime_error(worker.error().message);
  return (*worker)->run(stopRequested());
}

}  // namespace hookpipe::retry
