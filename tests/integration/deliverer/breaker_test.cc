// The circuit breaker against real receivers, every role its own `hookpipe` process on the
// real broker and Redis: a flaky endpoint gets every delivery within its retry policy, an
// endpoint that is down for good sees a few probes per cooldown and every delivery reaches
// the dead-letter topic by its horizon plus one cooldown, and a healed endpoint's backlog
// flows again within one cooldown. And a storm of 410s disables a subscription with one
// write, not one per answer.
#include <gtest/gtest.h>

#include <algorithm>
#include <iostream>
#include <map>
#include <mutex>
#include <random>
#include <set>

#include "common/kafka/kafka.h"
#include "common/records/delivery.h"
#include "support/harness.h"
#include "support/receiver.h"

namespace hookpipe::testing {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

class BreakerTest : public PipelineFixture {
 protected:
  // Publishes `n` events of `type` (ids evt_<type>_<first + i>) straight to the events topic.
  void produceEvents(const std::string& type, int n, int first = 0) {
    auto producer = kafka::Producer::create(pipeline_->config());
    ASSERT_TRUE(producer.has_value());
    for (int i = first; i < first + n; ++i) {
      const std::string id = "evt_" + type + "_" + std::to_string(i);
      ASSERT_TRUE((*producer)->produceBlocking(pipeline_->config().topics.events(), id,
                                               R"({"id":")" + id + R"(","type":")" + type +
                                                   R"(","data":{"seq":)" + std::to_string(i) + "}}",
                                               {}, nullptr));
    }
    ASSERT_TRUE((*producer)->flush(10s));
  }
  // The router, the retry role and a one-worker deliverer with `env`, and one subscription
  // of `receiver` at /<name> for events <name>.* with `retry_config`.
  void start(Receiver& receiver, const std::string& name, const std::string& retry_config,
             std::map<std::string, std::string> env = {}) {
    ASSERT_NO_FATAL_FAILURE(startApi());
    subscribe(R"({"url":")" + receiver.url("/" + name) + R"(","events":[")" + name +
              R"(.*"],"retry_config":)" + retry_config + "}");
    pipeline_->start("router");
    pipeline_->start("retry");
    env["HOOKPIPE_DELIVERER_THREADS"] = "1";
    pipeline_->start("deliverer", "1", env);
  }
  std::vector<kafka::OwnedMessage> deadLetters() {
    return readTopic(pipeline_->config(), pipeline_->config().topics.dlq());
  }
};

// Answers 503 to the first `fails` requests of each webhook-id, then 200; remembers when
// each id was first seen and when it got its 200.
struct FailsFirstTries {
  explicit FailsFirstTries(int fails) : fails(fails) {}
  int operator()(const ReceivedRequest& r) {
    std::lock_guard lock(mu);
    const std::string& id = r.headers.at("webhook-id");
    first_seen.try_emplace(id, r.at);
    if (++seen[id] <= fails) return 503;
    delivered.try_emplace(id, r.at);
    return 200;
  }
  const int fails;
  std::mutex mu;
  std::map<std::string, int> seen;
  std::map<std::string, Clock::time_point> first_seen, delivered;
};

TEST_F(BreakerTest, AnEndpointThatFailsEachDeliverysFirstTwoTriesGetsEveryDeliveryInTime) {
  // 200 new deliveries fail at once: five failures in a row used to open the breaker, and
  // every half-open probe was some delivery's first or second try: 0 of 200 arrived.
  FailsFirstTries rule(2);
  Receiver receiver([&](const ReceivedRequest& r) { return rule(r); });
  ASSERT_NO_FATAL_FAILURE(start(receiver, "flaky",
                                R"({"strategy":"fixed","retry_delay":1000,"max_retries":3,)"
                                R"("jitter":false})"));
  constexpr int kEvents = 200;
  produceEvents("flaky.event", kEvents);
  ASSERT_TRUE(eventually(
      [&] {
        std::lock_guard lock(rule.mu);
        return rule.delivered.size() >= std::size_t(kEvents);
      },
      60s))
      << rule.delivered.size() << " of " << kEvents << " delivered";
  std::lock_guard lock(rule.mu);
  // Within the policy's horizon (3 retries 1 s apart), with a second of slack for the
  // tiers' and the broker's own delays.
  for (const auto& [id, at] : rule.delivered) EXPECT_LE(at - rule.first_seen.at(id), 4s) << id;
  EXPECT_TRUE(deadLetters().empty());
}

