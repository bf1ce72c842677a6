// Recorder throughput on the real broker and Redis: N attempt records over 1 000
// subscriptions are preloaded into a fresh attempts topic (6 partitions), then ONE
// `hookpipe recorder` process is started and the partitions' applied offsets (idx:off:<p>)
// are watched until they reach N. Prints records/s from the recorder's start to caught up,
// the recorder's CPU per record (its /proc CPU time), Redis's CPU (INFO cpu) over the same
// span, and what the index costs in Redis memory per attempt (INFO used_memory, and
// MEMORY USAGE of sample keys).
// Usage: hookpipe-recorder-bench <path to hookpipe> [records]
//        (HOOKPIPE_BENCH_BROKERS, HOOKPIPE_BENCH_REDIS=host:port)
#include <librdkafka/rdkafka.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "benchmarks/bench_process.h"
#include "benchmarks/dlq_bench_support.h"
#include "common/attempts/keys.h"
#include "common/attempts/record.h"
#include "common/kafka/kafka.h"
#include "common/redis/redis.h"

using namespace hookpipe;
using Clock = std::chrono::steady_clock;

namespace {

constexpr int kPartitions = 6;
constexpr int kSubscriptions = 1000;

int bail(const std::string& what) {
  std::fprintf(stderr, "%s\n", what.c_str());
  return 1;
}

bool createTopic(const Config& config, const std::string& name, int partitions) {
  std::string error;
  kafka::ConfPtr conf = kafka::baseConf(config, {}, error);
  if (!conf) return false;
  char errstr[512];
  kafka::HandlePtr rk(rd_kafka_new(RD_KAFKA_PRODUCER, conf.release(), errstr, sizeof errstr));
  if (!rk) return false;
  rd_kafka_NewTopic_t* t =
      rd_kafka_NewTopic_new(name.c_str(), partitions, 1, errstr, sizeof errstr);
  rd_kafka_queue_t* queue = rd_kafka_queue_new(rk.get());
  rd_kafka_CreateTopics(rk.get(), &t, 1, nullptr, queue);
  rd_kafka_event_t* ev = rd_kafka_queue_poll(queue, 30000);
  const bool ok = ev != nullptr;
  if (ev) rd_kafka_event_destroy(ev);
  rd_kafka_queue_destroy(queue);
  rd_kafka_NewTopic_destroy(t);
  for (int p = 0; ok && p < partitions; ++p)
    if (!kafka::watermarks(rk.get(), name, p, std::chrono::seconds(30))) return false;
  return ok;
}

// A record as the deliverer writes it: most delivered, some retried, a few dead letters.
attempts::Record sample(long i, int64_t now_ms, long spread_s) {
  attempts::Record r;
  const long delivery = i / 2;
  r.delivery_id = "dlv_" + std::to_string(delivery) + "_5d0f3c2a9b";
  r.event_id = "evt_" + std::to_string(delivery) + "_2Qx9k";
  r.event_type = "order." + std::to_string(delivery % 12);
  r.subscription_id = "sub_" + std::to_string(delivery % kSubscriptions);
  r.tenant = "tenant_" + std::to_string(delivery % kSubscriptions % 20);
  r.attempt = static_cast<int>(i % 2) + 1;
  if (i % 10 == 0) {
    r.outcome = "retried";
    r.status = 503;
    r.error_class = "http_5xx";
    r.error_message = "HTTP 503";
    r.next_attempt_ms = now_ms + 5000;
  } else if (i % 97 == 0) {
    r.outcome = "dead_lettered";
    r.status = 410;
    r.error_class = "http_4xx";
    r.reason = "gone";
  } else {
    r.outcome = "delivered";
    r.status = 200;
  }
  r.attempted = true;
  r.duration_us = 2000 + (i * 7919) % 400'000;
  r.finished_ms = now_ms - (i % spread_s) * 1000;
  r.started_ms = r.finished_ms - r.duration_us / 1000;
  r.request_bytes = 512;
  r.response_bytes = 17;
  r.response_body = R"({"received":true})";
  r.payload_topic = "hookpipe.deliveries";
  r.payload_partition = static_cast<int32_t>(i % 6);
  r.payload_offset = i;
  return r;
}

double redisCpu(redis::Client& redis) {
  auto r = redis.pipeline({{"INFO", "cpu"}});
  if (!r) return 0;
  const std::string info((*r)[0]->str, (*r)[0]->len);
  auto field = [&](const std::string& name) {
    auto at = info.find(name + ":");
    return at == std::string::npos ? 0.0 : std::atof(info.c_str() + at + name.size() + 1);
  };
  return field("used_cpu_user") + field("used_cpu_sys");
}

long long redisInt(redis::Client& redis, const std::vector<std::string>& command) {
  auto r = redis.pipeline({command});
  if (!r || (*r)[0]->type != REDIS_REPLY_INTEGER) return -1;
  return (*r)[0]->integer;
}

// Calls and microseconds of the recorder's scripts so far (INFO commandstats: EVALSHA +
// EVAL), for the time one flush holds Redis.
std::pair<long long, long long> scriptStats(redis::Client& redis) {
  auto r = redis.pipeline({{"INFO", "commandstats"}});
  if (!r) return {0, 0};
  const std::string info((*r)[0]->str, (*r)[0]->len);
  long long calls = 0;
  long long usec = 0;
  for (const char* name : {"cmdstat_evalsha:", "cmdstat_eval:"}) {
    auto at = info.find(name);
    if (at == std::string::npos) continue;
    long long c = 0;
    long long u = 0;
    if (std::sscanf(info.c_str() + at + std::strlen(name), "calls=%lld,usec=%lld", &c, &u) == 2) {
      calls += c;
      usec += u;
    }
  }
  return {calls, usec};
}

long long usedMemory(redis::Client& redis) {
  auto r = redis.pipeline({{"INFO", "memory"}});
  if (!r) return 0;
  const std::string info((*r)[0]->str, (*r)[0]->len);
  auto at = info.find("used_memory:");
  return at == std::string::npos ? 0 : std::atoll(info.c_str() + at + 12);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s <path to hookpipe> [records]\n", argv[0]);
    return 2;
  }
  const std::string binary = argv[1];
  const long n = argc > 2 ? std::atol(argv[2]) : 500'000;
  // Over how many seconds the records' finish times spread (HOOKPIPE_BENCH_SPREAD_S): a
  // recorder keeping up sees the current minute; one catching up (or a rebuild), the
  // backlog's span — more statistics buckets per flush.
  const char* spread_env = std::getenv("HOOKPIPE_BENCH_SPREAD_S");
  const long spread_s = std::max(1L, spread_env != nullptr ? std::atol(spread_env) : 3600L);
  Config config = bench::benchConfig("recbench");
  config.attempts_partitions = kPartitions;
  const char* redis_env = std::getenv("HOOKPIPE_BENCH_REDIS");
  const std::string redis_addr = redis_env != nullptr ? redis_env : "127.0.0.1:6379";
  config.redis_host = redis_addr.substr(0, redis_addr.rfind(':'));
  config.redis_port = std::atoi(redis_addr.c_str() + redis_addr.rfind(':') + 1);
  if (!bench::brokerReachable(config)) return 1;
  if (!createTopic(config, config.topics.attempts(), kPartitions))
    return bail("cannot create " + config.topics.attempts());
  redis::Client redis(config.redis_host, config.redis_port, std::chrono::seconds(10));
  const attempts::Keys keys(config.topics.prefix);

