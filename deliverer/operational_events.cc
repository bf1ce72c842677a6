#include "deliverer/operational_events.h"

#include <algorithm>
#include <stdexcept>

#include "common/json/event.h"
#include "common/log/log.h"
#include "common/ops_events/event.h"

namespace hookpipe::deliverer {
namespace {

std::shared_ptr<spdlog::logger> log() {
  static auto l = logger("operational-events");
  return l;
}

constexpr int64_t kErrorLogSpacingMs = 10'000;

}  // namespace

std::shared_ptr<OperationalEvents> OperationalEvents::create(const Config& config,
                                                             const SubscriptionTable& table,
                                                             DelivererMetrics& metrics) {
  if (!config.operational_events) return nullptr;
  // Few, small events: a short linger batches what a storm of transitions raises at once.
  auto producer = kafka::Producer::create(
      config, {{"linger.ms", "20"}, {"client.id", config.groupId("operational-events")}});
  if (!producer) throw std::runtime_error(producer.error().message);
  return std::make_shared<OperationalEvents>(config, table, metrics, std::move(*producer));
}

OperationalEvents::OperationalEvents(const Config& config, const SubscriptionTable& table,
                                     DelivererMetrics& metrics,
                                     std::unique_ptr<kafka::Producer> producer)
    : table_(table),
      metrics_(metrics),
      producer_(std::move(producer)),
      topic_(config.topics.events()),
      // Windows are taken within a tenth of their length (at most 1 s, at least 20 ms late).
      tick_ms_(std::clamp<int64_t>(config.operational_events_window.count() / 10, 20, 1000)),
      dead_letters_(config.operational_events_window),
      thread_([this] { run(); }) {}

OperationalEvents::~OperationalEvents() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  thread_ = {};  // joins: the thread reports every open window and waits for the broker
}

void OperationalEvents::onAttempt(const observe::Attempt& a) noexcept {
  if (a.outcome != observe::Outcome::kDeadLettered) return;
  // The no-loop rule: dead letters of operational events are never reported.
  if (ops_events::isOperational(a.event_type)) return;
  try {
    std::lock_guard lock(mu_);
    dead_letters_.add(a.subscription_id, a.tenant, a.reason, a.error_class, a.delivery_id,
                      kafka::nowMs());
  } catch (...) {  // out of memory: counted, never thrown into a worker
    metrics_.operational_events_dropped.inc();
  }
}

void OperationalEvents::breakerOpened(const std::string& subscription_id, int window_failures,
                                      int window_attempts, int64_t now_ms,
                                      int64_t retry_at_ms) noexcept {
  Fact f;
  f.kind = Fact::Kind::kOpened;
  f.window_failures = window_failures;
  f.window_attempts = window_attempts;
  f.at_ms = now_ms;
  f.other_ms = retry_at_ms;
  try {
    f.subscription_id = subscription_id;
  } catch (...) {
    metrics_.operational_events_dropped.inc();
    return;
  }
  push(std::move(f));
}

void OperationalEvents::breakerRecovered(const std::string& subscription_id, int64_t opened_ms,
                                         int64_t now_ms) noexcept {
  Fact f;
  f.kind = Fact::Kind::kRecovered;
  f.at_ms = now_ms;
  f.other_ms = opened_ms;
  try {
    f.subscription_id = subscription_id;
  } catch (...) {
    metrics_.operational_events_dropped.inc();
    return;
  }
  push(std::move(f));
}

void OperationalEvents::subscriptionDisabled(const Subscription& sub, std::string_view reason,
                                             std::string_view message, long status) noexcept {
  Fact f;
  f.kind = Fact::Kind::kDisabled;
  f.status = status;
  f.at_ms = kafka::nowMs();
  try {
    f.subscription_id = sub.id;
    f.tenant = sub.tenant;
    f.name = sub.name;
    f.reason = std::string(reason);
    f.message = std::string(message);
  } catch (...) {
    metrics_.operational_events_dropped.inc();
    return;
  }
  push(std::move(f));
}

