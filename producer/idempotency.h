#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/config/config.h"
#include "common/metrics/metrics.h"
#include "common/redis/redis.h"

namespace hookpipe::producer {

// Remembers idempotency keys (an Idempotency-Key header or an event's own id) in Redis
// for a window, with the first answer given under that key.
//
// A key moves through two states: "p" (claimed with SET NX + TTL, the write is on its
// way to the broker) and "d<status> <body>" (done: the answer to replay). A request
// whose write fails releases its keys so that the client can try again.
//
// claim() runs on the HTTP threads (one pooled connection per call); complete() and
// release() are called from the Kafka acknowledgement thread and only queue work for
// this object's own thread, so a slow Redis never holds up acknowledgements.
// Redis down: claim() answers kUnavailable (the caller accepts the request and logs),
// and Redis is not tried again for a second.
class IdempotencyStore {
 public:
  struct Claim {
    enum class State { kNew, kPending, kDone, kUnavailable };
    State state = State::kUnavailable;
    int status = 0;    // kDone: the first answer
    std::string body;  // kDone
  };

  // Redis round trips and failed ones are counted in `round_trips` and `errors` (the
  // producer's metrics, outliving the store) when given.
  struct RedisCounters {  // no member initializers: g++ 12 refuses `= {}` below with them
    metrics::Counter* round_trips;
    metrics::Counter* errors;
  };
  IdempotencyStore(const Config& config, std::chrono::seconds window, RedisCounters counters = {});
  ~IdempotencyStore();
  IdempotencyStore(const IdempotencyStore&) = delete;
  IdempotencyStore& operator=(const IdempotencyStore&) = delete;

  // The Redis key of an Idempotency-Key given to `route`, and of an event id.
  std::string requestKey(const std::string& route, const std::string& key) const;
  std::string eventKey(const std::string& event_id) const;

  // Claims every key in one round trip.
  std::vector<Claim> claim(const std::vector<std::string>& keys);
  // Records the answer under `key`, then calls `then` (on this object's thread), so a
  // client that repeats the request after seeing the answer finds it recorded. Ops run
  // in order: an empty key only waits for the work queued before it.
  void complete(std::string key, int status, std::string body,
                std::function<void()> then = nullptr);
  void release(std::vector<std::string> keys);

 private:
  struct Op {
    std::string key;
    std::string value;  // empty: delete
    std::function<void()> then;
  };
  std::unique_ptr<redis::Client> takeClient();
  void giveBack(std::unique_ptr<redis::Client> c);
  void markDown(const std::string& why);
  // Counts one round trip, and an error when it failed.
  void counted(bool ok) const;
  void run();

  std::string prefix_;
  std::string host_;
  int port_;
  std::chrono::seconds window_;
  RedisCounters counters_;
  std::mutex pool_mu_;
  std::vector<std::unique_ptr<redis::Client>> pool_;
  std::atomic<int64_t> down_until_ms_{0};
  std::atomic<int64_t> last_warning_ms_{0};

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Op> ops_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace hookpipe::producer
