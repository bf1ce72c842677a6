#include "deliverer/deliverer.h"

#include <algorithm>
#include <cstdlib>
#include <limits>

#include "common/log/log.h"
#include "common/ops_events/event.h"
#include "common/webhook/platform_rules.h"

namespace hookpipe::deliverer {
namespace {

constexpr auto kDrainBudget = std::chrono::seconds(10);
// Lanes waiting for a token, a slot or a retry time are looked at again this soon.
constexpr int kBusyLanesWaitMs = 10;

std::shared_ptr<spdlog::logger> log() {
  static auto l = logger("deliverer");
  return l;
}

}  // namespace

Deliverer::Deliverer(const Config& config, SubscriptionTable& table, Shared& shared, int worker)
    : config_(config),
      table_(table),
      shared_(shared),
      metrics_(shared.metrics),
      worker_(worker),
      redis_(config.redis_host, config.redis_port),
      limiter_(redis_, config.topics.prefix, shared.metrics) {}

Deliverer::~Deliverer() = default;

Result<std::unique_ptr<Deliverer>> Deliverer::create(const Config& config, SubscriptionTable& table,
                                                     Shared& shared, int worker) {
  std::unique_ptr<Deliverer> d(new Deliverer(config, table, shared, worker));
  // A failed produce is retried by the hand-off; librdkafka itself never gives up.
  auto producer = kafka::Producer::create(
      config,
      {{"message.timeout.ms", "0"}, {"client.id", config.groupId("deliverer") + "-producer"}});
  if (!producer) return std::unexpected(producer.error());
  auto transport = Transport::create(d->config_, shared.metrics);
  if (!transport) return std::unexpected(transport.error());
  d->transport_ = std::move(*transport);
  d->disposition_ =
      std::make_unique<Disposition>(d->config_, shared, table, std::move(*producer), worker);
  d->admission_ = std::make_unique<Admission>(
      Admission::Settings{.max_in_flight = config.max_in_flight,
                          .max_waiting = config.max_waiting,
                          .endpoint_concurrency = config.endpoint_concurrency},
      table, shared.guard, d->limiter_, shared.metrics, static_cast<AdmissionSink&>(*d), d->clock_);
  d->dedup_ = std::make_unique<Dedup>(d->redis_, d->config_, shared.metrics);
  const std::string group = config.groupId("deliverer");
  kafka::Properties extra = kafka::hotFetchProperties(config);
  // Static membership (HOOKPIPE_INSTANCE_ID) needs one id per consumer: worker 0 keeps
  // the plain one, the others add their index.
  if (const char* instance = std::getenv("HOOKPIPE_INSTANCE_ID");
      instance != nullptr && *instance != '\0' && worker > 0)
    extra["group.instance.id"] = group + "-" + instance + "-w" + std::to_string(worker);
  auto consumer = kafka::Consumer::create(config, group, d.get(), extra);
  if (!consumer) return std::unexpected(consumer.error());
  d->consumer_ = std::move(*consumer);
  d->disposition_->attach(*d->consumer_);
  // Through the Consumer, which enables it again on a consumer recreated after a fence.
  d->consumer_->enableIoEvent(d->transport_->wakeFd(), "c");
  rd_kafka_queue_t* q = rd_kafka_queue_get_main(d->disposition_->producer().handle());
  rd_kafka_queue_io_event_enable(q, d->transport_->wakeFd(), "p", 1);
  rd_kafka_queue_destroy(q);
  if (auto r = d->consumer_->subscribe({config.topics.deliveries()}); !r)
    return std::unexpected(r.error());
  return d;
}

int Deliverer::run(const std::atomic<bool>& stop) {
  auto last_report = std::chrono::steady_clock::now();
  std::vector<Pending> batch;
  while (!stop && !shared_.halt && !consumer_->fatal()) {
    disposition_->pump();
    const std::size_t room = admission_->room(transport_->inFlight(), transport_->slowInFlight());
    while (batch.size() < room) {
      kafka::MessagePtr msg = consumer_->poll(0);
      if (!msg) break;
      if (msg->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        log()->warn("consumer error={}", rd_kafka_message_errstr(msg.get()));
        continue;
      }
      disposition_->takenIn(msg->partition, msg->offset);
      batch.push_back({kafka::OwnedMessage::copyOf(msg.get(), false),
                       kafka::PackedHeaders::of(msg.get()),
                       records::DeliveryMeta::fromMessage(msg.get())});
    }
    if (!batch.empty()) intake(batch);
    batch.clear();  // keeps its capacity for the next batch
    if (admission_->busy()) admission_->pump();
    dedup_->flush();
    const int timeout_ms = admission_->busy()                               ? kBusyLanesWaitMs
                           : transport_->inFlight() < config_.max_in_flight ? 200
                                                                            : 1000;
    transport_->drive(timeout_ms);
    completeFinished();
    if (auto now = std::chrono::steady_clock::now(); now - last_report > std::chrono::seconds(10)) {
      last_report = now;
      logStats("");
    }
  }
  log()->info("worker={} stopping: draining in_flight={}", worker_, transport_->inFlight());
  drain([this] { return transport_->inFlight() == 0 && disposition_->waitingToResend() == 0; },
        kDrainBudget);
  dedup_->flush(true);
  disposition_->producer().flush(kDrainBudget);
  consumer_->close();
  if (consumer_->fatal()) shared_.halt = true;
  logStats("stopped ");
  return consumer_->fatal() ? 1 : 0;
}

void Deliverer::logStats(const char* what) {
  const auto count = [](const metrics::Counter& c) { return c.value(); };
  log()->info(
      "{}worker={} delivered={} retried={} dead_lettered={} parked={} duplicates_skipped={} "
      "unknown_subscription={} in_flight={} waiting={} breakers_open={} breakers_opened={} "
      "breakers_closed={} breaker_cut_short={} throttle_backoffs={} partitions_held={} "
      "rate_limit_round_trips={}",
      what, worker_, count(metrics_.stepsOf(observe::Outcome::kDelivered)),
      count(metrics_.stepsOf(observe::Outcome::kRetried)),
      count(metrics_.stepsOf(observe::Outcome::kDeadLettered)),
      count(metrics_.stepsOf(observe::Outcome::kParked)), count(metrics_.duplicates_skipped),
      count(metrics_.unknown_subscription), transport_->inFlight(), admission_->waiting(),
      metrics_.breakers_open.value() + metrics_.breakers_half_open.value(),
      count(metrics_.breaker_opened), count(metrics_.breaker_closed),
      count(metrics_.deadLettersFor("breaker_open")), count(metrics_.throttle_backoffs),
      disposition_->partitionsHeld(), count(metrics_.redis_round_trips_rate_limit));
}

void Deliverer::intake(std::vector<Pending>& batch) {
  for (const Pending& p : batch) disposition_->begin(p.msg);
  dedup_->lookUp(batch);
  for (std::size_t i = 0; i < batch.size(); ++i) {
    const records::DeliveryMeta& meta = batch[i].meta;
    auto sub = table_.find(meta.subscription_id);
    if (!sub) {
      // Deleted subscription: its deliveries are dropped and counted.
      log()->debug("dropping delivery of deleted subscription={}", meta.subscription_id);
      disposition_->skip(batch[i], "unknown_subscription");
    } else if (dedup_->deliveredBefore(i, meta.delivery_id) ||
               transport_->isInFlight(meta.delivery_id)) {
      // Delivered already, or the same delivery is in flight right now (a replay or a
      // re-routed copy that overtook the first one's 2xx): that attempt decides.
      log()->debug("skipping delivered id={}", meta.delivery_id);
      disposition_->skip(batch[i], "duplicate", sub.get());
    } else if (!sub->is_active) {
      disposition_->parkPaused(std::move(batch[i]), sub.get());
    } else {
      admission_->admit(std::move(batch[i]), sub);
    }
  }
}

void Deliverer::completeFinished() {
  CURLcode code = CURLE_OK;
  while (auto t = transport_->nextFinished(code)) complete(std::move(t), code);
}

void Deliverer::complete(std::unique_ptr<Transfer> t, CURLcode code) {
  long status = 0;
  curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &status);
  // Back to the pool however this ends (its message has been moved on by then).
  struct Recycle {
    Transport& transport;
    std::unique_ptr<Transfer>& t;
    ~Recycle() { transport.recycle(std::move(t)); }
  } recycle{*transport_, t};
  records::DeliveryMeta& meta = t->p.meta;
  const int64_t now = kafka::nowMs();
  const int64_t duration_us = steadyUs() - t->started_us;