void OperationalEvents::push(Fact fact) noexcept {
  try {
    {
      std::lock_guard lock(mu_);
      if (queue_.size() >= kMaxQueued) {
        metrics_.operational_events_dropped.inc();
        return;
      }
      queue_.push_back(std::move(fact));
    }
    wake_.notify_one();
  } catch (...) {
    metrics_.operational_events_dropped.inc();
  }
}

void OperationalEvents::run() {
  std::deque<Fact> facts;
  std::vector<ops_events::DeadLetterSummary> due;
  bool stopping = false;
  while (!stopping) {
    {
      std::unique_lock lock(mu_);
      wake_.wait_for(lock, std::chrono::milliseconds(tick_ms_),
                     [&] { return stopping_ || !queue_.empty(); });
      stopping = stopping_;
      facts.swap(queue_);
      due = stopping ? dead_letters_.takeAll() : dead_letters_.takeDue(kafka::nowMs());
      if (const int64_t d = dead_letters_.dropped(); d > dropped_reported_) {
        metrics_.operational_events_dropped.inc(static_cast<uint64_t>(d - dropped_reported_));
        dropped_reported_ = d;
      }
    }
    for (const Fact& f : facts) publishFact(f);
    for (const auto& s : due) publishSummary(s);
    facts.clear();
    due.clear();
    producer_->poll(0);
  }
  if (!producer_->flush(std::chrono::seconds(5)))
    log()->error("operational events not acknowledged at shutdown outstanding={}",
                 producer_->outstanding());
}

void OperationalEvents::publishFact(const Fact& f) {
  // The subscription's tenant and name, as the table has them now (a breaker knows only
  // the id).
  std::string tenant = f.tenant;
  std::string name = f.name;
  if (f.kind != Fact::Kind::kDisabled)
    if (auto sub = table_.find(f.subscription_id)) {
      tenant = sub->tenant;
      name = sub->name;
    }
  switch (f.kind) {
    case Fact::Kind::kDisabled:
      return publish(ops_events::kSubscriptionDisabled, tenant,
                     ops_events::disabledData({.subscription_id = f.subscription_id,
                                               .subscription_name = name,
                                               .reason = f.reason,
                                               .message = f.message,
                                               .status = f.status,
                                               .disabled_ms = f.at_ms}));
    case Fact::Kind::kOpened:
      return publish(ops_events::kBreakerOpened, tenant,
                     ops_events::breakerOpenedData({.subscription_id = f.subscription_id,
                                                    .subscription_name = name,
                                                    .window_failures = f.window_failures,
                                                    .window_attempts = f.window_attempts,
                                                    .opened_ms = f.at_ms,
                                                    .retry_at_ms = f.other_ms}));
    case Fact::Kind::kRecovered:
      return publish(ops_events::kBreakerRecovered, tenant,
                     ops_events::breakerRecoveredData({.subscription_id = f.subscription_id,
                                                       .subscription_name = name,
                                                       .opened_ms = f.other_ms,
                                                       .recovered_ms = f.at_ms}));
  }
}

void OperationalEvents::publishSummary(const ops_events::DeadLetterSummary& s) {
  log()->info("dead letters subscription={} count={}", s.subscription_id, s.count);
  publish(ops_events::kDeadLettered, s.tenant, ops_events::deadLetteredData(s));
}

void OperationalEvents::publish(std::string_view type, std::string_view tenant,
                                const std::string& data) {
  const std::string id = json::newEventId();
  const std::string event = ops_events::eventJson(id, type, kafka::nowMs(), tenant, data);
  auto failed = [this, type = std::string(type)](const Error& e) {
    metrics_.operational_events_failed.inc();
    const int64_t now = kafka::nowMs();
    if (now - last_error_log_ms_ < kErrorLogSpacingMs) return;
    last_error_log_ms_ = now;
    log()->error("operational event not published type={} error={}", type, e.message);
  };
  auto r = producer_->produce(topic_, id, event, {}, [this, failed](std::optional<Error> err) {
    if (err) return failed(*err);
    metrics_.operational_events_produced.inc();
  });
  if (!r) failed(r.error());
}

}  // namespace hookpipe::deliverer
