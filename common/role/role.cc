#include "common/role/role.h"

#include <malloc.h>

#include <csignal>
#include <stdexcept>
#include <thread>

#include "common/kafka/kafka.h"
#include "common/log/log.h"

namespace hookpipe {
namespace {
std::atomic<bool> g_stop{false};
extern "C" void onStopSignal(int) { g_stop = true; }
}  // namespace

const std::atomic<bool>& stopRequested() { return g_stop; }

void installStopHandlers() {
  std::signal(SIGTERM, onStopSignal);
  std::signal(SIGINT, onStopSignal);
  std::signal(SIGPIPE, SIG_IGN);
}

void tuneMallocForThroughput() {
  mallopt(M_MXFAST, 0);
  mallopt(M_MMAP_THRESHOLD, 32 << 20);
  mallopt(M_TRIM_THRESHOLD, 256 << 20);
}

void ensureTopicsOrThrow(const Config& config) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::minutes(1);
  while (true) {
    auto r = kafka::ensureTopics(config);
    if (r) return;
    if (!r.error().retryable || std::chrono::steady_clock::now() > deadline || g_stop)
      throw std::runtime_error(r.error().message);
    logger("kafka")->warn("waiting for the brokers at {}: {}", config.brokers, r.error().message);
    std::this_thread::sleep_for(std::chrono::seconds(1));
  }
}

std::unique_ptr<SubscriptionSync> loadSubscriptions(const Config& config,
                                                    SubscriptionTable& table) {
  auto sync = std::make_unique<SubscriptionSync>(config, table);
  loadOrThrow(*sync, "subscriptions");
  return sync;
}

void loadOrThrow(TopicMirror& mirror, const std::string& what) {
  if (auto r = mirror.start(); !r) throw std::runtime_error(what + ": " + r.error().message);
  if (!mirror.waitLoaded(std::chrono::seconds(60)))
    throw std::runtime_error(what + ": table not loaded within 60 s");
}

}  // namespace hookpipe
