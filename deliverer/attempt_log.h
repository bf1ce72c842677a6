#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>

#include "common/config/config.h"
#include "common/error.h"
#include "common/kafka/kafka.h"
#include "common/observe/observer.h"
#include "deliverer/metrics.h"

namespace hookpipe::deliverer {

// The attempt log of record: every delivered, retried and dead-lettered step
// (attempts::isLogged) becomes one JSON record (common/attempts/record.h) on
// `<prefix>attempts`, keyed by subscription id, so a subscription's attempts stay in order
// on one partition. Registered by the role when HOOKPIPE_ATTEMPT_LOG is on.
//
// Cost: onAttempt() encodes into a thread_local buffer and hands the bytes to one
// librdkafka producer shared by every worker (librdkafka copies them and batches: linger
// 20 ms, lz4), so a record costs an encode, a copy and a queue insert on the worker;
// nothing waits on the broker. The producer is the log's own rd_kafka_t rather than a
// kafka::Producer: its records go through a topic handle held here (no topic lookup per
// record) and without a per-record callback object (the delivery reports are counted by
// one callback for all), each record timestamped with its finished_ms. A full local
// queue (the broker unreachable for long) drops the record — counted, logged at a rate
// limit — rather than holding up a delivery: the log is an observation, the delivery
// itself goes on and is never lost with it.
//
// A fatal producer error (the idempotent producer's, rd_kafka_fatal_error()) leaves the
// handle unable to produce ever again: the poller then replaces the producer with a new
// one (counted in hookpipe_deliverer_attempt_log_producer_restarts_total; what the old one
// still held is purged and counted as failed) and the log goes on.
//
// Threads: onAttempt() on any worker thread, concurrently; a poller thread owned here
// serves the producer's delivery reports (counted as produced or failed) and replaces the
// producer after a fatal error. The current producer is an atomic shared_ptr: a worker
// holds the one it loaded for its produce call, and the poller destroys a replaced one
// only once no worker holds it. Destruction stops
// the poller and flushes for at most the flush timeout; what is still unacknowledged then
// (and on a SIGKILL, the last few ms) is lost from the log.
class AttemptLog final : public observe::DeliveryObserver {
 public:
  static constexpr std::chrono::milliseconds kFlushTimeout{5000};
  static constexpr std::chrono::seconds kWarnInterval{10};

  // `flush_timeout`: how long destruction waits for the broker to take what is queued.
  static Result<std::shared_ptr<AttemptLog>> create(
      const Config& config, DelivererMetrics& metrics,
      std::chrono::milliseconds flush_timeout = kFlushTimeout);
  ~AttemptLog() override;
  AttemptLog(const AttemptLog&) = delete;
  AttemptLog& operator=(const AttemptLog&) = delete;

  void onAttempt(const observe::Attempt& attempt) noexcept override;
  // Waits until every record handed over so far is acknowledged or failed; false on
  // timeout.
  bool flush(std::chrono::milliseconds timeout);
  // The current producer's handle (tests: rd_kafka_test_fatal_error()).
  rd_kafka_t* handleForTesting() const { return handle_.load()->rk.get(); }

 private:
  struct TopicDeleter {
    void operator()(rd_kafka_topic_t* t) const { rd_kafka_topic_destroy(t); }
  };
  // One producer and its topic handle.
  struct Handle {
    kafka::HandlePtr rk;
    std::unique_ptr<rd_kafka_topic_t, TopicDeleter> rkt;  // destroyed before rk
  };
  AttemptLog(const Config& config, DelivererMetrics& metrics,
             std::chrono::milliseconds flush_timeout)
      : config_(config),
        topic_(config.topics.attempts()),
        metrics_(metrics),
        flush_timeout_(flush_timeout) {}
  Result<std::shared_ptr<Handle>> open();
  // On the poller: after a fatal error, a new producer in place of `old`.
  void restart(std::shared_ptr<Handle> old);
  static void onReport(rd_kafka_t*, const rd_kafka_message_t* msg, void* opaque) noexcept;
  static void onError(rd_kafka_t*, int err, const char* reason, void* opaque) noexcept;
  void warnLost(rd_kafka_resp_err_t err) noexcept;

  const Config config_;
  const std::string topic_;
  DelivererMetrics& metrics_;
  const std::chrono::milliseconds flush_timeout_;
  std::atomic<std::shared_ptr<Handle>> handle_;
  std::atomic<bool> fatal_{false};        // the current producer reported a fatal error
  std::atomic<int64_t> warned_at_ns_{0};  // steady clock; rate-limits the warning
  std::jthread poller_;
};

}  // namespace hookpipe::deliverer
