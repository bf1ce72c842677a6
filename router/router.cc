#include "router/router.h"

#include <unistd.h>

#include <array>
#include <cstdlib>

#include "common/format/formatter.h"
#include "common/log/log.h"
#include "common/records/delivery.h"

namespace hookpipe::router {
namespace {

constexpr std::size_t kMaxPendingEvents = 20'000;
// How long the loop waits for an event while routed events wait for their delivery
// records' acknowledgements. A record arriving ends the wait at once, so this only bounds
// how late an acknowledgement is served (its offset stored, a failed send re-sent): 1 ms
// made the loop wake 900 times a second at paced rates to find nothing
// (benchmarks/README.md, "The router's wake-ups").
constexpr int kAckWaitMs = 10;
constexpr std::size_t kMaxTransactionEvents = 20'000;
constexpr auto kDrainBudget = std::chrono::seconds(10);
constexpr auto kTransactionCallTimeout = std::chrono::seconds(30);
constexpr auto kInitTransactionsTimeout = std::chrono::seconds(60);
constexpr int kTransactionCallAttempts = 10;
constexpr uint32_t kMatchSampleEvery = 8;

std::shared_ptr<spdlog::logger> log() {
  static auto l = logger("router");
  return l;
}

// Producer settings for delivery records, measured with hookpipe-router-e2e-bench
// (benchmarks/README.md).
kafka::Properties producerProperties(const Config& config) {
  // linger.ms (HOOKPIPE_ROUTER_LINGER_MS) 10 by default: at steady load each ms of
  // linger is a ms of latency, but fewer, larger batches cost the broker (and the
  // deliverers' fetches) less, which at high rates shortens the tail.
  kafka::Properties props = {{"linger.ms", std::to_string(config.router_linger_ms)},
                             {"client.id", config.groupId("router") + "-producer"}};
  if (!config.exactly_once_routing) {
    props["message.timeout.ms"] = "0";  // HandOff semantics: a record is never given up
    return props;
  }
  // Stable across restarts when HOOKPIPE_INSTANCE_ID is set, so that a restarted router's
  // init_transactions aborts the transaction its killed predecessor left open at once
  // (otherwise read_committed readers wait up to transaction.timeout.ms for it).
  std::string id = config.groupId("router") + "-";
  if (const char* instance = std::getenv("HOOKPIPE_INSTANCE_ID"); instance && *instance) {
    id += instance;
  } else {
    char host[256] = {};
    gethostname(host, sizeof host - 1);
    id += std::string(host) + "-" + std::to_string(getpid());
    log()->warn(
        "exactly-once routing without HOOKPIPE_INSTANCE_ID: transactional.id={} is not stable "
        "across restarts; a killed router's open transaction holds back read_committed "
        "readers until it times out",
        id);
  }
  props["transactional.id"] = id;
  props["transaction.timeout.ms"] = "15000";
  props["message.timeout.ms"] = "15000";  // librdkafka: at most the transaction timeout
  return props;
}

}  // namespace

// What the delivery records of one event share; alive until the last is acknowledged.
struct Router::Event {
  int32_t partition = 0;
  int64_t offset = 0;
  std::string partition_text, offset_text;  // header values
  json::Event event;
  int remaining = 1;  // one share for the routing itself, one per delivery record
};

// One delivery record (at least once), kept until acknowledged so it can be produced again.
struct Router::Delivery {
  std::shared_ptr<Event> event;
  std::string subscription_id;
  std::string delivery_id;
  // The subscription's format made it (common/format); none: the event's own bytes.
  std::optional<std::string> body;

