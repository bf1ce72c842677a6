#pragma once

#include <chrono>
#include <deque>
#include <functional>
#include <memory>
#include <string>

#include "common/kafka/kafka.h"

namespace hookpipe::kafka {

// Produces records that must not be lost (deliveries, retries, dead letters): a record
// the broker did not take is queued and produced again on the next pump(), so the
// caller's `on_acked` (which typically lets an offset be committed) runs only once the
// record is durably stored. Owned and pumped by one thread.
class HandOff {
 public:
  explicit HandOff(Producer& producer) : producer_(producer) {}
  void send(std::string topic, std::string key, std::string value, HeaderList headers,
            std::function<void()> on_acked);
  // Serves delivery reports (running on_acked callbacks) and re-sends failed records.
  void pump(int timeout_ms);
  // Pumps until `done()` holds or `budget` has passed; returns done().
  bool pumpUntil(const std::function<bool()>& done, std::chrono::milliseconds budget);
  std::size_t waitingToResend() const { return resend_.size(); }

 private:
  struct Job {
    std::string topic, key, value;
    HeaderList headers;
    std::function<void()> on_acked;
    int failures = 0;
  };
  void attempt(std::shared_ptr<Job> job);
  Producer& producer_;
  std::deque<std::shared_ptr<Job>> resend_;
};

}  // namespace hookpipe::kafka
