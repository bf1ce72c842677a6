// The deliverer's isolation and shaping on the real broker and Redis: rate limits shared
// by two deliverer processes, concurrency caps and parking without
// spending attempts, ordered delivery, Retry-After, timeouts, several worker threads and
// max_pause for paused subscriptions. Every role runs as its own `hookpipe` process.
#include <gtest/gtest.h>
#include <signal.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <memory>
#include <mutex>
#include <regex>
#include <set>

#include "common/kafka/kafka.h"
#include "common/records/delivery.h"
#include "support/harness.h"
#include "support/poll.h"
#include "support/process.h"
#include "support/receiver.h"

namespace hookpipe::testing {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

const std::map<std::string, std::string> kOneWorker = {{"HOOKPIPE_DELIVERER_THREADS", "1"}};

class DelivererTest : public PipelineFixture {
 protected:
  // Stops a role and returns its whole log (Pipeline::logs() only covers running roles).
  std::string stopAndReadLog(RoleProcess& role) {
    const std::string path = role.logPath();
    pipeline_->stop(role);
    std::ifstream in(path);
    return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  }
  // Publishes `n` events of `type` straight to the events topic, all with one key so
  // they keep their order; returns their ids in order.
  std::vector<std::string> produceEvents(const std::string& type, int n,
                                         const std::string& key = "") {
    auto producer = kafka::Producer::create(pipeline_->config());
    EXPECT_TRUE(producer.has_value());
    std::vector<std::string> ids;
    for (int i = 0; i < n; ++i) {
      const std::string id = "evt_" + type + "_" + std::to_string(i);
      ids.push_back(id);
      EXPECT_TRUE((*producer)->produceBlocking(pipeline_->config().topics.events(),
                                               key.empty() ? id : key,
                                               R"({"id":")" + id + R"(","type":")" + type +
                                                   R"(","data":{"seq":)" + std::to_string(i) + "}}",
                                               {}, nullptr));
    }
    EXPECT_TRUE((*producer)->flush(10s));
    return ids;
  }
  static std::map<std::string, int> countByWebhookId(const std::vector<ReceivedRequest>& reqs) {
    std::map<std::string, int> counts;
    for (const auto& r : reqs) ++counts[r.headers.at("webhook-id")];
    return counts;
  }
  // Sends `events` events of type `<type>.event` to `receiver` through a subscription
  // capped at `cap` requests at once and without retries (a parked delivery that spent an
  // attempt would be dead-lettered), with the router, the retry role and a deliverer whose
  // lanes hold one delivery (HOOKPIPE_MAX_WAITING 4) so that the rest is parked; checks
  // that each arrived exactly once and nothing was dead-lettered.
  void deliverToACappedEndpoint(Receiver& receiver, const std::string& type, int cap, int events,
                                std::map<std::string, std::string> deliverer_env) {
    ASSERT_NO_FATAL_FAILURE(startApi());
    subscribe(R"({"url":")" + receiver.url("/" + type) + R"(","events":[")" + type +
              R"(.*"],"max_concurrency":)" + std::to_string(cap) +
              R"(,"retry_config":{"strategy":"none"}})");
    pipeline_->start("router");
    pipeline_->start("retry");
    deliverer_env["HOOKPIPE_MAX_WAITING"] = "4";
    pipeline_->start("deliverer", "1", deliverer_env);
    produceEvents(type + ".event", events);
    ASSERT_TRUE(receiver.waitFor([&](auto& r) { return r.size() >= std::size_t(events); }, 90s));
    auto counts = countByWebhookId(receiver.requests());
    EXPECT_EQ(counts.size(), static_cast<std::size_t>(events));
    for (const auto& [id, n] : counts) EXPECT_EQ(n, 1) << id;
    EXPECT_TRUE(readTopic(pipeline_->config(), pipeline_->config().topics.dlq()).empty());
  }
  // The API, one subscription of `receiver` (path /<name>, events <name>.*), the router and
  // a one-worker deliverer, which is returned.
  RoleProcess& subscribeAndStart(Receiver& receiver, const std::string& name) {
    startApi();
    subscribe(R"({"url":")" + receiver.url("/" + name) + R"(","events":[")" + name + R"(.*"]})");
    pipeline_->start("router");
    return pipeline_->start("deliverer", "1", kOneWorker);
  }
  std::vector<kafka::OwnedMessage> tierRecords() {
    std::vector<kafka::OwnedMessage> out;
    for (auto tier : {1s, 5s}) {
      auto recs = readTopic(pipeline_->config(), pipeline_->config().topics.retryTier(tier));
      out.insert(out.end(), recs.begin(), recs.end());
    }
    return out;
  }
};

