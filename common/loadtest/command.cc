// `hookpipe loadtest`: set-up (receiver, subscriptions, warm-up), the run, the drain, the
// clean-up and the summary. The parts are in the rest of common/loadtest.
#include "common/loadtest/command.h"

#include <spdlog/fmt/fmt.h>
#include <unistd.h>

#include <cstdlib>
#include <iostream>
#include <memory>
#include <random>
#include <thread>

#include "common/loadtest/api_client.h"
#include "common/loadtest/options.h"
#include "common/loadtest/publisher.h"
#include "common/loadtest/receiver.h"
#include "common/loadtest/report.h"
#include "common/role/role.h"

namespace hookpipe::loadtest {
namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

std::string newRunId() {
  std::random_device rd;
  std::mt19937_64 rng((static_cast<uint64_t>(rd()) << 32) ^ rd());
  constexpr char kDigits[] = "0123456789abcdefghijklmnopqrstuvwxyz";
  std::string id = "r";
  for (int i = 0; i < 10; ++i) id += kDigits[rng() % 36];
  return id;
}

// Sends a warm-up event every 500 ms until each of `paths` subscriptions delivered one (the
// router and deliverer load a new subscription from its topic a moment after it is created;
// events published before that would match nothing). False on timeout or stop.
bool warmUp(ApiClient& api, const EventSpec& spec, const Tally& warmup, int paths,
            std::chrono::seconds timeout, std::string& error) {
  const auto deadline = Clock::now() + timeout;
  uint64_t seq = kWarmupSeq;
  while (Clock::now() < deadline && !stopRequested()) {
    if (auto r = api.publishEvent(eventJson(spec, seq++, wallMicros())); !r)
      error = r.error().message;
    const auto next = Clock::now() + 500ms;
    while (Clock::now() < next) {
      if (warmup.received() >= static_cast<uint64_t>(paths)) return true;
      std::this_thread::sleep_for(20ms);
    }
  }
  return warmup.received() >= static_cast<uint64_t>(paths);
}

// The progress line on stderr, from its own thread: redrawn with \r every second on a
// terminal, otherwise one line every 5 s.
class Progress {
 public:
  Progress(const PublishCounters& counters, const Tally* tally, uint64_t fan_out,
           const std::atomic<int64_t>& drain_start_us)
      : counters_(counters),
        tally_(tally),
        fan_out_(fan_out),
        drain_start_us_(drain_start_us),
        tty_(isatty(STDERR_FILENO) == 1) {
    thread_ = std::thread([this] { loop(); });
  }
  ~Progress() {
    stop_ = true;
    thread_.join();
    if (tty_ && drawn_) std::cerr << "\n";
  }

 private:
  void loop() {
    const auto start = Clock::now();
    const auto every = tty_ ? 1s : 5s;
    auto next = start + every;
    while (!stop_) {
      std::this_thread::sleep_for(100ms);
      if (Clock::now() < next) continue;
      next += every;
      const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
      std::optional<Tally::Snapshot> receipts;
      if (tally_) receipts = tally_->snapshot();
      const uint64_t published = counters_.published;
      // While draining, the published rate is over the publishing time, not until now.
      const int64_t drain_start = drain_start_us_;
      const double publish_s =
          drain_start == 0 ? elapsed : (drain_start - counters_.first_send_us.load()) / 1e6;
      std::string line = progressLine(elapsed, publish_s, published, counters_.errors, receipts,
                                      published * fan_out_);
      if (drain_start != 0)
        line += fmt::format("  draining {:.0f} s", (wallMicros() - drain_start) / 1e6);
      if (tty_)
        std::cerr << "\r" << line << "\x1b[K" << std::flush;
      else
        std::cerr << line << std::endl;
      drawn_ = true;
    }
  }

