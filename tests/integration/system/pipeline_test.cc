// End-to-end behaviour of the walking skeleton on the real broker and Redis: every
// role runs as its own `hookpipe` process, webhooks go to a real local receiver.
#include <gtest/gtest.h>
#include <signal.h>

#include <set>
#include <thread>

#include "common/kafka/kafka.h"
#include "common/records/delivery.h"
#include "common/signing/signer.h"
#include "support/broker_proxy.h"
#include "support/harness.h"
#include "support/receiver.h"

namespace hookpipe::testing {
namespace {

using namespace std::chrono_literals;

using PipelineTest = PipelineFixture;

TEST_F(PipelineTest, EventToTwoSubscriptionsArrivesAtBothWithValidSignatures) {
  Receiver receiver;
  ASSERT_NO_FATAL_FAILURE(startApi());
  auto a = subscribe(R"({"url":")" + receiver.url("/a") + R"(","events":["order.created"]})");
  auto b = subscribe(R"({"url":")" + receiver.url("/b") + R"(","events":["order.*"]})");
  subscribe(R"({"url":")" + receiver.url("/other") + R"(","events":["invoice.paid"]})");
  pipeline_->start("router");
  pipeline_->start("deliverer");

  const std::string id = publish(R"({"type":"order.created","data":{"amount":42}})");
  ASSERT_FALSE(id.empty());
  ASSERT_TRUE(receiver.waitFor([](auto& reqs) { return reqs.size() >= 2; }, 60s));
  auto to_a = receiver.requestsTo("/a");
  auto to_b = receiver.requestsTo("/b");
  ASSERT_EQ(to_a.size(), 1u);
  ASSERT_EQ(to_b.size(), 1u);
  EXPECT_TRUE(validSignature(to_a[0], a.secret));
  EXPECT_TRUE(validSignature(to_b[0], b.secret));
  EXPECT_FALSE(validSignature(to_a[0], b.secret));
  EXPECT_NE(to_a[0].headers.at("webhook-id"), to_b[0].headers.at("webhook-id"));
  EXPECT_EQ(to_a[0].headers.at("content-type"), "application/json");
  EXPECT_NE(to_a[0].body.find("\"id\":\"" + id + "\""), std::string::npos);
  EXPECT_NE(to_a[0].body.find("\"amount\":42"), std::string::npos);
  EXPECT_TRUE(receiver.requestsTo("/other").empty());
}

// HOOKPIPE_HOT_FETCH_WAIT_MS: the router's and the deliverer's consumers fetch by time.
// A trickle of events, far below 64 KiB per fetch, still arrives, each once and within
// seconds (the broker holds each fetch up to 20 ms here).
TEST_F(PipelineTest, HotFetchesByTimeStillDeliverATrickleOfEventsOnce) {
  Receiver receiver;
  ASSERT_NO_FATAL_FAILURE(startApi());
  subscribe(R"({"url":")" + receiver.url("/hot") + R"(","events":["order.*"]})");
  const std::map<std::string, std::string> hot = {{"HOOKPIPE_HOT_FETCH_WAIT_MS", "20"}};
  pipeline_->start("router", "1", hot);
  pipeline_->start("deliverer", "1", hot);
  std::set<std::string> ids;
  for (int i = 0; i < 5; ++i) {
    const std::string id =
        publish(R"({"type":"order.created","data":{"n":)" + std::to_string(i) + "}}");
    ASSERT_FALSE(id.empty());
    ids.insert(id);
    ASSERT_TRUE(
        receiver.waitFor([&](auto& reqs) { return reqs.size() >= ids.size(); }, i == 0 ? 60s : 5s))
        << "event " << i << " not delivered\n"
        << pipeline_->logs();
  }
  std::this_thread::sleep_for(500ms);
  const auto got = receiver.requestsTo("/hot");
  ASSERT_EQ(got.size(), ids.size());
  std::set<std::string> seen;
  for (const auto& r : got) seen.insert(r.headers.at("webhook-id"));
  EXPECT_EQ(seen.size(), ids.size());
}

// The router and the deliverer lose the broker for a while (both reach it through a proxy
// that is cut; the API keeps it), with hot fetches by time on. Events published meanwhile
// wait in the topic; once the broker is back every one of them is delivered.
TEST_F(PipelineTest, HotFetchesByTimeLoseNothingWhenTheBrokerIsGoneForAWhile) {
  Receiver receiver;
  ASSERT_NO_FATAL_FAILURE(startApi());
  subscribe(R"({"url":")" + receiver.url("/outage") + R"(","events":["order.*"]})");
  BrokerProxy proxy(testBrokers());
  const std::map<std::string, std::string> via_proxy = {{"HOOKPIPE_BROKERS", proxy.address()},
                                                        {"HOOKPIPE_HOT_FETCH_WAIT_MS", "20"}};
  pipeline_->start("router", "1", via_proxy);
  pipeline_->start("deliverer", "1", via_proxy);
  std::set<std::string> published;
  const auto publishSome = [&](int n) {
    for (int i = 0; i < n; ++i) {
      const std::string id = publish(R"({"type":"order.created","data":{"n":)" +
                                     std::to_string(published.size()) + "}}");
      ASSERT_FALSE(id.empty());
      published.insert(id);
    }
  };
  // The events delivered, by id (waitFor's predicate runs under the receiver's lock: it
  // is given the requests, not asked for them).
  const auto eventIdsIn = [](const std::vector<ReceivedRequest>& requests) {
    std::set<std::string> ids;
    for (const auto& r : requests) {
      const auto at = r.body.find("\"id\":\"");
      if (at != std::string::npos)
        ids.insert(r.body.substr(at + 6, r.body.find('"', at + 6) - at - 6));
    }
    return ids;
  };
  ASSERT_NO_FATAL_FAILURE(publishSome(10));
  ASSERT_TRUE(receiver.waitFor([&](auto& reqs) { return reqs.size() >= 10; }, 60s))
      << pipeline_->logs();

  proxy.cut();
  ASSERT_NO_FATAL_FAILURE(publishSome(20));
  std::this_thread::sleep_for(4s);
  // Nothing crosses a cut proxy: the events published meanwhile are still in the topic.
  EXPECT_EQ(eventIdsIn(receiver.requestsTo("/outage")).size(), 10u);

  proxy.restore();
  ASSERT_TRUE(receiver.waitFor(
      [&](const auto& reqs) { return eventIdsIn(reqs).size() >= published.size(); }, 90s))
      << eventIdsIn(receiver.requestsTo("/outage")).size() << " of " << published.size()
      << " delivered\n"
      << pipeline_->logs();
  EXPECT_EQ(eventIdsIn(receiver.requestsTo("/outage")), published);
}

// What the deliverer (not only the API's test send) does with a URL's credentials and the
// GitHub signature style: Basic auth from the URL, HMAC keyed with the secret as given.
TEST_F(PipelineTest, DeliveriesUseUrlCredentialsAndGithubStyleKeysWithTheSecretAsGiven) {
  Receiver receiver;
  ASSERT_NO_FATAL_FAILURE(startApi());
  const std::string url =
      "HTTP://hook-user:s3cr3t@127.0.0.1:" + std::to_string(receiver.port()) + "/gh";
  auto sub = subscribe(R"({"url":")" + url +
                       R"(","events":["order.created"],"signature_style":"github"})");
  pipeline_->start("router");
  pipeline_->start("deliverer");

