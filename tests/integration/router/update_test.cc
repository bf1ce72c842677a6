// Subscription changes while events flow, across real processes: a thread produces
// events straight to the events topic (one partition, so the router routes them in
// sequence order) while subscriptions are created, paused and deleted through the API.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <thread>

#include "common/records/delivery.h"
#include "support/harness.h"
#include "support/receiver.h"

namespace hookpipe::testing {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

constexpr long kMaxEvents = 12'000;
constexpr auto kMaxProduceTime = 150s;

// Event ids are "ev-<seq>"; -1 when `id` is not one.
long seqOf(const std::string& id) {
  if (!id.starts_with("ev-")) return -1;
  return std::stol(id.substr(3));
}

// Highest event sequence number among the requests to `path` (-1: none).
long maxSeq(const Receiver& receiver, const std::string& path) {
  long best = -1;
  for (const auto& r : receiver.requestsTo(path))
    best = std::max(best, seqOf(jsonField(r.body, "id")));
  return best;
}

class RouterUpdateTest : public PipelineFixture {
 protected:
  void SetUp() override {
    PipelineFixture::SetUp();
    ASSERT_NO_FATAL_FAILURE(startApi());
  }
  void TearDown() override {
    stop_ = true;
    if (publisher_.joinable()) publisher_.join();
    PipelineFixture::TearDown();
  }
  std::string subscribeTo(const std::string& url) {
    return subscribe(R"({"url":")" + url + R"(","events":["order.*"]})").id;
  }
  // Produces "ev-0", "ev-1", … every 10 ms until stopped, kMaxEvents or kMaxProduceTime.
  void startPublishing() {
    publisher_ = std::thread([this] {
      auto producer = kafka::Producer::create(pipeline_->config());
      if (!producer) {
        publish_failed_ = true;
        return;
      }
      const auto until = Clock::now() + kMaxProduceTime;
      for (long i = 0; i < kMaxEvents && !stop_ && Clock::now() < until; ++i) {
        const std::string body = R"({"id":"ev-)" + std::to_string(i) +
                                 R"(","type":"order.created","data":{"n":)" + std::to_string(i) +
                                 "}}";
        if (!(*producer)->produceBlocking(pipeline_->config().topics.events(), "one-partition",
                                          body, {}, nullptr)) {
          publish_failed_ = true;
          return;
        }
        produced_ = i + 1;
        std::this_thread::sleep_for(10ms);
      }
      (*producer)->flush(10s);
    });
  }
  // Waits until `path` has received an event with sequence number >= `seq`.
  bool waitForSeq(const Receiver& receiver, const std::string& path, long seq,
                  std::chrono::milliseconds timeout) {
    return receiver.waitFor(
        [&](const std::vector<ReceivedRequest>& reqs) {
          for (const auto& r : reqs)
            if (r.target == path && seqOf(jsonField(r.body, "id")) >= seq) return true;
          return false;
        },
        timeout);
  }

  std::thread publisher_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> publish_failed_{false};
  std::atomic<long> produced_{0};
};

TEST_F(RouterUpdateTest, CreatedPausedAndDeletedSubscriptionsTakeEffectWhileEventsFlow) {
  Receiver receiver;
  subscribeTo(receiver.url("/keep"));
  const std::string doomed = subscribeTo(receiver.url("/doomed"));
  pipeline_->start("router");
  pipeline_->start("deliverer");
  startPublishing();
  ASSERT_TRUE(waitForSeq(receiver, "/keep", 0, 60s) && waitForSeq(receiver, "/doomed", 0, 10s))
      << "produced " << produced_;

  // (a) A new subscription starts receiving within seconds.
  const auto created_at = Clock::now();
  const std::string fresh = subscribeTo(receiver.url("/fresh"));
  ASSERT_TRUE(receiver.waitFor(
      [](auto& reqs) {
        return std::any_of(reqs.begin(), reqs.end(), [](auto& r) { return r.target == "/fresh"; });
      },
      5s))
      << "no delivery to a new subscription within 5 s";
  const auto first_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - created_at).count();
  std::cout << "new subscription's first delivery after " << first_ms << " ms\n";

  // (b) Paused: once the deliverer parks its deliveries in the shortest retry tier, every
  // later event (the events are routed in order) is parked, never sent.
  ASSERT_EQ(
      httpRequest("POST", pipeline_->apiUrl("/v1/subscriptions/" + fresh + "/pause"), "").status,
      200);
  const std::string tier =
      pipeline_->config().topics.retryTier(std::chrono::duration_cast<std::chrono::milliseconds>(
          pipeline_->config().retry_tiers.front()));
  long first_parked = -1;
  ASSERT_TRUE(eventually(
      [&] {
        for (const auto& m : readTopic(pipeline_->config(), tier)) {
          if (kafka::findHeader(m.headers, records::kSubscriptionId) != fresh) continue;
          const long seq = seqOf(kafka::findHeader(m.headers, records::kEventId).value_or(""));
          if (seq >= 0 && (first_parked < 0 || seq < first_parked)) first_parked = seq;
        }
        return first_parked >= 0;
      },
      10s))
      << "the paused subscription's deliveries were not parked";
  // Events well past the first parked one reach the other subscriptions...
  ASSERT_TRUE(waitForSeq(receiver, "/keep", first_parked + 200, 30s)) << "produced " << produced_;
  // ...but not the paused one.
  EXPECT_LT(maxSeq(receiver, "/fresh"), first_parked);

  // (c) Deleted: after a propagation window (300 events, ~3 s of traffic, delivered to
  // /keep), nothing new is routed to or delivered for it.
  ASSERT_EQ(httpRequest("DELETE", pipeline_->apiUrl("/v1/subscriptions/" + doomed), "").status,
            204);
  const long window_end = produced_ + 300;
  ASSERT_TRUE(waitForSeq(receiver, "/keep", window_end, 30s)) << "produced " << produced_;
  const auto doomed_count = receiver.requestsTo("/doomed").size();
  ASSERT_TRUE(waitForSeq(receiver, "/keep", window_end + 200, 30s)) << "produced " << produced_;
  EXPECT_EQ(receiver.requestsTo("/doomed").size(), doomed_count);
  EXPECT_LT(maxSeq(receiver, "/doomed"), window_end);
  stop_ = true;
  publisher_.join();
  EXPECT_FALSE(publish_failed_);
  long last_routed = -1;
  for (const auto& d : readTopic(pipeline_->config(), pipeline_->config().topics.deliveries()))
    if (d.key == doomed)
      last_routed = std::max(last_routed,
                             seqOf(kafka::findHeader(d.headers, records::kEventId).value_or("")));
  EXPECT_GE(last_routed, 0);
  EXPECT_LT(last_routed, window_end) << "the router kept routing to a deleted subscription";
}

}  // namespace
}  // namespace hookpipe::testing
