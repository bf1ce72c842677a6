// hookpipe-chaos: the publisher, receiver and report of the chaos harness. script/chaos
// runs it next to the `hookpipe` processes it starts, kills and stops, and the two talk
// through files in the run's directory:
//
//   1. it creates the topics and the subscriptions, starts the receiver, writes `ready`
//      (the topic prefix);
//   2. once script/chaos has started the roles and written `started`, it publishes
//      warm-up events until every subscription has answered 2xx once (through the retry
//      tier for the flaky ones), then writes `publishing` (the start time, epoch ms) and
//      publishes events at the rate for the run's length, recording every acknowledged id;
//   3. script/chaos runs its fault schedule, appending to `faults.log`, and writes
//      `faults-done`;
//   4. it waits for quiet — every expected pair delivered (then a short linger for late
//      duplicates), or no new pair delivered for --quiet seconds, or --max-wait — and
//      prints the report (also to `report.txt`; `timeline.tsv` per 100 ms and `pairs.tsv` per event
//      for a closer look). Exit
//      status 1 on any pair missing at quiet or a process that exited on its own.
//
// Usage: hookpipe-chaos --dir DIR [--brokers 127.0.0.1:29092] [--rate 200] [--seconds 60]
//          [--subs ok,ok,flaky,flaky] [--retry-tiers 1s,5s,30s] [--quiet 35] [--max-wait 300]
//          [--linger 3] [--receiver-port 0] [--static] [--recover]
//
// --recover: when pairs are missing at quiet, write `restart` and wait for script/chaos to
// stop every process and start one per role (`restarted`), then for quiet again: the
// report tells pairs that were stuck (delivered after the restart) from pairs that were
// lost.
#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include "benchmarks/chaos_ledger.h"
#include "benchmarks/chaos_receiver.h"
#include "benchmarks/chaos_report.h"
#include "common/kafka/kafka.h"
#include "common/subscriptions/subscription.h"

using namespace hookpipe;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

struct Options {
  std::string dir;
  std::string brokers = "127.0.0.1:29092";
  double rate = 200;
  long seconds = 60;
  std::vector<chaos::Kind> kinds = {chaos::Kind::kOk, chaos::Kind::kOk, chaos::Kind::kFlaky,
                                    chaos::Kind::kFlaky};
  std::string retry_tiers = "1s,5s,30s";
  // Longer than the longest retry tier (30 s), where a parked delivery may wait.
  long quiet_s = 35;
  long max_wait_s = 300;
  long linger_s = 3;
  unsigned short receiver_port = 0;
  bool static_membership = false;
  bool recover = false;
  int events_partitions = 6, deliveries_partitions = 6, retry_partitions = 3;
};

[[noreturn]] void usage(const std::string& problem) {
  std::fprintf(
      stderr,
      "hookpipe-chaos: %s\nusage: hookpipe-chaos --dir DIR [--brokers HOST:PORT] "
      "[--rate N] [--seconds N] [--subs ok,flaky,...] [--retry-tiers 1s,5s,30s] "
      "[--quiet S] [--max-wait S] [--linger S] [--receiver-port P] [--static] [--recover]\n",
      problem.c_str());
  std::exit(2);
}

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) usage(a + " needs a value");
      return argv[++i];
    };
    auto number = [&](double lo) {
      const std::string v = value();
      char* end = nullptr;
      const double d = std::strtod(v.c_str(), &end);
      if (v.empty() || *end != '\0' || d < lo) usage(a + ": bad number '" + v + "'");
      return d;
    };
    if (a == "--dir")
      o.dir = value();
    else if (a == "--brokers")
      o.brokers = value();
    else if (a == "--rate")
      o.rate = number(1);
    else if (a == "--seconds")
      o.seconds = static_cast<long>(number(1));
    else if (a == "--retry-tiers")
      o.retry_tiers = value();
    else if (a == "--quiet")
      o.quiet_s = static_cast<long>(number(1));
    else if (a == "--max-wait")
      o.max_wait_s = static_cast<long>(number(1));
    else if (a == "--linger")
      o.linger_s = static_cast<long>(number(0));
    else if (a == "--receiver-port")
      o.receiver_port = static_cast<unsigned short>(number(0));
    else if (a == "--static")
      o.static_membership = true;
    else if (a == "--recover")
      o.recover = true;
    else if (a == "--subs") {
      o.kinds.clear();
      std::stringstream ss(value());
      std::string k;
      while (std::getline(ss, k, ',')) {
        if (k == "ok")
          o.kinds.push_back(chaos::Kind::kOk);
        else if (k == "flaky")
          o.kinds.push_back(chaos::Kind::kFlaky);
        else
          usage("--subs: unknown kind '" + k + "' (ok or flaky)");
      }
      if (o.kinds.empty()) usage("--subs: at least one subscription");
    } else
      usage("unknown argument " + a);
  }
  if (o.dir.empty()) usage("--dir is required");
  return o;
}