TEST_F(DelivererTest, RateLimitIsSharedByTwoDeliverers) {
  Receiver receiver;
  ASSERT_NO_FATAL_FAILURE(startApi());
  auto sub = subscribe(R"({"url":")" + receiver.url("/limited") +
                       R"(","events":["rl.*"],"rate_limit":{"per_second":20}})");
  pipeline_->start("retry");
  // A small waiting budget, so part of the backlog is parked in a tier and comes back.
  // One worker each: the test topics have few partitions, and both processes must own some.
  const std::map<std::string, std::string> small = {{"HOOKPIPE_MAX_WAITING", "30"},
                                                    {"HOOKPIPE_DELIVERER_THREADS", "1"}};
  auto* first = &pipeline_->start("deliverer", "1", small);
  auto* second = &pipeline_->start("deliverer", "2", small);
  // The router keys a subscription's deliveries by its id (one partition, one deliverer);
  // here they are spread over every partition, as a replay or another producer may, so
  // both deliverers send to the endpoint at once and only Redis keeps them in step.
  constexpr int kEvents = 120;
  auto producer = kafka::Producer::create(pipeline_->config());
  ASSERT_TRUE(producer.has_value());
  for (int i = 0; i < kEvents; ++i) {
    records::DeliveryMeta meta;
    meta.event_id = "evt_rl_" + std::to_string(i);
    meta.event_type = "rl.tick";
    meta.subscription_id = sub.id;
    meta.delivery_id = records::deliveryIdFor(meta.event_id, sub.id);
    kafka::HeaderList headers;
    meta.writeTo(headers);
    ASSERT_TRUE((*producer)->produceBlocking(
        pipeline_->config().topics.deliveries(), meta.delivery_id,
        R"({"id":")" + meta.event_id + R"(","type":"rl.tick"})", headers, nullptr));
  }
  ASSERT_TRUE((*producer)->flush(10s));
  ASSERT_TRUE(receiver.waitFor([](auto& r) { return r.size() >= kEvents; }, 90s))
      << receiver.requests().size();
  // Both deliverers took part.
  for (RoleProcess* d : {first, second}) {
    const std::string log = stopAndReadLog(*d);
    EXPECT_NE(log.find("stopped worker=0 delivered="), std::string::npos) << log;
    EXPECT_EQ(log.find("stopped worker=0 delivered=0 "), std::string::npos)
        << "one deliverer sent nothing: the test did not exercise sharing";
  }
  auto reqs = receiver.requests();
  ASSERT_EQ(countByWebhookId(reqs).size(), static_cast<std::size_t>(kEvents));
  std::vector<Clock::time_point> at;
  for (const auto& r : reqs) at.push_back(r.at);
  std::sort(at.begin(), at.end());
  // A token bucket of 20/s holding one second's worth: no window of T seconds sees more
  // than 20 + 20·T requests (a little slack for clock edges).
  for (std::size_t i = 0; i < at.size(); ++i) {
    for (double window : {1.0, 2.0, 3.0}) {
      const auto end = at[i] + std::chrono::duration_cast<Clock::duration>(
                                   std::chrono::duration<double>(window));
      const auto n = std::upper_bound(at.begin(), at.end(), end) - (at.begin() + i);
      EXPECT_LE(n, static_cast<long>(20 + 20 * window + 3)) << "window " << window << "s";
    }
  }
  // And the limit does not starve it: 120 at 20/s after a burst of 20 is about 5 s.
  const double span = std::chrono::duration<double>(at.back() - at.front()).count();
  EXPECT_GE(span, 4.0);
  EXPECT_LE(span, 30.0);
  // Parked deliveries went through a tier without spending an attempt.
  auto parked = tierRecords();
  EXPECT_FALSE(parked.empty()) << "nothing was parked: the test did not exercise parking";
  for (const auto& m : parked) EXPECT_EQ(records::DeliveryMeta::fromHeaders(m.headers).attempt, 1);
  EXPECT_TRUE(readTopic(pipeline_->config(), pipeline_->config().topics.dlq()).empty());
}

TEST_F(DelivererTest, ConcurrencyCapHoldsAndParkedDeliveriesSpendNoAttempts) {
  Receiver receiver([](const ReceivedRequest&) {
    std::this_thread::sleep_for(100ms);
    return 200;
  });
  ASSERT_NO_FATAL_FAILURE(deliverToACappedEndpoint(receiver, "cap", 2, 30, {}));
  EXPECT_LE(receiver.maxConcurrent(), 2);
  EXPECT_FALSE(tierRecords().empty()) << "nothing was parked";
}

// A delivery parked for want of room comes back about when its endpoint can take it: a
// slow endpoint's backlog must not cycle through the tiers every second (each cycle costs
// the deliverer, the retry role and the broker a produce and a fetch per delivery).
TEST_F(DelivererTest, ParkedDeliveriesOfASlowEndpointComeBackAtItsPaceNotEverySecond) {
  Receiver receiver([](const ReceivedRequest&) {
    std::this_thread::sleep_for(2s);
    return 200;
  });
  // One at a time and room for one waiting: of 8, six are parked at once.
  constexpr int kEvents = 8;
  ASSERT_NO_FATAL_FAILURE(deliverToACappedEndpoint(receiver, "pace", 1, kEvents, kOneWorker));
  // Each park writes a new due time; a hop between tiers keeps it.
  std::set<std::pair<std::string, int64_t>> parks;
  for (const auto& r : tierRecords()) {
    const auto meta = records::DeliveryMeta::fromHeaders(r.headers);
    parks.emplace(meta.delivery_id, meta.due_ms);
  }
  // 16 s of sending: parked every second, the six were parked 42 times (measured).
  std::printf("parks: %zu for %d deliveries\n", parks.size(), kEvents);
  EXPECT_GE(parks.size(), 6u);
  EXPECT_LE(parks.size(), 3u * kEvents) << "parked deliveries cycled through the tiers";
}