  publish(R"({"type":"order.created","data":{"amount":42}})");
  ASSERT_TRUE(receiver.waitFor([](auto& reqs) { return !reqs.empty(); }, 60s));
  const auto got = receiver.requestsTo("/gh");
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].headers.at("authorization"),
            "Basic " + signing::base64Encode("hook-user:s3cr3t"));
  signing::Signer signer;
  EXPECT_EQ(got[0].headers.at("x-webhook-signature"), signer.githubStyle(sub.secret, got[0].body));
  EXPECT_EQ(pipeline_->logs().find("s3cr3t"), std::string::npos);
}

TEST_F(PipelineTest, FailingReceiverGetsConfiguredAttemptsThenDeadLetterAndReplayDelivers) {
  std::atomic<bool> healthy{false};
  Receiver receiver([&](const ReceivedRequest&) { return healthy ? 200 : 500; });
  ASSERT_NO_FATAL_FAILURE(startApi());
  auto sub = subscribe(
      R"({"url":")" + receiver.url("/hook") +
      R"(","events":["*"],"retry_config":{"strategy":"fixed","retry_delay":500,"max_retries":2,"jitter":false}})");
  pipeline_->start("router");
  pipeline_->start("deliverer");
  pipeline_->start("retry");

  const std::string event_id = publish(R"({"type":"user.signup","data":{}})");
  ASSERT_TRUE(receiver.waitFor([](auto& reqs) { return reqs.size() >= 3; }, 60s));
  const auto dead = waitForDeadLetters(1, 30s);
  ASSERT_FALSE(dead.empty());
  ASSERT_EQ(dead.size(), 1u);
  auto requests = receiver.requests();
  ASSERT_EQ(requests.size(), 3u) << "1 attempt + max_retries 2";
  for (const auto& r : requests)
    EXPECT_EQ(r.headers.at("webhook-id"), requests[0].headers.at("webhook-id"));

  const auto& h = dead[0].headers;
  auto meta = records::DeliveryMeta::fromHeaders(h);
  EXPECT_EQ(meta.subscription_id, sub.id);
  EXPECT_EQ(meta.event_id, event_id);
  EXPECT_EQ(meta.event_type, "user.signup");
  EXPECT_EQ(meta.attempt, 3);
  EXPECT_EQ(meta.last_status, 500);
  EXPECT_EQ(meta.error_class, "http_5xx");
  EXPECT_GT(meta.first_attempt_ms, 0);
  EXPECT_EQ(kafka::findHeader(h, records::kDeadLetterReason).value_or(""), "retries_exhausted");
  EXPECT_EQ(kafka::findHeader(h, records::kOriginTopic).value_or(""),
            pipeline_->config().topics.events());
  EXPECT_TRUE(kafka::findHeader(h, records::kDeadLetterAtMs).has_value());
  EXPECT_EQ(dead[0].key, sub.id);

  healthy = true;
  auto [status, output] = pipeline_->runCommand({"dlq", "replay", "--subscription", sub.id});
  ASSERT_EQ(status, 0) << output;
  EXPECT_NE(output.find("replayed 1 of 1"), std::string::npos) << output;
  ASSERT_TRUE(receiver.waitFor([](auto& reqs) { return reqs.size() >= 4; }, 60s));
  auto last = receiver.requests().back();
  EXPECT_EQ(last.headers.at("webhook-id"), requests[0].headers.at("webhook-id"));
  EXPECT_TRUE(validSignature(last, sub.secret));

  // Replaying again sends nothing: the delivery id is remembered as delivered.
  auto [status2, output2] = pipeline_->runCommand({"dlq", "replay"});
  ASSERT_EQ(status2, 0) << output2;
  const std::string marker = publish(R"({"type":"marker","data":{}})");
  ASSERT_TRUE(receiver.waitFor([](auto& reqs) { return reqs.size() >= 5; }, 60s));
  auto all = receiver.requests();
  std::string seen;
  for (const auto& r : all) seen += r.headers.at("webhook-id") + " " + r.body.substr(0, 70) + "\n";
  EXPECT_NE(all.back().body.find(marker), std::string::npos)
      << "the replayed dead letter was sent twice:\n"
      << seen;
  EXPECT_EQ(all.size(), 5u);
}

