#include "deliverer/role.h"

#include "common/role/role.h"
#include "deliverer/deliverer.h"

namespace hookpipe::deliverer {

int run(const Config& config) {
  curl_global_init(CURL_GLOBAL_DEFAULT);
  ensureTopicsOrThrow(config);
  SubscriptionTable table;
  auto sync = loadSubscriptions(config, table);
  auto deliverer = Deliverer::create(config, table);
  if (!deliverer) throw std::runtime_error(deliverer.error().message);
  return (*deliverer)->run(stopRequested());
}

}  // namespace hookpipe::deliverer