TEST_F(DelivererTest, OrderedSubscriptionDeliversInOrderRetryingInPlace) {
  std::atomic<int> failures_left{2};
  Receiver receiver([&](const ReceivedRequest& r) {
    // The fourth event fails twice before it is taken.
    if (r.body.find("\"seq\":3}") != std::string::npos && failures_left-- > 0) return 500;
    return 200;
  });
  Receiver unordered;
  ASSERT_NO_FATAL_FAILURE(startApi());
  subscribe(R"({"url":")" + receiver.url("/ordered") +
            R"(","events":["ord.*"],"ordered":true,)"
            // No jitter: the gap between attempts is checked below (±10 % would allow 270 ms).
            R"("retry_config":{"strategy":"fixed","retry_delay":300,"max_retries":5,)"
            R"("jitter":false}})");
  subscribe(R"({"url":")" + unordered.url("/any") + R"(","events":["ord.*"]})");
  pipeline_->start("router");
  pipeline_->start("retry");
  // One worker: a second consumer joining mid-test would take the partition over and send
  // the held retry again at once (at least once on a rebalance, but not what is tested).
  pipeline_->start("deliverer", "1", kOneWorker);
  constexpr int kEvents = 12;
  produceEvents("ord.event", kEvents, "one-key");
  ASSERT_TRUE(receiver.waitFor([](auto& r) { return r.size() >= kEvents + 2; }, 60s));
  std::vector<int> seqs;
  for (const auto& r : receiver.requests()) {
    auto at = r.body.find("\"seq\":");
    seqs.push_back(std::stoi(r.body.substr(at + 6)));
  }
  const std::vector<int> expected = {0, 1, 2, 3, 3, 3, 4, 5, 6, 7, 8, 9, 10, 11};
  EXPECT_EQ(seqs, expected);
  EXPECT_LE(receiver.maxConcurrent(), 1);
  // Retried in place: the same delivery id, about retry_delay apart.
  auto reqs = receiver.requests();
  EXPECT_EQ(reqs[3].headers.at("webhook-id"), reqs[5].headers.at("webhook-id"));
  EXPECT_GE(reqs[4].at - reqs[3].at, 280ms);
  // The other subscription got everything without waiting for the retries.
  ASSERT_TRUE(unordered.waitFor([](auto& r) { return r.size() >= kEvents; }, 30s));
  EXPECT_LT(unordered.requests().back().at, reqs[5].at);
  EXPECT_TRUE(tierRecords().empty()) << "ordered deliveries must not go through a tier";
}