void writeFile(const fs::path& path, const std::string& text) {
  const fs::path tmp = path.string() + ".tmp";
  std::ofstream(tmp) << text;
  fs::rename(tmp, path);  // script/chaos never sees half a file
}

// Subscription ids chosen so that the subscriptions land on distinct deliveries
// partitions, and the flaky ones on distinct retry partitions, as far as the counts allow
// (both topics are keyed by subscription id; librdkafka's default partitioner).
std::vector<chaos::SubSpec> chooseSubscriptions(const Options& o) {
  auto partitionOf = [](const std::string& key, int partitions) {
    return rd_kafka_msg_partitioner_consistent_random(nullptr, key.data(), key.size(), partitions,
                                                      nullptr, nullptr);
  };
  std::vector<chaos::SubSpec> subs;
  std::set<int> used_d, used_r;
  for (std::size_t i = 0; i < o.kinds.size(); ++i) {
    const bool flaky = o.kinds[i] == chaos::Kind::kFlaky;
    chaos::SubSpec best;
    for (int k = 0; k < 200; ++k) {
      chaos::SubSpec c;
      char id[64];
      std::snprintf(id, sizeof id, k == 0 ? "chaos-%s-%zu" : "chaos-%s-%zu-%d",
                    flaky ? "flaky" : "ok", i, k);
      c.id = id;
      c.kind = o.kinds[i];
      c.deliveries_partition = partitionOf(c.id, o.deliveries_partitions);
      c.retry_partition = partitionOf(c.id, o.retry_partitions);
      const bool d_free = used_d.size() >= static_cast<std::size_t>(o.deliveries_partitions) ||
                          !used_d.contains(c.deliveries_partition);
      const bool r_free = !flaky || used_r.size() >= static_cast<std::size_t>(o.retry_partitions) ||
                          !used_r.contains(c.retry_partition);
      if (k == 0) best = c;
      if (d_free && r_free) {
        best = c;
        break;
      }
    }
    used_d.insert(best.deliveries_partition);
    if (flaky) used_r.insert(best.retry_partition);
    subs.push_back(best);
  }
  return subs;
}

// Records in a topic (sum of high - low watermarks over its partitions).
long topicRecords(rd_kafka_t* rk, const std::string& topic) {
  auto partitions = kafka::partitionCount(rk, topic, 10s);
  if (!partitions) return -1;
  long total = 0;
  for (int p = 0; p < *partitions; ++p) {
    auto w = kafka::watermarks(rk, topic, p, 10s);
    if (!w) return -1;
    total += static_cast<long>(w->second - w->first);
  }
  return total;
}

std::string eventBody(const std::string& id, long seq) {
  return R"({"id":")" + id + R"(","type":"chaos.event","data":{"seq":)" + std::to_string(seq) +
         R"(,"amount":1250,"currency":"EUR","customer":"cus_0123456789","note":"a chaos run)"
         R"( event, padded to about the size of a small webhook payload ......"}})";
}

bool waitForFile(const fs::path& path, std::chrono::seconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!fs::exists(path)) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(100ms);
  }
  return true;
}