  std::string_view bodyView() const { return body ? std::string_view(*body) : event->event.body; }
};

Router::Router(const Config& config, SubscriptionTable& table, metrics::Registry& registry)
    : config_(config),
      events_topic_(config.topics.events()),
      deliveries_topic_(config.topics.deliveries()),
      invalid_topic_(config.topics.invalid()),
      table_(table),
      parser_(config.max_event_bytes),
      progress_([this](const std::string& topic, int32_t partition, int64_t next) {
        consumer_->storeOffset(topic, partition, next);
      }),
      exactly_once_(config.exactly_once_routing),
      metrics_(registry) {}

Router::~Router() {
  if (producer_) producer_->flush(kDrainBudget);
  for (Delivery* d : resend_) delete d;
}

Result<std::unique_ptr<Router>> Router::create(const Config& config, SubscriptionTable& table,
                                               metrics::Registry& registry) {
  std::unique_ptr<Router> r(new Router(config, table, registry));
  auto producer = kafka::Producer::create(config, producerProperties(config));
  if (!producer) return std::unexpected(producer.error());
  r->producer_ = std::move(*producer);
  r->hand_off_ = std::make_unique<kafka::HandOff>(*r->producer_);
  if (r->exactly_once_) {
    // Fences an older producer with the same transactional.id and aborts what it left
    // open, before the consumer fetches the committed offsets.
    if (auto t = r->producer_->initTransactions(kInitTransactionsTimeout); !t)
      return fail(t.error().message, t.error().retriable);
  }
  kafka::Properties consumer_props = kafka::hotFetchProperties(config);
  // Exactly once: offsets are committed only inside transactions.
  if (r->exactly_once_) consumer_props["enable.auto.commit"] = "false";
  auto consumer =
      kafka::Consumer::create(config, config.groupId("router"), r.get(), consumer_props);
  if (!consumer) return std::unexpected(consumer.error());
  r->consumer_ = std::move(*consumer);
  if (auto s = r->consumer_->subscribe({config.topics.events()}); !s)
    return std::unexpected(s.error());
  log()->info("router started exactly_once={} commit_interval_ms={}", r->exactly_once_,
              config.exactly_once_commit_interval.count());
  return r;
}

int Router::run(const std::atomic<bool>& stop) {
  auto last_report = std::chrono::steady_clock::now();
  while (!stop && !fatal()) {
    int timeout_ms = 100;
    if (exactly_once_) {
      producer_->poll(0);
      if (in_transaction_ && transactionDue()) commitTransaction();
      if (in_transaction_) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            transaction_started_ + config_.exactly_once_commit_interval -
            std::chrono::steady_clock::now());
        timeout_ms = static_cast<int>(std::clamp<int64_t>(left.count(), 0, 100));
      }
    } else {
      pump(0);
      if (progress_.pendingTotal() >= kMaxPendingEvents) {
        pump(10);  // bounded work in flight: wait for acknowledgements
        continue;
      }
      if (progress_.pendingTotal() > 0) timeout_ms = kAckWaitMs;
    }
    kafka::MessagePtr msg = consumer_->poll(timeout_ms);
    if (msg) {
      if (msg->err != RD_KAFKA_RESP_ERR_NO_ERROR)
        log()->warn("consumer error={}", rd_kafka_message_errstr(msg.get()));
      else
        route(msg.get());
    }
    if (auto now = std::chrono::steady_clock::now(); now - last_report > std::chrono::seconds(10)) {
      last_report = now;
      log()->info(
          "events={} deliveries={} invalid={} unmatched={} committed={} aborted={} "
          "consumer_rejoins={}",
          metrics_.events.value(), metrics_.deliveries.value(), metrics_.invalidTotal(),
          metrics_.unmatched.value(), metrics_.transactions_committed.value(),
          metrics_.transactions_aborted.value(), kafka::consumerCounters().rejoins.load());
    }
  }
  if (exactly_once_) {
    if (in_transaction_ && !fatal()) commitTransaction();
  } else {
    const auto deadline = std::chrono::steady_clock::now() + kDrainBudget;
    while (progress_.pendingTotal() > 0 && std::chrono::steady_clock::now() < deadline) pump(10);
  }
  consumer_->close();
  log()->info("router stopped events={} deliveries={} invalid={} committed={} aborted={}",
              metrics_.events.value(), metrics_.deliveries.value(), metrics_.invalidTotal(),
              metrics_.transactions_committed.value(), metrics_.transactions_aborted.value());
  return fatal() ? 1 : 0;
}

