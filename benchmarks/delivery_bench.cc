// Deliverer load benchmarks on the real broker and Redis, with real `hookpipe` processes
// and a fast local sink (benchmarks/fast_sink.h, one asio thread):
//
//   e2e        N events through router and deliverer to M subscriptions, each event
//              matching F of them (fan-out F: 10 of 10 by default, 1 for the common case):
//              the steady drain's deliveries/s, CPU per delivery and broker requests per
//              type, printed next to wrk's req/s and a bare curl-multi client's req/s against
//              the same sink in the same run; then paced phases at 25, 50 and 75 % of that
//              rate: publish-to-receipt p50/p99/max, CPU and broker requests per delivery,
//              and the broker's cost of the same publishing alone.
//   isolation  8 healthy subscriptions alone, then next to one that hangs 30 s per request,
//              then next to one that answers 500: the healthy ones' deliveries/s each time.
//   ratelimit  one subscription limited to R/s, two deliverer processes, deliveries offered
//              at 1.5 R for a minute: the rate the sink saw over 60 s against R.
//
//   deliverer  the deliverer alone: N × M delivery records written straight to `deliveries`
//              (no router running), then one deliverer process drains them: deliveries/s
//              and its CPU per delivery next to the same baselines.
//
// Usage: hookpipe-delivery-bench <path to hookpipe> [e2e|deliverer|isolation|ratelimit|all]
// Env: HOOKPIPE_BENCH_BROKERS (127.0.0.1:19092), HOOKPIPE_BENCH_EVENTS (20000),
//      HOOKPIPE_BENCH_SUBS (10), HOOKPIPE_BENCH_FANOUT (subscriptions per event, a divisor
//      of SUBS; SUBS), HOOKPIPE_BENCH_SINK (own: FastSink; nginx: an nginx process, the
//      steady drain only), HOOKPIPE_BENCH_THREADS (deliverer threads, 2),
//      HOOKPIPE_BENCH_RATE (500), HOOKPIPE_BENCH_SECONDS (60), HOOKPIPE_BENCH_ROUNDS
//      (isolation rounds, 3), HOOKPIPE_BENCH_LATENCY_PERCENT (the paced phases' rates, %
//      of the measured maximum, comma-separated: 25,50,75; 0 for none), HOOKPIPE_BENCH_PEAK
//      (deliveries/s the percentages apply to instead of the measured maximum),
//      HOOKPIPE_BENCH_LATENCY_TRACE (a file for every paced latency, in arrival order),
//      HOOKPIPE_BENCH_PARTITIONS (of events, deliveries and attempts, 6),
//      HOOKPIPE_BENCH_METRICS_PORT (the e2e roles' /metrics: this, +1 and +2; 19481),
//      HOOKPIPE_BENCH_INGEST (1: after each paced phase, the same events again to a topic
//      nothing reads, the publisher's own broker CPU and requests; 0: not);
//      HOOKPIPE_BENCH_SET_<NAME>=v runs the e2e roles with HOOKPIPE_<NAME>=v (e.g.
//      HOOKPIPE_BENCH_SET_MAX_IN_FLIGHT=128, HOOKPIPE_BENCH_SET_KAFKA_FETCH_MIN_BYTES=65536).
//      Broker requests are read over JMX by benchmarks/broker_requests.java (HOOKPIPE_BENCH_JMX,
//      default that file beside this source; needs a JDK's java on PATH).
// benchmarks/plot_latency.py draws latency against rate from this program's output.
#include <curl/curl.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <exception>
#include <memory>
#include <optional>

#include "benchmarks/bench_process.h"
#include "benchmarks/broker_requests.h"
#include "benchmarks/delivery_workload.h"
#include "benchmarks/sink_baselines.h"
#include "common/kafka/kafka.h"

using namespace hookpipe;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;
using bench::envLong;
using bench::eventBody;
using bench::eventType;
using bench::produceDelivery;
using bench::produceEvents;
using bench::setUp;
using bench::Setup;
using bench::subscribe;

