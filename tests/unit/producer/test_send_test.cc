// Unit tests for producer/test_send.h: the request body of POST /v1/subscriptions/{id}/test,
// the sample event, the answer, and TestSender's bound and shutdown.
#include "producer/test_send.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <boost/json.hpp>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "support/poll.h"

namespace hookpipe::producer {
namespace {

namespace bj = boost::json;

std::vector<std::string> pointers(const std::vector<Problem>& problems) {
  std::vector<std::string> out;
  for (const auto& p : problems) out.push_back(p.pointer);
  return out;
}

TEST(TestSendInput, EmptyBodyIsAnEmptyRequest) {
  for (const char* body : {"", "  \n", "{}"}) {
    TestSendInput in;
    in.event_type = "left.over";
    EXPECT_TRUE(parseTestSendInput(body, in).empty()) << body;
    EXPECT_FALSE(in.payload_json.has_value()) << body;
    EXPECT_EQ(in.event_type, "") << body;
  }
}

TEST(TestSendInput, PayloadIsKeptMinifiedAndEventTypeAsGiven) {
  TestSendInput in;
  ASSERT_TRUE(parseTestSendInput(
                  R"({"payload": {"a": [1, 2], "b": "x y"}, "event_type": "order.created"})", in)
                  .empty());
  ASSERT_TRUE(in.payload_json.has_value());
  EXPECT_EQ(*in.payload_json, R"({"a":[1,2],"b":"x y"})");
  EXPECT_EQ(in.event_type, "order.created");
}

TEST(TestSendInput, NullFieldsAreAbsent) {
  TestSendInput in;
  ASSERT_TRUE(parseTestSendInput(R"({"payload": null, "event_type": null})", in).empty());
  EXPECT_FALSE(in.payload_json.has_value());
  EXPECT_EQ(in.event_type, "");
}

TEST(TestSendInput, EveryProblemHasAPointer) {
  TestSendInput in;
  EXPECT_EQ(pointers(parseTestSendInput("{nope", in)), std::vector<std::string>{""});
  EXPECT_EQ(pointers(parseTestSendInput("[1]", in)), std::vector<std::string>{""});
  auto problems = parseTestSendInput(R"({"payload": "text", "event_type": 3, "x/y": true})", in);
  EXPECT_EQ(pointers(problems), (std::vector<std::string>{"/payload", "/event_type", "/x~1y"}));
  problems = parseTestSendInput(R"({"event_type": "order.*"})", in);
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_EQ(problems[0].pointer, "/event_type");
  EXPECT_TRUE(problems[0].message.starts_with("event_type ")) << problems[0].message;
}

// The payload is sent as an event, and events refuse a name given twice.
TEST(TestSendInput, ANameGivenTwiceIsRefusedInThePayloadToo) {
  TestSendInput in;
  auto problems = parseTestSendInput(
      R"({"payload":{"amount":1,"amount":2},"event_type":"a","event_type":"b"})", in);
  EXPECT_EQ(pointers(problems), (std::vector<std::string>{"/payload/amount", "/event_type"}));
  EXPECT_EQ(problems[0].message, "'amount' is given more than once");
}

Subscription withEvents(std::vector<std::string> events) {
  Subscription s;
  s.events = std::move(events);
  return s;
}

TEST(SampleEventType, RequestedThenFirstExactTypeThenBuiltIn) {
  EXPECT_EQ(sampleEventType(withEvents({"order.created"}), "invoice.paid"), "invoice.paid");
  EXPECT_EQ(sampleEventType(withEvents({"*", "order.*", "order.created", "order.paid"}), ""),
            "order.created");
  EXPECT_EQ(sampleEventType(withEvents({"*", "order.*"}), ""), "hookpipe.test");
  EXPECT_EQ(sampleEventType(withEvents({}), ""), "hookpipe.test");
}

TEST(SampleEvent, WrapsTheExampleAsAFullEvent) {
  const auto body = sampleEvent("evt_test_1", "order.created", 0, R"({"id":42})");
  EXPECT_EQ(
      body,
      R"({"id":"evt_test_1","type":"order.created","timestamp":"1970-01-01T00:00:00Z","data":{"id":42}})");
}

TEST(SampleEvent, BuiltInDataWhenThereIsNoExample) {
  const auto v = bj::parse(sampleEvent("evt_test_2", "a\"b", 1'700'000'000'000, ""));
  const auto& o = v.as_object();
  EXPECT_EQ(o.at("type").as_string(), "a\"b");
  EXPECT_EQ(o.at("id").as_string(), "evt_test_2");
  EXPECT_TRUE(o.at("data").as_object().at("test").as_bool());
}

TEST(TestSendJson, DeliveredHasNullErrors) {
  TestSendResult r;
  r.subscription_id = "sub_1";
  r.delivery_id = "msg_test_1";
  r.status = 204;
  r.duration_us = 2'600;
  r.response_body = "ok";
  r.request_headers = {"Content-Type: application/json", "webhook-id: msg_test_1"};
  r.request_body = R"({"a":1})";
  const auto o = bj::parse(testSendJson(r)).as_object();
  EXPECT_EQ(o.at("subscription_id").as_string(), "sub_1");
  EXPECT_EQ(o.at("delivery_id").as_string(), "msg_test_1");
  EXPECT_EQ(o.at("status").as_int64(), 204);
  EXPECT_EQ(o.at("outcome").as_string(), "delivered");
  EXPECT_TRUE(o.at("error_class").is_null());
  EXPECT_TRUE(o.at("error").is_null());
  EXPECT_EQ(o.at("duration_ms").as_int64(), 3);
  EXPECT_EQ(o.at("response_body").as_string(), "ok");
  EXPECT_EQ(o.at("request_headers").as_array().size(), 2u);
  EXPECT_EQ(o.at("request_body").as_string(), R"({"a":1})");
}

TEST(TestSendJson, FailureCarriesTheClassifiersErrorClass) {
  TestSendResult r;
  r.outcome = webhook::classify(0, CURLE_COULDNT_CONNECT);
  r.error = "Failed to connect";
  auto o = bj::parse(testSendJson(r)).as_object();
  EXPECT_EQ(o.at("status").as_int64(), 0);
  EXPECT_EQ(o.at("outcome").as_string(), "retry");
  EXPECT_EQ(o.at("error_class").as_string(), "connection");
  EXPECT_EQ(o.at("error").as_string(), "Failed to connect");
  r.outcome = webhook::classify(404, CURLE_OK);
  EXPECT_EQ(bj::parse(testSendJson(r)).as_object().at("outcome").as_string(), "dead_letter");
}

// A server that accepts connections and never answers, so a send stays in flight.
class SilentListener {
 public:
  SilentListener() {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a);
    ::listen(fd_, 16);
    socklen_t len = sizeof a;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] {
      for (;;) {
        const int c = ::accept(fd_, nullptr, nullptr);
        if (c < 0) return;
        std::lock_guard lock(mu_);
        accepted_.push_back(c);
      }
    });
  }
  ~SilentListener() {
    ::shutdown(fd_, SHUT_RDWR);  // wakes accept()
    thread_.join();
    ::close(fd_);
    for (int c : accepted_) ::close(c);
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/hook"; }
  std::size_t accepted() const {
    std::lock_guard lock(mu_);
    return accepted_.size();
  }

 private:
  int fd_ = -1;
  unsigned short port_ = 0;
  std::thread thread_;
  mutable std::mutex mu_;
  std::vector<int> accepted_;  // guarded by mu_
};

