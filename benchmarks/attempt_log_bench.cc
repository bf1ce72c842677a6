// The attempt log's cost per record (deliverer/attempt_log.h) on the real broker: two
// threads, as two deliverer workers, hand N records each to one AttemptLog; the process's
// CPU (every thread: the callers, librdkafka's, the poller) per record, with the encode
// alone for comparison.
//
// Env: HOOKPIPE_BENCH_BROKERS (127.0.0.1:19092), HOOKPIPE_BENCH_RECORDS (per thread, 200000).
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "common/attempts/record.h"
#include "common/kafka/kafka.h"
#include "common/metrics/metrics.h"
#include "deliverer/attempt_log.h"

namespace {

using namespace hookpipe;

double cpuSeconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

observe::Attempt sample(const std::string& sub, const std::string& delivery) {
  observe::Attempt a;
  a.outcome = observe::Outcome::kDelivered;
  a.subscription_id = sub;
  a.delivery_id = delivery;
  a.event_id = "evt_2b1f6c0a9d8e7f6a5b4c3d2e1f0a9b8c";
  a.event_type = "order.created";
  a.attempt = 1;
  a.attempted = true;
  a.started_ms = kafka::nowMs();
  a.duration_us = 1834;
  a.status = 200;
  a.request_bytes = 388;
  a.response_bytes = 2;
  a.response_head = "ok";
  a.source_topic = "hookpipe.deliveries";
  a.source_partition = 3;
  a.source_offset = 123456;
  return a;
}

}  // namespace

int main() {
  const char* brokers = std::getenv("HOOKPIPE_BENCH_BROKERS");
  const char* n_env = std::getenv("HOOKPIPE_BENCH_RECORDS");
  const long n = n_env ? std::atol(n_env) : 200'000;
  Config config;
  config.brokers = brokers ? brokers : "127.0.0.1:19092";
  config.topics.prefix = "bench" + std::to_string(std::random_device{}() % 1000000) + ".";
  if (auto r = kafka::ensureTopics(config); !r) {
    std::fprintf(stderr, "topics: %s\n", r.error().message.c_str());
    return 1;
  }
  std::vector<std::string> subs, ids;
  for (int i = 0; i < 10; ++i) subs.push_back("sub_e" + std::to_string(i));
  for (int i = 0; i < 1000; ++i) ids.push_back("msg_" + std::to_string(1'000'000'000 + i * 7919));

  // The encode alone.
  {
    std::string out;
    const double c0 = cpuSeconds();
    for (long i = 0; i < n; ++i) {
      out.clear();
      attempts::encode(sample(subs[i % 10], ids[i % 1000]), kafka::nowMs(), out);
    }
    std::printf("encode: %.2f us/record (%zu B)\n", (cpuSeconds() - c0) * 1e6 / n, out.size());
  }
  metrics::Registry registry;
  deliverer::DelivererMetrics metrics(registry);
  auto log = deliverer::AttemptLog::create(config, metrics);
  if (!log) {
    std::fprintf(stderr, "attempt log: %s\n", log.error().message.c_str());
    return 1;
  }
  // Warm up: metadata, connections.
  for (int i = 0; i < 1000; ++i) (*log)->onAttempt(sample(subs[i % 10], ids[i % 1000]));
  (*log)->flush(std::chrono::seconds(30));
  const double c0 = cpuSeconds();
  const auto t0 = std::chrono::steady_clock::now();
  std::vector<std::thread> threads;
  std::vector<double> caller_us(2);
  for (int t = 0; t < 2; ++t)
    threads.emplace_back([&, t] {
      const auto s0 = std::chrono::steady_clock::now();
      for (long i = 0; i < n; ++i) {
        (*log)->onAttempt(sample(subs[(i + t) % 10], ids[i % 1000]));
        // About a deliverer worker's pace (~10 k/s each): a record every 100 us.
        if (i % 100 == 99)
          std::this_thread::sleep_until(s0 + std::chrono::microseconds(100 * (i + 1)));
      }
    });
  for (auto& t : threads) t.join();
  const double enq = cpuSeconds() - c0;
  (*log)->flush(std::chrono::seconds(60));
  const double total = cpuSeconds() - c0;
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf(
      "attempt log: %ld records from 2 threads in %.1f s; process CPU %.2f us/record "
      "(%.2f us until the last was handed over); produced %lu failed %lu dropped %lu\n",
      2 * n, wall, total * 1e6 / (2.0 * n), enq * 1e6 / (2.0 * n),
      static_cast<unsigned long>(metrics.attempt_log_produced.value()),
      static_cast<unsigned long>(metrics.attempt_log_failed.value()),
      static_cast<unsigned long>(metrics.attempt_log_dropped.value()));
  return 0;
}
