#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>

#include "common/config/config.h"
#include "common/loadtest/event.h"
#include "common/loadtest/options.h"

namespace hookpipe::loadtest {

// What publishing did so far; written by the publishing thread, read by the progress line.
struct PublishCounters {
  std::atomic<uint64_t> published{0};  // events the API (or the broker) accepted
  std::atomic<uint64_t> errors{0};     // events it did not: refused, failed, no answer
  std::atomic<uint64_t> requests{0};   // HTTP requests (or Kafka messages) sent
  std::atomic<int64_t> first_send_us{0};
  std::atomic<int64_t> last_accept_us{0};
  void noteError(std::string message);
  std::string lastError() const;

 private:
  mutable std::mutex mu_;
  std::string last_error_;
};

// Which event is due when: event `seq` at start + seq / rate. Pure, for the tests.
std::chrono::steady_clock::time_point dueAt(std::chrono::steady_clock::time_point start,
                                            double rate_per_s, uint64_t seq);

// Publishes at options.rate_per_s for options.duration from the calling thread, then waits
// for the answers still outstanding (at most 30 s); returns early, once what is in flight
// has its answer, when `stop` is set. Through the API (curl multi, options.concurrency
// requests in flight, keep-alive, POST /v1/events or /v1/events/batch) or straight to the
// events topic (--via kafka, the idempotent producer). A rate the sender cannot keep up is
// not caught up later: what is behind at the end is simply not sent.
void publish(const Options& options, const Config& config, const EventSpec& spec,
             PublishCounters& counters, const std::atomic<bool>& stop);

// The number of events a batch answer says were accepted ({"accepted":N,…}); nullopt when
// the body is not such an answer.
std::optional<uint64_t> acceptedInBatchAnswer(const std::string& body);

}  // namespace hookpipe::loadtest
