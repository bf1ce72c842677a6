#include "deliverer/role.h"

#include <thread>

#include "common/log/log.h"
#include "common/role/role.h"
#include "deliverer/deliverer.h"

namespace hookpipe::deliverer {

int run(const Config& config) {
  tuneMallocForThroughput();
  curl_global_init(CURL_GLOBAL_DEFAULT);
  ensureTopicsOrThrow(config);
  SubscriptionTable table;
  auto sync = loadSubscriptions(config, table);
  Shared shared(config);
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
