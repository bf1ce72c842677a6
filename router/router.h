#pragma once

#include <atomic>
#include <memory>

#include "common/config/config.h"
#include "common/json/event.h"
#include "common/kafka/hand_off.h"
#include "common/kafka/kafka.h"
#include "common/subscriptions/table.h"
#include "router/index.h"

namespace hookpipe::router {

struct Metrics {
  std::atomic<uint64_t> events{0};
  std::atomic<uint64_t> invalid{0};
  std::atomic<uint64_t> deliveries{0};
  std::atomic<uint64_t> unmatched{0};
};

// The router role: consumes `events`, produces one delivery per matching subscription
// (or the event to `events.invalid` with a reason) and stores an event's offset only
// once every record it produced was acknowledged. Single-threaded: run() owns the
// consumer, the producer callbacks and the offset tracker.
class Router final : public kafka::RebalanceListener {
 public:
  static Result<std::unique_ptr<Router>> create(const Config& config, SubscriptionTable& table);
  ~Router() override;
  // Runs until `stop`; returns the exit code (1 after a fatal consumer error).
  int run(const std::atomic<bool>& stop);
  const Metrics& metrics() const { return metrics_; }

  void onAssigned(const rd_kafka_topic_partition_list_t&) override {}
  void onRevoked(const rd_kafka_topic_partition_list_t& partitions) override;

 private:
  Router(const Config& config, SubscriptionTable& table);
  void route(const rd_kafka_message_t* msg);
  void finish(const std::string& topic, int32_t partition, int64_t offset);

  Config config_;
  SubscriptionTable& table_;
  json::EventParser parser_;
  // The event is parsed a second time, into this DOM, only when a candidate subscription
  // has a filter or a tenant (see EventView); benchmarks/router_match_bench.cc measures it.
  simdjson::dom::parser document_parser_;
  std::shared_ptr<const SubscriptionIndex> index_;  // rebuilt when the snapshot changes
  std::vector<const Subscription*> matched_;
  std::unique_ptr<kafka::Producer> producer_;
  std::unique_ptr<kafka::HandOff> hand_off_;
  std::unique_ptr<kafka::Consumer> consumer_;
  kafka::OffsetTracker tracker_;
  Metrics metrics_;
};

}  // namespace hookpipe::router
