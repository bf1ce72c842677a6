#pragma once

#include <curl/curl.h>

#include <atomic>
#include <deque>
#include <memory>
#include <random>
#include <string>
#include <unordered_set>
#include <vector>

#include "common/config/config.h"
#include "common/kafka/hand_off.h"
#include "common/kafka/kafka.h"
#include "common/records/delivery.h"
#include "common/redis/redis.h"
#include "common/signing/signer.h"
#include "common/subscriptions/table.h"
#include "deliverer/outcome.h"

namespace hookpipe::deliverer {

// Counters of one deliverer; read by logs now and by the stats API later.
struct Metrics {
  std::atomic<uint64_t> delivered{0};
  std::atomic<uint64_t> retried{0};
  std::atomic<uint64_t> dead_lettered{0};
  std::atomic<uint64_t> duplicates_skipped{0};
  std::atomic<uint64_t> unknown_subscription{0};
  std::atomic<uint64_t> parked{0};
  std::atomic<uint64_t> redis_errors{0};
};

// The deliverer role: consumes `deliveries`, POSTs each one with curl multi, and
// hands failures to a retry tier or the dead-letter topic.
//
// Threads: run() owns everything (consumer, curl multi handle, easy handles, offset
// tracker); producer delivery reports and rebalance callbacks are served inside it.
// One curl_multi_poll() waits on the sockets and on a pipe that librdkafka writes to
// when the consumer or producer queue gets work, so nothing polls on a timer.
//
// Offsets: every message is begun in the OffsetTracker when it is taken in and
// finished when it was delivered, skipped, or acknowledged by the broker in a retry
// tier or the DLQ; only the contiguous finished prefix is stored and committed.
class Deliverer final : public kafka::RebalanceListener {
 public:
  static Result<std::unique_ptr<Deliverer>> create(const Config& config, SubscriptionTable& table);
  ~Deliverer() override;
  // Runs until `stop`; returns the exit code (1 after a fatal consumer error).
  int run(const std::atomic<bool>& stop);
  const Metrics& metrics() const { return metrics_; }

  void onAssigned(const rd_kafka_topic_partition_list_t& partitions) override;
  void onRevoked(const rd_kafka_topic_partition_list_t& partitions) override;

 private:
  struct Request;
  Deliverer(const Config& config, SubscriptionTable& table);

  void intake(std::vector<kafka::OwnedMessage> batch);
  void startRequest(kafka::OwnedMessage msg, records::DeliveryMeta meta,
                    std::shared_ptr<const Subscription> sub);
  void driveCurl(int timeout_ms);
  void complete(Request* req, CURLcode code);
  void retryOrDeadLetter(Request& req, const Outcome& outcome, const std::string& message);
  void deadLetter(kafka::OwnedMessage msg, records::DeliveryMeta meta, const std::string& reason);
  // Produces to `topic` and finishes the origin offset once the broker has it.
  void handOff(std::string topic, kafka::OwnedMessage msg, kafka::HeaderList headers);
  void finish(const kafka::OwnedMessage& msg);
  void disableSubscription(const Subscription& sub);
  void flushDeliveredMarks();
  void drain(const std::function<bool()>& done, std::chrono::milliseconds budget);
  CURL* takeEasy();

  Config config_;
  SubscriptionTable& table_;
  std::unique_ptr<kafka::Producer> producer_;
  std::unique_ptr<kafka::HandOff> hand_off_;
  std::unique_ptr<kafka::Consumer> consumer_;
  std::unique_ptr<CURLM, decltype(&curl_multi_cleanup)> multi_{nullptr, &curl_multi_cleanup};
  std::vector<CURL*> idle_easy_;
  std::vector<std::unique_ptr<Request>> in_flight_;
  std::unordered_set<std::string> in_flight_ids_;  // delivery ids of in_flight_
  kafka::OffsetTracker tracker_;
  redis::Client redis_;
  redis::DeliveredStore delivered_;
  std::vector<std::string> delivered_marks_;
  signing::Signer signer_;
  std::mt19937_64 rng_{std::random_device{}()};
  int wake_fds_[2] = {-1, -1};
  Metrics metrics_;
};

}  // namespace hookpipe::deliverer
