// Router end to end on a real broker: 1 000 subscriptions (fan-out exactly 3 per event:
// one exact type, one "group.*" prefix, one "*") written straight to the subscriptions
// topic, N events produced straight to the events topic, then ONE `hookpipe router`
// process is started and the deliveries topic's high watermarks are watched until they
// reach N x 3. Prints deliveries/s (from router start, and steady state between 10 % and
// 90 %), the router's CPU seconds, and a baseline: librdkafka producing the same number
// of delivery-sized records from this process.
// With HOOKPIPE_BENCH_EXACTLY_ONCE=true the router runs with HOOKPIPE_EXACTLY_ONCE_ROUTING
// and progress is read from the router group's committed offsets on the events topic
// (each committed event's 3 deliveries were committed in the same transaction; the high
// watermarks would also count the transaction markers).
// Usage: hookpipe-router-e2e-bench <path to hookpipe> [events]   (HOOKPIPE_BENCH_BROKERS)
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "benchmarks/bench_process.h"
#include "benchmarks/dlq_bench_support.h"
#include "common/kafka/kafka.h"
#include "common/kafka/reader.h"
#include "common/records/delivery.h"
#include "common/subscriptions/subscription.h"
#include "support/process.h"

using namespace hookpipe;
using Clock = std::chrono::steady_clock;

namespace {

constexpr int kExactTypes = 989;  // + one "grpN.*" per group + one "*" = 1 000 subscriptions
constexpr int kGroups = 10;
constexpr int kFanOut = 3;

std::string typeName(int i) {
  return "grp" + std::to_string(i % kGroups) + ".ev" + std::to_string(i);
}

double seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

std::string eventBody(long i) {
  return R"({"id":"evt_b)" + std::to_string(i) + R"(","type":")" +
         typeName(static_cast<int>(i % kExactTypes)) + R"(","data":{"order":)" + std::to_string(i) +
         R"(,"amount":1250,"currency":"EUR","customer":"cus_0123456789","note":"benchmark"}})";
}

