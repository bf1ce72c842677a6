// The producer's HTTP API against a real `hookpipe producer` process on the real broker
// and Redis: auth, events and batches, idempotency, and the broker or Redis down.
// Subscription management: subscriptions_api_test.cc.
#include <gtest/gtest.h>

#include <algorithm>
#include <boost/json.hpp>

#include "integration/producer/api_fixture.h"
#include "support/broker_proxy.h"
#include "support/receiver.h"

namespace hookpipe::testing {
namespace {

namespace bj = boost::json;

TEST_F(ApiTest, EveryV1RouteNeedsAKnownBearerTokenButHealthzDoesNot) {
  const auto base = startProducer();
  EXPECT_EQ(call("GET", base + "/healthz", "", {}).status, 200);
  for (const auto& [method, path] : std::vector<std::pair<std::string, std::string>>{
           {"GET", "/v1/subscriptions"},
           {"POST", "/v1/subscriptions"},
           {"GET", "/v1/subscriptions/sub_x"},
           {"PUT", "/v1/subscriptions/sub_x"},
           {"PATCH", "/v1/subscriptions/sub_x"},
           {"DELETE", "/v1/subscriptions/sub_x"},
           {"POST", "/v1/subscriptions/sub_x/pause"},
           {"POST", "/v1/subscriptions/sub_x/resume"},
           {"GET", "/v1/subscriptions/sub_x/secret"},
           {"POST", "/v1/subscriptions/sub_x/secret/rotate"},
           {"POST", "/v1/subscriptions/sub_x/test"},
           {"GET", "/v1/integrations"},
           {"POST", "/v1/integrations/slack"},
           {"GET", "/v1/integrations/sub_x"},
           {"POST", "/v1/integrations/sub_x/test"},
           {"GET", "/v1/integrations/sub_x/status"},
           {"POST", "/v1/events"},
           {"POST", "/v1/events/batch"},
           {"GET", "/v1/openapi.json"}}) {
    auto none = call(method, base + path, "{}", {});
    EXPECT_EQ(none.status, 401) << method << " " << path;
    EXPECT_NE(none.headers["www-authenticate"].find("Bearer"), std::string::npos);
    EXPECT_EQ(call(method, base + path, "{}", {"Authorization: Basic dXNlcjpwYXNz"}).status, 401)
        << method << " " << path;
    EXPECT_EQ(call(method, base + path, "{}", {"Authorization: Bearer nope"}).status, 403)
        << method << " " << path;
  }
  EXPECT_EQ(
      call("GET", base + "/v1/subscriptions", "", {"Authorization: Bearer second-token"}).status,
      200);
  auto doc = call("GET", base + "/v1/openapi.json");
  EXPECT_EQ(doc.status, 200);
  EXPECT_TRUE(doc.json().as_object().contains("paths"));
}

TEST_F(ApiTest, SingleEventValidationErrorsPointAtTheProblem) {
  const auto base = startProducer({{"HOOKPIPE_MAX_EVENT_BYTES", "1000"}});
  auto missing = call("POST", base + "/v1/events", R"({"data":{}})");
  ASSERT_EQ(missing.status, 400);
  EXPECT_EQ(missing.json().at("errors").at(0).at("pointer").as_string(), "/type");
  auto bad_json = call("POST", base + "/v1/events", "{");
  ASSERT_EQ(bad_json.status, 400);
  EXPECT_EQ(bad_json.json().at("errors").at(0).at("pointer").as_string(), "");
  EXPECT_EQ(call("POST", base + "/v1/events", R"({"type":"a"})",
                 {std::string("Authorization: Bearer ") + kToken}, "text/plain")
                .status,
            415);
  auto big = call("POST", base + "/v1/events",
                  R"({"type":"a","data":")" + std::string(2000, 'x') + R"("})");
  EXPECT_EQ(big.status, 413);
  EXPECT_NE(big.body.find("1000"), std::string::npos);
  EXPECT_EQ(call("POST", base + "/v1/events", R"({"type":"a"})",
                 {std::string("Authorization: Bearer ") + kToken,
                  "Idempotency-Key: " + std::string(300, 'k')})
                .status,
            400);
}

TEST_F(ApiTest, BatchesAnswerPerItemAndABadItemDoesNotSinkTheGoodOnes) {
  const auto base = startProducer({{"HOOKPIPE_MAX_BATCH_EVENTS", "3"}});
  auto a =
      call("POST", base + "/v1/events/batch",
           R"([{"type":"order.created","data":{}},{"data":{}},{"type":"x","id":"evt_batch_1"}])");
  ASSERT_EQ(a.status, 200) << a.body;
  auto items = a.json().at("data").as_array();
  ASSERT_EQ(items.size(), 3u);
  EXPECT_TRUE(items[0].as_object().contains("id"));
  EXPECT_EQ(items[1].at("index").as_int64(), 1);
  EXPECT_EQ(items[1].at("status").as_int64(), 400);
  EXPECT_EQ(items[1].at("pointer").as_string(), "/type");
  EXPECT_EQ(items[2].at("id").as_string(), "evt_batch_1");
  EXPECT_EQ(a.json().at("accepted").as_int64(), 2);
  EXPECT_EQ(a.json().at("rejected").as_int64(), 1);

  auto nd = call("POST", base + "/v1/events/batch",
                 "{\"type\":\"nd.one\"}\n\nnot json\r\n{\"type\":\"nd.two\",\"id\":\"evt_nd_2\"}\n",
                 {std::string("Authorization: Bearer ") + kToken}, "application/x-ndjson");
  ASSERT_EQ(nd.status, 200) << nd.body;
  auto nd_items = nd.json().at("data").as_array();
  ASSERT_EQ(nd_items.size(), 3u);
  EXPECT_TRUE(nd_items[0].as_object().contains("id"));
  EXPECT_EQ(nd_items[1].at("status").as_int64(), 400);
  EXPECT_EQ(nd_items[2].at("id").as_string(), "evt_nd_2");

  auto too_many = call("POST", base + "/v1/events/batch",
                       R"([{"type":"a"},{"type":"b"},{"type":"c"},{"type":"d"}])");
  EXPECT_EQ(too_many.status, 413);
  EXPECT_NE(too_many.body.find("3"), std::string::npos);
  EXPECT_EQ(call("POST", base + "/v1/events/batch", R"({"type":"a"})").status, 400);
  EXPECT_EQ(call("POST", base + "/v1/events/batch", "[").status, 400);
  EXPECT_EQ(call("POST", base + "/v1/events/batch", "[]").status, 400);

  EXPECT_EQ(eventsWithKey("evt_batch_1"), 1u);
  EXPECT_EQ(eventsWithKey("evt_nd_2"), 1u);
  EXPECT_EQ(eventsWithKey(std::string(items[0].at("id").as_string())), 1u);
}

TEST_F(ApiTest, BatchOverTheByteLimitIs413WithTheLimit) {
  const auto base = startProducer({{"HOOKPIPE_MAX_BATCH_BYTES", "2000"}});
  std::string body = "[";
  for (int i = 0; i < 200; ++i) body += std::string(i ? "," : "") + R"({"type":"a.b"})";
  body += "]";
  auto a = call("POST", base + "/v1/events/batch", body);
  EXPECT_EQ(a.status, 413);
  EXPECT_NE(a.body.find("2000"), std::string::npos) << a.body;
}

// Issue 13 §4: the router read the first of two equal keys, receivers the last.
TEST_F(ApiTest, EventsWithDuplicateKeysAreRefusedNamingTheKey) {
  const auto base = startProducer();
  auto top = call("POST", base + "/v1/events",
                  R"({"id":"evt_dup_1","type":"dup.a","type":"dup.b","data":{"amount":5}})");
  ASSERT_EQ(top.status, 400) << top.body;
  EXPECT_EQ(top.json().at("errors").at(0).at("pointer").as_string(), "/type");
  auto nested = call("POST", base + "/v1/events",
                     R"({"id":"evt_dup_2","type":"dup.a","data":{"amount":5,"amount":500}})");
  ASSERT_EQ(nested.status, 400) << nested.body;
  EXPECT_EQ(nested.json().at("errors").at(0).at("pointer").as_string(), "/data/amount");
  EXPECT_NE(nested.body.find("appears twice"), std::string::npos) << nested.body;

  // In a batch (array and NDJSON) the item is refused and the others stored.
  auto batch = call("POST", base + "/v1/events/batch",
                    R"([{"id":"evt_dup_3","type":"a","data":{"x":{"k":1,"k":2}}},)"
                    R"({"id":"evt_dup_ok","type":"a"}])");
  ASSERT_EQ(batch.status, 200) << batch.body;
  auto items = batch.json().at("data").as_array();
  ASSERT_EQ(items.size(), 2u);
  EXPECT_EQ(items[0].at("status").as_int64(), 400);
  EXPECT_EQ(items[0].at("pointer").as_string(), "/data/x/k");
  EXPECT_EQ(items[1].at("id").as_string(), "evt_dup_ok");
  auto nd = call("POST", base + "/v1/events/batch",
                 "{\"id\":\"evt_dup_4\",\"type\":\"a\",\"id\":\"evt_dup_5\"}\n{\"type\":\"b\"}\n",
                 {std::string("Authorization: Bearer ") + kToken}, "application/x-ndjson");
  ASSERT_EQ(nd.status, 200) << nd.body;
  EXPECT_EQ(nd.json().at("data").at(0).at("status").as_int64(), 400);
  EXPECT_EQ(nd.json().at("rejected").as_int64(), 1);

  EXPECT_EQ(eventsWithKey("evt_dup_ok"), 1u);
  for (const char* id : {"evt_dup_1", "evt_dup_2", "evt_dup_3", "evt_dup_4", "evt_dup_5"})
    EXPECT_EQ(eventsWithKey(id), 0u) << id;
}

// Issue 13 §4: valid JSON numbers simdjson cannot hold were answered "Problem while
// parsing a number".
TEST_F(ApiTest, NumbersBeyondInt64AndDoubleAreAcceptedAndStoredAsSent) {
  const auto base = startProducer();
  const std::string single =
      R"({"id":"evt_big_1","type":"big.n","timestamp":"2026-01-09T15:30:00Z",)"
      R"("data":{"a":1e400,"b":18446744073709551616,"c":-9223372036854775809}})";
  auto a = call("POST", base + "/v1/events", single);
  ASSERT_EQ(a.status, 202) << a.body;
  const std::string item1 =
      R"({"id":"evt_big_2","type":"big.n","timestamp":"t","data":{"n":1e400}})";
  const std::string item2 =
      R"({ "id" : "evt_big_3", "type":"big.n","timestamp":"t","data":[18446744073709551616, 1.5]})";
  auto batch = call("POST", base + "/v1/events/batch", "[" + item1 + ",\n  " + item2 + " ]");
  ASSERT_EQ(batch.status, 200) << batch.body;
  EXPECT_EQ(batch.json().at("accepted").as_int64(), 2) << batch.body;

  std::map<std::string, std::string> stored;
  ASSERT_TRUE(eventually(
      [&] {
        for (const auto& m : readTopic(pipeline_->config(), pipeline_->config().topics.events()))
          stored[m.key] = m.value;
        return stored.size() >= 3;
      },
      30s));
  EXPECT_EQ(stored["evt_big_1"], single);
  EXPECT_EQ(stored["evt_big_2"], item1);
  EXPECT_EQ(stored["evt_big_3"], item2) << "a batch item is stored as written";
  // A malformed number is still invalid JSON.
  EXPECT_EQ(call("POST", base + "/v1/events", R"({"type":"a","data":{"n":01}})").status, 400);
}

// Issue 13 §4: a type of 10 000 characters, NUL and control characters, CR/LF in ids.
TEST_F(ApiTest, TypeAndIdAreBoundedAndFreeOfControlCharacters) {
  const auto base = startProducer();
  auto refused = [&](const std::string& body, const std::string& pointer, const std::string& says) {
    auto a = call("POST", base + "/v1/events", body);
    EXPECT_EQ(a.status, 400) << body.substr(0, 80) << " -> " << a.body;
    if (a.status != 400) return;
    EXPECT_EQ(a.json().at("errors").at(0).at("pointer").as_string(), pointer) << a.body;
    EXPECT_NE(a.body.find(says), std::string::npos) << a.body;
  };
  refused(R"({"type":")" + std::string(10000, 't') + R"("})", "/type", "at most 256 bytes");
  refused(R"({"type":")" + std::string(257, 't') + R"("})", "/type", "at most 256 bytes");
  refused(R"({"type":"order\u0000created"})", "/type", "control characters");
  refused(R"({"type":"order\ncreated"})", "/type", "control characters");
  refused(R"({"type":"a","id":"evt_1\r\nX-Forged: 1"})", "/id", "control characters");
  refused(R"({"type":"a","id":")" + std::string(257, 'i') + R"("})", "/id", "at most 256 bytes");
  EXPECT_EQ(
      call("POST", base + "/v1/events", R"({"type":")" + std::string(256, 't') + R"("})").status,
      202);
  auto batch = call("POST", base + "/v1/events/batch", R"([{"type":"a\tb"},{"type":"ok"}])");
  ASSERT_EQ(batch.status, 200) << batch.body;
  EXPECT_EQ(batch.json().at("data").at(0).at("pointer").as_string(), "/type");
  EXPECT_EQ(batch.json().at("accepted").as_int64(), 1);
}

// Issue 13 §4: request headers over ~8 KB reset the connection without an answer.
TEST_F(ApiTest, RequestHeadersOverTheLimitAreAnswered431) {
  const auto base = startProducer();
  const std::string auth = std::string("Authorization: Bearer ") + kToken;
  auto big = call("POST", base + "/v1/events", R"({"type":"a"})",
                  {auth, "X-Padding: " + std::string(9000, 'p')});
  EXPECT_EQ(big.status, 431) << big.body;
  EXPECT_NE(big.body.find("8192"), std::string::npos) << big.body;
  // Many headers that add up to over the limit, too; and a large body is not the cause.
  std::vector<std::string> many = {auth};
  for (int i = 0; i < 100; ++i)
    many.push_back("X-H" + std::to_string(i) + ": " + std::string(90, 'v'));
  EXPECT_EQ(call("POST", base + "/v1/events", R"({"type":"a"})", many).status, 431);
  EXPECT_EQ(call("POST", base + "/v1/events",
                 R"({"type":"a","data":")" + std::string(20000, 'x') + R"("})",
                 {auth, "X-Padding: " + std::string(6000, 'p')})
                .status,
            202);
  EXPECT_EQ(call("GET", base + "/healthz", "", {}).status, 200);
}

TEST_F(ApiTest, RepeatedIdempotencyKeysAndEventIdsReplayTheFirstAnswer) {
  const auto base = startProducer();
  const std::vector<std::string> keyed = {std::string("Authorization: Bearer ") + kToken,
                                          "Idempotency-Key: order-42"};
  auto first = call("POST", base + "/v1/events", R"({"type":"order.created"})", keyed);
  ASSERT_EQ(first.status, 202) << first.body;
  const auto id = jsonField(first.body, "id");
  for (int i = 0; i < 3; ++i) {
    auto again = call("POST", base + "/v1/events", R"({"type":"order.created"})", keyed);
    EXPECT_EQ(again.status, 202);
    EXPECT_EQ(jsonField(again.body, "id"), id);
    EXPECT_EQ(again.headers["idempotent-replayed"], "true");
  }
  // Another key is another event.
  auto other = call("POST", base + "/v1/events", R"({"type":"order.created"})",
                    {std::string("Authorization: Bearer ") + kToken, "Idempotency-Key: order-43"});
  EXPECT_NE(jsonField(other.body, "id"), id);
  EXPECT_EQ(eventsWithKey(id), 1u);

  // The event's own id works the same, across single and batch ingest.
  const std::string own = R"({"type":"order.paid","id":"evt_own_1"})";
  EXPECT_EQ(call("POST", base + "/v1/events", own).status, 202);
  auto replay = call("POST", base + "/v1/events", own);
  EXPECT_EQ(replay.status, 202);
  EXPECT_EQ(replay.headers["idempotent-replayed"], "true");
  auto batch = call("POST", base + "/v1/events/batch", "[" + own + "]");
  ASSERT_EQ(batch.status, 200);
  EXPECT_TRUE(batch.json().at("data").at(0).at("replayed").as_bool());
  EXPECT_EQ(eventsWithKey("evt_own_1"), 1u);

  // A batch's Idempotency-Key replays the whole answer.
  const std::vector<std::string> batch_key = {std::string("Authorization: Bearer ") + kToken,
                                              "Idempotency-Key: batch-7"};
  auto b1 = call("POST", base + "/v1/events/batch", R"([{"type":"a"},{"type":"b"}])", batch_key);
  ASSERT_EQ(b1.status, 200);
  auto b2 = call("POST", base + "/v1/events/batch", R"([{"type":"a"},{"type":"b"}])", batch_key);
  EXPECT_EQ(b2.status, 200);
  EXPECT_EQ(b2.body, b1.body);
  EXPECT_EQ(b2.headers["idempotent-replayed"], "true");
  EXPECT_EQ(eventsWithKey(std::string(b1.json().at("data").at(0).at("id").as_string())), 1u);
}

TEST_F(ApiTest, RedisDownMeansAcceptedWithoutIdempotency) {
  const auto base = startProducer({{"HOOKPIPE_REDIS", "127.0.0.1:1"}});
  const std::vector<std::string> keyed = {std::string("Authorization: Bearer ") + kToken,
                                          "Idempotency-Key: no-redis"};
  auto a = call("POST", base + "/v1/events", R"({"type":"a"})", keyed);
  auto b = call("POST", base + "/v1/events", R"({"type":"a"})", keyed);
  EXPECT_EQ(a.status, 202) << a.body;
  EXPECT_EQ(b.status, 202) << b.body;
  EXPECT_NE(jsonField(a.body, "id"), jsonField(b.body, "id"));
  auto batch = call("POST", base + "/v1/events/batch", R"([{"type":"a","id":"evt_nr"}])", keyed);
  EXPECT_EQ(batch.status, 200) << batch.body;
}

TEST_F(ApiTest, BrokerDownMeans503WithRetryAfterAndNothingStored) {
  BrokerProxy proxy(testBrokers());
  const auto base = startProducer({{"HOOKPIPE_BROKERS", proxy.address()}});
  // Through the proxy while it is up.
  auto up = call("POST", base + "/v1/events", R"({"type":"a","id":"evt_before_cut"})");
  ASSERT_EQ(up.status, 202) << up.body;

  proxy.cut();
  const auto start = std::chrono::steady_clock::now();
  auto down = call("POST", base + "/v1/events", R"({"type":"a","id":"evt_broker_down"})");
  const auto took = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(down.status, 503) << down.body;
  EXPECT_FALSE(down.headers["retry-after"].empty());
  EXPECT_LT(took, 15s);

  EXPECT_EQ(eventsWithKey("evt_before_cut"), 1u);
  EXPECT_EQ(eventsWithKey("evt_broker_down"), 0u);
}

}  // namespace
}  // namespace hookpipe::testing
