#pragma once

#include <atomic>
#include <chrono>
#include <deque>
#include <map>
#include <memory>

#include "common/config/config.h"
#include "common/json/event.h"
#include "common/kafka/hand_off.h"
#include "common/kafka/kafka.h"
#include "common/kafka/progress.h"
#include "common/subscriptions/table.h"
#include "router/index.h"
#include "router/metrics.h"

namespace hookpipe::router {

// The router role: consumes `events`, produces one delivery per matching subscription
// (or the event to `events.invalid` with a reason). Single-threaded: run() owns the
// consumer, the producer callbacks and the offset bookkeeping.
//
// At least once (default): an event's offset is stored only once every record it
// produced was acknowledged (OffsetTracker); a failed record is produced again.
//
// Exactly once (Config::exactly_once_routing): records are produced in a Kafka
// transaction together with the consumed offsets (send_offsets_to_transaction), committed
// every exactly_once_commit_interval or kMaxTransactionEvents events, whichever comes
// first. A failed transaction is aborted and the consumer rewound to the first offset of
// each partition in it, so read_committed readers of `deliveries` see every delivery
// once even when the router is killed. Example: events 10..19 of partition 0 are routed
// in a transaction; the router is killed after producing deliveries for 10..14. Nothing
// of that transaction is committed: on restart init_transactions aborts it (same
// transactional.id) and the new router starts at the committed offset 10.
class Router final : public kafka::RebalanceListener {
 public:
  // The router's metrics are declared in `registry` (owned by the role, outliving it).
  static Result<std::unique_ptr<Router>> create(const Config& config, SubscriptionTable& table,
                                                metrics::Registry& registry);
  ~Router() override;
  // Runs until `stop`; returns the exit code (1 after a fatal consumer or producer error).
  int run(const std::atomic<bool>& stop);
  const RouterMetrics& metrics() const { return metrics_; }

  void onAssigned(const rd_kafka_topic_partition_list_t&) override {}
  void onRevoked(const rd_kafka_topic_partition_list_t& partitions) override;

 private:
  struct Event;
  struct Delivery;

  Router(const Config& config, SubscriptionTable& table, metrics::Registry& registry);
  void route(const rd_kafka_message_t* msg);
  void routeInvalid(const rd_kafka_message_t* msg, int32_t partition, int64_t offset,
                    std::string reason);
  // Produces one delivery record; at least once: on failure it is queued to be produced
  // again; exactly once: a failure marks the transaction for abort.
  void send(Delivery* delivery);
  void onDelivered(Delivery* delivery, std::optional<Error> error);
  // Serves delivery reports and produces again what failed.
  void pump(int timeout_ms);
  void finish(int32_t partition, int64_t offset);
  void logProduceFailure(const std::string& topic, const Error& error, const char* then);

  // Exactly once.
  bool fatal() const { return consumer_->fatal() || producer_fatal_; }
  void beginTransactionIfNone();
  bool transactionDue() const;
  void commitTransaction();
  void abortTransactionAndRewind();

  Config config_;
  const std::string events_topic_;
  const std::string deliveries_topic_;
  const std::string invalid_topic_;
  SubscriptionTable& table_;
  json::EventParser parser_;
  // The event is parsed a second time, into this DOM, only when a candidate subscription
  // has a filter or a tenant (see EventView); benchmarks/router_match_bench.cc measures it.
  simdjson::dom::parser document_parser_;
  std::shared_ptr<const SubscriptionIndex> index_;  // rebuilt when the snapshot changes
  std::vector<const Subscription*> matched_;
  std::unique_ptr<kafka::Producer> producer_;
  std::unique_ptr<kafka::HandOff> hand_off_;  // invalid events (at least once)
  std::unique_ptr<kafka::Consumer> consumer_;
  kafka::Progress progress_;      // at least once
  std::deque<Delivery*> resend_;  // at least once: failed deliveries, produced again on pump()

  // Exactly once: the open transaction, and per partition of `events` the first and the
  // next offset routed in it.
  struct Range {
    int64_t first = 0;
    int64_t next = 0;
  };
  const bool exactly_once_;
  bool in_transaction_ = false;
  bool transaction_failed_ = false;  // a record was refused: abort instead of commit
  bool producer_fatal_ = false;
  std::chrono::steady_clock::time_point transaction_started_;
  std::size_t transaction_events_ = 0;
  std::map<int32_t, Range> transaction_ranges_;
  RouterMetrics metrics_;
  uint32_t match_samples_ = 0;
};

}  // namespace hookpipe::router