  const PublishCounters& counters_;
  const Tally* tally_;
  uint64_t fan_out_;
  const std::atomic<int64_t>& drain_start_us_;
  bool tty_;
  bool drawn_ = false;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace

int runCommand(const Config& config, const std::vector<std::string>& args) {
  for (const auto& a : args)
    if (a == "--help" || a == "-h") {
      std::cout << kUsage;
      return 0;
    }
  const char* env_token = std::getenv("HOOKPIPE_API_TOKEN");
  auto parsed = parseOptions(args, env_token ? env_token : "");
  if (!parsed) {
    for (const auto& p : parsed.error()) std::cerr << "loadtest: " << p << "\n";
    std::cerr << kUsage;
    return 2;
  }
  const Options& o = *parsed;
  const std::string run = newRunId();
  EventSpec spec{run, o.event_type, o.payload_bytes, o.via == Via::kKafka};

  Tally tally;
  Tally warmup;
  std::unique_ptr<LoadReceiver> receiver;
  if (o.receiver) {
    try {
      const uint64_t seed =
          o.seed != 0 ? o.seed : static_cast<uint64_t>(Clock::now().time_since_epoch().count());
      receiver = std::make_unique<LoadReceiver>(
          o.receiver_host, o.receiver_port, run,
          AnswerPolicy(o.latency_min, o.latency_max, o.fail_rate, o.fail_status, seed), tally,
          warmup);
    } catch (const std::exception& e) {
      std::cerr << "loadtest: cannot listen on " << o.receiver_host << ":" << o.receiver_port
                << ": " << e.what() << "\n";
      return 1;
    }
    std::cerr << "loadtest: receiver at " << receiver->url("/") << " (run " << run << ")\n";
  }

  ApiClient api(o.api, o.token);
  std::vector<std::string> subscriptions;
  auto clean_up = [&] {
    for (const auto& id : subscriptions)
      if (auto r = api.deleteSubscription(id); !r)
        std::cerr << "loadtest: could not delete subscription " << id << ": " << r.error().message
                  << "\n";
    subscriptions.clear();
  };
  if (o.subscribe) {
    for (int i = 0; i < o.fan_out; ++i) {
      auto id = api.createSubscription(receiver->url("/loadtest/" + std::to_string(i)),
                                       o.event_type, "hookpipe loadtest " + run, o.retry_delay,
                                       o.max_retries, o.max_concurrency);
      if (!id) {
        std::cerr << "loadtest: " << id.error().message << "\n";
        clean_up();
        return 1;
      }
      subscriptions.push_back(*id);
    }
    std::string error;
    if (!warmUp(api, EventSpec{run, o.event_type, 0, false}, warmup, o.fan_out, 60s, error)) {
      std::cerr << "loadtest: the new subscriptions delivered no warm-up event within 60 s (are "
                   "a router and a deliverer running, and may they reach "
                << receiver->url("/") << "?)" << (error.empty() ? "" : ": " + error) << "\n";
      clean_up();
      return 1;
    }
  }

  PublishCounters counters;
  Summary s;
  s.via = o.via == Via::kKafka ? "kafka" : "http";
  s.target_rate_per_s = o.rate_per_s;
  s.duration_s = std::chrono::duration<double>(o.duration).count();
  s.concurrency = o.concurrency;
  s.batch = o.batch;
  s.fan_out = o.fan_out;
  {
    std::atomic<int64_t> drain_start_us{0};
    Progress progress(counters, receiver ? &tally : nullptr, static_cast<uint64_t>(o.fan_out),
                      drain_start_us);
    publish(o, config, spec, counters, stopRequested());
    s.publish_elapsed_s = (std::max(counters.last_accept_us.load(), counters.first_send_us.load()) -
                           counters.first_send_us) /
                          1e6;
    // The drain: wait for what is still on its way.
    drain_start_us = wallMicros();
    const auto drain_start = Clock::now();
    const uint64_t expected = counters.published * static_cast<uint64_t>(o.fan_out);
    while (receiver && tally.received() < expected && Clock::now() - drain_start < o.drain &&
           !stopRequested())
      std::this_thread::sleep_for(20ms);
    s.drain_s = std::chrono::duration<double>(Clock::now() - drain_start).count();
  }
  clean_up();

  s.interrupted = stopRequested();
  s.published = counters.published;
  s.publish_errors = counters.errors;
  s.requests = counters.requests;
  s.last_publish_error = counters.lastError();
  if (receiver) addReceipts(s, tally.snapshot(), counters.first_send_us);
  receiver.reset();
  std::cout << (o.json ? summaryJson(s) + "\n" : summaryText(s)) << std::flush;
  if (s.published == 0) {
    std::cerr << "loadtest: nothing was published"
              << (s.last_publish_error.empty() ? "" : ": " + s.last_publish_error) << "\n";
    return 1;
  }
  return s.complete() ? 0 : 1;
}

}  // namespace hookpipe::loadtest