  auto producer = kafka::Producer::create(config, {{"linger.ms", "20"}});
  if (!producer) return bail(producer.error().message);
  const int64_t now = kafka::nowMs();
  std::string json;
  std::size_t bytes = 0;
  const auto produce_start = Clock::now();
  for (long i = 0; i < n; ++i) {
    const attempts::Record r = sample(i, now, spread_s);
    json.clear();
    attempts::encode(r, json);
    bytes += json.size();
    if (!(*producer)->produceBlocking(config.topics.attempts(), r.subscription_id, json, {},
                                      nullptr))
      return bail("produce failed");
  }
  if (!(*producer)->flush(std::chrono::minutes(2))) return bail("flush timed out");
  std::printf(
      "records: %ld over %d subscriptions (%.0f B each on average), finished over %ld s, "
      "produced in %.1f s\n",
      n, kSubscriptions, static_cast<double>(bytes) / static_cast<double>(n), spread_s,
      std::chrono::duration<double>(Clock::now() - produce_start).count());

  const long long memory_before = usedMemory(redis);
  const double redis_cpu_before = redisCpu(redis);
  const auto scripts_before = scriptStats(redis);
  const auto start = Clock::now();
  bench::RoleChild recorder(binary, "recorder", config, {{"HOOKPIPE_REDIS", redis_addr}},
                            "/tmp/hookpipe-recorder-bench.log");
  if (recorder.pid() < 0) return 1;
  auto applied = [&] {
    long long total = 0;
    for (int p = 0; p < kPartitions; ++p) {
      auto r = redis.pipeline({{"GET", keys.offset(p)}});
      if (r && (*r)[0]->type == REDIS_REPLY_STRING) total += std::atoll((*r)[0]->str);
    }
    return total;
  };
  double cpu = 0;
  const auto deadline = start + std::chrono::minutes(10);
  long long done = 0;
  while ((done = applied()) < n && Clock::now() < deadline) {
    cpu = recorder.cpuSeconds();
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  const double s = std::chrono::duration<double>(Clock::now() - start).count();
  cpu = std::max(cpu, recorder.cpuSeconds());
  const double redis_cpu = redisCpu(redis) - redis_cpu_before;
  const auto scripts_after = scriptStats(redis);
  if (done < n)
    return bail("recorder did not catch up in 10 minutes (see /tmp/hookpipe-recorder-bench.log)");
  std::printf(
      "recorder: caught up with %ld records in %.2f s = %.0f records/s; recorder CPU %.2f s = "
      "%.2f us/record (%.0f records per CPU second)\n",
      n, s, static_cast<double>(n) / s, cpu, cpu * 1e6 / static_cast<double>(n),
      static_cast<double>(n) / cpu);
  std::printf("redis: CPU %.2f s over the same span = %.2f us/record (%.0f%% of one core)\n",
              redis_cpu, redis_cpu * 1e6 / static_cast<double>(n), 100 * redis_cpu / s);
  const long long calls = scripts_after.first - scripts_before.first;
  std::printf("redis: %lld flush scripts, %.1f ms each on average (Redis is blocked meanwhile)\n",
              calls,
              calls > 0 ? static_cast<double>(scripts_after.second - scripts_before.second) /
                              1000.0 / static_cast<double>(calls)
                        : 0.0);
  const long long memory = usedMemory(redis) - memory_before;
  std::printf("redis memory: +%lld B for %ld attempts = %.0f B/attempt (used_memory)\n", memory, n,
              static_cast<double>(memory) / static_cast<double>(n));
  const long long delivery =
      redisInt(redis, {"MEMORY", "USAGE", keys.delivery(sample(0, now, spread_s).delivery_id)});
  const long long sub_log = redisInt(redis, {"MEMORY", "USAGE", keys.subscriptionLog("sub_0")});
  const long long sub_members = redisInt(redis, {"ZCARD", keys.subscriptionLog("sub_0")});
  const long long minute =
      redisInt(redis, {"MEMORY", "USAGE",
                       keys.stats("s:sub_0", attempts::Granularity::kMinute,
                                  attempts::bucketStart(attempts::Granularity::kMinute,
                                                        sample(0, now, spread_s).finished_ms))});
  std::printf(
      "MEMORY USAGE: a delivery hash with 2 attempts %lld B; a subscription log %lld B for %lld "
      "deliveries (%.0f B each); a subscription's minute stats hash %lld B\n",
      delivery, sub_log, sub_members,
      sub_members > 0 ? static_cast<double>(sub_log) / static_cast<double>(sub_members) : 0.0,
      minute);

  // Every key of the index: its MEMORY USAGE summed by kind (exact for this index, where
  // used_memory also moves with whatever else uses the shared Redis); then unlinked, to
  // leave the shared Redis as it was.
  std::map<std::string, std::pair<long long, long long>> by_kind;  // kind -> keys, bytes
  const std::string base = keys.pattern().substr(0, keys.pattern().size() - 1);
  std::string cursor = "0";
  do {
    auto r = redis.pipeline({{"SCAN", cursor, "MATCH", keys.pattern(), "COUNT", "2000"}});
    if (!r) break;
    cursor = (*r)[0]->element[0]->str;
    std::vector<std::string> found;
    for (std::size_t i = 0; i < (*r)[0]->element[1]->elements; ++i)
      found.emplace_back((*r)[0]->element[1]->element[i]->str);
    if (found.empty()) continue;
    std::vector<std::vector<std::string>> usage;
    for (const auto& k : found) usage.push_back({"MEMORY", "USAGE", k, "SAMPLES", "0"});
    auto u = redis.pipeline(usage);
    for (std::size_t i = 0; u && i < found.size(); ++i) {
      const std::string rest = found[i].substr(base.size());
      const std::string kind = rest.starts_with("st:")  ? "statistics hashes"
                               : rest.starts_with("d:") ? "delivery hashes"
                               : rest.starts_with("s:") ? "subscription logs"
                                                        : "other";
      by_kind[kind].first += 1;
      by_kind[kind].second += (*u)[i]->type == REDIS_REPLY_INTEGER ? (*u)[i]->integer : 0;
    }
    std::vector<std::string> unlink = {"UNLINK"};
    unlink.insert(unlink.end(), found.begin(), found.end());
    (void)redis.pipeline({unlink});
  } while (cursor != "0");
  long long total = 0;
  for (const auto& [kind, kb] : by_kind) {
    total += kb.second;
    std::printf("  %-18s %8lld keys %12lld B = %6.0f B/attempt\n", kind.c_str(), kb.first,
                kb.second, static_cast<double>(kb.second) / static_cast<double>(n));
  }
  std::printf("index: %lld B by MEMORY USAGE = %.0f B/attempt\n", total,
              static_cast<double>(total) / static_cast<double>(n));
  return 0;
}