namespace {

std::string g_binary;

double seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

// Waits until `count()` reaches `target`; returns the rate between 10 % and 90 % of it
// (steady state), or -1 on timeout.
double steadyRate(const std::function<uint64_t()>& count, uint64_t target,
                  std::chrono::seconds timeout) {
  const auto deadline = Clock::now() + timeout;
  std::optional<Clock::time_point> t10, t90;
  uint64_t n10 = 0, n90 = 0;
  while (Clock::now() < deadline) {
    const uint64_t n = count();
    if (!t10 && n >= target / 10) t10 = Clock::now(), n10 = n;
    if (!t90 && n >= target * 9 / 10) t90 = Clock::now(), n90 = n;
    if (n >= target) break;
    std::this_thread::sleep_for(10ms);
  }
  if (!t10 || !t90 || *t90 <= *t10) return -1;
  return static_cast<double>(n90 - n10) / seconds(*t90 - *t10);
}

int64_t percentile(std::vector<int64_t>& v, double p) {
  if (v.empty()) return -1;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<std::size_t>(p * static_cast<double>(v.size())))];
}

// HOOKPIPE_BENCH_SET_<NAME>=v runs the roles with HOOKPIPE_<NAME>=v.
std::map<std::string, std::string> roleEnv() {
  std::map<std::string, std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    const std::string var = *e;
    constexpr std::string_view kSet = "HOOKPIPE_BENCH_SET_";
    if (const auto eq = var.find('='); var.starts_with(kSet) && eq != std::string::npos)
      env["HOOKPIPE_" + var.substr(kSet.size(), eq - kSet.size())] = var.substr(eq + 1);
  }
  return env;
}

// A role's environment with its /metrics on `port` and its Kafka clients reporting every
// second (the paced phases read which client sent which requests from there).
std::map<std::string, std::string> withMetrics(std::map<std::string, std::string> env,
                                               unsigned short port) {
  env.try_emplace("HOOKPIPE_METRICS_PORT", std::to_string(port));
  env.try_emplace("HOOKPIPE_KAFKA_STATISTICS_INTERVAL_MS", "1000");
  return env;
}

std::map<std::string, std::string> delivererEnv() {
  auto env = roleEnv();
  env.try_emplace("HOOKPIPE_DELIVERER_THREADS",
                  std::to_string(envLong("HOOKPIPE_BENCH_THREADS", 2)));
  return env;
}

// What both throughput modes start with: the run's size, the sink, and the baselines
// measured against it.
struct Baselines {
  long events = envLong("HOOKPIPE_BENCH_EVENTS", 20'000);
  int subs = static_cast<int>(envLong("HOOKPIPE_BENCH_SUBS", 10));
  bench::Receiver sink;
  std::string body = eventBody(1, 0);
  double wrk = bench::wrkRate(sink.url("/wrk"), body);
  double curl = bench::bareCurlRate(sink.url("/curl"), body);
};

pid_t redisPid() { return bench::pidWithCommandLine("redis-server"); }

// The paced phases' rates, % of the peak: HOOKPIPE_BENCH_LATENCY_PERCENT, comma-separated
// (25,50,75); 0 or nothing valid for none.
std::vector<long> latencyPercents() {
  std::vector<long> percents;
  const char* list = std::getenv("HOOKPIPE_BENCH_LATENCY_PERCENT");
  for (std::string_view rest = list != nullptr && *list != '\0' ? list : "25,50,75";
       !rest.empty();) {
    const auto comma = rest.find(',');
    const long p = std::atol(std::string(rest.substr(0, comma)).c_str());
    if (p > 0) percents.push_back(p);
    rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
  }
  return percents;
}

std::string brokerRequestsTool() {
  const char* t = std::getenv("HOOKPIPE_BENCH_JMX");
  return t != nullptr && *t != '\0' ? t : BENCH_SOURCE_DIR "/broker_requests.java";
}

double cpuOf(pid_t pid) { return pid > 0 ? bench::processCpuSeconds(pid) : 0.0; }

// The e2e run's paced phases, one after the other on the running roles: events published
// at `percent` % of `peak` for 10 s and timed at the sink, with what every process spent
// and the broker's requests meanwhile.
struct Paced {
  Setup& s;
  bench::Receiver& sink;
  const bench::RoleChild& deliverer;
  const bench::RoleChild& router;
  pid_t broker, redis;
  int fanout, groups;
  uint64_t before;     // the sink's count before the drain
  uint64_t want;       // deliveries expected by the end of the current phase
  long next_event;     // the next event's number
  double peak;         // deliveries/s
  std::string ingest;  // the unread topic of ingestAlone(); empty: no such probe
  std::vector<unsigned short> metrics_ports;  // the roles' /metrics

