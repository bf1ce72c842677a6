#include "deliverer/role.h"

#include <thread>

#include "common/log/log.h"
#include "common/metrics/metrics.h"
#include "common/observe/observer.h"
#include "common/ops/server.h"
#include "common/role/role.h"
#include "deliverer/attempt_log.h"
#include "deliverer/deliverer.h"
#include "deliverer/metrics.h"
#include "deliverer/metrics_observer.h"
#include "deliverer/operational_events.h"

namespace hookpipe::deliverer {

int run(const Config& config) {
  tuneMallocForThroughput();
  curl_global_init(CURL_GLOBAL_DEFAULT);
  // The role's metrics and the observers of its delivery steps, registered before the
  // workers start (the list is not changed while they run); served on
  // HOOKPIPE_METRICS_PORT from the start.
  metrics::Registry registry;
  DelivererMetrics metrics(registry);
  auto ops = ops::serveRole(config, "deliverer", registry, /*uses_redis=*/true);
  ensureTopicsOrThrow(config);
  SubscriptionTable table;
  auto sync = loadSubscriptions(config, table);
  observe::Observers observers;
  observers.add(std::make_shared<MetricsObserver>(metrics));
  // The attempt log: destroyed after the workers (declared before them), so it flushes
  // what they observed last.
  std::shared_ptr<AttemptLog> attempt_log;
  if (config.attempt_log) {
    auto log = AttemptLog::create(config, metrics);
    if (!log) throw std::runtime_error("attempt log: " + log.error().message);
    attempt_log = *log;
    observers.add(attempt_log);
  }
  auto operational_events = OperationalEvents::create(config, table, metrics);  // null: off
  if (operational_events) observers.add(operational_events);
  Shared shared(config, metrics, observers);
  if (operational_events) {
    shared.operational_events = operational_events.get();
    shared.guard.setListener(operational_events.get());
  }
  std::vector<std::unique_ptr<Deliverer>> workers;
  for (int i = 0; i < config.deliverer_threads; ++i) {
    auto worker = Deliverer::create(config, table, shared, i);
    if (!worker) throw std::runtime_error(worker.error().message);
    workers.push_back(std::move(*worker));
  }
  logger("deliverer")->info("started workers={}", workers.size());
  std::vector<int> codes(workers.size(), 0);
  {
    std::vector<std::jthread> threads;
    for (std::size_t i = 1; i < workers.size(); ++i)
      threads.emplace_back([&, i] { codes[i] = workers[i]->run(stopRequested()); });
    codes[0] = workers[0]->run(stopRequested());
  }
  return *std::max_element(codes.begin(), codes.end());
}

}  // namespace hookpipe::deliverer