  // The generic rules plus the platform's own (Slack's permanent error bodies, Discord's
  // and Telegram's retry_after in the JSON body; common/webhook/platform_rules.h).
  const webhook::Judgement judged = webhook::judge(webhook::platformOf(t->sub->format),
                                                   {.status = status,
                                                    .transport = code,
                                                    .refused = t->http.refused(),
                                                    .body_head = t->http.responseSnippet(),
                                                    .retry_after = t->http.retryAfter()},
                                                   now / 1000);
  const webhook::Outcome& outcome = judged.outcome;
  meta.last_status = static_cast<int>(status);
  const bool throttled = status == 429 || status == 503;
  shared_.guard.release(
      meta.subscription_id,
      {outcome.verdict == webhook::Verdict::kDelivered,
       outcome.verdict == webhook::Verdict::kRetry && status != 429, throttled,
       std::max<int64_t>(0, duration_us / 1000), ops_events::isOperational(meta.event_type)},
      now);
  AttemptResult attempt{.status = status,
                        .started_ms = t->started_ms,
                        .duration_us = std::max<int64_t>(0, duration_us),
                        .error_class = outcome.error_class,
                        .request_bytes = t->p.msg.value.size(),
                        .response_head = t->http.responseSnippet()};

  if (outcome.verdict == webhook::Verdict::kDelivered) {
    dedup_->markDelivered(meta.delivery_id);
    disposition_->delivered(t->p, *t->sub, attempt);
    return;
  }
  const std::string message = t->http.failureMessage(code, status);
  attempt.error_message = message;
  if (outcome.disable_subscription) disposition_->disableSubscription(*t->sub);
  if (outcome.verdict == webhook::Verdict::kRetry) {
    if (disposition_->retryOrDeadLetter(t->p, *t->sub, outcome, message, judged.retry_after,
                                        attempt))
      admission_->retryInPlace(std::move(t->p), t->sub->id);
  } else {
    meta.error_class = outcome.error_class;
    meta.error_message = message;
    disposition_->deadLetter(std::move(t->p), outcome.error_class, t->sub.get(), &attempt);
  }
}