// An ordered subscription whose head keeps failing holds back only its own partition: at
// its lane's bound it pauses that partition, and the worker goes on taking in (and
// polling) the others. Once the head goes, the partition resumes where it stopped, in order.
TEST_F(DelivererTest, AStuckOrderedSubscriptionHoldsBackOnlyItsOwnPartition) {
  std::atomic<bool> failing{true};
  std::mutex mu;
  std::vector<std::string> delivered;  // "first 3", "later 0", … as the ordered one took them
  Receiver ordered([&](const ReceivedRequest& r) {
    if (failing) return 500;
    constexpr std::string_view kType = R"("type":"ord2.)";
    const auto type = r.body.find(kType) + kType.size();
    const auto seq = r.body.find("\"seq\":");
    std::lock_guard lock(mu);
    delivered.push_back(r.body.substr(type, r.body.find('"', type) - type) + " " +
                        std::to_string(std::stoi(r.body.substr(seq + 6))));
    return 200;
  });
  Receiver others;
  ASSERT_NO_FATAL_FAILURE(startApi());
  const std::string ordered_id =
      subscribe(R"({"url":")" + ordered.url("/ordered") +
                R"(","events":["ord2.*"],"ordered":true,)"
                R"("retry_config":{"strategy":"fixed","retry_delay":300,"max_retries":100}})")
          .id;
  // Ten more, spread over the two partitions of `deliveries` by their ids.
  std::map<std::string, std::string> path_of;  // subscription id -> receiver path
  for (int i = 0; i < 10; ++i) {
    const std::string path = "/o" + std::to_string(i);
    path_of[subscribe(R"({"url":")" + others.url(path) + R"(","events":["ord2.*"]})").id] = path;
  }
  pipeline_->start("router");
  pipeline_->start("retry");
  auto env = kOneWorker;
  env["HOOKPIPE_MAX_WAITING"] = "8";  // lanes of 2
  auto& deliverer = pipeline_->start("deliverer", "1", env);
  produceEvents("ord2.first", 20, "one-key");
  ASSERT_TRUE(ordered.waitFor([](auto& r) { return r.size() >= 3; }, 60s)) << "head not retried";
  // Before the fix, the stuck lane held the whole waiting budget and intake stopped: none
  // of these would reach anyone until the head went through.
  produceEvents("ord2.later", 10, "one-key");
  std::map<std::string, int32_t> partition_of;
  for (const auto& m : readTopic(pipeline_->config(), pipeline_->config().topics.deliveries()))
    partition_of[records::DeliveryMeta::fromHeaders(m.headers).subscription_id] = m.partition;
  ASSERT_TRUE(partition_of.contains(ordered_id));
  std::vector<std::string> elsewhere;  // paths of subscriptions on the other partition
  for (const auto& [id, path] : path_of)
    if (partition_of.contains(id) && partition_of[id] != partition_of[ordered_id])
      elsewhere.push_back(path);
  ASSERT_FALSE(elsewhere.empty()) << "all ten on the ordered one's partition (1 in 1024)";
  EXPECT_TRUE(others.waitFor(
      [&](const std::vector<ReceivedRequest>& reqs) {
        for (const auto& path : elsewhere)
          if (std::count_if(reqs.begin(), reqs.end(),
                            [&](const auto& r) { return r.target == path; }) < 30)
            return false;
        return true;
      },
      30s))
      << "subscriptions on another partition were held up";
  EXPECT_TRUE(failing.load());
  failing = false;
  ASSERT_TRUE(eventually(
      [&] {
        std::lock_guard lock(mu);
        return delivered.size() >= 30;
      },
      60s));
  std::vector<std::string> expected;
  for (int i = 0; i < 20; ++i) expected.push_back("first " + std::to_string(i));
  for (int i = 0; i < 10; ++i) expected.push_back("later " + std::to_string(i));
  {
    std::lock_guard lock(mu);
    EXPECT_EQ(delivered, expected);
  }
  const std::string log = stopAndReadLog(deliverer);
  EXPECT_NE(log.find("paused: an ordered subscription's lane is full"), std::string::npos) << log;
  EXPECT_NE(log.find("resumed at offset="), std::string::npos) << log;
}

// Lanes stuck behind hanging endpoints fill the waiting budget: intake stops for at most a
// second, then goes on (parking what cannot go), so a healthy subscription's deliveries
// that arrive meanwhile go out without waiting for the hanging requests to end.
TEST_F(DelivererTest, AWaitingBudgetFullOfHangingLanesHoldsIntakeForASecondAtMost) {
  // (A receiver records a request when it answers: arrivals are counted here.)
  std::atomic<int> hanging_arrived{0};
  std::atomic<bool> let_go{false};  // set at the end: the hanging requests answer then
  auto hang = [&](const ReceivedRequest&) {
    ++hanging_arrived;
    for (int i = 0; i < 100 && !let_go; ++i) std::this_thread::sleep_for(100ms);
    return 200;
  };
  std::vector<std::unique_ptr<Receiver>> hanging;
  Receiver healthy;
  ASSERT_NO_FATAL_FAILURE(startApi());
  for (int i = 0; i < 4; ++i) {
    hanging.push_back(std::make_unique<Receiver>(hang));
    subscribe(R"({"url":")" + hanging.back()->url("/hang") +
              R"(","events":["bs.slow"],"max_concurrency":1,"timeout_ms":30000,)"
              R"("retry_config":{"strategy":"none"}})");
  }
  subscribe(R"({"url":")" + healthy.url("/ok") + R"(","events":["bs.fast"]})");
  pipeline_->start("router");
  pipeline_->start("retry");
  auto env = kOneWorker;
  env["HOOKPIPE_MAX_WAITING"] = "8";  // lanes of 2: four hanging lanes spend it
  pipeline_->start("deliverer", "1", env);
  produceEvents("bs.slow", 3);  // per hanging endpoint: one out, two waiting
  ASSERT_TRUE(eventually([&] { return hanging_arrived >= 4; }, 9s)) << hanging_arrived.load();
  const auto hung_at = Clock::now();
  produceEvents("bs.fast", 5);
  // Before, intake stayed stopped until the hanging requests ended, 10 s after they began.
  ASSERT_TRUE(healthy.waitFor([](auto& r) { return r.size() >= 5; }, 30s));
  EXPECT_LT(healthy.requests().back().at - hung_at, 5s)
      << "the healthy deliveries waited for the hanging requests";
  EXPECT_EQ(hanging_arrived, 4) << "a hanging request ended before the healthy ones went";
  let_go = true;
}

