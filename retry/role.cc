#include "retry/role.h"

#include <stdexcept>

#include "common/role/role.h"
#include "retry/retry_worker.h"

namespace hookpipe::retry {

int run(const Config& config) {
  ensureTopicsOrThrow(config);
  auto worker = RetryWorker::create(config);
  if (!worker) throw std::runtime_error(worker.error().message);
  return (*worker)->run(stopRequested());
}

}  // namespace hookpipe::retry