TEST_F(BreakerTest, AnEndpointThatFailsARandomHalfOfAllRequestsGetsEveryDelivery) {
  std::mutex mu;
  std::mt19937 rng(42);
  std::map<std::string, Clock::time_point> first_seen, delivered;
  Receiver receiver([&](const ReceivedRequest& r) {
    std::lock_guard lock(mu);
    const std::string& id = r.headers.at("webhook-id");
    first_seen.try_emplace(id, r.at);
    if (rng() % 2 == 0) return 503;
    delivered.try_emplace(id, r.at);
    return 200;
  });
  // 20 retries 200 ms apart: a delivery failing all 21 tries is one in two million.
  ASSERT_NO_FATAL_FAILURE(start(receiver, "half",
                                R"({"strategy":"fixed","retry_delay":200,"max_retries":20,)"
                                R"("jitter":false})"));
  constexpr int kEvents = 200;
  produceEvents("half.event", kEvents);
  ASSERT_TRUE(eventually(
      [&] {
        std::lock_guard lock(mu);
        return delivered.size() >= std::size_t(kEvents);
      },
      60s))
      << delivered.size() << " of " << kEvents << " delivered";
  // Within the policy's horizon (20 x 200 ms), with a second of slack: five failures in a
  // row used to open the breaker for 30 s.
  std::lock_guard lock(mu);
  for (const auto& [id, at] : delivered) EXPECT_LE(at - first_seen.at(id), 5s) << id;
  EXPECT_TRUE(deadLetters().empty());
}

// The last request before the first pause of at least `gap` (the breaker opening), or
// nullopt while there is none.
std::optional<Clock::time_point> lastBeforeGap(const std::vector<ReceivedRequest>& reqs,
                                               Clock::duration gap) {
  for (std::size_t i = 0; i + 1 < reqs.size(); ++i)
    if (reqs[i + 1].at - reqs[i].at >= gap) return reqs[i].at;
  if (!reqs.empty() && Clock::now() - reqs.back().at >= gap) return reqs.back().at;
  return std::nullopt;
}

// Waits until the requests pause for longer than 2.5 s: the breaker (cooldown 3 s) opened
// after the returned request. Nullopt after 30 s.
std::optional<Clock::time_point> waitUntilOpened(const Receiver& receiver) {
  std::optional<Clock::time_point> opened;
  eventually(
      [&] {
        opened = lastBeforeGap(receiver.requests(), 2500ms);
        return opened.has_value();
      },
      30s);
  return opened;
}

