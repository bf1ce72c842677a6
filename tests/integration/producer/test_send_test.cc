// POST /v1/subscriptions/{id}/test against a real `hookpipe producer` and a real receiver:
// a given payload arrives signed, the catalog example is sent when none is given, the
// answer carries the status, the deliverer's error class, the time, the response body and
// the headers sent; nothing is written to Kafka; 404, 400 and auth.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <cstdlib>
#include <thread>
#include <vector>

#include "common/signing/signer.h"
#include "support/harness.h"
#include "support/receiver.h"

namespace hookpipe::testing {
namespace {

using namespace std::chrono_literals;
namespace bj = boost::json;

constexpr const char* kToken = "test-send-token";
const std::string kAuth = std::string("Authorization: Bearer ") + kToken;

class SubscriptionTestSendTest : public PipelineFixture {
 protected:
  // The producer, with an API token, on the pipeline's API port.
  void startProducer() {
    pipeline_->start("producer", "1", {{"HOOKPIPE_API_TOKENS", kToken}});
    ASSERT_TRUE(eventually(
        [&] { return httpRequest("GET", pipeline_->apiUrl("/healthz"), "").status == 200; }, 60s))
        << pipeline_->logs();
  }
  static HttpResult call(const std::string& method, const std::string& url,
                         const std::string& body = "") {
    return httpRequest(method, url, body, "application/json", {kAuth});
  }
  Created create(const std::string& json) {
    auto r = call("POST", pipeline_->apiUrl("/v1/subscriptions"), json);
    EXPECT_EQ(r.status, 201) << r.body;
    return {jsonField(r.body, "id"), jsonField(r.body, "secret")};
  }
  HttpResult testSend(const std::string& id, const std::string& body = "") {
    return call("POST", pipeline_->apiUrl("/v1/subscriptions/" + id + "/test"), body);
  }
  static bj::object json(const HttpResult& r) {
    boost::system::error_code ec;
    auto v = bj::parse(r.body, ec);
    return ec || !v.is_object() ? bj::object() : v.as_object();
  }
  static bool hasHeader(const bj::object& answer, const std::string& prefix) {
    for (const auto& h : answer.at("request_headers").as_array())
      if (h.as_string().starts_with(prefix)) return true;
    return false;
  }
};

TEST_F(SubscriptionTestSendTest, GivenPayloadArrivesSignedAndTheAnswerSaysWhatHappened) {
  Receiver receiver;
  ASSERT_NO_FATAL_FAILURE(startProducer());
  auto sub = create(R"({"url":")" + receiver.url("/hook") +
                    R"(","events":["order.created"],"headers":{"X-Team":"billing"}})");

  auto r = testSend(sub.id, R"({"payload": {"hello": "world", "n": 1}})");
  ASSERT_EQ(r.status, 200) << r.body;
  auto a = json(r);
  EXPECT_EQ(a.at("subscription_id").as_string(), sub.id);
  EXPECT_EQ(a.at("status").as_int64(), 200);
  EXPECT_EQ(a.at("outcome").as_string(), "delivered");
  EXPECT_TRUE(a.at("error_class").is_null());
  EXPECT_TRUE(a.at("error").is_null());
  EXPECT_GE(a.at("duration_ms").as_int64(), 0);
  EXPECT_EQ(a.at("response_body").as_string(), "status 200");
  EXPECT_EQ(a.at("request_body").as_string(), R"({"hello":"world","n":1})");
  const std::string delivery_id(a.at("delivery_id").as_string());
  EXPECT_TRUE(delivery_id.starts_with("msg_test_")) << delivery_id;
  EXPECT_TRUE(hasHeader(a, "webhook-id: " + delivery_id));
  EXPECT_TRUE(hasHeader(a, "webhook-signature: v1,"));
  EXPECT_TRUE(hasHeader(a, "webhook-timestamp: "));
  EXPECT_TRUE(hasHeader(a, "X-Team: billing"));
  EXPECT_EQ(r.body.find(sub.secret), std::string::npos) << "the secret is never echoed";