TEST_F(DelivererTest, RetryAfterOnA429IsHonoured) {
  std::atomic<int> calls{0};
  Receiver receiver([&](const ReceivedRequest&) { return calls++ == 0 ? 429 : 200; });
  receiver.setReplyHeaders([](int status) {
    return status == 429 ? std::map<std::string, std::string>{{"Retry-After", "3"}}
                         : std::map<std::string, std::string>{};
  });
  ASSERT_NO_FATAL_FAILURE(startApi());
  subscribe(R"({"url":")" + receiver.url("/busy") +
            R"(","events":["ra.*"],"retry_config":{"strategy":"fixed","retry_delay":100}})");
  pipeline_->start("router");
  pipeline_->start("retry");
  pipeline_->start("deliverer", "1", kOneWorker);
  produceEvents("ra.event", 1);
  ASSERT_TRUE(receiver.waitFor([](auto& r) { return r.size() >= 2; }, 60s));
  auto reqs = receiver.requests();
  EXPECT_GE(reqs[1].at - reqs[0].at, 2900ms);  // not the policy's 100 ms
  EXPECT_EQ(reqs[0].headers.at("webhook-id"), reqs[1].headers.at("webhook-id"));
}

TEST_F(DelivererTest, SlowReceiverTimesOutAndIsDeadLetteredAsTimeout) {
  Receiver receiver([](const ReceivedRequest&) {
    std::this_thread::sleep_for(1500ms);
    return 200;
  });
  ASSERT_NO_FATAL_FAILURE(startApi());
  auto sub =
      subscribe(R"({"url":")" + receiver.url("/slow") +
                R"(","events":["to.*"],"timeout_ms":300,"retry_config":{"strategy":"none"}})");
  pipeline_->start("router");
  pipeline_->start("deliverer");
  produceEvents("to.event", 1);
  const auto dlq = waitForDeadLetters(1);
  ASSERT_GE(dlq.size(), 1u) << "dead letters";
  auto meta = records::DeliveryMeta::fromHeaders(dlq[0].headers);
  EXPECT_EQ(meta.error_class, "timeout");
  EXPECT_EQ(meta.subscription_id, sub.id);
  EXPECT_EQ(meta.last_status, 0);
}

TEST_F(DelivererTest, SeveralWorkerThreadsDeliverEverythingOnce) {
  Receiver receiver;
  ASSERT_NO_FATAL_FAILURE(startApi());
  for (int i = 0; i < 6; ++i)
    subscribe(R"({"url":")" + receiver.url("/w" + std::to_string(i)) + R"(","events":["mt.*"]})");
  pipeline_->start("router");
  auto& d = pipeline_->start("deliverer", "1", {{"HOOKPIPE_DELIVERER_THREADS", "3"}});
  constexpr int kEvents = 100;
  produceEvents("mt.event", kEvents);
  ASSERT_TRUE(receiver.waitFor([](auto& r) { return r.size() >= 6 * kEvents; }, 60s));
  // Nothing more arrives (a copy would): a bounded window, failing as soon as one does.
  EXPECT_TRUE(testkit::holdsFor([&] { return receiver.requests().size() == 6u * kEvents; }, 500ms));
  auto counts = countByWebhookId(receiver.requests());
  EXPECT_EQ(counts.size(), 6u * kEvents);
  for (const auto& [id, n] : counts) EXPECT_EQ(n, 1) << id;
  std::string log;
  EXPECT_TRUE(eventually(
      [&] {
        log = pipeline_->logs();
        return log.find("started workers=3") != std::string::npos;
      },
      5s))
      << d.logPath();
}

// What a deliverer acknowledged with 2xx is remembered in Redis, not only in its memory: a
// new deliverer process (nothing in memory) handed copies of those delivery records — as a
// crash before the commit, a rebalance or a replay would — skips them, and still delivers
// what is new.
TEST_F(DelivererTest, ANewDelivererSkipsWhatAnEarlierOneDeliveredPerRedis) {
  Receiver receiver;
  auto& first = subscribeAndStart(receiver, "once");
  ASSERT_FALSE(HasFatalFailure());
  constexpr int kEvents = 10;
  produceEvents("once.event", kEvents);
  ASSERT_TRUE(receiver.waitFor([](auto& r) { return r.size() >= kEvents; }, 30s));
  pipeline_->stop(first);  // flushes its delivered marks to Redis
  // The same delivery records again, written before the next deliverer is assigned.
  const auto& config = pipeline_->config();
  auto originals = readTopic(config, config.topics.deliveries());
  ASSERT_EQ(originals.size(), static_cast<std::size_t>(kEvents));
  auto producer = kafka::Producer::create(config);
  ASSERT_TRUE(producer.has_value());
  for (auto& m : originals)
    ASSERT_TRUE((*producer)->produceBlocking(config.topics.deliveries(), m.key, m.value, m.headers,
                                             nullptr));
  ASSERT_TRUE((*producer)->flush(10s));
  pipeline_->start("deliverer", "2", kOneWorker);
  produceEvents("once.later", 3);
  ASSERT_TRUE(receiver.waitFor([](auto& r) { return r.size() >= kEvents + 3; }, 30s));
  // Time for any copy to arrive, were it sent; fails as soon as one does.
  EXPECT_TRUE(testkit::holdsFor(
      [&] { return receiver.requests().size() == static_cast<std::size_t>(kEvents + 3); }, 1s));
  auto counts = countByWebhookId(receiver.requests());
  EXPECT_EQ(counts.size(), static_cast<std::size_t>(kEvents + 3));
  for (const auto& [id, n] : counts) EXPECT_EQ(n, 1) << id;
  // (How a skip is observed and counted: DelivererObservedTest.)
}