void Router::route(const rd_kafka_message_t* msg) {
  const int32_t partition = msg->partition;
  const int64_t offset = msg->offset;
  if (exactly_once_) {
    beginTransactionIfNone();
    if (!in_transaction_) return;  // fatal: run() stops
    auto [range, fresh] = transaction_ranges_.try_emplace(partition, Range{offset, offset + 1});
    if (!fresh) range->second.next = offset + 1;
    ++transaction_events_;
  } else {
    progress_.begin(events_topic_, partition, offset);
  }
  metrics_.events.inc();
  const std::string_view payload = kafka::payloadOf(msg);
  auto ev = std::make_shared<Event>();
  ev->partition = partition;
  ev->offset = offset;
  ev->partition_text = std::to_string(partition);
  ev->offset_text = std::to_string(offset);
  auto parsed = parser_.parse(payload, rd_kafka_message_timestamp(msg, nullptr),
                              "evt_" + ev->partition_text + "x" + ev->offset_text);
  if (!parsed) {
    routeInvalid(msg, partition, offset, std::move(parsed.error().message));
    return;
  }
  ev->event = std::move(*parsed);
  auto subscriptions = table_.snapshot();
  if (!index_ || index_->source() != subscriptions.get())
    index_ = std::make_shared<const SubscriptionIndex>(subscriptions);
  EventView view(document_parser_, ev->event.type, ev->event.body);
  matched_.clear();
  // One event in kMatchSampleEvery is timed: two clock reads per event would be about
  // 1 % of the router's CPU (perf: __vdso_clock_gettime), for a figure a sample gives.
  if (++match_samples_ % kMatchSampleEvery == 0) {
    const auto match_start = std::chrono::steady_clock::now();
    index_->match(view, matched_);
    metrics_.match_seconds.observe(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - match_start).count());
  } else {
    index_->match(view, matched_);
  }
  if (matched_.empty()) metrics_.unmatched.inc();
  metrics_.deliveries.inc(matched_.size());
  for (const Subscription* sub : matched_) {
    ++ev->remaining;
    auto* d = new Delivery{ev, sub->id, records::deliveryIdFor(ev->event.id, sub->id), {}};
    if (sub->formatter) d->body = sub->formatter->format(ev->event, *sub);
    send(d);
  }
  if (!exactly_once_ && --ev->remaining == 0) finish(partition, offset);
}

void Router::routeInvalid(const rd_kafka_message_t* msg, int32_t partition, int64_t offset,
                          std::string reason) {
  metrics_.invalid(reason).inc();
  kafka::HeaderList headers = kafka::readHeaders(msg);
  records::markInvalid(headers, std::move(reason), {events_topic_, partition, offset});
  if (exactly_once_) {
    auto r = producer_->produceBlocking(invalid_topic_, kafka::keyOf(msg), kafka::payloadOf(msg),
                                        headers, nullptr);
    if (!r) {
      logProduceFailure(invalid_topic_, r.error(), "aborting the transaction");
      transaction_failed_ = true;
    }
    return;
  }
  hand_off_->send(invalid_topic_, std::string(kafka::keyOf(msg)),
                  std::string(kafka::payloadOf(msg)), std::move(headers),
                  progress_.finisher({events_topic_, partition, offset}));
}

void Router::send(Delivery* d) {
  const Event& ev = *d->event;
  const auto headers =
      records::freshDeliveryHeaders({d->delivery_id, ev.event.id, ev.event.type, d->subscription_id,
                                     events_topic_, ev.partition_text, ev.offset_text});
  if (exactly_once_) {
    // The transaction's commit waits for every record and fails if one failed: no
    // delivery report needed, nothing kept.
    std::unique_ptr<Delivery> owned(d);
    while (true) {
      auto r = producer_->produceViews(deliveries_topic_, d->subscription_id, d->bodyView(),
                                       headers, nullptr);
      if (r) return;
      if (!r.error().retryable) {
        logProduceFailure(deliveries_topic_, r.error(), "aborting the transaction");
        transaction_failed_ = true;
        return;
      }
      producer_->poll(10);  // local queue full
    }
  }
  while (true) {
    auto r = producer_->produceViews(
        deliveries_topic_, d->subscription_id, d->bodyView(), headers,
        [this, d](std::optional<Error> error) { onDelivered(d, std::move(error)); });
    if (r) return;
    if (!r.error().retryable) {
      logProduceFailure(deliveries_topic_, r.error(), "trying again");
      resend_.push_back(d);
      return;
    }
    producer_->poll(10);  // local queue full: serve acknowledgements, try again
  }
}

void Router::onDelivered(Delivery* d, std::optional<Error> error) {
  if (error) {
    logProduceFailure(deliveries_topic_, *error, "trying again");
    resend_.push_back(d);
    return;
  }
  std::unique_ptr<Delivery> owned(d);
  if (--owned->event->remaining == 0) finish(owned->event->partition, owned->event->offset);
}

void Router::logProduceFailure(const std::string& topic, const Error& error, const char* then) {
  metrics_.produce_errors.inc();
  const uint64_t failures = metrics_.produce_errors.value();
  if (failures % 100 == 1)  // rate-limited: one line per 100 failures
    log()->warn("produce to {} failed, {} failures={} error={}", topic, then, failures,
                error.message);
}

void Router::pump(int timeout_ms) {
  hand_off_->pump(timeout_ms);  // serves every delivery report of the producer
  for (std::size_t n = resend_.size(); n > 0 && !resend_.empty(); --n) {
    Delivery* d = resend_.front();
    resend_.pop_front();
    send(d);
  }
}

