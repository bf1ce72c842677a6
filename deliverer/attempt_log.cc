#include "deliverer/attempt_log.h"

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
                                                       DelivererMetrics& metrics,
                                                       std::chrono::milliseconds flush_timeout) {
  std::shared_ptr<AttemptLog> log(new AttemptLog(config.topics.attempts(), metrics, flush_timeout));
  if (auto opened = log->open(config); !opened) return std::unexpected(opened.error());
  return log;
}

Result<void> AttemptLog::open(const Config& config) {
  // One producer for every worker: one batcher, so records of all workers share batches
  // and requests (deliverer/README.md). Idempotent like every hookpipe producer; a longer
  // linger than the workers' producers — nobody waits on these acknowledgements — and a
  // bounded queue (100k records, 64 MiB): past it records are dropped, not queued without
  // end.
  std::string error;
  kafka::ConfPtr conf = kafka::baseConf(config,
                                        {{"enable.idempotence", "true"},
                                         {"linger.ms", "20"},
                                         {"batch.num.messages", "10000"},
                                         {"compression.type", "lz4"},
                                         {"message.timeout.ms", "30000"},
                                         {"queue.buffering.max.messages", "100000"},
                                         {"queue.buffering.max.kbytes", "65536"}},
                                        error);
  if (!conf) return fail("attempt log producer config: " + error);
  rd_kafka_conf_set_dr_msg_cb(conf.get(), &AttemptLog::onReport);
  rd_kafka_conf_set_opaque(conf.get(), this);
  char errstr[512];
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf.get(), errstr, sizeof errstr);
  if (rk == nullptr) return fail(std::string("attempt log producer: ") + errstr);
  conf.release();  // owned by rk now
  rk_.reset(rk);
  rkt_.reset(rd_kafka_topic_new(rk, topic_.c_str(), nullptr));
  if (!rkt_)
    return std::unexpected(kafka::toError(rd_kafka_last_error(), "attempt log topic " + topic_));
  poller_ = std::jthread([this](std::stop_token stop) {
    while (!stop.stop_requested()) rd_kafka_poll(rk_.get(), 100);
  });
  return {};
}

AttemptLog::~AttemptLog() {
  poller_.request_stop();
  if (poller_.joinable()) poller_.join();
  if (!rk_) return;  // open() failed
  // The reports served by this flush still count. What the broker has not taken by then
  // is purged and lost (counted as failed when its report is served).
  if (!flush(flush_timeout_)) {
    logger("deliverer")
        ->warn("attempt log closing with unacknowledged records count={} (lost)",
               rd_kafka_outq_len(rk_.get()));
    rd_kafka_purge(rk_.get(), RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
    rd_kafka_flush(rk_.get(), 1000);
  }
}

bool AttemptLog::flush(std::chrono::milliseconds timeout) {
  return rd_kafka_flush(rk_.get(), static_cast<int>(timeout.count())) == RD_KAFKA_RESP_ERR_NO_ERROR;
}

void AttemptLog::onAttempt(const observe::Attempt& attempt) noexcept {
  if (!attempts::isLogged(attempt.outcome)) return;
  // Reused per worker thread: once warm, encoding allocates nothing.
  thread_local std::string buffer;
  buffer.clear();
  const int64_t finished_ms = kafka::nowMs();
  attempts::encode(attempt, finished_ms, buffer);
  const rd_kafka_resp_err_t err = rd_kafka_producev(
      rk_.get(), RD_KAFKA_V_RKT(rkt_.get()), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
      RD_KAFKA_V_VALUE(buffer.data(), buffer.size()),
      RD_KAFKA_V_KEY(attempt.subscription_id.data(), attempt.subscription_id.size()),
      RD_KAFKA_V_TIMESTAMP(finished_ms), RD_KAFKA_V_END);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    metrics_.attempt_log_dropped.inc();
    warnLost(err);
  }
}

void AttemptLog::onReport(rd_kafka_t*, const rd_kafka_message_t* msg, void* opaque) noexcept {
  auto* self = static_cast<AttemptLog*>(opaque);
  if (msg->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
    self->metrics_.attempt_log_produced.inc();
    return;
  }
  self->metrics_.attempt_log_failed.inc();
  self->warnLost(msg->err);
}

void AttemptLog::warnLost(rd_kafka_resp_err_t err) noexcept {
  const int64_t now = steadyNs();
  int64_t last = warned_at_ns_.load(std::memory_order_relaxed);
  if (last != 0 && now - last < std::chrono::nanoseconds(kWarnInterval).count()) return;
  if (!warned_at_ns_.compare_exchange_strong(last, now, std::memory_order_relaxed)) return;
  try {
    logger("deliverer")
        ->warn("attempt log records lost error=\"{}\" dropped={} failed={}",
               kafka::toError(err, "attempt log").message, metrics_.attempt_log_dropped.value(),
               metrics_.attempt_log_failed.value());
  } catch (...) {  // logging must not take a worker down
  }
}

}  // namespace hookpipe::deliverer