// A second deliverer joins while the first has requests out: the first stops taking in
// the revoked partitions, lets their requests finish within its drain budget, marks and
// commits them, and lets go; between the two every delivery is made exactly once.
TEST_F(DelivererTest, ARebalanceMidLoadDrainsInFlightWorkAndSendsNothingTwice) {
  Receiver receiver([](const ReceivedRequest&) {
    std::this_thread::sleep_for(300ms);
    return 200;
  });
  ASSERT_NO_FATAL_FAILURE(startApi());
  for (int i = 0; i < 4; ++i)
    subscribe(R"({"url":")" + receiver.url("/rb" + std::to_string(i)) +
              R"(","events":["rb.*"],"max_concurrency":4})");
  pipeline_->start("router");
  auto& first = pipeline_->start("deliverer", "1", kOneWorker);
  constexpr int kEvents = 40;  // 160 deliveries, 16 at a time: about 3 s of work
  produceEvents("rb.event", kEvents);
  ASSERT_TRUE(receiver.waitFor([](auto& r) { return r.size() >= 20; }, 30s));
  auto& second = pipeline_->start("deliverer", "2", kOneWorker);
  ASSERT_TRUE(receiver.waitFor([](auto& r) { return r.size() >= 4 * kEvents; }, 60s));
  // Time for any duplicate to arrive; fails as soon as one does.
  EXPECT_TRUE(testkit::holdsFor([&] { return receiver.requests().size() == 4u * kEvents; }, 2s));
  auto counts = countByWebhookId(receiver.requests());
  EXPECT_EQ(counts.size(), 4u * kEvents);
  for (const auto& [id, n] : counts) EXPECT_EQ(n, 1) << id;
  const std::string log = stopAndReadLog(first);
  EXPECT_NE(log.find("revoked partitions="), std::string::npos) << "no rebalance happened";
  stopAndReadLog(second);
}

TEST_F(DelivererTest, PausedPastMaxPauseIsDeadLetteredAsPaused) {
  Receiver receiver;
  ASSERT_NO_FATAL_FAILURE(startApi());
  auto sub = subscribe(R"({"url":")" + receiver.url("/paused") +
                       R"(","events":["mp.*"],"is_active":false})");
  pipeline_->start("router");
  pipeline_->start("retry");
  pipeline_->start("deliverer", "1", {{"HOOKPIPE_MAX_PAUSE", "2s"}});
  produceEvents("mp.event", 3);
  const auto dlq = waitForDeadLetters(3);
  ASSERT_GE(dlq.size(), 3u) << "dead letters";
  for (const auto& m : dlq) {
    EXPECT_EQ(kafka::findHeader(m.headers, records::kDeadLetterReason).value_or(""), "paused");
    auto meta = records::DeliveryMeta::fromHeaders(m.headers);
    EXPECT_EQ(meta.attempt, 1);  // never attempted
    EXPECT_GT(meta.parked_since_ms, 0);
  }
  EXPECT_TRUE(receiver.requests().empty());
}

}  // namespace
}  // namespace hookpipe::testing