void Router::finish(int32_t partition, int64_t offset) {
  progress_.finish(events_topic_, partition, offset);
}

void Router::onRevoked(const rd_kafka_topic_partition_list_t& partitions) {
  if (exactly_once_) {
    // The partitions' offsets go with the open transaction, before someone else reads
    // them (eager assignor: every partition is revoked at once).
    if (in_transaction_) commitTransaction();
    return;
  }
  const auto deadline = std::chrono::steady_clock::now() + kDrainBudget;
  while (progress_.pending(partitions) > 0 && std::chrono::steady_clock::now() < deadline) pump(10);
  progress_.forget(partitions);
}

// ---- Exactly once -----------------------------------------------------------

void Router::beginTransactionIfNone() {
  if (in_transaction_ || producer_fatal_) return;
  if (auto b = producer_->beginTransaction(); !b) {
    log()->critical("cannot begin a transaction, stopping: {}", b.error().message);
    producer_fatal_ = true;
    return;
  }
  in_transaction_ = true;
  transaction_failed_ = false;
  transaction_started_ = std::chrono::steady_clock::now();
  transaction_events_ = 0;
}

bool Router::transactionDue() const {
  return transaction_failed_ || transaction_events_ >= kMaxTransactionEvents ||
         std::chrono::steady_clock::now() - transaction_started_ >=
             config_.exactly_once_commit_interval;
}

void Router::commitTransaction() {
  if (transaction_failed_) {
    abortTransactionAndRewind();
    return;
  }
  kafka::PartitionListPtr offsets(
      rd_kafka_topic_partition_list_new(static_cast<int>(transaction_ranges_.size())));
  for (const auto& [partition, range] : transaction_ranges_)
    rd_kafka_topic_partition_list_add(offsets.get(), events_topic_.c_str(), partition)->offset =
        range.next;
  // Each step: a retriable error is tried again; an abortable one aborts and rewinds;
  // a fatal one (fenced by a newer instance) stops the router.
  auto step = [&](auto call) -> bool {
    for (int attempt = 1;; ++attempt) {
      kafka::Producer::TransactionResult r = call();
      if (r) return true;
      if (r.error().fatal) {
        log()->critical("transaction failed fatally, stopping: {}", r.error().message);
        producer_fatal_ = true;
        return false;
      }
      if (r.error().retriable && !r.error().requires_abort && attempt < kTransactionCallAttempts) {
        log()->warn("{}; trying again", r.error().message);
        continue;
      }
      log()->warn("{}; aborting the transaction", r.error().message);
      abortTransactionAndRewind();
      return false;
    }
  };
  if (!step([&] {
        return producer_->sendOffsetsToTransaction(*offsets, consumer_->handle(),
                                                   kTransactionCallTimeout);
      }))
    return;
  if (!step([&] { return producer_->commitTransaction(kTransactionCallTimeout); })) return;
  metrics_.transactions_committed.inc();
  in_transaction_ = false;
  transaction_ranges_.clear();
}

void Router::abortTransactionAndRewind() {
  for (int attempt = 1;; ++attempt) {
    auto r = producer_->abortTransaction(kTransactionCallTimeout);
    if (r) break;
    if (r.error().fatal || !r.error().retriable || attempt >= kTransactionCallAttempts) {
      log()->critical("cannot abort the transaction, stopping: {}", r.error().message);
      producer_fatal_ = true;
      return;
    }
  }
  metrics_.transactions_aborted.inc();
  // Read again from the first offset of each partition in the aborted transaction; a
  // partition no longer assigned is read by its new owner from the committed offset.
  kafka::PartitionListPtr rewind(
      rd_kafka_topic_partition_list_new(static_cast<int>(transaction_ranges_.size())));
  for (const auto& [partition, range] : transaction_ranges_)
    rd_kafka_topic_partition_list_add(rewind.get(), events_topic_.c_str(), partition)->offset =
        range.first;
  if (rewind->cnt > 0) {
    if (rd_kafka_error_t* e = rd_kafka_seek_partitions(consumer_->handle(), rewind.get(), 5000)) {
      log()->warn("rewind after abort failed error={}", rd_kafka_error_string(e));
      rd_kafka_error_destroy(e);
    }
  }
  log()->warn("transaction aborted events={} partitions={}; rewound", transaction_events_,
              transaction_ranges_.size());
  in_transaction_ = false;
  transaction_failed_ = false;
  transaction_ranges_.clear();
}

}  // namespace hookpipe::router
