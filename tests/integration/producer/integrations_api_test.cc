// /v1/integrations against a real `hookpipe producer`, the real broker and Redis and a
// local receiver: the catalog, a Slack integration created (a subscription of that
// format), shown without its webhook URL, test-sent, kept through a PUT of what a GET
// shows; bad configs a 400 at each field with nothing stored; the status read from the
// delivery-log index (written as the recorder would, support/attempt_index.h).
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "support/attempt_index.h"
#include "support/harness.h"
#include "support/receiver.h"

namespace hookpipe::testing {
namespace {

using namespace std::chrono_literals;
namespace bj = boost::json;

class IntegrationsApiTest : public PipelineFixture {
 protected:
  void TearDown() override {
    if (redis_) wipeAttemptIndex(*redis_, pipeline_->config().topics.prefix);
    PipelineFixture::TearDown();
  }
  HttpResult call(const std::string& method, const std::string& path,
                  const std::string& body = "") {
    return httpRequest(method, pipeline_->apiUrl(path), body);
  }
  static bj::value json(const HttpResult& r) {
    boost::system::error_code ec;
    auto v = bj::parse(r.body, ec);
    return ec ? bj::value() : v;
  }
  // The catalog's entry `name` (a pointer into `list`: keep it alive).
  static const bj::object* entry(const bj::value& list, std::string_view name) {
    for (const auto& e : list.at("data").as_array())
      if (e.at("name").as_string() == name) return &e.as_object();
    return nullptr;
  }
  // The pointers of a 400's problems.
  static std::vector<std::string> pointers(const HttpResult& r) {
    std::vector<std::string> out;
    auto v = json(r);
    if (!v.is_object() || !v.as_object().contains("errors")) return out;
    for (const auto& e : v.at("errors").as_array()) out.emplace_back(e.at("pointer").as_string());
    return out;
  }
  // A Zapier integration for every event type; its id, "" when it was not created.
  std::string createZapier(const std::string& hook) {
    auto created = call("POST", "/v1/integrations/zapier",
                        R"({"webhook_url":"https://hooks.zapier.example.com/hooks/catch/1/)" +
                            hook + R"(/","event_types":["*"]})");
    EXPECT_EQ(created.status, 201) << created.body;
    return created.status == 201 ? std::string(json(created).at("id").as_string()) : "";
  }
  std::unique_ptr<redis::Client> redis_;
};

TEST_F(IntegrationsApiTest, ASlackIntegrationIsCreatedShownWithoutItsUrlTestedAndKept) {
  Receiver receiver;
  ASSERT_NO_FATAL_FAILURE(startApi());
  auto catalog = call("GET", "/v1/integrations");
  ASSERT_EQ(catalog.status, 200) << catalog.body;
  const bj::value catalog_json = json(catalog);
  const bj::object* slack = entry(catalog_json, "slack");
  ASSERT_NE(slack, nullptr) << catalog.body;
  EXPECT_FALSE(slack->at("configured").as_bool());
  const auto& url_field = slack->at("fields").as_array().at(0).as_object();
  EXPECT_EQ(url_field.at("name").as_string(), "webhook_url");
  EXPECT_TRUE(url_field.at("required").as_bool());
  EXPECT_TRUE(url_field.at("secret").as_bool());
  for (const char* name : {"teams", "discord", "telegram", "zapier"})
    EXPECT_NE(entry(catalog_json, name), nullptr) << name;

  const std::string secret_path = "/services/T0001/B0002/s3cr3tW3bh00k";
  auto created = call("POST", "/v1/integrations/slack",
                      R"({"webhook_url":")" + receiver.url(secret_path) +
                          R"(","event_types":["order.*"],"channel":"#ops","name":"ops alerts"})");
  ASSERT_EQ(created.status, 201) << created.body;
  EXPECT_EQ(created.body.find("s3cr3t"), std::string::npos) << created.body;
  auto c = json(created);
  const std::string id(c.at("id").as_string());
  EXPECT_EQ(c.at("integration").as_string(), "slack");
  EXPECT_EQ(c.at("config").at("channel").as_string(), "#ops");
  EXPECT_EQ(c.at("secrets_set").as_array().at(0).as_string(), "webhook_url");
  EXPECT_EQ(c.at("event_types").as_array().at(0).as_string(), "order.*");

  // The subscription it is: a GET shows the URL without its path, anywhere.
  auto sub = call("GET", "/v1/subscriptions/" + id);
  ASSERT_EQ(sub.status, 200) << sub.body;
  EXPECT_EQ(sub.body.find("s3cr3t"), std::string::npos) << sub.body;
  EXPECT_EQ(json(sub).at("url").as_string(),
            "http://127.0.0.1:" + std::to_string(receiver.port()) + "/***");
  EXPECT_EQ(json(sub).at("format").as_string(), "slack");
  EXPECT_EQ(call("GET", "/v1/subscriptions").body.find("s3cr3t"), std::string::npos);
  EXPECT_EQ(call("GET", "/v1/integrations/" + id).body.find("s3cr3t"), std::string::npos);
  const bj::value listed = json(call("GET", "/v1/integrations"));
  slack = entry(listed, "slack");
  ASSERT_NE(slack, nullptr);
  EXPECT_TRUE(slack->at("configured").as_bool());
  EXPECT_EQ(slack->at("subscriptions").as_array().at(0).as_string(), id);

  auto tested = call("POST", "/v1/integrations/" + id + "/test", "{}");
  ASSERT_EQ(tested.status, 200) << tested.body;
  EXPECT_EQ(json(tested).at("outcome").as_string(), "delivered") << tested.body;
  auto got = receiver.requestsTo(secret_path);
  ASSERT_EQ(got.size(), 1u);
  auto body = bj::parse(got[0].body).as_object();
  EXPECT_EQ(body.at("channel").as_string(), "#ops");
  EXPECT_TRUE(body.at("attachments").as_array().at(0).as_object().contains("blocks"));

  // A PUT of what the GET showed keeps the hidden URL.
  bj::object shown = json(sub).as_object();
  shown["name"] = "renamed";
  auto put = call("PUT", "/v1/subscriptions/" + id, bj::serialize(shown));
  ASSERT_EQ(put.status, 200) << put.body;
  ASSERT_EQ(call("POST", "/v1/integrations/" + id + "/test", "{}").status, 200);
  EXPECT_EQ(receiver.requestsTo(secret_path).size(), 2u);
}

