// Tier lateness: produces ~2000 delayed deliveries (due 3..23 s ahead -- the first 3 s
// leave time for the consumer group join -- spread over the retry tiers 1s and 5s) to a fresh topic
// prefix on HOOKPIPE_BENCH_BROKERS (default 127.0.0.1:19092), runs a RetryWorker in-process, and
// reports how late each record reached `deliveries` (its record timestamp minus hp-due-ms): p50,
// p99, max, and how many were early (should be 0). Prints figures; not a test. Usage:
// hookpipe-tier-accuracy-bench [records] [spread_s]
#include <algorithm>
#include <atomic>
#include <cstdio>
#include <map>
#include <thread>
#include <vector>

#include "benchmarks/dlq_bench_support.h"
#include "common/kafka/reader.h"
#include "common/records/delivery.h"
#include "retry/retry_worker.h"

using namespace hookpipe;

int main(int argc, char** argv) {
  const int records = argc > 1 ? std::atoi(argv[1]) : 2000;
  const int spread_s = argc > 2 ? std::atoi(argv[2]) : 20;
  Config config = bench::benchConfig("tierbench");
  config.retry_tiers = {std::chrono::seconds(1), std::chrono::seconds(5)};
  if (!bench::brokerReachable(config)) return 1;
  if (auto t = kafka::ensureTopics(config); !t) {
    std::fprintf(stderr, "cannot create topics: %s\n", t.error().message.c_str());
    return 1;
  }
  metrics::Registry registry;
  auto worker = retry::RetryWorker::create(config, registry);
  if (!worker) {
    std::fprintf(stderr, "retry worker: %s\n", worker.error().message.c_str());
    return 1;
  }
  std::atomic<bool> stop{false};
  std::thread runner([&] { (*worker)->run(stop); });

  auto producer = kafka::Producer::create(config);
  if (!producer) return 1;
  std::map<std::string, int64_t> due_of;
  const int64_t start = kafka::nowMs();
  for (int i = 0; i < records; ++i) {
    records::DeliveryMeta meta;
    meta.event_id = "evt_tier_" + std::to_string(i);
    meta.subscription_id = "sub_" + std::to_string(i % 7);
    meta.delivery_id = records::deliveryIdFor(meta.event_id, meta.subscription_id);
    meta.attempt = 2;
    meta.due_ms = start + 3000 + static_cast<int64_t>(i) * spread_s * 1000 / records;
    kafka::HeaderList headers;
    meta.writeTo(headers);
    const auto wait = std::chrono::milliseconds(meta.due_ms - kafka::nowMs());
    const auto tier = wait >= config.retry_tiers[1] ? config.retry_tiers[1] : config.retry_tiers[0];
    if (!(*producer)->produceBlocking(config.topics.retryTier(tier), meta.subscription_id, "{}",
                                      headers, nullptr))
      return 1;
    due_of[meta.delivery_id] = meta.due_ms;
  }
  (*producer)->flush(std::chrono::seconds(30));

  // Read `deliveries` until every record arrived (or a generous deadline).
  auto reader = kafka::Reader::open(config, config.groupId("tier-bench"));
  if (!reader) return 1;
  std::map<int32_t, int64_t> from;
  for (int p = 0; p < config.deliveries_partitions; ++p) from[p] = RD_KAFKA_OFFSET_BEGINNING;
  if (!(*reader)->assign(config.topics.deliveries(), from)) return 1;
  std::map<std::string, int64_t> lateness;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(spread_s + 60);
  while (lateness.size() < due_of.size() && std::chrono::steady_clock::now() < deadline) {
    kafka::MessagePtr msg = (*reader)->poll(200);
    if (!msg || msg->err) continue;
    const auto id = records::DeliveryMeta::fromHeaders(kafka::readHeaders(msg.get())).delivery_id;
    auto it = due_of.find(id);
    if (it != due_of.end())
      lateness.emplace(id, rd_kafka_message_timestamp(msg.get(), nullptr) - it->second);
  }
  reader->reset();
  stop = true;
  runner.join();

  std::vector<int64_t> late;
  for (const auto& [_, l] : lateness) late.push_back(l);
  std::sort(late.begin(), late.end());
  const auto pct = [&](double q) {
    return late.empty() ? 0 : late[std::min(late.size() - 1, static_cast<size_t>(q * late.size()))];
  };
  const long early = std::count_if(late.begin(), late.end(), [](int64_t l) { return l < 0; });
  std::printf("records: %d due over %d s, arrived %zu, hops %lu, forwarded %lu\n", records,
              spread_s, late.size(), static_cast<unsigned long>((*worker)->metrics().hops.value()),
              static_cast<unsigned long>((*worker)->metrics().forwarded.value()));
  std::printf("lateness vs hp-due-ms (ms): min %ld p50 %ld p90 %ld p99 %ld max %ld; early: %ld\n",
              late.empty() ? 0L : static_cast<long>(late.front()), static_cast<long>(pct(0.5)),
              static_cast<long>(pct(0.9)), static_cast<long>(pct(0.99)),
              late.empty() ? 0L : static_cast<long>(late.back()), early);
  std::printf("topic prefix: %s (left on the broker)\n", config.topics.prefix.c_str());
  return late.size() == due_of.size() && early == 0 ? 0 : 1;
}
