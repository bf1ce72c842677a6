#include "router/router.h"

#include "common/log/log.h"
#include "common/records/delivery.h"

namespace hookpipe::router {
namespace {

constexpr std::size_t kMaxPendingEvents = 20'000;
constexpr auto kDrainBudget = std::chrono::seconds(10);

std::shared_ptr<spdlog::logger> log() {
  static auto l = logger("router");
  return l;
}

}  // namespace

Router::Router(const Config& config, SubscriptionTable& table)
    : config_(config), table_(table), parser_(config.max_event_bytes) {}

Router::~Router() {
  if (producer_) producer_->flush(kDrainBudget);
}

Result<std::unique_ptr<Router>> Router::create(const Config& config, SubscriptionTable& table) {
  std::unique_ptr<Router> r(new Router(config, table));
  auto producer = kafka::Producer::create(config, {{"message.timeout.ms", "0"}});
  if (!producer) return std::unexpected(producer.error());
  r->producer_ = std::move(*producer);
  r->hand_off_ = std::make_unique<kafka::HandOff>(*r->producer_);
  auto consumer = kafka::Consumer::create(config, config.groupId("router"), r.get());
  if (!consumer) return std::unexpected(consumer.error());
  r->consumer_ = std::move(*consumer);
  if (auto s = r->consumer_->subscribe({config.topics.events()}); !s)
    return std::unexpected(s.error());
  return r;
}

int Router::run(const std::atomic<bool>& stop) {
  auto last_report = std::chrono::steady_clock::now();
  while (!stop && !consumer_->fatal()) {
    hand_off_->pump(0);
    if (tracker_.pendingTotal() >= kMaxPendingEvents) {
      hand_off_->pump(10);  // bounded work in flight: wait for acknowledgements
      continue;
    }
    kafka::MessagePtr msg = consumer_->poll(tracker_.pendingTotal() > 0 ? 1 : 100);
    if (msg) {
      if (msg->err != RD_KAFKA_RESP_ERR_NO_ERROR)
        log()->warn("consumer error={}", rd_kafka_message_errstr(msg.get()));
      else
        route(msg.get());
    }
    if (auto now = std::chrono::steady_clock::now(); now - last_report > std::chrono::seconds(10)) {
      last_report = now;
      log()->info("events={} deliveries={} invalid={} unmatched={}", metrics_.events.load(),
                  metrics_.deliveries.load(), metrics_.invalid.load(), metrics_.unmatched.load());
    }
  }
  hand_off_->pumpUntil([this] { return tracker_.pendingTotal() == 0; }, kDrainBudget);
  consumer_->close();
  return consumer_->fatal() ? 1 : 0;
}

void Router::route(const rd_kafka_message_t* msg) {
  const std::string topic = rd_kafka_topic_name(msg->rkt);
  const int32_t partition = msg->partition;
  const int64_t offset = msg->offset;
  tracker_.begin(topic, partition, offset);
  ++metrics_.events;
  const std::string_view payload = kafka::payloadOf(msg);
  const std::string fallback_id = "evt_" + std::to_string(partition) + "x" + std::to_string(offset);
  auto event = parser_.parse(payload, rd_kafka_message_timestamp(msg, nullptr), fallback_id);
  if (!event) {
    ++metrics_.invalid;
    kafka::HeaderList headers = kafka::readHeaders(msg);
    kafka::setHeader(headers, records::kInvalidReason, event.error().message);
    kafka::setHeader(headers, records::kOriginTopic, topic);
    kafka::setHeader(headers, records::kOriginPartition, std::to_string(partition));
    kafka::setHeader(headers, records::kOriginOffset, std::to_string(offset));
    hand_off_->send(config_.topics.invalid(), std::string(kafka::keyOf(msg)), std::string(payload),
                    std::move(headers),
                    [this, topic, partition, offset] { finish(topic, partition, offset); });
    return;
  }
  auto subscriptions = table_.snapshot();
  if (!index_ || index_->source() != subscriptions.get())
    index_ = std::make_shared<const SubscriptionIndex>(subscriptions);
  EventView view(document_parser_, event->type, event->body);
  matched_.clear();
  index_->match(view, matched_);
  // One share for the routing itself, so that an acknowledgement served while a later
  // delivery waits for queue space cannot finish the event early.
  auto remaining = std::make_shared<int>(1);
  for (const Subscription* sub : matched_) {
    const std::string& id = sub->id;
    ++*remaining;
    records::DeliveryMeta meta;
    meta.delivery_id = records::deliveryIdFor(event->id, id);
    meta.event_id = event->id;
    meta.event_type = event->type;
    meta.subscription_id = id;
    meta.attempt = 1;
    meta.due_ms = kafka::nowMs();
    kafka::HeaderList headers;
    meta.writeTo(headers);
    kafka::setHeader(headers, records::kOriginTopic, topic);
    kafka::setHeader(headers, records::kOriginPartition, std::to_string(partition));
    kafka::setHeader(headers, records::kOriginOffset, std::to_string(offset));
    ++metrics_.deliveries;
    hand_off_->send(config_.topics.deliveries(), id, event->body, std::move(headers),
                    [this, remaining, topic, partition, offset] {
                      if (--*remaining == 0) finish(topic, partition, offset);
                    });
  }
  if (*remaining == 1) ++metrics_.unmatched;
  if (--*remaining == 0) finish(topic, partition, offset);
}

void Router::finish(const std::string& topic, int32_t partition, int64_t offset) {
  if (auto next = tracker_.finish(topic, partition, offset))
    consumer_->storeOffset(topic, partition, *next);
}

void Router::onRevoked(const rd_kafka_topic_partition_list_t& partitions) {
  hand_off_->pumpUntil([&] { return tracker_.pending(partitions) == 0; }, kDrainBudget);
  tracker_.forget(partitions);
}

}  // namespace hookpipe::router