// The test send judges the answer as the deliverer does, the platform's rules included.
TEST_F(IntegrationsApiTest, ATestSendSaysWhatThePlatformsAnswerMeans) {
  Receiver receiver([](const ReceivedRequest& r) { return r.target == "/revoked" ? 403 : 429; });
  receiver.setReplyBody([](const ReceivedRequest& r, int) -> std::optional<std::string> {
    if (r.target == "/revoked") return "invalid_token";
    return R"({"message":"You are being rate limited.","retry_after":0.25,"global":false})";
  });
  ASSERT_NO_FATAL_FAILURE(startApi());
  auto slack = call("POST", "/v1/integrations/slack",
                    R"({"webhook_url":")" + receiver.url("/revoked") + R"(","event_types":["*"]})");
  ASSERT_EQ(slack.status, 201) << slack.body;
  auto revoked = json(call(
      "POST", "/v1/integrations/" + std::string(json(slack).at("id").as_string()) + "/test", "{}"));
  EXPECT_EQ(revoked.at("outcome").as_string(), "dead_letter") << revoked;
  EXPECT_EQ(revoked.at("error_class").as_string(), "slack_invalid_token") << revoked;

  auto discord = call("POST", "/v1/integrations/discord",
                      R"({"webhook_url":")" + receiver.url("/busy") + R"(","event_types":["*"]})");
  ASSERT_EQ(discord.status, 201) << discord.body;
  auto busy = json(
      call("POST", "/v1/integrations/" + std::string(json(discord).at("id").as_string()) + "/test",
           "{}"));
  EXPECT_EQ(busy.at("outcome").as_string(), "retry") << busy;
  EXPECT_EQ(busy.at("retry_after_ms").to_number<int64_t>(), 250) << busy;
}

