#include "retry/role.h"

#include <iostream>

#include "common/role/role.h"
#include "retry/replay.h"
#include "retry/retry_worker.h"

namespace hookpipe::retry {

int run(const Config& config) {
  ensureTopicsOrThrow(config);
  auto worker = RetryWorker::create(config);
  if (!worker) throw std::runtime_error(worker.error().message);
  return (*worker)->run(stopRequested());
}

int runDlqCommand(const Config& config, const std::vector<std::string>& args) {
  if (args.empty() || args[0] != "replay") {
    std::cerr << "usage: hookpipe dlq replay [--subscription ID] [--dry-run]\n";
    return 2;
  }
  ReplayOptions options;
  for (std::size_t i = 1; i < args.size(); ++i) {
    if (args[i] == "--subscription" && i + 1 < args.size())
      options.subscription_id = args[++i];
    else if (args[i] == "--dry-run")
      options.dry_run = true;
    else {
      std::cerr << "dlq replay: unknown argument '" << args[i] << "'\n";
      return 2;
    }
  }
  ensureTopicsOrThrow(config);
  auto stats = replayDeadLetters(config, options);
  if (!stats) {
    std::cerr << "dlq replay failed: " << stats.error().message << "\n";
    return 1;
  }
  std::cout << (options.dry_run ? "would replay " : "replayed ") << stats->replayed << " of "
            << stats->scanned << " dead letters replay_id=" << stats->replay_id << "\n";
  return 0;
}

}  // namespace hookpipe::retry