std::shared_ptr<const Subscription> subscriptionTo(const std::string& url) {
  auto s = std::make_shared<Subscription>();
  s->id = "sub_1";
  s->url = url;
  s->timeout_ms = 60'000;  // capped at kMaxTimeout
  return s;
}

TEST(TestSender, RefusesBeyondMaxInFlightAndDestructionAbortsRunningSends) {
  SilentListener silent;
  std::atomic<int> done{0};
  const auto started = std::chrono::steady_clock::now();
  {
    TestSender sender({std::chrono::milliseconds(5'000), std::chrono::milliseconds(60'000), true});
    for (std::size_t i = 0; i < TestSender::kMaxInFlight; ++i)
      EXPECT_TRUE(sender.submit(subscriptionTo(silent.url()), "msg_test_" + std::to_string(i), "{}",
                                [&](TestSendResult) { ++done; }));
    EXPECT_FALSE(sender.submit(subscriptionTo(silent.url()), "msg_test_x", "{}",
                               [&](TestSendResult) { ++done; }));
    // Every send is connected and waiting for an answer when the sender goes away.
    testkit::pollUntil([&] { return silent.accepted() >= TestSender::kMaxInFlight; },
                       std::chrono::seconds(5));
    EXPECT_EQ(silent.accepted(), TestSender::kMaxInFlight);
  }
  EXPECT_EQ(done.load(), 0) << "aborted sends are not answered";
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(10));
}

TEST(TestSender, PrivateTargetIsRefusedUnlessAllowed) {
  SilentListener silent;  // never reached
  std::mutex mu;
  std::condition_variable cv;
  std::optional<TestSendResult> got;
  TestSender sender({std::chrono::milliseconds(2'000), std::chrono::milliseconds(2'000), false});
  ASSERT_TRUE(
      sender.submit(subscriptionTo(silent.url()), "msg_test_1", "{}", [&](TestSendResult r) {
        std::lock_guard lock(mu);
        got = std::move(r);
        cv.notify_one();
      }));
  std::unique_lock lock(mu);
  ASSERT_TRUE(cv.wait_for(lock, std::chrono::seconds(10), [&] { return got.has_value(); }));
  EXPECT_EQ(got->status, 0);
  EXPECT_EQ(std::string(got->outcome.error_class), "refused_address");
  EXPECT_EQ(got->outcome.verdict, webhook::Verdict::kDeadLetter);
  EXPECT_NE(got->error.find("refused"), std::string::npos) << got->error;
  EXPECT_EQ(got->delivery_id, "msg_test_1");
  EXPECT_FALSE(got->request_headers.empty());
}

}  // namespace
}  // namespace hookpipe::producer