TEST_F(IntegrationsApiTest, BadConfigsAreA400AtEachFieldAndNothingIsStored) {
  ASSERT_NO_FATAL_FAILURE(startApi());
  auto missing = call("POST", "/v1/integrations/telegram", R"({"chat_id":"-100123"})");
  EXPECT_EQ(missing.status, 400) << missing.body;
  EXPECT_EQ(pointers(missing), (std::vector<std::string>{"/bot_token", "/event_types"}));

  auto bad_chat = call("POST", "/v1/integrations/telegram",
                       R"({"bot_token":"123:abc","chat_id":"not a chat","event_types":["*"]})");
  EXPECT_EQ(bad_chat.status, 400) << bad_chat.body;
  EXPECT_EQ(pointers(bad_chat), (std::vector<std::string>{"/chat_id"}));

  auto bad_url = call("POST", "/v1/integrations/slack",
                      R"({"webhook_url":"ftp://hooks.example.com/x","event_types":["*"]})");
  EXPECT_EQ(bad_url.status, 400) << bad_url.body;
  EXPECT_EQ(pointers(bad_url), (std::vector<std::string>{"/webhook_url"}));

  auto unknown = call("POST", "/v1/integrations/discord",
                      R"({"webhook_url":"https://discord.example.com/api/webhooks/1/x",)"
                      R"("event_types":["*"],"colour":"red","url":"https://x.example.com"})");
  EXPECT_EQ(unknown.status, 400) << unknown.body;
  EXPECT_EQ(pointers(unknown), (std::vector<std::string>{"/colour", "/url"}));

  auto mail = call("POST", "/v1/integrations/email",
                   R"({"smtp_url":"https://smtp.example.com","to":"ops@example.com\r\nBcc: x@y.z",)"
                   R"("event_types":["*"]})");
  EXPECT_EQ(mail.status, 400) << mail.body;
  EXPECT_EQ(pointers(mail), (std::vector<std::string>{"/from"}));  // required, before the rest
  auto mail2 = call("POST", "/v1/integrations/email",
                    R"({"smtp_url":"https://smtp.example.com","from":"a@example.com",)"
                    R"("to":"ops@example.com\r\nBcc: x@y.z","event_types":["*"]})");
  EXPECT_EQ(mail2.status, 400) << mail2.body;
  auto mail2_at = pointers(mail2);
  EXPECT_NE(std::find(mail2_at.begin(), mail2_at.end(), "/to"), mail2_at.end()) << mail2.body;
  EXPECT_NE(std::find(mail2_at.begin(), mail2_at.end(), "/smtp_url"), mail2_at.end()) << mail2.body;
  EXPECT_EQ(call("POST", "/v1/integrations/slack", "[1]").status, 400);
  EXPECT_EQ(call("POST", "/v1/integrations/slack", "{nope").status, 400);
  auto nope = call("POST", "/v1/integrations/myspace", R"({"event_types":["*"]})");
  EXPECT_EQ(nope.status, 404) << nope.body;
  EXPECT_NE(nope.body.find("slack"), std::string::npos) << nope.body;  // names the known ones

  // Which chat would have counted differs by reader: refused, not guessed.
  auto twice = call("POST", "/v1/integrations/telegram",
                    R"({"bot_token":"123:abc","chat_id":"-100123","chat_id":"-100456",)"
                    R"("event_types":["*"]})");
  EXPECT_EQ(twice.status, 400) << twice.body;
  EXPECT_EQ(pointers(twice), (std::vector<std::string>{"/chat_id"}));
  EXPECT_NE(twice.body.find("'chat_id' is given more than once"), std::string::npos) << twice.body;

  auto subs = call("GET", "/v1/subscriptions");
  ASSERT_EQ(subs.status, 200);
  EXPECT_EQ(json(subs).at("total").as_int64(), 0) << subs.body;
  // A plain subscription is no integration.
  auto plain = subscribe(R"({"url":"http://127.0.0.1:9/hook","events":["*"]})");
  EXPECT_EQ(call("GET", "/v1/integrations/" + plain.id + "/status").status, 404);
  EXPECT_EQ(call("POST", "/v1/integrations/" + plain.id + "/test", "{}").status, 404);
}

TEST_F(IntegrationsApiTest, StatusShowsTheLastDeliveryTheLastErrorAndTheDaysSuccessRate) {
  auto [host, port] = testRedisHostPort();
  redis_ = std::make_unique<redis::Client>(host, port, std::chrono::seconds(5));
  ASSERT_NO_FATAL_FAILURE(startApi());
  const std::string id = createZapier("a");
  ASSERT_FALSE(id.empty());

  auto empty = call("GET", "/v1/integrations/" + id + "/status");
  ASSERT_EQ(empty.status, 200) << empty.body;
  EXPECT_TRUE(json(empty).at("last_delivery").is_null());
  EXPECT_TRUE(json(empty).at("last_24h").at("success_rate").is_null());

  const int64_t now = kafka::nowMs();
  auto failed = attemptRecord("d2", id, 1, "dead_lettered", now - 60'000, 404);
  failed.error_class = "http_4xx";
  failed.error_message = "HTTP 404";
  writeAttemptIndex(*redis_, pipeline_->config().topics.prefix,
                    {attemptRecord("d1", id, 1, "delivered", now - 120'000), failed,
                     attemptRecord("d3", id, 1, "delivered", now - 30'000),
                     attemptRecord("d4", id, 1, "delivered", now - 10'000)});
  auto status = call("GET", "/v1/integrations/" + id + "/status");
  ASSERT_EQ(status.status, 200) << status.body;
  auto s = json(status);
  EXPECT_EQ(s.at("integration").as_string(), "zapier");
  EXPECT_EQ(s.at("last_delivery").at("id").as_string(), "d4");
  EXPECT_EQ(s.at("last_error").at("id").as_string(), "d2");
  EXPECT_EQ(s.at("last_error").at("error_class").as_string(), "http_4xx");
  EXPECT_EQ(s.at("last_24h").at("attempts").to_number<int64_t>(), 4);
  EXPECT_EQ(s.at("last_24h").at("delivered").to_number<int64_t>(), 3);
  EXPECT_DOUBLE_EQ(s.at("last_24h").at("success_rate").as_double(), 0.75);
}

// With Redis down the status, read from the delivery log's index there, is a 503 that says
// what could not be read; the integration itself is still created and shown.
TEST_F(IntegrationsApiTest, StatusWithRedisDownIsA503AndTheIntegrationStillAnswers) {
  pipeline_->start("producer", "1", {{"HOOKPIPE_REDIS", "127.0.0.1:1"}});
  ASSERT_TRUE(eventually([&] { return call("GET", "/healthz").status == 200; }, 60s))
      << pipeline_->logs();
  const std::string id = createZapier("b");
  ASSERT_FALSE(id.empty());
  auto status = call("GET", "/v1/integrations/" + id + "/status");
  EXPECT_EQ(status.status, 503) << status.body;
  EXPECT_NE(status.body.find("integration status not read"), std::string::npos) << status.body;
  EXPECT_FALSE(status.headers["retry-after"].empty());
  EXPECT_EQ(call("GET", "/v1/integrations/" + id).status, 200);
  EXPECT_EQ(call("GET", "/healthz").status, 200);
}

}  // namespace
}  // namespace hookpipe::testing
