// /v1/dead-letters against a real `hookpipe producer` on the real broker: listing with
// filters and cursor paging, replay progress, one replay at a time, validation and auth;
// and a dead letter made by a real delivery failure, replayed through the API, that
// reaches the receiver again.
#include <gtest/gtest.h>

#include <atomic>
#include <boost/json.hpp>
#include <set>

#include "common/records/delivery.h"
#include "support/harness.h"
#include "support/receiver.h"

namespace hookpipe::testing {
namespace {

using namespace std::chrono_literals;
namespace bj = boost::json;

constexpr const char* kToken = "dlq-token";
const std::string kAuth = std::string("Authorization: Bearer ") + kToken;

class DeadLettersApiTest : public PipelineFixture {
 protected:
  void startApiWithToken() {
    pipeline_->start("producer", "1", {{"HOOKPIPE_API_TOKENS", kToken}});
    ASSERT_TRUE(eventually(
        [&] { return httpRequest("GET", pipeline_->apiUrl("/healthz"), "").status == 200; }, 60s))
        << pipeline_->logs();
  }
  HttpResult call(const std::string& method, const std::string& path,
                  const std::string& body = "") {
    return httpRequest(method, pipeline_->apiUrl(path), body, "application/json", {kAuth});
  }
  static bj::value json(const HttpResult& r) {
    boost::system::error_code ec;
    auto v = bj::parse(r.body, ec);
    return ec ? bj::value() : v;
  }
  // Starts a replay (expects 202) and waits until it is done; its final status.
  bj::value replay(const std::string& body) {
    auto started = call("POST", "/v1/dead-letters/replay", body);
    EXPECT_EQ(started.status, 202) << started.body;
    const std::string id = jsonField(started.body, "id");
    EXPECT_EQ(started.headers["location"], "/v1/dead-letters/replays/" + id);
    bj::value status;
    EXPECT_TRUE(eventually(
        [&] {
          status = json(call("GET", "/v1/dead-letters/replays/" + id));
          return status.is_object() && status.at("done").as_bool();
        },
        60s))
        << status;
    return status;
  }
  std::vector<std::string> deadLetters(const std::vector<DeadLetterSpec>& dead) {
    EXPECT_TRUE(kafka::ensureTopics(pipeline_->config()).has_value());
    if (!producer_) producer_ = std::move(*kafka::Producer::create(pipeline_->config()));
    return produceDeadLetters(pipeline_->config(), *producer_, dead, counter_);
  }
  std::unique_ptr<kafka::Producer> producer_;
  int counter_ = 0;
};

TEST_F(DeadLettersApiTest, ListFiltersPagesWithACursorAndReplaysOneAtATime) {
  ASSERT_NO_FATAL_FAILURE(startApiWithToken());
  auto ids = deadLetters({{"sub_a", "order.created", "http_5xx"},
                          {"sub_a", "order.paid", "http_5xx"},
                          {"sub_b", "order.created", "timeout"},
                          {"sub_a", "order.created", "http_5xx"},
                          {"sub_a", "order.created", "http_4xx"},
                          {"sub_a", "order.created", "http_5xx"}});

  EXPECT_EQ(httpRequest("GET", pipeline_->apiUrl("/v1/dead-letters"), "").status, 401);
  EXPECT_EQ(httpRequest("POST", pipeline_->apiUrl("/v1/dead-letters/replay"), "{}").status, 401);
  EXPECT_EQ(httpRequest("GET", pipeline_->apiUrl("/v1/dead-letters/replays/x"), "").status, 401);

  // Pages of two through sub_a's five dead letters, following next_cursor.
  std::vector<std::string> seen;
  std::string cursor;
  int pages = 0;
  do {
    auto page = call("GET", "/v1/dead-letters?subscription_id=sub_a&limit=2" +
                                (cursor.empty() ? "" : "&cursor=" + cursor));
    ASSERT_EQ(page.status, 200) << page.body;
    auto v = json(page);
    EXPECT_LE(v.at("data").as_array().size(), 2u);
    for (const auto& d : v.at("data").as_array()) {
      EXPECT_EQ(d.at("subscription_id"), "sub_a");
      EXPECT_FALSE(d.as_object().contains("body"));
      seen.emplace_back(d.at("event_id").as_string());
    }
    cursor = v.at("next_cursor").is_null() ? "" : std::string(v.at("next_cursor").as_string());
    ASSERT_LT(++pages, 10) << page.body;
  } while (!cursor.empty());
  EXPECT_EQ(seen, (std::vector<std::string>{ids[0], ids[1], ids[3], ids[4], ids[5]}));

  auto filtered = call(
      "GET", "/v1/dead-letters?event_type=order.created&error_class=timeout&include_body=true");
  ASSERT_EQ(filtered.status, 200) << filtered.body;
  auto items = json(filtered).at("data").as_array();
  ASSERT_EQ(items.size(), 1u) << filtered.body;
  EXPECT_EQ(items[0].at("event_id"), bj::value(ids[2]));
  EXPECT_EQ(items[0].at("position"), "0:2");
  EXPECT_EQ(items[0].at("reason"), "retries_exhausted");
  EXPECT_NE(std::string(items[0].at("body").as_string()).find(ids[2]), std::string::npos);
  EXPECT_TRUE(json(filtered).at("next_cursor").is_null());
  auto none = call("GET", "/v1/dead-letters?since=2000-01-01&until=2000-01-02");
  ASSERT_EQ(none.status, 200) << none.body;
  EXPECT_TRUE(json(none).at("data").as_array().empty());

  // Bad parameters: 400 naming each.
  auto bad = call("GET", "/v1/dead-letters?since=yesterday&limit=5000");
  ASSERT_EQ(bad.status, 400) << bad.body;
  EXPECT_EQ(json(bad).at("errors").as_array().size(), 2u) << bad.body;
  EXPECT_NE(bad.body.find("since: bad time 'yesterday'"), std::string::npos) << bad.body;
  auto bad_replay =
      call("POST", "/v1/dead-letters/replay", R"({"max":0,"to_subscription":"sub_zz"})");
  ASSERT_EQ(bad_replay.status, 400) << bad_replay.body;
  EXPECT_NE(bad_replay.body.find("/max"), std::string::npos) << bad_replay.body;
  auto unknown_target = call("POST", "/v1/dead-letters/replay", R"({"to_subscription":"sub_zz"})");
  ASSERT_EQ(unknown_target.status, 400) << unknown_target.body;
  EXPECT_NE(unknown_target.body.find("no subscription sub_zz"), std::string::npos);
  EXPECT_EQ(call("GET", "/v1/dead-letters/replays/rpl_unknown").status, 404);
  EXPECT_EQ(call("DELETE", "/v1/dead-letters").status, 405);

  // A dry run counts without sending.
  auto dry = replay(R"({"subscription_id":"sub_a","error_class":"http_5xx","dry_run":true})");
  EXPECT_EQ(dry.at("state"), "done") << dry;
  EXPECT_EQ(dry.at("replayed"), 4) << dry;
  EXPECT_TRUE(readTopic(pipeline_->config(), pipeline_->config().topics.deliveries()).empty());

  // A throttled replay (1/s) is still running when a second one is asked for.
  auto slow =
      call("POST", "/v1/dead-letters/replay", R"({"subscription_id":"sub_a","rate_per_s":1})");
  ASSERT_EQ(slow.status, 202) << slow.body;
  const std::string slow_id = jsonField(slow.body, "id");
  auto busy = call("POST", "/v1/dead-letters/replay", R"({})");
  EXPECT_EQ(busy.status, 409) << busy.body;
  EXPECT_NE(busy.body.find(slow_id), std::string::npos) << busy.body;
  bj::value status;
  ASSERT_TRUE(eventually(
      [&] {
        status = json(call("GET", "/v1/dead-letters/replays/" + slow_id));
        return status.is_object() && status.at("done").as_bool();
      },
      60s))
      << status;
  EXPECT_EQ(status.at("state"), "done") << status;
  EXPECT_EQ(status.at("replayed"), 5) << status;
  EXPECT_EQ(status.at("scanned"), 6) << status;
  EXPECT_EQ(status.at("skipped"), 1) << status;  // sub_b's
  EXPECT_EQ(status.at("remaining"), 0) << status;
  EXPECT_EQ(readTopic(pipeline_->config(), pipeline_->config().topics.deliveries()).size(), 5u);

  // The same replay again resumes: nothing left to send.
  auto resumed = replay(R"({"subscription_id":"sub_a","rate_per_s":1})");
  EXPECT_EQ(resumed.at("id"), bj::value(slow_id));
  EXPECT_EQ(resumed.at("replayed"), 0) << resumed;
  EXPECT_TRUE(resumed.at("resumed").as_bool()) << resumed;
}

TEST_F(DeadLettersApiTest, ADeadLetterReplayedThroughTheApiIsDeliveredAgain) {
  std::atomic<bool> healthy{false};
  Receiver receiver([&](const ReceivedRequest&) { return healthy ? 200 : 400; });
  ASSERT_NO_FATAL_FAILURE(startApiWithToken());
  auto created = call("POST", "/v1/subscriptions",
                      R"({"url":")" + receiver.url("/hook") + R"(","events":["order.*"]})");
  ASSERT_EQ(created.status, 201) << created.body;
  const std::string sub = jsonField(created.body, "id");
  pipeline_->start("router");
  pipeline_->start("deliverer");

  auto published = call("POST", "/v1/events", R"({"type":"order.created","data":{"id":7}})");
  ASSERT_EQ(published.status, 202) << published.body;
  const std::string event_id = jsonField(published.body, "id");
  ASSERT_TRUE(receiver.waitFor([](auto& reqs) { return !reqs.empty(); }, 60s));

  // A 400 is dead-lettered at once; the API lists it.
  bj::value listed;
  ASSERT_TRUE(eventually(
      [&] {
        listed = json(call("GET", "/v1/dead-letters?subscription_id=" + sub));
        return listed.is_object() && !listed.at("data").as_array().empty();
      },
      30s))
      << listed;
  const auto& dead = listed.at("data").as_array()[0];
  EXPECT_EQ(dead.at("event_id"), bj::value(event_id));
  EXPECT_EQ(dead.at("event_type"), "order.created");
  EXPECT_EQ(dead.at("last_status"), 400);
  ASSERT_EQ(receiver.requests().size(), 1u);

  healthy = true;
  auto done = replay(R"({"subscription_id":")" + sub + R"("})");
  EXPECT_EQ(done.at("state"), "done") << done;
  EXPECT_EQ(done.at("replayed"), 1) << done;
  ASSERT_TRUE(receiver.waitFor([](auto& reqs) { return reqs.size() >= 2; }, 60s));
  auto requests = receiver.requests();
  EXPECT_EQ(requests[1].headers.at("webhook-id"), requests[0].headers.at("webhook-id"));
  EXPECT_NE(requests[1].body.find(event_id), std::string::npos);
}

}  // namespace
}  // namespace hookpipe::testing
