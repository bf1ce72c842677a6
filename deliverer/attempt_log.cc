#include "deliverer/attempt_log.h"

#include <span>
#include <utility>

#include "common/attempts/record.h"
#include "common/log/log.h"

namespace hookpipe::deliverer {
namespace {

int64_t steadyNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace

Result<std::shared_ptr<AttemptLog>> AttemptLog::create(const Config& config,
                                                       DelivererMetrics& metrics) {
  // One producer for every worker: one batcher, so records of all workers share batches
  // and requests (deliverer/README.md). Linger longer than the workers' own producers —
  // nobody waits on these acknowledgements — and a bounded queue (64 MiB, 100k records):
  // past it records are dropped, not queued without end.
  auto producer = kafka::Producer::create(config, {{"linger.ms", "20"},
                                                   {"batch.num.messages", "10000"},
                                                   {"compression.type", "lz4"},
                                                   {"queue.buffering.max.messages", "100000"},
                                                   {"queue.buffering.max.kbytes", "65536"}});
  if (!producer) return std::unexpected(producer.error());
  return std::shared_ptr<AttemptLog>(
      new AttemptLog(std::move(*producer), config.topics.attempts(), metrics));
}

AttemptLog::AttemptLog(std::unique_ptr<kafka::Producer> producer, std::string topic,
                       DelivererMetrics& metrics)
    : producer_(std::move(producer)), topic_(std::move(topic)), metrics_(metrics) {
  poller_ = std::jthread([this](std::stop_token stop) {
    while (!stop.stop_requested()) producer_->poll(100);
  });
}

AttemptLog::~AttemptLog() {
  poller_.request_stop();
  if (poller_.joinable()) poller_.join();
  // The reports served by this flush still count (the producer's own destructor would
  // drop them). What the broker has not taken by then is purged, so that destructor does
  // not wait again: those records are lost, counted as failed.
  if (!flush(kFlushTimeout)) {
    logger("deliverer")
        ->warn("attempt log closing with unacknowledged records count={} (lost)",
               producer_->outstanding());
    rd_kafka_purge(producer_->handle(), RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
    producer_->poll(0);
  }
}

bool AttemptLog::flush(std::chrono::milliseconds timeout) { return producer_->flush(timeout); }

void AttemptLog::onAttempt(const observe::Attempt& attempt) noexcept {
  if (!attempts::isLogged(attempt.outcome)) return;
  // Reused per worker thread: once warm, encoding allocates nothing.
  thread_local std::string buffer;
  buffer.clear();
  attempts::encode(attempt, kafka::nowMs(), buffer);
  auto produced = producer_->produceViews(topic_, attempt.subscription_id, buffer,
                                          std::span<const kafka::HeaderView>(),
                                          [this](std::optional<Error> error) {
                                            if (!error) {
                                              metrics_.attempt_log_produced.inc();
                                              return;
                                            }
                                            metrics_.attempt_log_failed.inc();
                                            warnDropped(*error);
                                          });
  if (!produced) {
    metrics_.attempt_log_dropped.inc();
    warnDropped(produced.error());
  }
}

void AttemptLog::warnDropped(const Error& error) noexcept {
  const int64_t now = steadyNs();
  int64_t last = warned_at_ns_.load(std::memory_order_relaxed);
  if (last != 0 && now - last < std::chrono::nanoseconds(kWarnInterval).count()) return;
  if (!warned_at_ns_.compare_exchange_strong(last, now, std::memory_order_relaxed)) return;
  try {
    logger("deliverer")
        ->warn("attempt log records lost error={} dropped={} failed={}", error.message,
               metrics_.attempt_log_dropped.value(), metrics_.attempt_log_failed.value());
  } catch (...) {  // logging must not take a worker down
  }
}

}  // namespace hookpipe::deliverer
