// Replay throughput: produces 100 000 dead letters to a fresh dlq topic on the broker in
// HOOKPIPE_BENCH_BROKERS (default 127.0.0.1:19092) and times replayDeadLetters().
// Prints figures; not a test. Usage: hookpipe-dlq-replay-bench [records]
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>

#include "benchmarks/dlq_bench_support.h"
#include "common/dlq/replay.h"
#include "common/kafka/kafka.h"
#include "common/records/delivery.h"

using namespace hookpipe;

int main(int argc, char** argv) {
  const long records = argc > 1 ? std::atol(argv[1]) : 100'000;
  Config config = bench::benchConfig("dlqbench");
  if (!bench::brokerReachable(config)) return 1;
  if (auto t = kafka::ensureTopics(config); !t) {
    std::fprintf(stderr, "cannot create topics: %s\n", t.error().message.c_str());
    return 1;
  }
  auto producer = kafka::Producer::create(config);
  if (!producer) return 1;
  const std::string body(200, 'x');
  const auto produce_start = std::chrono::steady_clock::now();
  for (long i = 0; i < records; ++i) {
    records::DeliveryMeta meta;
    meta.event_id = "evt_bench_" + std::to_string(i);
    meta.subscription_id = "sub_" + std::to_string(i % 10);
    meta.delivery_id = records::deliveryIdFor(meta.event_id, meta.subscription_id);
    meta.event_type = "bench.event";
    meta.attempt = 8;
    meta.error_class = "http_5xx";
    kafka::HeaderList headers;
    meta.writeTo(headers);
    headers.emplace_back(records::kDeadLetterReason, "retries_exhausted");
    if (!(*producer)->produceBlocking(config.topics.dlq(), meta.subscription_id, body, headers,
                                      nullptr)) {
      std::fprintf(stderr, "produce failed\n");
      return 1;
    }
  }
  if (!(*producer)->flush(std::chrono::minutes(2))) return 1;
  const double produce_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - produce_start).count();

  dlq::ReplayOptions options;
  const double cpu_before = bench::cpuSeconds();
  const auto start = std::chrono::steady_clock::now();
  auto stats = dlq::replayDeadLetters(config, options);
  const double wall =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const double cpu = bench::cpuSeconds() - cpu_before;
  if (!stats) {
    std::fprintf(stderr, "replay failed: %s\n", stats.error().message.c_str());
    return 1;
  }
  std::printf("dead letters produced: %ld in %.2f s (%.0f/s)\n", records, produce_s,
              static_cast<double>(records) / produce_s);
  std::printf("replayed: %lu of %lu in %.2f s = %.0f records/s\n",
              static_cast<unsigned long>(stats->replayed),
              static_cast<unsigned long>(stats->scanned), wall,
              static_cast<double>(stats->replayed) / wall);
  std::printf("cpu: %.2f s (user+sys, whole process during replay) = %.1f us/record\n", cpu,
              cpu * 1e6 / static_cast<double>(stats->replayed ? stats->replayed : 1));
  std::printf("topic prefix: %s (left on the broker)\n", config.topics.prefix.c_str());
  return stats->replayed == static_cast<uint64_t>(records) ? 0 : 1;
}