  // Sent synchronously: the request is already there.
  auto got = receiver.requestsTo("/hook");
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].body, R"({"hello":"world","n":1})");
  EXPECT_EQ(got[0].headers.at("webhook-id"), delivery_id);
  EXPECT_EQ(got[0].headers.at("content-type"), "application/json");
  EXPECT_TRUE(validSignature(got[0], sub.secret));
}

TEST_F(SubscriptionTestSendTest, WithoutPayloadTheCatalogExampleIsSentAsAnEvent) {
  Receiver receiver;
  ASSERT_NO_FATAL_FAILURE(startProducer());
  auto t = call("POST", pipeline_->apiUrl("/v1/event-types"),
                R"({"name":"order.created","example":{"order_id":42,"amount":250}})");
  ASSERT_EQ(t.status, 201) << t.body;
  // The first exact type is picked; the pattern before it is skipped.
  auto sub =
      create(R"({"url":")" + receiver.url("/hook") + R"(","events":["order.*","order.created"]})");

  auto r = testSend(sub.id);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(json(r).at("status").as_int64(), 200);
  auto got = receiver.requestsTo("/hook");
  ASSERT_EQ(got.size(), 1u);
  EXPECT_TRUE(validSignature(got[0], sub.secret));
  auto event = bj::parse(got[0].body).as_object();
  EXPECT_EQ(event.at("type").as_string(), "order.created");
  EXPECT_TRUE(event.at("id").as_string().starts_with("evt_test_")) << got[0].body;
  EXPECT_TRUE(event.at("timestamp").is_string());
  EXPECT_EQ(bj::serialize(event.at("data")), R"({"order_id":42,"amount":250})");

  // An event type without an example: the built-in sample, with that type.
  r = testSend(sub.id, R"({"event_type":"order.shipped"})");
  ASSERT_EQ(r.status, 200) << r.body;
  got = receiver.requestsTo("/hook");
  ASSERT_EQ(got.size(), 2u);
  event = bj::parse(got[1].body).as_object();
  EXPECT_EQ(event.at("type").as_string(), "order.shipped");
  EXPECT_TRUE(event.at("data").as_object().contains("message")) << got[1].body;
}

TEST_F(SubscriptionTestSendTest, TheSampleEventIsSentInTheSubscriptionsFormat) {
  Receiver receiver;
  ASSERT_NO_FATAL_FAILURE(startProducer());
  auto sub = create(R"({"url":")" + receiver.url("/slack") +
                    R"(","events":["order.created"],"format":"slack"})");
  auto r = testSend(sub.id);
  ASSERT_EQ(r.status, 200) << r.body;
  auto got = receiver.requestsTo("/slack");
  ASSERT_EQ(got.size(), 1u);
  auto message = bj::parse(got[0].body).as_object();
  const auto& blocks = message.at("attachments").at(0).at("blocks").as_array();
  EXPECT_EQ(blocks.at(0).at("text").at("text").as_string(), "order.created") << got[0].body;
  EXPECT_EQ(json(r).at("request_body").as_string(), got[0].body);
  // A given payload is the body as it is, whatever the format.
  r = testSend(sub.id, R"({"payload":{"text":"hello"}})");
  ASSERT_EQ(r.status, 200) << r.body;
  got = receiver.requestsTo("/slack");
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[1].body, R"({"text":"hello"})");
}

TEST_F(SubscriptionTestSendTest, FailingReceiverGivesItsStatusAndTheDeliverersErrorClass) {
  Receiver receiver([](const ReceivedRequest&) { return 500; });
  ASSERT_NO_FATAL_FAILURE(startProducer());
  auto sub = create(R"({"url":")" + receiver.url("/hook") + R"(","events":["*"]})");

  auto r = testSend(sub.id, R"({"payload":{"x":1}})");
  ASSERT_EQ(r.status, 200) << r.body;
  auto a = json(r);
  EXPECT_EQ(a.at("status").as_int64(), 500);
  EXPECT_EQ(a.at("outcome").as_string(), "retry");
  EXPECT_EQ(a.at("error_class").as_string(), "http_5xx");
  EXPECT_NE(std::string(a.at("error").as_string()).find("HTTP 500"), std::string::npos);
  EXPECT_EQ(a.at("response_body").as_string(), "status 500");
  EXPECT_EQ(receiver.requestsTo("/hook").size(), 1u) << "a test send is never retried";
}