void Deliverer::start(Pending p, std::shared_ptr<const Subscription> sub) {
  transport_->start(std::move(p), std::move(sub));
}

void Deliverer::parkOverflow(Pending p, const Subscription& sub, int64_t due_ms,
                             std::string_view cause) {
  disposition_->park(std::move(p), due_ms, cause, &sub);
}

void Deliverer::parkForBreaker(Pending p, const Subscription& sub, int64_t open_until_ms) {
  disposition_->parkForBreaker(std::move(p), sub, open_until_ms);
}

void Deliverer::parkPaused(Pending p, const Subscription& sub) {
  disposition_->parkPaused(std::move(p), &sub);
}

void Deliverer::dropUnknown(Pending p) { disposition_->skip(p, "unknown_subscription"); }

void Deliverer::holdPartition(int32_t partition) { disposition_->holdPartition(partition); }

void Deliverer::releasePartition(int32_t partition) { disposition_->releasePartition(partition); }

void Deliverer::drain(const std::function<bool()>& done, std::chrono::milliseconds budget) {
  const auto deadline = std::chrono::steady_clock::now() + budget;
  while (!done() && std::chrono::steady_clock::now() < deadline) {
    disposition_->pump();
    transport_->drive(50);
    completeFinished();
  }
}

void Deliverer::onAssigned(const rd_kafka_topic_partition_list_t& partitions) {
  // Where each partition ended when it became ours: what lies below may have been
  // delivered by its previous owner and is checked against Redis (Dedup).
  for (int i = 0; i < partitions.cnt; ++i) {
    const auto& p = partitions.elems[i];
    int64_t low = 0, high = 0;
    const auto err = rd_kafka_query_watermark_offsets(consumer_->handle(), p.topic, p.partition,
                                                      &low, &high, 5000);
    dedup_->assigned(p.partition, err == RD_KAFKA_RESP_ERR_NO_ERROR
                                      ? high
                                      : std::numeric_limits<int64_t>::max());
  }
  log()->info("worker={} assigned partitions={}", worker_, partitions.cnt);
}

bool Deliverer::holdsPause(const std::string& topic, int32_t partition) const {
  return disposition_->holdsPause(topic, partition);
}

std::optional<int64_t> Deliverer::resumeOffset(const std::string&, int32_t partition) const {
  return disposition_->resumeOffset(partition);
}

void Deliverer::onRevoked(const rd_kafka_topic_partition_list_t& partitions) {
  auto revoked = [&partitions](const Pending& p) {
    for (int i = 0; i < partitions.cnt; ++i)
      if (partitions.elems[i].partition == p.msg.partition &&
          p.msg.topic == partitions.elems[i].topic)
        return true;
    return false;
  };
  // Deliveries still waiting in lanes belong to the next owner: they were not sent, so
  // they are let go unfinished (their offsets are not stored). Partitions held paused for
  // ordered lanes are let go with them, unpaused.
  std::vector<int32_t> numbers;
  for (int i = 0; i < partitions.cnt; ++i) numbers.push_back(partitions.elems[i].partition);
  admission_->revoke(revoked, numbers);
  disposition_->revokeHolds(partitions);
  log()->info("worker={} revoked partitions={} draining in_flight={}", worker_, partitions.cnt,
              transport_->inFlight());
  // In-flight requests and hand-offs of those partitions get a budget to finish.
  drain(
      [&] {
        return !transport_->anyInFlight(revoked) && disposition_->waitingToResend() == 0 &&
               rd_kafka_outq_len(disposition_->producer().handle()) == 0;
      },
      kDrainBudget);
  dedup_->flush(true);
  // Whatever is still running belongs to the next owner now: let it go unfinished.
  transport_->abandon(revoked, [this](Transfer& t) {
    shared_.guard.release(t.p.meta.subscription_id, {}, kafka::nowMs());
  });
  disposition_->forget(partitions);
}

}  // namespace hookpipe::deliverer
