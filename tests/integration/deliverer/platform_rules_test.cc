// Per-platform delivery rules across real processes (common/webhook/platform_rules.h): a
// receiver answering like Slack's `invalid_token` is dead-lettered after one attempt, one
// answering like Discord's 429 with retry_after in its JSON body is retried after that
// wait, and chat deliveries carry no Standard Webhooks signature while json ones do.
#include <gtest/gtest.h>

#include <algorithm>

#include "common/attempts/record.h"
#include "support/harness.h"
#include "support/poll.h"
#include "support/receiver.h"

namespace hookpipe::testing {
namespace {

using namespace std::chrono_literals;

std::string headerOf(const kafka::OwnedMessage& m, const std::string& name) {
  for (const auto& [k, v] : m.headers)
    if (k == name) return v;
  return "<absent>";
}

class PlatformRulesTest : public PipelineFixture {
 protected:
  // Attempt-log records of subscription `sub_id`, in attempt order.
  std::vector<attempts::Record> attemptsOf(const std::string& sub_id) {
    std::vector<attempts::Record> out;
    for (const auto& m : readTopic(pipeline_->config(), pipeline_->config().topics.attempts()))
      if (auto r = attempts::parse(m.value); r && r->subscription_id == sub_id)
        out.push_back(std::move(*r));
    std::sort(out.begin(), out.end(), [](auto& a, auto& b) { return a.attempt < b.attempt; });
    return out;
  }
};

TEST_F(PlatformRulesTest, SlackInvalidTokenIsDeadLetteredAtOnceAndChatFormatsAreUnsigned) {
  // /slack answers like a Slack webhook whose token was revoked; /json accepts.
  Receiver receiver([](const ReceivedRequest& r) { return r.target == "/slack" ? 403 : 200; });
  receiver.setReplyBody([](const ReceivedRequest&, int status) -> std::optional<std::string> {
    if (status == 403) return "invalid_token";
    return std::nullopt;
  });
  ASSERT_NO_FATAL_FAILURE(startApi());
  const std::string retries =
      R"("retry_config":{"strategy":"fixed","retry_delay":100,"max_retries":5})";
  subscribe(R"({"url":")" + receiver.url("/slack") + R"(","events":["alert.*"],"format":"slack",)" +
            retries + "}");
  const auto json = subscribe(R"({"url":")" + receiver.url("/json") +
                              R"(","events":["alert.*"],"format":"json",)" + retries + "}");
  pipeline_->start("router");
  pipeline_->start("retry");
  pipeline_->start("deliverer", "1", {{"HOOKPIPE_DELIVERER_THREADS", "1"}});
  publish(R"({"type":"alert.fired","data":{"host":"db-1","severity":"critical"}})");

  const auto dlq = waitForDeadLetters(1);
  ASSERT_FALSE(dlq.empty()) << "the slack delivery was not dead-lettered";
  ASSERT_EQ(dlq.size(), 1u);
  EXPECT_EQ(headerOf(dlq[0], "hp-error-class"), "slack_invalid_token");
  ASSERT_TRUE(receiver.waitFor([](auto& r) { return r.size() >= 2; }, 30s));
  // One attempt only, though the policy allowed five retries 100 ms apart (and Slack's
  // preset 1 a second): none comes in the time a retry would have had.
  EXPECT_TRUE(testkit::holdsFor([&] { return receiver.requestsTo("/slack").size() == 1; }, 1500ms));
  const auto to_slack = receiver.requestsTo("/slack");
  const auto to_json = receiver.requestsTo("/json");
  ASSERT_EQ(to_json.size(), 1u);

  // The chat delivery carries none of the Standard Webhooks headers; the json one is signed.
  ASSERT_FALSE(to_slack.empty());
  EXPECT_FALSE(to_slack[0].headers.contains("webhook-signature"));
  EXPECT_FALSE(to_slack[0].headers.contains("webhook-id"));
  EXPECT_FALSE(to_slack[0].headers.contains("webhook-timestamp"));
  EXPECT_TRUE(to_json[0].headers.contains("webhook-signature"));
  EXPECT_TRUE(validSignature(to_json[0], json.secret));
}

TEST_F(PlatformRulesTest, DiscordRetryAfterInA429BodyIsHonouredThenDelivered) {
  // The first request gets Discord's rate-limit answer (retry_after 0.5 s in the body, no
  // Retry-After header); the next one is accepted.
  std::atomic<int> seen{0};
  Receiver receiver([&](const ReceivedRequest&) { return seen++ == 0 ? 429 : 204; });
  receiver.setReplyBody([](const ReceivedRequest&, int status) -> std::optional<std::string> {
    if (status == 429)
      return R"({"message": "You are being rate limited.", "retry_after": 0.5, "global": false})";
    return std::string();
  });
  ASSERT_NO_FATAL_FAILURE(startApi());
  // The policy's own delay (100 ms) is shorter than what Discord asks for.
  const auto sub =
      subscribe(R"({"url":")" + receiver.url("/discord") +
                R"(","events":["deploy.*"],"format":"discord",)"
                R"("retry_config":{"strategy":"fixed","retry_delay":100,"max_retries":3}})");
  pipeline_->start("router");
  pipeline_->start("retry");
  pipeline_->start("deliverer", "1", {{"HOOKPIPE_DELIVERER_THREADS", "1"}});
  publish(R"({"type":"deploy.finished","data":{"service":"api"}})");

  ASSERT_TRUE(receiver.waitFor([](auto& r) { return r.size() >= 2; }, 60s));
  const auto got = receiver.requests();
  EXPECT_GE(got[1].at - got[0].at, 500ms);

  // The attempt log shows the wait the deliverer chose: the body's 0.5 s, not the policy's
  // 0.1 s (Discord's preset 30 a minute alone could also space the requests out).
  std::vector<attempts::Record> log;
  ASSERT_TRUE(eventually(
      [&] {
        log = attemptsOf(sub.id);
        return log.size() >= 2 && log.back().outcome == "delivered";
      },
      30s))
      << "attempt records: " << log.size();
  EXPECT_EQ(log[0].outcome, "retried");
  EXPECT_EQ(log[0].status, 429);
  EXPECT_GE(log[0].next_attempt_ms - log[0].finished_ms, 490);
  EXPECT_LT(log[0].next_attempt_ms - log[0].finished_ms, 5000);
  EXPECT_EQ(log[1].status, 204);
  EXPECT_TRUE(testkit::holdsFor([&] { return receiver.requests().size() == 2; }, 500ms));
  EXPECT_TRUE(readTopic(pipeline_->config(), pipeline_->config().topics.dlq()).empty());
}

}  // namespace
}  // namespace hookpipe::testing
