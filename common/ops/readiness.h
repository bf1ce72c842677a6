#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/config/config.h"

// Readiness (/readyz): what a role needs before it can do its work, as named checks the
// role registers at start-up. A check reads cached state (the Kafka clients' statistics)
// or asks with a short timeout (a Redis PING, 250 ms); it runs on the thread that serves
// /readyz, never on a role's own threads.
namespace hookpipe::ops {

struct Check {
  std::string name;  // "kafka", "partitions", "redis"
  bool ok = false;
  std::string detail;  // what is wrong, or what is fine ("assigned 6 partitions")
};
using Probe = std::function<std::vector<Check>()>;

// The role's probes; evaluate() runs them at most once per kCacheFor and answers from the
// last result in between, so a burst of probes costs one round. Thread-safe.
class Readiness {
 public:
  static constexpr auto kCacheFor = std::chrono::seconds(1);

  void add(Probe probe);
  struct Verdict {
    bool ready = false;
    std::string json;  // {"status":"ready"|"not_ready","checks":[{"name","ok","detail"}…]}
  };
  Verdict evaluate();

 private:
  std::mutex mu_;
  std::vector<Probe> probes_;
  std::chrono::steady_clock::time_point evaluated_at_{};
  Verdict last_;
  bool evaluated_ = false;
};

// The Kafka clients of this process (common/kafka/stats.h; statistics must be on): a
// "kafka" check (every client reported within three intervals, with a broker connection
// up) and, when the process has group consumers, a "partitions" check (each joined its
// group at least once; later rebalances keep it ready, reported as pending).
Probe kafkaProbe();
// A PING to the configured Redis on a connection of its own (250 ms timeout, backing off
// while Redis is away, see redis::Client).
Probe redisProbe(const Config& config);

}  // namespace hookpipe::ops
