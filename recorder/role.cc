#include "recorder/role.h"

#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <stdexcept>

#include "common/metrics/metrics.h"
#include "common/ops/server.h"
#include "common/role/role.h"
#include "recorder/rebuild.h"
#include "recorder/recorder.h"

namespace hookpipe::recorder {

int run(const Config& config, const std::vector<std::string>& args) {
  bool rebuild_index = false;
  for (const auto& a : args) {
    if (a == "--rebuild") {
      rebuild_index = true;
    } else {
      std::cerr << "usage: hookpipe recorder [--rebuild]\n";
      return 2;
    }
  }
  ensureTopicsOrThrow(config);
  if (rebuild_index) {
    auto summary = rebuild(config, std::cerr, isatty(STDERR_FILENO) == 1);
    if (!summary) {
      std::cerr << "hookpipe recorder --rebuild: " << summary.error().message << "\n";
      return 1;
    }
    std::fprintf(
        stderr,
        "rebuild: %llu records (%llu bad, skipped) from %d partitions in %.1f s "
        "(%.0f records/s); %llu old keys removed\n",
        static_cast<unsigned long long>(summary->records),
        static_cast<unsigned long long>(summary->bad_records), summary->partitions,
        summary->seconds,
        summary->seconds > 0 ? static_cast<double>(summary->records) / summary->seconds : 0.0,
        static_cast<unsigned long long>(summary->keys_removed));
    return 0;
  }
  tuneMallocForThroughput();
  metrics::Registry registry;
  // /metrics, /healthz, /readyz on HOOKPIPE_METRICS_PORT, before the Kafka clients are made.
  auto ops = ops::serveRole(config, "recorder", registry, /*uses_redis=*/true);
  auto recorder = Recorder::create(config, registry);
  if (!recorder) throw std::runtime_error(recorder.error().message);
  return (*recorder)->run(stopRequested());
}

}  // namespace hookpipe::recorder