int fail(const char* what) {
  std::fprintf(stderr, "%s\n", what);
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s <path to hookpipe> [events]\n", argv[0]);
    return 2;
  }
  const std::string binary = argv[1];
  const long events = argc > 2 ? std::atol(argv[2]) : 200'000;
  const long expected = events * kFanOut;
  Config config = bench::benchConfig("routere2e");
  config.events_partitions = 6;
  config.deliveries_partitions = 6;
  if (!bench::brokerReachable(config)) return 1;
  if (auto t = kafka::ensureTopics(config); !t) {
    std::fprintf(stderr, "cannot create topics: %s\n", t.error().message.c_str());
    return 1;
  }
  auto created = kafka::Producer::create(config);
  if (!created) {
    std::fprintf(stderr, "producer: %s\n", created.error().message.c_str());
    return 1;
  }
  kafka::Producer& producer = **created;

  // Subscriptions: every event type has one exact subscription, its group one prefix
  // subscription, and one subscription takes "*".
  std::vector<Subscription> subs;
  auto add = [&](std::string id, std::string pattern) {
    Subscription s;
    s.id = std::move(id);
    s.events = {std::move(pattern)};
    subs.push_back(std::move(s));
  };
  for (int i = 0; i < kExactTypes; ++i) add("sub_x" + std::to_string(i), typeName(i));
  for (int g = 0; g < kGroups; ++g)
    add("sub_p" + std::to_string(g), "grp" + std::to_string(g) + ".*");
  add("sub_all", "*");
  for (auto& s : subs) {
    s.url = "https://example.com/hooks/" + s.id;
    s.secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    if (!producer.produceBlocking(config.topics.subscriptions(), s.id, toJson(s, true), {},
                                  nullptr))
      return fail("produce failed");
  }
  const auto produce_start = Clock::now();
  for (long i = 0; i < events; ++i) {
    const std::string body = eventBody(i);
    if (!producer.produceBlocking(config.topics.events(), "", body, {}, nullptr)) {
      std::fprintf(stderr, "produce failed\n");
      return 1;
    }
  }
  if (!producer.flush(std::chrono::minutes(2))) return fail("flush timed out");
  const double produce_s = seconds(Clock::now() - produce_start);
  std::printf("subscriptions: %zu, fan-out %d per event; events: %ld produced in %.2f s\n",
              subs.size(), kFanOut, events, produce_s);

  // Baseline: the same number of delivery-sized records (body + the router's headers)
  // produced from this process with the project's producer settings.
  // Its own deliveries topic, created like the router's (same partitions).
  Config baseline = config;
  baseline.topics.prefix += "baseline.";
  if (auto t = kafka::ensureTopics(baseline); !t) {
    std::fprintf(stderr, "cannot create topics: %s\n", t.error().message.c_str());
    return 1;
  }
  const std::string baseline_topic = baseline.topics.deliveries();
  {
    kafka::HeaderList headers;
    records::DeliveryMeta meta;
    meta.delivery_id = records::deliveryIdFor("evt_b1", "sub_x1");
    meta.event_id = "evt_b1";
    meta.event_type = typeName(1);
    meta.subscription_id = "sub_x1";
    // The headers the router writes on a fresh delivery (router/router.cc).
    for (auto [name, value] : {std::pair{records::kDeliveryId, meta.delivery_id},
                               {records::kEventId, meta.event_id},
                               {records::kEventType, meta.event_type},
                               {records::kSubscriptionId, meta.subscription_id}})
      kafka::setHeader(headers, name, value);
    kafka::setHeader(headers, records::kOriginTopic, config.topics.events());
    kafka::setHeader(headers, records::kOriginPartition, "3");
    kafka::setHeader(headers, records::kOriginOffset, "123456");
    const std::string body = eventBody(1);
    const double cpu_before = bench::cpuSeconds();
    const auto start = Clock::now();
    for (long i = 0; i < expected; ++i) {
      if (!producer.produceBlocking(baseline_topic,
                                    subs[static_cast<std::size_t>(i) % subs.size()].id, body,
                                    headers, nullptr))
        return fail("produce failed");
    }
    if (!producer.flush(std::chrono::minutes(2))) return fail("flush timed out");
    const double s = seconds(Clock::now() - start);
    std::printf(
        "baseline: %ld delivery-sized records (%zu B body, %zu headers) produced in %.2f s "
        "= %.0f records/s, bench process CPU %.2f s\n",
        expected, body.size(), headers.size(), s, static_cast<double>(expected) / s,
        bench::cpuSeconds() - cpu_before);
  }

  // One router process.
  std::map<std::string, std::string> vars = {
      {"HOOKPIPE_BROKERS", config.brokers},
      {"HOOKPIPE_TOPIC_PREFIX", config.topics.prefix},
      {"HOOKPIPE_GROUP_PREFIX", config.topics.prefix},
      {"HOOKPIPE_EVENTS_PARTITIONS", "6"},
      {"HOOKPIPE_DELIVERIES_PARTITIONS", "6"},
      {"HOOKPIPE_LOG_LEVEL", "warn"},
  };
  const char* eo_env = std::getenv("HOOKPIPE_BENCH_EXACTLY_ONCE");
  const bool exactly_once = eo_env != nullptr && std::string(eo_env) == "true";
  if (exactly_once) {
    vars["HOOKPIPE_EXACTLY_ONCE_ROUTING"] = "true";
    vars["HOOKPIPE_INSTANCE_ID"] = "bench";
    if (const char* ms = std::getenv("HOOKPIPE_EXACTLY_ONCE_COMMIT_MS"))
      vars["HOOKPIPE_EXACTLY_ONCE_COMMIT_MS"] = ms;
  }
  const std::string log_path = "/tmp/hookpipe-router-e2e-bench.log";
  testkit::SpawnOptions spawn;
  spawn.program = binary;
  spawn.args = {"router"};
  spawn.env = testkit::environmentWith(vars, "HOOKPIPE_");
  spawn.output_path = log_path;
  const auto router_start = Clock::now();
  std::unique_ptr<testkit::ChildProcess> router;
  try {
    router = std::make_unique<testkit::ChildProcess>(spawn);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 1;
  }

  // Exactly once: the router group's committed offsets on the events topic.
  auto group = kafka::Reader::open(config, config.groupId("router"));
  if (!group) return fail(group.error().message.c_str());
  auto committed = [&]() -> long {
    auto offsets = (*group)->committed(config.topics.events(), config.events_partitions);
    if (!offsets) return 0;
    long sum = 0;
    for (const auto& [_, offset] : *offsets) sum += offset;
    return sum * kFanOut;
  };
  // Otherwise the deliveries topic's high watermarks.
  auto count = [&]() -> long {
    if (exactly_once) return committed();
    long sum = 0;
    for (int p = 0; p < config.deliveries_partitions; ++p) {
      auto wm = kafka::watermarks(producer.handle(), config.topics.deliveries(), p,
                                  std::chrono::seconds(5));
      if (!wm) return -1;
      sum += wm->second;
    }
    return sum;
  };
  Clock::time_point first{}, at10{}, at90{}, done{};
  long n10 = 0, n90 = 0, n = 0;
  const auto deadline = router_start + std::chrono::minutes(5);
  while (Clock::now() < deadline) {
    n = count();
    const auto now = Clock::now();
    if (n > 0 && first == Clock::time_point{}) first = now;
    if (n >= expected / 10 && at10 == Clock::time_point{}) at10 = now, n10 = n;
    if (n >= expected * 9 / 10 && at90 == Clock::time_point{}) at90 = now, n90 = n;
    if (n >= expected) {
      done = now;
      break;
    }
    if (!router->running()) {
      std::fprintf(stderr, "the router exited early; see %s\n", log_path.c_str());
      return 1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  const double cpu = router->cpuSeconds();
  router->stop();
  if (done == Clock::time_point{}) {
    std::fprintf(stderr, "timed out: %ld of %ld deliveries; see %s\n", n, expected,
                 log_path.c_str());
    return 1;
  }
  const double total_s = seconds(done - router_start);
  std::printf(
      "router%s: %ld deliveries (%ld events x %d) in %.2f s from process start = %.0f "
      "deliveries/s\n",
      exactly_once ? " (exactly once)" : "", n, events, kFanOut, total_s,
      static_cast<double>(n) / total_s);
  std::printf("  start-up (spawn to first delivery): %.2f s\n", seconds(first - router_start));
  std::printf("  steady state (10 %% to 90 %%): %.0f deliveries/s\n",
              static_cast<double>(n90 - n10) / seconds(at90 - at10));
  std::printf("  router CPU: %.2f s (user+sys) = %.2f us/delivery, %.2f us/event\n", cpu,
              cpu * 1e6 / static_cast<double>(n), cpu * 1e6 / static_cast<double>(events));
  std::printf("topic prefix: %s (left on the broker); router log: %s\n",
              config.topics.prefix.c_str(), log_path.c_str());
  return 0;
}