namespace hookpipe::testing {
namespace {

using namespace std::chrono_literals;

TEST_F(DelivererTest, EveryOutcomeClassAgainstARealReceiver) {
  Receiver receiver([](const ReceivedRequest& r) {
    if (r.target.starts_with("/s302")) return 302;
    if (r.target.starts_with("/s400")) return 400;
    if (r.target.starts_with("/s410")) return 410;
    if (r.target.starts_with("/s500")) return 500;
    return 200;
  });
  receiver.setReplyHeaders([](int status) {
    return status == 302 ? std::map<std::string, std::string>{{"Location", "/elsewhere"}}
                         : std::map<std::string, std::string>{};
  });
  ASSERT_NO_FATAL_FAILURE(startApi());
  const std::string none = R"(,"retry_config":{"strategy":"none"}})";
  std::map<std::string, std::string> class_of;  // subscription id -> expected error class
  auto add = [&](const std::string& url, const std::string& expected) {
    auto sub = subscribe(R"({"url":")" + url + R"(","events":["oc.*"])" + none);
    class_of[sub.id] = expected;
    return sub.id;
  };
  add(receiver.url("/s302"), "http_redirect");
  add(receiver.url("/s400"), "http_4xx");
  const std::string gone = add(receiver.url("/s410"), "http_410_gone");
  add(receiver.url("/s500"), "http_5xx");
  add("http://127.0.0.1:" + std::to_string(freePort()) + "/closed", "connection");
  subscribe(R"({"url":")" + receiver.url("/ok") + R"(","events":["oc.*"]})");
  pipeline_->start("router");
  pipeline_->start("deliverer");
  produceEvents("oc.event", 1);
  const auto dlq = waitForDeadLetters(class_of.size());
  ASSERT_GE(dlq.size(), class_of.size());
  for (const auto& m : dlq) {
    auto meta = records::DeliveryMeta::fromHeaders(m.headers);
    ASSERT_TRUE(class_of.contains(meta.subscription_id));
    EXPECT_EQ(meta.error_class, class_of[meta.subscription_id]) << meta.error_message;
  }
  EXPECT_EQ(receiver.requestsTo("/ok").size(), 1u);
  EXPECT_EQ(receiver.requestsTo("/s302").size(), 1u);
  EXPECT_TRUE(receiver.requestsTo("/elsewhere").empty()) << "a redirect was followed";
  // 410 Gone also disables the subscription, saying why.
  std::string disabled;
  EXPECT_TRUE(eventually(
      [&] {
        disabled = httpRequest("GET", pipeline_->apiUrl("/v1/subscriptions/" + gone), "").body;
        return disabled.find("\"is_active\":false") != std::string::npos;
      },
      10s));
  EXPECT_NE(disabled.find(R"("disabled_reason":"the endpoint answered 410 Gone at )"),
            std::string::npos)
      << disabled;
  // Made active again, it no longer carries the reason.
  auto resumed =
      httpRequest("POST", pipeline_->apiUrl("/v1/subscriptions/" + gone + "/resume"), "");
  EXPECT_EQ(resumed.status, 200) << resumed.body;
  EXPECT_EQ(resumed.body.find("disabled_reason"), std::string::npos) << resumed.body;
}

TEST_F(DelivererTest, PrivateAddressIsRefusedUnlessAllowed) {
  Receiver receiver;
  ASSERT_NO_FATAL_FAILURE(startApi());
  auto sub = subscribe(R"({"url":")" + receiver.url("/private") + R"(","events":["ssrf.*"]})");
  pipeline_->start("router");
  auto& deliverer =
      pipeline_->start("deliverer", "1", {{"HOOKPIPE_ALLOW_PRIVATE_TARGETS", "false"}});
  produceEvents("ssrf.event", 1);
  const auto dlq = waitForDeadLetters(1);
  ASSERT_GE(dlq.size(), 1u) << "dead letters";
  auto meta = records::DeliveryMeta::fromHeaders(dlq[0].headers);
  EXPECT_EQ(meta.error_class, "refused_address");
  EXPECT_EQ(meta.attempt, 1);  // permanent: no retries
  EXPECT_NE(meta.error_message.find("refused"), std::string::npos);
  EXPECT_TRUE(receiver.requests().empty());
  // A range in HOOKPIPE_ALLOWED_TARGETS is reached although private.
  pipeline_->stop(deliverer);
  pipeline_->start("deliverer", "1",
                   {{"HOOKPIPE_ALLOW_PRIVATE_TARGETS", "false"},
                    {"HOOKPIPE_ALLOWED_TARGETS", "10.0.0.0/8, 127.0.0.0/8"}});
  produceEvents("ssrf.allowed", 1);
  EXPECT_TRUE(receiver.waitFor([](auto& r) { return r.size() >= 1; }, 30s));
  EXPECT_EQ(readTopic(pipeline_->config(), pipeline_->config().topics.dlq()).size(), 1u);
}

// nghttpd (Debian's nghttp2-server): an HTTP/2-only receiver over TLS, with a
// self-signed certificate for localhost made by the openssl CLI; -v logs every frame and
// header it receives, each line tagged with its connection ("[id=N]").
class Http2Receiver {
 public:
  Http2Receiver()
      : dir_(std::filesystem::temp_directory_path() /
             ("hookpipe-h2-" + std::to_string(::getpid()))) {
    std::filesystem::create_directories(dir_ / "www");
    std::ofstream(dir_ / "www" / "hook") << "ok\n";
    const std::string cmd =
        "openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=localhost"
        " -addext subjectAltName=DNS:localhost -keyout " +
        (dir_ / "key.pem").string() + " -out " + certPath() + " 2>/dev/null";
    if (std::system(cmd.c_str()) != 0) return;
    port_ = freePort();
    const std::string www = (dir_ / "www").string(), key = (dir_ / "key.pem").string(),
                      port = std::to_string(port_), log = logPath();
    try {
      nghttpd_ = std::make_unique<testkit::ChildProcess>(
          testkit::SpawnOptions{.program = "nghttpd",
                                .search_path = true,
                                .args = {"-v", "-d", www, port, key, certPath()},
                                .env = testkit::environmentWith({}),
                                .output_path = log});
    } catch (const std::exception&) {
      // running() says so.
    }
  }
  ~Http2Receiver() {
    nghttpd_.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  bool running() const { return nghttpd_ && nghttpd_->running(); }
  std::string url() const { return "https://localhost:" + std::to_string(port_) + "/hook"; }
  std::string certPath() const { return (dir_ / "cert.pem").string(); }
  std::string logPath() const { return (dir_ / "nghttpd.log").string(); }
  std::string log() const {
    std::ifstream in(logPath());
    return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  }
  // The connection id of every POST received, in order.
  std::vector<int> postConnections() const {
    std::vector<int> out;
    static const std::regex kPost(R"(\[id=(\d+)\].*recv \(stream_id=\d+\) :method: POST)");
    const std::string text = log();
    for (std::sregex_iterator it(text.begin(), text.end(), kPost), end; it != end; ++it)
      out.push_back(std::stoi((*it)[1]));
    return out;
  }

 private:
  std::filesystem::path dir_;
  unsigned short port_ = 0;
  std::unique_ptr<testkit::ChildProcess> nghttpd_;
};

TEST_F(DelivererTest, Http2ReceiverGetsSignedDeliveriesMultiplexedOnOneConnection) {
  Http2Receiver h2;
  ASSERT_TRUE(h2.running()) << "nghttpd (package nghttp2-server) and openssl are needed";
  ASSERT_NO_FATAL_FAILURE(startApi());
  subscribe(R"({"url":")" + h2.url() + R"(","events":["h2.*"]})");
  pipeline_->start("router");
  pipeline_->start("deliverer", "1",
                   {{"HOOKPIPE_DELIVERER_THREADS", "1"}, {"HOOKPIPE_CA_FILE", h2.certPath()}});
  constexpr int kEvents = 40;
  produceEvents("h2.event", kEvents);
  ASSERT_TRUE(eventually([&] { return h2.postConnections().size() >= kEvents; }, 60s))
      << "POSTs seen: " << h2.postConnections().size() << "\n"
      << pipeline_->logs();
  // Every delivery arrived over HTTP/2 (nghttpd speaks nothing else), signed, and all of
  // them shared one connection: the multi handle multiplexed them as streams.
  const auto connections = h2.postConnections();
  EXPECT_EQ(std::set<int>(connections.begin(), connections.end()).size(), 1u);
  const std::string text = h2.log();
  std::size_t signatures = 0;
  for (auto at = text.find("webhook-signature: v1,"); at != std::string::npos;
       at = text.find("webhook-signature: v1,", at + 1))
    ++signatures;
  EXPECT_GE(signatures, static_cast<std::size_t>(kEvents));
  EXPECT_TRUE(readTopic(pipeline_->config(), pipeline_->config().topics.dlq()).empty());
}

TEST_F(DelivererTest, IdleConnectionsClosedByTheReceiverCostNothingAndAreNotReused) {
  // A keep-alive connection back in curl's cache stays in the deliverer's epoll set; when
  // the receiver closes it, the deliverer must drop it (not spin on its readiness) and
  // the next delivery must still go out.
  Receiver receiver;
  auto& deliverer = subscribeAndStart(receiver, "idle");
  ASSERT_FALSE(HasFatalFailure());
  produceEvents("idle.first", 5);
  ASSERT_TRUE(receiver.waitFor([](const auto& r) { return r.size() >= 5; }, 30s));
  std::this_thread::sleep_for(500ms);  // the transfers finish; their connections go idle
  receiver.closeConnections();
  std::this_thread::sleep_for(500ms);
  const double cpu0 = testkit::processCpuSeconds(deliverer.pid());
  std::this_thread::sleep_for(2s);
  const double idle_cpu = testkit::processCpuSeconds(deliverer.pid()) - cpu0;
  EXPECT_LT(idle_cpu, 0.5) << "the deliverer spun on closed idle connections";
  produceEvents("idle.second", 3);
  EXPECT_TRUE(receiver.waitFor([](const auto& r) { return r.size() >= 8; }, 30s))
      << "delivered: " << receiver.requests().size();
  EXPECT_TRUE(readTopic(pipeline_->config(), pipeline_->config().topics.dlq()).empty());
}

TEST_F(DelivererTest, AProxyFromTheEnvironmentIsNotUsed) {
  // The SSRF guard checks the address connected to, so requests never go through a proxy
  // named in the environment (here one where nothing listens: using it would fail).
  Receiver receiver;
  ASSERT_NO_FATAL_FAILURE(startApi());
  subscribe(R"({"url":")" + receiver.url("/direct") + R"(","events":["proxy.*"]})");
  pipeline_->start("router");
  pipeline_->start("deliverer", "1",
                   {{"HOOKPIPE_DELIVERER_THREADS", "1"},
                    {"http_proxy", "http://127.0.0.1:1"},
                    {"ALL_PROXY", "http://127.0.0.1:1"}});
  produceEvents("proxy.event", 3);
  EXPECT_TRUE(eventually([&] { return receiver.requests().size() >= 3; }, 30s))
      << "delivered: " << receiver.requests().size();
  EXPECT_TRUE(readTopic(pipeline_->config(), pipeline_->config().topics.dlq()).empty());
}

// (Deliveries of a deleted subscription: DelivererObservedTest, in process, with its metrics.)

}  // namespace
}  // namespace hookpipe::testing