TEST_F(PipelineTest, InvalidEventsGoToInvalidTopicAndLaterEventsStillFlow) {
  Receiver receiver;
  ASSERT_NO_FATAL_FAILURE(startApi());
  subscribe(R"({"url":")" + receiver.url("/hook") + R"(","events":["*"]})");
  pipeline_->start("router");
  pipeline_->start("deliverer");

  // Other Kafka clients write to the events topic directly, bad input included.
  auto producer = kafka::Producer::create(pipeline_->config());
  ASSERT_TRUE(producer.has_value());
  const std::string topic = pipeline_->config().topics.events();
  for (std::string bad : {"this is not json", R"({"data":{"no":"type"}})", R"([1,2,3])"})
    ASSERT_TRUE((*producer)->produce(topic, "k", bad, {}, nullptr).has_value());
  ASSERT_TRUE((*producer)->produce(topic, "k", R"({"type":"good.one"})", {}, nullptr).has_value());
  ASSERT_TRUE((*producer)->flush(10s));

  ASSERT_TRUE(receiver.waitFor([](auto& reqs) { return !reqs.empty(); }, 60s));
  EXPECT_NE(receiver.requests()[0].body.find("good.one"), std::string::npos);
  // The router gave the id-less event an id.
  EXPECT_NE(receiver.requests()[0].body.find("\"id\":\"evt_"), std::string::npos);

  std::vector<kafka::OwnedMessage> invalid;
  ASSERT_TRUE(eventually(
      [&] {
        invalid = readTopic(pipeline_->config(), pipeline_->config().topics.invalid());
        return invalid.size() >= 3;
      },
      30s));
  ASSERT_EQ(invalid.size(), 3u);
  std::set<std::string> reasons;
  for (const auto& m : invalid)
    reasons.insert(kafka::findHeader(m.headers, records::kInvalidReason).value_or(""));
  EXPECT_TRUE(reasons.contains("missing field: type"));
  EXPECT_TRUE(reasons.contains("event must be a JSON object"));
  EXPECT_EQ(invalid[0].value.empty(), false);

  // The HTTP front door refuses the same input with a reason.
  auto res = httpRequest("POST", pipeline_->apiUrl("/v1/events"), R"({"data":{}})");
  EXPECT_EQ(res.status, 400);
  EXPECT_NE(res.body.find("missing field: type"), std::string::npos);
  EXPECT_EQ(httpRequest("POST", pipeline_->apiUrl("/v1/events"), "{}", "text/plain").status, 415);
}

