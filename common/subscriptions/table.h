#pragma once

#include <atomic>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "common/config/config.h"
#include "common/subscriptions/subscription.h"

namespace hookpipe {

// The in-memory subscription table every role keeps. Readers take an immutable
// snapshot (one mutex acquisition); writers copy, change and swap.
class SubscriptionTable {
 public:
  using Map = std::map<std::string, std::shared_ptr<const Subscription>>;

  std::shared_ptr<const Map> snapshot() const;
  std::shared_ptr<const Subscription> find(const std::string& id) const;
  void upsert(Subscription s);
  void erase(const std::string& id);

  // Read-your-writes across the topic reader: a local write pins the record it produces
  // ("" for a tombstone) before producing it. Records of that id read from the topic
  // before it are older than the local state and are skipped; reading the pinned record
  // itself releases the pin. unpin() undoes a pin whose write failed.
  void pin(const std::string& id, std::string record);
  void unpin(const std::string& id, const std::string& record);
  // True when a record read from the topic may be applied.
  bool acceptFromLog(const std::string& id, std::string_view record);

 private:
  std::map<std::string, std::string> pins_;  // guarded by mu_
  mutable std::mutex mu_;
  std::shared_ptr<const Map> map_ = std::make_shared<Map>();
};

// Materialises the compacted subscriptions topic into a table. Owns a thread that
// reads the topic from the beginning for as long as the object lives (no consumer
// group, nothing committed).
class SubscriptionSync {
 public:
  SubscriptionSync(const Config& config, SubscriptionTable& table);
  ~SubscriptionSync();
  // Blocks until everything on the topic when start() was called has been applied.
  bool waitLoaded(std::chrono::milliseconds timeout);
  // Starts the reader thread; an error if the topic cannot be read.
  Result<void> start();

 private:
  void run();
  Config config_;
  SubscriptionTable& table_;
  std::atomic<bool> stop_{false};
  std::mutex mu_;
  std::condition_variable loaded_cv_;
  bool loaded_ = false;
  std::map<int32_t, int64_t> high_watermarks_;  // read before loaded_ is set
  std::thread thread_;
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace hookpipe
