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
// Threads: onAttempt() on any worker thread, concurrently; a poller thread owned here
// serves the producer's delivery reports (counted as produced or failed). Destruction stops
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

 private:
  struct TopicDeleter {
    void operator()(rd_kafka_topic_t* t) const { rd_kafka_topic_destroy(t); }
  };
  AttemptLog(std::string topic, DelivererMetrics& metrics, std::chrono::milliseconds flush_timeout)
      : topic_(std::move(topic)), metrics_(metrics), flush_timeout_(flush_timeout) {}
  Result<void> open(const Config& config);
  static void onReport(rd_kafka_t*, const rd_kafka_message_t* msg, void* opaque) noexcept;
  void warnLost(rd_kafka_resp_err_t err) noexcept;

  const std::string topic_;
  DelivererMetrics& metrics_;
  const std::chrono::milliseconds flush_timeout_;
  kafka::HandlePtr rk_;
  std::unique_ptr<rd_kafka_topic_t, TopicDeleter> rkt_;  // destroyed before rk_
  std::atomic<int64_t> warned_at_ns_{0};                 // steady clock; rate-limits the warning
  std::jthread poller_;
};

}  // namespace hookpipe::deliverer