// Issue 13 §4: what the API refuses, records produced straight to Kafka are refused for
// too: the router sends them to events.invalid with the reason.
TEST_F(PipelineTest, RouterSendsDuplicateKeysAndBadTypesOrIdsToTheInvalidTopicWithTheReason) {
  Receiver receiver;
  ASSERT_NO_FATAL_FAILURE(startApi());
  subscribe(R"({"url":")" + receiver.url("/hook") + R"(","events":["*"]})");
  pipeline_->start("router");
  pipeline_->start("deliverer");

  auto producer = kafka::Producer::create(pipeline_->config());
  ASSERT_TRUE(producer.has_value());
  const std::string topic = pipeline_->config().topics.events();
  const std::vector<std::pair<std::string, std::string>> bad = {
      {R"({"type":"dup.a","type":"dup.b","data":{"amount":5}})",
       "field type appears twice (duplicate keys are refused)"},
      {R"({"type":"dup.a","data":{"amount":5,"amount":500}})",
       "field data.amount appears twice (duplicate keys are refused)"},
      {R"({"type":")" + std::string(300, 't') + R"("})",
       "field type must be at most 256 bytes (it has 300)"},
      {R"({"type":"a\u0000b"})", "field type must not hold control characters"},
      {R"({"type":"a","id":"evt_x\r\nInjected: 1"})", "field id must not hold control characters"},
  };
  for (const auto& [value, reason] : bad)
    ASSERT_TRUE((*producer)->produce(topic, "k", value, {}, nullptr).has_value());
  const std::string good =
      R"({"id":"evt_good_big","timestamp":"t","type":"good.big","data":{"n":1e400}})";
  ASSERT_TRUE((*producer)->produce(topic, "k", good, {}, nullptr).has_value());
  ASSERT_TRUE((*producer)->flush(10s));

  ASSERT_TRUE(receiver.waitFor([](auto& reqs) { return !reqs.empty(); }, 60s));
  EXPECT_EQ(receiver.requests()[0].body, good);
  std::vector<kafka::OwnedMessage> invalid;
  ASSERT_TRUE(eventually(
      [&] {
        invalid = readTopic(pipeline_->config(), pipeline_->config().topics.invalid());
        return invalid.size() >= bad.size();
      },
      30s));
  ASSERT_EQ(invalid.size(), bad.size());
  for (std::size_t i = 0; i < bad.size(); ++i) {
    SCOPED_TRACE(bad[i].first.substr(0, 60));
    EXPECT_EQ(invalid[i].value, bad[i].first);
    const auto reason = kafka::findHeader(invalid[i].headers, records::kInvalidReason).value_or("");
    EXPECT_EQ(reason.substr(0, bad[i].second.size()), bad[i].second) << reason;
  }
  EXPECT_EQ(receiver.requests().size(), 1u) << "nothing invalid was delivered";
}