TEST_F(BreakerTest, AnEndpointDownForGoodSeesAFewProbesPerCooldownAndItsDeliveriesDeadLetter) {
  Receiver receiver([](const ReceivedRequest&) { return 500; });
  // Judged over 2 s, open for 3 s (doubling per failed round); 5 retries 1 s apart.
  ASSERT_NO_FATAL_FAILURE(
      start(receiver, "down",
            R"({"strategy":"fixed","retry_delay":1000,"max_retries":5,)"
            R"("jitter":false})",
            {{"HOOKPIPE_BREAKER_WINDOW", "2s"}, {"HOOKPIPE_BREAKER_COOLDOWN", "3s"}}));
  produceEvents("down.event", 20);
  // Failing for a whole window opens the breaker: the requests stop.
  const std::optional<Clock::time_point> opened = waitUntilOpened(receiver);
  ASSERT_TRUE(opened.has_value()) << "the breaker did not open";
  const std::size_t before_open = receiver.requests().size();
  // New deliveries of an open endpoint cost it nothing: each waits for the breaker.
  produceEvents("down.event", 100, 20);
  constexpr std::size_t kAll = 120;
  std::vector<kafka::OwnedMessage> dlq;
  ASSERT_TRUE(eventually(
      [&] {
        dlq = deadLetters();
        return dlq.size() >= kAll;
      },
      60s))
      << dlq.size() << " of " << kAll << " dead-lettered";
  const auto done = Clock::now();
  EXPECT_EQ(dlq.size(), kAll);
  // A few probes per cooldown (3 s, 6 s, 12 s, ...): at most 3 per half-open round, about
  // three rounds in the time it took, against one request per delivery before.
  auto reqs = receiver.requests();
  const std::size_t after_open = reqs.size() - before_open;
  const auto rounds =
      std::chrono::duration_cast<std::chrono::seconds>(done - *opened).count() / 3 + 1;
  EXPECT_LE(after_open, std::size_t(3 * rounds)) << "requests after the breaker opened";
  int64_t latest_ms = 0;
  for (const auto& m : dlq) {
    const auto meta = records::DeliveryMeta::fromHeaders(m.headers);
    if (auto at = kafka::findHeader(m.headers, records::kDeadLetterAtMs))
      latest_ms =
          std::max<int64_t>(latest_ms, std::stoll(std::string(*at)) - meta.first_attempt_ms);
  }
  std::cout << "figures: requests before open=" << before_open << " after open=" << after_open
            << " over " << std::chrono::duration<double>(done - *opened).count()
            << " s; longest first attempt to dead letter=" << latest_ms << " ms\n";
  // Nothing while open: no request within the first cooldown after the opening.
  for (const auto& r : reqs) {
    if (r.at > *opened) {
      EXPECT_GE(r.at - *opened, 2900ms);
    }
  }
  // Every delivery reached the dead-letter topic by its horizon (5 s after its first
  // attempt or first wait) plus the cooldown in force (at most 12 s here), with slack.
  std::map<std::string, int> reasons;
  for (const auto& m : dlq) {
    const auto meta = records::DeliveryMeta::fromHeaders(m.headers);
    const auto reason = kafka::findHeader(m.headers, records::kDeadLetterReason);
    const auto at = kafka::findHeader(m.headers, records::kDeadLetterAtMs);
    ASSERT_TRUE(reason && at);
    ++reasons[std::string(*reason)];
    ASSERT_GT(meta.first_attempt_ms, 0);
    EXPECT_LE(std::stoll(std::string(*at)) - meta.first_attempt_ms, 5'000 + 12'000 + 2'000)
        << meta.delivery_id;
    if (*reason == "breaker_open") {
      EXPECT_NE(meta.error_message.find("cut short by an open circuit breaker"), std::string::npos)
          << meta.error_message;
    }
  }
  // The 100 that came while it was open were never let out (but for the probes).
  EXPECT_GE(reasons["breaker_open"], 100 - 3 * static_cast<int>(rounds)) << reasons.size();
}

TEST_F(BreakerTest, AHealedEndpointsBacklogFlowsAgainWithinOneCooldown) {
  std::atomic<bool> healthy{false};
  std::mutex mu;
  std::set<std::string> delivered;
  Receiver receiver([&](const ReceivedRequest& r) {
    if (!healthy) return 503;
    std::lock_guard lock(mu);
    delivered.insert(r.headers.at("webhook-id"));
    return 200;
  });
  // A long policy (100 retries 1 s apart), so the backlog waits for the endpoint.
  ASSERT_NO_FATAL_FAILURE(start(receiver, "heals",
                                R"({"strategy":"fixed","retry_delay":1000,"max_retries":100,)"
                                R"("jitter":false})",
                                {{"HOOKPIPE_BREAKER_WINDOW", "2s"},
                                 {"HOOKPIPE_BREAKER_COOLDOWN", "3s"},
                                 {"HOOKPIPE_ENDPOINT_CONCURRENCY", "4"}}));
  constexpr int kEvents = 60;
  produceEvents("heals.event", kEvents);
  const std::optional<Clock::time_point> opened = waitUntilOpened(receiver);
  ASSERT_TRUE(opened.has_value()) << "the breaker did not open";
  // The first half-open round's probes fail too, and the breaker reopens for 6 s.
  const std::size_t seen = receiver.requests().size();
  ASSERT_TRUE(receiver.waitFor([&](auto& r) { return r.size() >= seen + 3; }, 10s));
  healthy = true;
  const auto healed = Clock::now();
  ASSERT_TRUE(eventually(
      [&] {
        std::lock_guard lock(mu);
        return delivered.size() >= std::size_t(kEvents);
      },
      30s))
      << delivered.size() << " of " << kEvents;
  // Within one cooldown (6 s) of healing, plus the time to send 60 at 4 at once.
  EXPECT_LE(Clock::now() - healed, 6s + 3s);
  std::cout << "figures: healed to all delivered="
            << std::chrono::duration<double>(Clock::now() - healed).count() << " s\n";
  EXPECT_LE(receiver.maxConcurrent(), 4);
  EXPECT_TRUE(deadLetters().empty());
}

TEST_F(BreakerTest, AStormOf410sWritesTheSubscriptionBackOnce) {
  Receiver receiver([](const ReceivedRequest&) { return 410; });
  ASSERT_NO_FATAL_FAILURE(startApi());
  const auto sub = subscribe(R"({"url":")" + receiver.url("/gone") +
                             R"(","events":["gone.*"],"max_concurrency":32})");
  pipeline_->start("router");
  pipeline_->start("retry");
  pipeline_->start("deliverer", "1", {{"HOOKPIPE_DELIVERER_THREADS", "1"}});
  produceEvents("gone.event", 100);
  // Many requests are out when the first 410 comes back; each of them answers 410 too.
  ASSERT_TRUE(receiver.waitFor([](auto& r) { return r.size() >= 10; }, 30s));
  ASSERT_TRUE(eventually(
      [&] {
        const auto body =
            httpRequest("GET", pipeline_->apiUrl("/v1/subscriptions/" + sub.id), "").body;
        return body.find("\"is_active\":false") != std::string::npos;
      },
      30s));
  // Let the deliverer finish what was out (nothing more is sent once it is disabled).
  const auto out = receiver.requests().size();
  ASSERT_TRUE(eventually([&] { return deadLetters().size() >= out; }, 30s));
  int writes = 0;
  for (const auto& m : readTopic(pipeline_->config(), pipeline_->config().topics.subscriptions()))
    if (m.key == sub.id) ++writes;
  // Created once, disabled once (it was 73-91 writes in a burst before).
  EXPECT_EQ(writes, 2) << out << " requests answered 410";
  EXPECT_GE(out, 10u);
}

}  // namespace
}  // namespace hookpipe::testing