// Returns once every expected pair was delivered (and --linger passed, for late
// duplicates): "complete"; or no new pair was delivered for --quiet seconds: "quiet"; or
// after --max-wait with deliveries still going on: "max-wait".
std::string waitForQuiet(const chaos::Ledger& ledger, const Options& opt) {
  const int64_t wait_start = chaos::wallMicros();
  int64_t complete_at = -1;
  for (;;) {
    const auto p = ledger.progress();
    const int64_t now = chaos::wallMicros();
    if (p.delivered >= p.expected) {
      if (complete_at < 0) complete_at = now;
      if (now - complete_at >= opt.linger_s * 1'000'000) return "complete";
    } else if (now - std::max(p.last_progress_us, wait_start) >= opt.quiet_s * 1'000'000) {
      std::printf("hookpipe-chaos: no new delivery for %ld s; %ld of %ld pairs delivered\n",
                  opt.quiet_s, p.delivered, p.expected);
      std::fflush(stdout);
      return "quiet";
    }
    if (now - wait_start >= opt.max_wait_s * 1'000'000) {
      std::printf("hookpipe-chaos: still not complete after --max-wait %ld s\n", opt.max_wait_s);
      std::fflush(stdout);
      return "max-wait";
    }
    std::this_thread::sleep_for(100ms);
  }
}

}  // namespace