TEST_F(PipelineTest, DelivererWithoutRedisStillDelivers) {
  // Redis only remembers delivered ids; without it deliveries go on (at least once).
  Receiver receiver;
  ASSERT_NO_FATAL_FAILURE(startApi());
  subscribe(R"({"url":")" + receiver.url("/hook") + R"(","events":["*"]})");
  pipeline_->start("router");
  pipeline_->start("deliverer", "1",
                   {{"HOOKPIPE_REDIS", "127.0.0.1:" + std::to_string(freePort())}});
  std::set<std::string> sent;
  for (int i = 0; i < 3; ++i) sent.insert(publish(R"({"type":"no.redis"})"));
  ASSERT_TRUE(receiver.waitFor([](auto& reqs) { return reqs.size() >= 3; }, 60s));
  std::set<std::string> received;
  for (const auto& r : receiver.requests()) received.insert(jsonField(r.body, "id"));
  EXPECT_EQ(received, sent);
}

TEST_F(PipelineTest, DelivererKilledMidBatchAndRestartedLosesNothing) {
  // A receiver slow enough that the deliverer is killed with work in flight.
  Receiver receiver([](const ReceivedRequest&) {
    std::this_thread::sleep_for(5ms);
    return 200;
  });
  ASSERT_NO_FATAL_FAILURE(startApi());
  subscribe(R"({"url":")" + receiver.url("/hook") + R"(","events":["*"]})");
  pipeline_->start("router");
  auto* deliverer = &pipeline_->start("deliverer");

  constexpr int kEvents = 400;
  auto producer = kafka::Producer::create(pipeline_->config());
  ASSERT_TRUE(producer.has_value());
  std::set<std::string> sent;
  for (int i = 0; i < kEvents; ++i) {
    const std::string id = "evt_kill_" + std::to_string(i);
    sent.insert(id);
    ASSERT_TRUE((*producer)->produceBlocking(pipeline_->config().topics.events(), id,
                                             R"({"id":")" + id + R"(","type":"load.test"})", {},
                                             nullptr));
  }
  ASSERT_TRUE((*producer)->flush(10s));
  ASSERT_TRUE(receiver.waitFor([](auto& reqs) { return reqs.size() >= 50; }, 60s));
  deliverer->kill(SIGKILL);
  deliverer->wait(10s);
  const std::size_t before_restart = receiver.requests().size();
  EXPECT_LT(before_restart, static_cast<std::size_t>(kEvents))
      << "killed too late to test anything";
  pipeline_->stop(*deliverer);
  pipeline_->start("deliverer");

  auto received_ids = [&] {
    std::set<std::string> ids;
    for (const auto& r : receiver.requests()) ids.insert(jsonField(r.body, "id"));
    return ids;
  };
  // Duplicates may arrive (work in flight at the kill is sent again): wait for the set.
  EXPECT_TRUE(eventually([&] { return received_ids() == sent; }, 90s));
  EXPECT_EQ(received_ids(), sent);
}

}  // namespace
}  // namespace hookpipe::testing