TEST_F(SubscriptionTestSendTest, UnreachableEndpointGivesStatusZeroAndConnection) {
  ASSERT_NO_FATAL_FAILURE(startProducer());
  const unsigned short closed = freePort();  // nothing listens there
  auto sub =
      create(R"({"url":"http://127.0.0.1:)" + std::to_string(closed) + R"(/hook","events":["*"]})");

  auto r = testSend(sub.id);
  ASSERT_EQ(r.status, 200) << r.body;
  auto a = json(r);
  EXPECT_EQ(a.at("status").as_int64(), 0);
  EXPECT_EQ(a.at("outcome").as_string(), "retry");
  EXPECT_EQ(a.at("error_class").as_string(), "connection");
  EXPECT_FALSE(a.at("error").as_string().empty());
  EXPECT_EQ(a.at("response_body").as_string(), "");
}

// The error classes the deliverer retries on, from real failures: a name that does not
// resolve (.invalid never does, RFC 6761) and a TLS handshake with a plain HTTP server.
TEST_F(SubscriptionTestSendTest, DnsAndTlsFailuresAreRetriedWithTheirOwnClass) {
  Receiver plain;  // speaks HTTP/1.1 only
  ASSERT_NO_FATAL_FAILURE(startProducer());
  // (A resolver that answers slowly must not turn this into a connect timeout.)
  auto dns = create(
      R"({"url":"https://no-such-host.invalid/hook","events":["*"],"connect_timeout_ms":30000})");
  auto tls =
      create(R"({"url":")" + plain.url("/hook").replace(0, 4, "https") + R"(","events":["*"]})");
  for (const auto& [id, error_class] :
       std::vector<std::pair<std::string, std::string>>{{dns.id, "dns"}, {tls.id, "tls"}}) {
    auto r = testSend(id);
    ASSERT_EQ(r.status, 200) << r.body;
    auto a = json(r);
    EXPECT_EQ(a.at("status").as_int64(), 0) << r.body;
    EXPECT_EQ(a.at("outcome").as_string(), "retry") << r.body;
    EXPECT_EQ(a.at("error_class").as_string(), error_class) << r.body;
  }
  EXPECT_TRUE(plain.requests().empty()) << "the TLS handshake reached the HTTP handler";
}

// A subscription's connect_timeout_ms replaces HOOKPIPE_CONNECT_TIMEOUT_MS (10 s). The
// endpoint never completes a handshake: a listener whose accept queue is full, so the
// kernel drops further SYNs, and curl gives up after the subscription's 300 ms.
TEST_F(SubscriptionTestSendTest, ASubscriptionsConnectTimeoutReplacesTheDefault) {
  const int listener = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof sa;
  ASSERT_EQ(::bind(listener, reinterpret_cast<sockaddr*>(&sa), len), 0);
  ASSERT_EQ(::listen(listener, 0), 0);
  ASSERT_EQ(::getsockname(listener, reinterpret_cast<sockaddr*>(&sa), &len), 0);
  std::vector<int> fillers;  // fill the accept queue (never accepted)
  for (int i = 0; i < 4; ++i) {
    const int c = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    ::connect(c, reinterpret_cast<sockaddr*>(&sa), sizeof sa);
    fillers.push_back(c);
  }
  std::this_thread::sleep_for(200ms);
  ASSERT_NO_FATAL_FAILURE(startProducer());
  auto sub = create(R"({"url":"http://127.0.0.1:)" + std::to_string(ntohs(sa.sin_port)) +
                    R"(/hook","events":["*"],"connect_timeout_ms":300})");
  auto r = testSend(sub.id);
  for (int c : fillers) ::close(c);
  ::close(listener);
  ASSERT_EQ(r.status, 200) << r.body;
  auto a = json(r);
  EXPECT_EQ(a.at("status").as_int64(), 0);
  EXPECT_EQ(a.at("error_class").as_string(), "timeout") << r.body;
  // curl names the time it gave up after: the subscription's 300 ms (a loaded machine
  // reports a few ms more), not the 10 s default.
  const std::string error(a.at("error").as_string());
  const auto after = error.find("after ");
  ASSERT_NE(after, std::string::npos) << r.body;
  const long waited_ms = std::strtol(error.c_str() + after + 6, nullptr, 10);
  EXPECT_GE(waited_ms, 300) << r.body;
  EXPECT_LT(waited_ms, 2000) << r.body;
}

TEST_F(SubscriptionTestSendTest, PausedSubscriptionIsSentToAndNothingIsWrittenToKafka) {
  Receiver receiver;
  ASSERT_NO_FATAL_FAILURE(startProducer());
  auto sub = create(R"({"url":")" + receiver.url("/hook") + R"(","events":["*"]})");
  ASSERT_EQ(call("POST", pipeline_->apiUrl("/v1/subscriptions/" + sub.id + "/pause")).status, 200);

  auto r = testSend(sub.id, R"({"payload":{"x":1}})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(json(r).at("outcome").as_string(), "delivered");
  EXPECT_EQ(receiver.requestsTo("/hook").size(), 1u);
  const auto& topics = pipeline_->config().topics;
  EXPECT_TRUE(readTopic(pipeline_->config(), topics.events()).empty());
  EXPECT_TRUE(readTopic(pipeline_->config(), topics.deliveries()).empty());
  // Still paused.
  auto s = call("GET", pipeline_->apiUrl("/v1/subscriptions/" + sub.id));
  EXPECT_FALSE(json(s).at("is_active").as_bool()) << s.body;
}

TEST_F(SubscriptionTestSendTest, UnknownSubscriptionIs404AndABadBodyIs400WithAPointer) {
  Receiver receiver;
  ASSERT_NO_FATAL_FAILURE(startProducer());
  EXPECT_EQ(testSend("sub_nope").status, 404);
  auto sub = create(R"({"url":")" + receiver.url("/hook") + R"(","events":["*"]})");

  auto bad = testSend(sub.id, "{not json");
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(json(bad).at("errors").as_array()[0].as_object().at("pointer").as_string(), "");
  bad = testSend(sub.id, R"({"payload":[1,2],"event_type":"a b","colour":"red"})");
  EXPECT_EQ(bad.status, 400) << bad.body;
  std::vector<std::string> pointers;
  const auto answer = json(bad);
  for (const auto& e : answer.at("errors").as_array())
    pointers.emplace_back(e.as_object().at("pointer").as_string());
  EXPECT_EQ(pointers, (std::vector<std::string>{"/payload", "/event_type", "/colour"}));
  EXPECT_EQ(call("GET", pipeline_->apiUrl("/v1/subscriptions/" + sub.id + "/test")).status, 405);
  EXPECT_TRUE(receiver.requests().empty());
}

TEST_F(SubscriptionTestSendTest, NeedsAKnownBearerToken) {
  Receiver receiver;
  ASSERT_NO_FATAL_FAILURE(startProducer());
  auto sub = create(R"({"url":")" + receiver.url("/hook") + R"(","events":["*"]})");
  const std::string url = pipeline_->apiUrl("/v1/subscriptions/" + sub.id + "/test");
  EXPECT_EQ(httpRequest("POST", url, "").status, 401);
  EXPECT_EQ(httpRequest("POST", url, "", "application/json", {"Authorization: Bearer nope"}).status,
            403);
  EXPECT_TRUE(receiver.requests().empty());
  EXPECT_EQ(testSend(sub.id).status, 200);
  EXPECT_EQ(receiver.requests().size(), 1u);
}

}  // namespace
}  // namespace hookpipe::testing