int main(int argc, char** argv) {
  const Options opt = parse(argc, argv);
  const fs::path dir = opt.dir;
  fs::create_directories(dir);

  Config config;
  config.brokers = opt.brokers;
  config.topics.prefix = "chaos" + std::to_string(std::random_device{}() % 1000000) + ".";
  config.events_partitions = opt.events_partitions;
  config.deliveries_partitions = opt.deliveries_partitions;
  config.retry_partitions = opt.retry_partitions;
  config.retry_tiers.clear();
  {
    std::stringstream ss(opt.retry_tiers);
    std::string t;
    while (std::getline(ss, t, ',')) {
      std::chrono::milliseconds d{};
      if (!parseDuration(t, d)) usage("--retry-tiers: bad duration '" + t + "'");
      config.retry_tiers.push_back(d);
    }
  }
  if (auto t = kafka::ensureTopics(config); !t) {
    std::fprintf(stderr, "hookpipe-chaos: cannot create topics at %s: %s\n", config.brokers.c_str(),
                 t.error().message.c_str());
    return 2;
  }
  // An application's producer: librdkafka's default 5 min message timeout (hookpipe's
  // own 30 s would fail events while the broker restarts, and shrink what is expected).
  auto made =
      kafka::Producer::create(config, {{"linger.ms", "5"}, {"message.timeout.ms", "300000"}});
  if (!made) {
    std::fprintf(stderr, "hookpipe-chaos: producer: %s\n", made.error().message.c_str());
    return 2;
  }
  auto producer = std::move(*made);

  const long events = static_cast<long>(opt.rate * static_cast<double>(opt.seconds));
  chaos::Ledger ledger(chooseSubscriptions(opt), events);
  chaos::Receiver receiver(ledger, opt.receiver_port);
  for (std::size_t s = 0; s < ledger.subs().size(); ++s) {
    const auto& spec = ledger.subs()[s];
    // Flaky: retries after 1 s and 6 s (the 1s and 5s tiers), never dead-lettered here.
    const std::string retry =
        spec.kind == chaos::Kind::kFlaky
            ? R"(,"retry_config":{"strategy":"exponential","retry_delay":1000,)"
              R"("backoff_multiplier":6,"max_retries":12})"
            : "";
    auto sub = parseSubscription(
        R"({"id":")" + spec.id + R"(","url":")" + receiver.url(s) +
        R"(","events":["*"],"secret":"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")" + retry + "}");
    if (!sub || !producer->produceBlocking(config.topics.subscriptions(), spec.id,
                                           toJson(*sub, true), {}, nullptr)) {
      std::fprintf(stderr, "hookpipe-chaos: cannot write subscription %s\n", spec.id.c_str());
      return 2;
    }
  }
  producer->flush(30s);
  writeFile(dir / "ready", config.topics.prefix + "\n");
  std::printf("hookpipe-chaos: topics %s*, receiver on 127.0.0.1:%u, %zu subscriptions\n",
              config.topics.prefix.c_str(), receiver.port(), ledger.subs().size());
  std::fflush(stdout);

  if (!waitForFile(dir / "started", 120s)) {
    std::fprintf(stderr, "hookpipe-chaos: script/chaos never wrote %s/started\n", opt.dir.c_str());
    return 2;
  }
  // Warm-up: the roles have joined their groups and loaded the subscriptions once a
  // warm-up event came through to every subscription — to the ok ones first, then through
  // a retry tier to the flaky ones. A retry that does not come back within 30 s is the
  // stall of issue 14 (a retry process held it through the start-up rebalance and never
  // resumed its partition): noted as a failure, and script/chaos restarts the retry
  // processes so that the run can go on.
  chaos::RunInfo run;
  const auto warm_start = std::chrono::steady_clock::now();
  std::optional<std::chrono::steady_clock::time_point> ok_warm;
  for (long k = 0; !ledger.warmedUp(); ++k) {
    const auto now = std::chrono::steady_clock::now();
    if (!ok_warm && ledger.warmedUp(true)) ok_warm = now;
    if (ok_warm && now - *ok_warm > 30s && !run.warmup_stalled) {
      run.warmup_stalled = true;
      std::printf(
          "hookpipe-chaos: warm-up: no retry came back in 30 s; restarting the retry "
          "processes\n");
      std::fflush(stdout);
      writeFile(dir / "restart-retry", "\n");
      waitForFile(dir / "restarted-retry", 60s);
    }
    if (now - warm_start > 180s) {
      std::fprintf(stderr,
                   "hookpipe-chaos: no warm-up event reached every subscription in 180 s\n");
      return 2;
    }
    const std::string id = "warm_" + std::to_string(k);
    producer->produce(config.topics.events(), id, eventBody(id, -1), {}, nullptr);
    for (int i = 0; i < 5 && !ledger.warmedUp(); ++i) producer->poll(100);
  }

  run.prefix = config.topics.prefix;
  run.rate = opt.rate;
  run.seconds = opt.seconds;
  run.static_membership = opt.static_membership;
  run.publish_start_us = chaos::wallMicros();
  writeFile(dir / "publishing", std::to_string(run.publish_start_us / 1000) + "\n");
  std::printf("hookpipe-chaos: warmed up; publishing %ld events at %.0f/s\n", events, opt.rate);
  std::fflush(stdout);

  // Paced in 2 ms steps: every event due by now is enqueued; a full local queue (the
  // broker is down) waits, and the publisher catches up once it is back.
  const auto start = std::chrono::steady_clock::now();
  long sent = 0;
  while (sent < events) {
    const double elapsed =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const long due = std::min(events, static_cast<long>(elapsed * opt.rate) + 1);
    while (sent < due) {
      const std::string id = "evt_" + std::to_string(sent);
      const long seq = sent;
      auto r = producer->produce(
          config.topics.events(), id, eventBody(id, seq), {},
          [&ledger, seq](std::optional<Error> e) { ledger.acked(seq, !e.has_value()); });
      if (!r) {
        producer->poll(10);
        continue;
      }
      ++sent;
    }
    producer->poll(0);
    std::this_thread::sleep_for(2ms);
  }
  run.publish_end_us = chaos::wallMicros();
  std::printf("hookpipe-chaos: published; waiting for acknowledgements\n");
  std::fflush(stdout);
  if (!producer->flush(6min))
    std::fprintf(stderr, "hookpipe-chaos: %d events still unacknowledged after 6 min\n",
                 producer->outstanding());

  if (!waitForFile(dir / "faults-done", std::chrono::seconds(opt.max_wait_s)))
    std::fprintf(stderr, "hookpipe-chaos: no faults-done after %ld s; reporting anyway\n",
                 opt.max_wait_s);

  run.stopped_by = waitForQuiet(ledger, opt);
  run.stop_us = chaos::wallMicros();
  if (run.stopped_by == "quiet" && opt.recover) {
    // Stuck or lost? script/chaos restarts the roles; what arrives then was stuck.
    writeFile(dir / "restart", "\n");
    if (waitForFile(dir / "restarted", 180s)) waitForQuiet(ledger, opt);
    run.restart_us = run.stop_us;
    run.stop_us = chaos::wallMicros();
  }
  receiver.stop();
  run.dead_letters = topicRecords(producer->handle(), config.topics.dlq());
  run.invalid_events = topicRecords(producer->handle(), config.topics.invalid());
  run.faults = chaos::readFaultLog((dir / "faults.log").string());

  const chaos::Verdict v = chaos::report(ledger, run);
  std::fputs(v.text.c_str(), stdout);
  std::printf("summary: %s\n", v.summary.c_str());
  writeFile(dir / "report.txt", v.text + "summary: " + v.summary + "\n");
  writeFile(dir / "timeline.tsv", chaos::timeline(ledger, run));
  writeFile(dir / "pairs.tsv", chaos::pairsTable(ledger, run));
  return v.missing > 0 || v.unexpected_exits > 0 || v.warmup_stalled ? 1 : 0;
}