  // The requests the roles' clients counted, summed over the roles.
  bench::RequestCounts clientRequests() const {
    bench::RequestCounts sum;
    for (const unsigned short port : metrics_ports)
      for (const auto& [key, n] : bench::roleRequests(port, s.config.groupId(""))) sum[key] += n;
    return sum;
  }

  struct CpuSample {
    double deliverer, router, broker, redis, bench;
  };
  CpuSample sample() const {
    return {deliverer.cpuSeconds(), router.cpuSeconds(), cpuOf(broker), cpuOf(redis),
            bench::selfCpuSeconds()};
  }
  uint64_t delivered() const { return sink.delivered() - before; }

  // `events` events at `event_rate`/s to `topic`, numbered from next_event, then flushed.
  void publish(const std::string& topic, double event_rate, long events) {
    const auto start = Clock::now();
    for (long i = 0; i < events; ++i) {
      // One wake-up per event, at its time (polling every 200 us cost the bench about a
      // fifth of a core of the machine the pipeline runs on).
      std::this_thread::sleep_until(
          start + std::chrono::duration_cast<Clock::duration>(
                      std::chrono::duration<double>(static_cast<double>(i) / event_rate)));
      const long n = next_event + i;
      s.producer->produce(topic, "evt_p" + std::to_string(n),
                          eventBody(n, bench::steadyMicros(), eventType(n, groups)), {}, nullptr);
      s.producer->poll(0);
    }
    s.producer->flush(1min);
  }

  // The publishing application's own share of the broker: the same events at the same
  // rate to a topic no hookpipe process reads (`ingest`, as many partitions as events).
  // The drain's backlog was published before its window opened, so what the paced phase
  // costs the broker beyond this is what compares with the drain.
  // The broker's CPU per second with the pipeline running and nothing published, taken
  // out of the ingest probe's figure: that is the pipeline's, not the publisher's.
  double idle_broker_cpu = 0;
  void idle() {
    const bench::RequestCounts r0 = bench::brokerRequests(broker, brokerRequestsTool());
    const CpuSample cpu0 = sample();
    const auto start = Clock::now();
    std::this_thread::sleep_for(10s);
    const double secs = seconds(Clock::now() - start);
    const CpuSample cpu1 = sample();
    idle_broker_cpu = (cpu1.broker - cpu0.broker) / secs;
    auto ms = [&](double a, double b) { return (b - a) * 1e3 / secs; };
    std::printf(
        "e2e idle (the pipeline running, nothing published): CPU ms/s: deliverer %.1f, router "
        "%.1f, broker %.1f, redis %.1f\n",
        ms(cpu0.deliverer, cpu1.deliverer), ms(cpu0.router, cpu1.router), idle_broker_cpu * 1e3,
        ms(cpu0.redis, cpu1.redis));
    bench::printRequests("e2e idle", r0, bench::brokerRequests(broker, brokerRequestsTool()), secs,
                         0);
  }

  void ingestAlone(long percent, double event_rate, long events, double paced_broker_us,
                   uint64_t deliveries) {
    const bench::RequestCounts r0 = bench::brokerRequests(broker, brokerRequestsTool());
    const double cpu0 = cpuOf(broker);
    const auto start = Clock::now();
    publish(ingest, event_rate, events);
    const double secs = seconds(Clock::now() - start);
    const double publisher = std::max(0.0, cpuOf(broker) - cpu0 - idle_broker_cpu * secs);
    const double broker_us = publisher * 1e6 / static_cast<double>(deliveries);
    std::printf(
        "e2e ingest alone at %ld %%: the same %ld events to an unread topic cost the broker "
        "%.1f us per paced delivery beyond its idle; the pipeline's own share of the paced "
        "broker CPU: %.1f us per delivery\n",
        percent, events, broker_us, paced_broker_us - broker_us);
    bench::printRequests(fmt::format("e2e ingest alone at {} %", percent), r0,
                         bench::brokerRequests(broker, brokerRequestsTool()), secs,
                         static_cast<double>(deliveries));
  }

