#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <thread>

#include "common/loadtest/tally.h"

namespace hookpipe::loadtest {

// How the receiver answers: each request waits a uniform time in [latency_min, latency_max],
// then fails with `fail_status` with probability `fail_rate`, else 200. Seeded, so a test
// can count on its draws.
class AnswerPolicy {
 public:
  AnswerPolicy(std::chrono::microseconds latency_min, std::chrono::microseconds latency_max,
               double fail_rate, int fail_status, uint64_t seed);
  struct Answer {
    std::chrono::microseconds delay{0};
    int status = 200;
  };
  Answer next();

 private:
  std::mt19937_64 rng_;
  std::uniform_int_distribution<int64_t> delay_;
  std::bernoulli_distribution fail_;
  int fail_status_;
};

// The load generator's webhook receiver: HTTP/1.1 with keep-alive (Boost.Beast coroutines on
// one asio thread, which it starts and joins), listening on host:port (port 0: the kernel
// picks). Each request of run `run` (its body carries the run's marker, see event.h) is
// counted in `tally` with its webhook-id and publish-to-receipt latency; other requests are
// answered 200 and counted as foreign. Warm-up events (seq >= kWarmupSeq) are answered 200
// and counted in `warmup` by request path, so its `received` is the number of distinct
// subscription paths that delivered one. Construction throws when it cannot listen.
class LoadReceiver {
 public:
  LoadReceiver(const std::string& host, unsigned short port, std::string run, AnswerPolicy policy,
               Tally& tally, Tally& warmup);
  ~LoadReceiver();
  LoadReceiver(const LoadReceiver&) = delete;
  LoadReceiver& operator=(const LoadReceiver&) = delete;
  unsigned short port() const;
  // The URL a subscription reaches it at: http://host:port<path>.
  std::string url(const std::string& path) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace hookpipe::loadtest
