#include "deliverer/attempt_log.h"

#include <thread>
#include <utility>
#include <vector>

#include "common/attempts/record.h"
#include "common/kafka/stats.h"
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
  std::shared_ptr<AttemptLog> log(new AttemptLog(config, metrics, flush_timeout));
  auto handle = log->open();
  if (!handle) return std::unexpected(handle.error());
  log->handle_.store(std::move(*handle));
  AttemptLog* self = log.get();
  log->poller_ = std::jthread([self](std::stop_token stop) {
    std::vector<std::shared_ptr<Handle>> retired;  // replaced, maybe still held by a worker
    while (!stop.stop_requested()) {
      std::shared_ptr<Handle> h = self->handle_.load();
      rd_kafka_poll(h->rk.get(), 100);
      if (self->fatal_.exchange(false)) {
        self->restart(h);
        if (self->handle_.load() != h) retired.push_back(std::move(h));
      }
      // Destroyed here, on the poller, once no worker holds it any more.
      std::erase_if(retired, [](const auto& r) { return r.use_count() == 1; });
    }
  });
  return log;
}

Result<std::shared_ptr<AttemptLog::Handle>> AttemptLog::open() {
  // One producer for every worker: one batcher, so records of all workers share batches
  // and requests (deliverer/README.md). Idempotent like every hookpipe producer; a longer
  // linger than the workers' producers (HOOKPIPE_ATTEMPT_LOG_LINGER_MS, 20 ms) — nobody
  // waits on these acknowledgements — and a bounded queue (100k records, 64 MiB): past it
  // records are dropped, not queued without end.
  std::string error;
  kafka::ConfPtr conf =
      kafka::baseConf(config_,
                      {{"enable.idempotence", "true"},
                       {"linger.ms", std::to_string(config_.attempt_log_linger_ms)},
                       {"batch.num.messages", "10000"},
                       {"compression.type", "lz4"},
                       {"message.timeout.ms", "30000"},
                       {"queue.buffering.max.messages", "100000"},
                       {"queue.buffering.max.kbytes", "65536"},
                       {"client.id", config_.groupId("attempt-log")},
                       {"statistics.interval.ms", std::to_string(kafka::statsInterval().count())}},
                      error);
  if (!conf) return fail("attempt log producer config: " + error);
  rd_kafka_conf_set_dr_msg_cb(conf.get(), &AttemptLog::onReport);
  rd_kafka_conf_set_error_cb(conf.get(), &AttemptLog::onError);
  rd_kafka_conf_set_opaque(conf.get(), this);
  // Its requests in /metrics like every client's; its statistics are not otherwise read.
  kafka::detail::trackStats(conf.get(), this, false);
  char errstr[512];
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf.get(), errstr, sizeof errstr);
  if (rk == nullptr) return fail(std::string("attempt log producer: ") + errstr);
  conf.release();  // owned by rk now
  auto h = std::make_shared<Handle>();
  h->rk.reset(rk);
  h->rkt.reset(rd_kafka_topic_new(rk, topic_.c_str(), nullptr));
  if (!h->rkt)
    return std::unexpected(kafka::toError(rd_kafka_last_error(), "attempt log topic " + topic_));
  return h;
}

void AttemptLog::restart(std::shared_ptr<Handle> old) {
  char reason[512] = "";
  const rd_kafka_resp_err_t err = rd_kafka_fatal_error(old->rk.get(), reason, sizeof reason);
  auto fresh = open();
  if (!fresh) {
    logger("deliverer")
        ->error(
            "attempt log producer failed fatally ({}: {}) and a new one cannot be made: {} "
            "(trying again)",
            rd_kafka_err2name(err), reason, fresh.error().message);
    fatal_ = true;
    std::this_thread::sleep_for(std::chrono::seconds(1));
    return;
  }
  handle_.store(std::move(*fresh));
  metrics_.attempt_log_restarts.inc();
  logger("deliverer")
      ->error(
          "attempt log producer failed fatally ({}: {}): replaced by a new producer; what "
          "it still held is lost (count={})",
          rd_kafka_err2name(err), reason, rd_kafka_outq_len(old->rk.get()));
  // The old one takes nothing more: purge it, its reports count the records as failed.
  rd_kafka_purge(old->rk.get(), RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
  rd_kafka_flush(old->rk.get(), 1000);
}

AttemptLog::~AttemptLog() {
  poller_.request_stop();
  if (poller_.joinable()) poller_.join();
  kafka::detail::untrackClient(this);
  std::shared_ptr<Handle> h = handle_.load();
  if (!h) return;  // open() failed
  // The reports served by this flush still count. What the broker has not taken by then
  // is purged and lost (counted as failed when its report is served).
  if (!flush(flush_timeout_)) {
    logger("deliverer")
        ->warn("attempt log closing with unacknowledged records count={} (lost)",
               rd_kafka_outq_len(h->rk.get()));
    rd_kafka_purge(h->rk.get(), RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
    rd_kafka_flush(h->rk.get(), 1000);
  }
}

bool AttemptLog::flush(std::chrono::milliseconds timeout) {
  return rd_kafka_flush(handle_.load()->rk.get(), static_cast<int>(timeout.count())) ==
         RD_KAFKA_RESP_ERR_NO_ERROR;
}

void AttemptLog::onAttempt(const observe::Attempt& attempt) noexcept {
  if (!attempts::isLogged(attempt.outcome)) return;
  // Reused per worker thread: once warm, encoding allocates nothing.
  thread_local std::string buffer;
  buffer.clear();
  const int64_t finished_ms = kafka::nowMs();
  attempts::encode(attempt, finished_ms, buffer);
  const std::shared_ptr<Handle> h = handle_.load();  // kept alive by this call
  const rd_kafka_resp_err_t err = rd_kafka_producev(
      h->rk.get(), RD_KAFKA_V_RKT(h->rkt.get()), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
      RD_KAFKA_V_VALUE(buffer.data(), buffer.size()),
      RD_KAFKA_V_KEY(attempt.subscription_id.data(), attempt.subscription_id.size()),
      RD_KAFKA_V_TIMESTAMP(finished_ms), RD_KAFKA_V_END);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    if (err == RD_KAFKA_RESP_ERR__FATAL) fatal_ = true;  // the poller replaces the producer
    metrics_.attempt_log_dropped.inc();
    warnLost(err);
  }
}

void AttemptLog::onError(rd_kafka_t* rk, int err, const char* reason, void* opaque) noexcept {
  auto* self = static_cast<AttemptLog*>(opaque);
  if (err == RD_KAFKA_RESP_ERR__FATAL) {
    self->fatal_ = true;
    return;
  }
  (void)rk;
  try {
    logger("deliverer")
        ->debug("attempt log producer error={} reason=\"{}\"",
                rd_kafka_err2name(static_cast<rd_kafka_resp_err_t>(err)), reason);
  } catch (...) {
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