  void phase(long percent) {
    const double event_rate = peak * static_cast<double>(percent) / 100.0 / fanout;
    const long events = static_cast<long>(event_rate * 10);
    const uint64_t phase_before = delivered();
    sink.own.takeLatencies();
    sink.own.record = true;
    const bench::RequestCounts r0 = bench::brokerRequests(broker, brokerRequestsTool());
    const bench::RequestCounts by_client0 = clientRequests();
    const CpuSample cpu0 = sample();
    const auto start = Clock::now();
    publish(s.config.topics.events(), event_rate, events);
    next_event += events;
    want += static_cast<uint64_t>(events) * static_cast<uint64_t>(fanout);
    const auto deadline = Clock::now() + 60s;
    while (delivered() < want && Clock::now() < deadline) std::this_thread::sleep_for(10ms);
    const double secs = seconds(Clock::now() - start);
    sink.own.record = false;
    const CpuSample cpu1 = sample();
    const bench::RequestCounts by_client1 = clientRequests();
    const uint64_t got = delivered() - phase_before;
    const auto n = static_cast<double>(got);
    auto per = [&](double a, double b) { return got > 0 ? (b - a) * 1e6 / n : -1.0; };
    auto lat = sink.own.takeLatencies();
    if (const char* trace = std::getenv("HOOKPIPE_BENCH_LATENCY_TRACE")) {
      if (FILE* f = std::fopen((std::string(trace) + "." + std::to_string(percent)).c_str(), "w")) {
        for (auto v : lat) std::fprintf(f, "%ld\n", static_cast<long>(v));
        std::fclose(f);
      }
    }
    if (delivered() < want)
      std::printf(
          "e2e paced at %ld %%: only %lu of %lu deliveries arrived within 60 s of the last "
          "publish\n",
          percent, static_cast<unsigned long>(got),
          static_cast<unsigned long>(events) * static_cast<unsigned long>(fanout));
    std::printf(
        "e2e CPU per delivery paced at %ld %%: deliverer %.1f us, router %.1f us, broker %.1f "
        "us, redis %.1f us, bench (sink + producer) %.1f us\n",
        percent, per(cpu0.deliverer, cpu1.deliverer), per(cpu0.router, cpu1.router),
        per(cpu0.broker, cpu1.broker), per(cpu0.redis, cpu1.redis), per(cpu0.bench, cpu1.bench));
    bench::printRequests(fmt::format("e2e paced at {} %", percent), r0,
                         bench::brokerRequests(broker, brokerRequestsTool()), secs, n);
    // As the roles' clients count them (every second, so ±1 s of requests at each end).
    bench::printRequests(fmt::format("e2e paced at {} %, by client", percent), by_client0,
                         by_client1, secs, n);
    std::sort(lat.begin(), lat.end());
    std::printf(
        "e2e latency at %ld %% of peak, fan-out %d: %.0f deliveries/s (%.0f events/s) for 10 s: "
        "publish-to-receipt p50 %.1f ms, p99 %.1f ms, max %.1f ms (%zu samples)\n",
        percent, fanout, event_rate * fanout, event_rate,
        static_cast<double>(percentile(lat, 0.5)) / 1000,
        static_cast<double>(percentile(lat, 0.99)) / 1000,
        lat.empty() ? -1.0 : static_cast<double>(lat.back()) / 1000, lat.size());
    if (!ingest.empty() && got > 0)
      ingestAlone(percent, event_rate, events, per(cpu0.broker, cpu1.broker), got);
  }
};

int e2e() {
  Baselines base;
  auto& [events, subs, sink, body, wrk, curl] = base;
  const int fanout = static_cast<int>(envLong("HOOKPIPE_BENCH_FANOUT", subs));
  if (fanout < 1 || subs % fanout != 0) {
    std::fprintf(stderr, "HOOKPIPE_BENCH_FANOUT must divide HOOKPIPE_BENCH_SUBS\n");
    return 1;
  }
  // Subscription j takes event type j % groups; event i has type i % groups.
  const int groups = subs / fanout;
  if (sink.nginx) sink.baseline_requests = sink.nginx->answered();
  std::printf(
      "baselines against %s (%zu B body): wrk -t2 -c64 %.0f req/s; bare curl-multi "
      "(1 thread, 64 in flight) %.0f req/s\n",
      sink.name(), body.size(), wrk, curl);

  auto s = setUp("delivere2e");
  if (!s) return 1;
  for (int j = 0; j < subs; ++j)
    if (!subscribe(*s, "sub_e" + std::to_string(j), sink.url("/ok/" + std::to_string(j)), "",
                   eventType(j, groups)))
      return 1;
  if (!produceEvents(*s, events, groups)) return 1;
  const uint64_t before = sink.delivered();
  const uint64_t target = static_cast<uint64_t>(events) * static_cast<uint64_t>(fanout);
  const pid_t broker = bench::brokerPid();
  const pid_t redis = redisPid();
  const bench::RequestCounts requests0 = bench::brokerRequests(broker, brokerRequestsTool());
  const double broker_cpu0 = cpuOf(broker);
  const auto drain_start = Clock::now();
  // The roles' /metrics: HOOKPIPE_BENCH_METRICS_PORT (19481) for the router, the next two
  // for the deliverer and the retry worker.
  const auto port = static_cast<unsigned short>(envLong("HOOKPIPE_BENCH_METRICS_PORT", 19481));
  bench::RoleChild router(g_binary, "router", s->config, withMetrics(roleEnv(), port),
                          "/tmp/hookpipe-bench-router.log");
  bench::RoleChild deliverer(g_binary, "deliverer", s->config,
                             withMetrics(delivererEnv(), port + 1),
                             "/tmp/hookpipe-bench-deliverer.log");
  bench::RoleChild retry(g_binary, "retry", s->config, withMetrics(roleEnv(), port + 2),
                         "/tmp/hookpipe-bench-retry.log");
  const double rate = steadyRate([&] { return sink.delivered() - before; }, target, 5min);
  const double drain_secs = seconds(Clock::now() - drain_start);
  const double router_cpu = router.cpuSeconds();
  const double deliverer_cpu = deliverer.cpuSeconds();
  const double broker_steady = cpuOf(broker) - broker_cpu0;
  const auto n_target = static_cast<double>(target);
  std::printf(
      "e2e: %ld events, fan-out %d of %d subscriptions = %lu deliveries to %s; steady %.0f "
      "deliveries/s (%.2f x wrk, %.2f x bare curl-multi); CPU per delivery: deliverer %.1f us, "
      "router %.1f us, broker %.1f us\n",
      events, fanout, subs, static_cast<unsigned long>(target), sink.name(), rate, rate / wrk,
      rate / curl, deliverer_cpu * 1e6 / n_target, router_cpu * 1e6 / n_target,
      broker_steady * 1e6 / n_target);
  bench::printRequests("e2e drain", requests0, bench::brokerRequests(broker, brokerRequestsTool()),
                       drain_secs, n_target);
  if (rate <= 0) return 1;
  if (sink.nginx) return 0;  // nginx cannot time the paced phases' deliveries

  // HOOKPIPE_BENCH_PEAK fixes the rate the percentages apply to (deliveries/s), so that
  // runs of two binaries are paced alike.
  const long fixed_peak = envLong("HOOKPIPE_BENCH_PEAK", 0);
  Paced paced{*s,     sink,   deliverer, router,
              broker, redis,  fanout,    groups,
              before, target, events,    fixed_peak > 0 ? static_cast<double>(fixed_peak) : rate};
  paced.metrics_ports = {port, static_cast<unsigned short>(port + 1),
                         static_cast<unsigned short>(port + 2)};
  // HOOKPIPE_BENCH_INGEST=0 leaves out the ingest-alone probe after each paced phase.
  if (envLong("HOOKPIPE_BENCH_INGEST", 1) != 0) {
    Config ingest = bench::benchConfig("delivere2eingest");
    ingest.events_partitions = s->config.events_partitions;
    if (auto t = kafka::ensureTopics(ingest); !t) {
      std::fprintf(stderr, "cannot create the ingest probe's topics: %s\n",
                   t.error().message.c_str());
      return 1;
    }
    paced.ingest = ingest.topics.events();
  }
  const std::vector<long> percents = latencyPercents();
  if (!paced.ingest.empty() && !percents.empty()) paced.idle();
  for (const long percent : percents) paced.phase(percent);
  return 0;
}

// The deliverer alone on a backlog of delivery records (no router, no producer running).
int delivererAlone() {
  Baselines base;
  auto& [events, subs, sink, body, wrk, curl] = base;
  auto s = setUp("deliveralone");
  if (sink.nginx) sink.baseline_requests = sink.nginx->answered();
  if (!s) return 1;
  for (int i = 0; i < subs; ++i)
    if (!subscribe(*s, "sub_a" + std::to_string(i), sink.url("/ok/" + std::to_string(i)))) return 1;
  for (long e = 0; e < events; ++e)
    for (int i = 0; i < subs; ++i)
      if (!produceDelivery(*s, "evt_a" + std::to_string(e), "sub_a" + std::to_string(i), body,
                           true))
        return 1;
  if (!s->producer->flush(2min)) return 1;
  const uint64_t target = static_cast<uint64_t>(events) * static_cast<uint64_t>(subs);
  bench::RoleChild deliverer(g_binary, "deliverer", s->config, delivererEnv(),
                             "/tmp/hookpipe-bench-deliverer.log");
  const double rate = steadyRate([&] { return sink.delivered(); }, target, 5min);
  const double cpu = deliverer.cpuSeconds();
  std::printf(
      "deliverer alone: %lu deliveries from a backlog; steady %.0f deliveries/s (%.2f x bare "
      "curl-multi %.0f, %.2f x wrk %.0f); deliverer CPU per delivery %.1f us\n",
      static_cast<unsigned long>(target), rate, rate / curl, curl, rate / wrk, wrk,
      cpu * 1e6 / static_cast<double>(target));
  return rate > 0 ? 0 : 1;
}

// Healthy subscriptions' deliveries/s, alone or next to one bad endpoint.
double isolationRun(const char* label, const std::string& bad_path) {
  const long events = envLong("HOOKPIPE_BENCH_EVENTS", 20'000) / 2;
  constexpr int kHealthy = 8;
  bench::FastSink sink;
  auto s = setUp("deliveriso");
  if (!s) return -1;
  for (int i = 0; i < kHealthy; ++i)
    if (!subscribe(*s, "sub_h" + std::to_string(i), sink.url("/ok/" + std::to_string(i))))
      return -1;
  if (!bad_path.empty() && !subscribe(*s, "sub_bad", sink.url(bad_path))) return -1;
  if (!produceEvents(*s, events)) return -1;
  // Each run's logs kept apart (/tmp/hookpipe-bench-iso<n>-<role>.log), for a run that stands out.
  static int run = 0;
  const std::string logs = "/tmp/hookpipe-bench-iso" + std::to_string(++run) + "-";
  bench::RoleChild router(g_binary, "router", s->config, {}, logs + "router.log");
  bench::RoleChild deliverer(g_binary, "deliverer", s->config, delivererEnv(),
                             logs + "deliverer.log");
  bench::RoleChild retry(g_binary, "retry", s->config, {}, logs + "retry.log");
  const uint64_t target = static_cast<uint64_t>(events) * kHealthy;
  const double rate = steadyRate([&] { return sink.count("ok"); }, target, 5min);
  std::printf(
      "isolation %-28s healthy deliveries/s %.0f (bad endpoint answered %lu)\n", label, rate,
      static_cast<unsigned long>(sink.count(bad_path.empty() ? "-" : bad_path.substr(1, 4))));
  return rate;
}

// Rounds of the three runs (HOOKPIPE_BENCH_ROUNDS, 3), each round alone / hanging / failing in
// turn, so that a noisy moment or a cold broker moves one round, not the verdict: the
// kept shares are the medians of the rounds'.
int isolation() {
  const long rounds = std::max(1L, envLong("HOOKPIPE_BENCH_ROUNDS", 3));
  std::vector<double> slow_kept, failing_kept;
  for (long r = 0; r < rounds; ++r) {
    const double alone = isolationRun("8 healthy alone:", "");
    const double slow = isolationRun("+1 hanging 30 s/request:", "/slow/x");
    const double failing = isolationRun("+1 answering 500:", "/fail/x");
    if (alone <= 0 || slow <= 0 || failing <= 0) return 1;
    slow_kept.push_back(100 * slow / alone);
    failing_kept.push_back(100 * failing / alone);
    std::printf(
        "isolation round %ld: kept %.0f %% next to a hanging endpoint, %.0f %% next to a "
        "failing one\n",
        r + 1, slow_kept.back(), failing_kept.back());
  }
  auto median = [](std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v.size() % 2 == 1 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
  };
  std::printf(
      "isolation: healthy throughput kept %.0f %% next to a hanging endpoint, %.0f %% next "
      "to a failing one (median of %ld rounds; target >= 90 %%)\n",
      median(slow_kept), median(failing_kept), rounds);
  return 0;
}

int rateLimit() {
  const long rate = envLong("HOOKPIPE_BENCH_RATE", 500);
  const long window = envLong("HOOKPIPE_BENCH_SECONDS", 60);
  bench::FastSink sink;
  auto s = setUp("deliverrl");
  if (!s) return 1;
  if (!subscribe(*s, "sub_rl", sink.url("/rl"),
                 R"(,"rate_limit":{"per_second":)" + std::to_string(rate) + "}"))
    return 1;
  std::map<std::string, std::string> one = {{"HOOKPIPE_DELIVERER_THREADS", "1"}};
  auto env2 = one;
  env2["HOOKPIPE_INSTANCE_ID"] = "b";
  one["HOOKPIPE_INSTANCE_ID"] = "a";
  bench::RoleChild d1(g_binary, "deliverer", s->config, one, "/tmp/hookpipe-bench-deliverer.log");
  bench::RoleChild d2(g_binary, "deliverer", s->config, env2, "/tmp/hookpipe-bench-deliverer2.log");
  bench::RoleChild retry(g_binary, "retry", s->config, {}, "/tmp/hookpipe-bench-retry.log");
  std::this_thread::sleep_for(5s);  // both deliverers join the group
  // Deliveries offered at 1.5 × the limit, spread over every partition (so both
  // deliverers send to the endpoint), for the window plus warm-up and tail.
  const double offer = 1.5 * static_cast<double>(rate);
  const long total = static_cast<long>(offer * static_cast<double>(window + 15));
  std::atomic<bool> stop{false};
  std::thread offerer([&] {
    const auto start = Clock::now();
    for (long i = 0; i < total && !stop; ++i) {
      while (seconds(Clock::now() - start) < static_cast<double>(i) / offer && !stop)
        std::this_thread::sleep_for(500us);
      produceDelivery(*s, "evt_rl" + std::to_string(i), "sub_rl", eventBody(i, 0));
      s->producer->poll(0);
    }
  });
  while (sink.count("rl") == 0) std::this_thread::sleep_for(10ms);
  std::this_thread::sleep_for(5s);  // warm-up: the initial burst and the first parkings
  const uint64_t n0 = sink.count("rl");
  const auto t0 = Clock::now();
  std::this_thread::sleep_for(std::chrono::seconds(window));
  const uint64_t n1 = sink.count("rl");
  const double measured = static_cast<double>(n1 - n0) / seconds(Clock::now() - t0);
  stop = true;
  offerer.join();
  std::printf(
      "rate limit %ld/s, 2 deliverer processes, offered %.0f/s: sink saw %.1f/s over %ld s "
      "(%+.2f %%; target within +-5 %%)\n",
      rate, offer, measured, window, 100 * (measured / static_cast<double>(rate) - 1));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s <path to hookpipe> [e2e|deliverer|isolation|ratelimit|all]\n",
                 argv[0]);
    return 2;
  }
  g_binary = argv[1];
  const std::string mode = argc > 2 ? argv[2] : "all";
  curl_global_init(CURL_GLOBAL_DEFAULT);
  int rc = 0;
  try {
    if (mode == "e2e" || mode == "all") rc |= e2e();
    if (mode == "deliverer" || mode == "all") rc |= delivererAlone();
    if (mode == "isolation" || mode == "all") rc |= isolation();
    if (mode == "ratelimit" || mode == "all") rc |= rateLimit();
  } catch (const std::exception& e) {
    // A sink that cannot start (nginx not installed, no port): said, not a crash.
    std::fprintf(stderr, "hookpipe-delivery-bench: %s\n", e.what());
    return 1;
  }
  return rc;
}
