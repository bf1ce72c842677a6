// Unit tests for common/webhook/platform_rules.h: each platform's answers (status + body +
// Retry-After → verdict, error class and wait), its preset rate limit, and its signing.
#include "common/webhook/platform_rules.h"

#include <gtest/gtest.h>

#include <string>

namespace hookpipe::webhook {
namespace {

using std::chrono::milliseconds;

constexpr int64_t kNow = 1'700'000'000;

Judgement answer(Platform platform, long status, std::string_view body,
                 std::string_view retry_after = "", CURLcode code = CURLE_OK) {
  return judge(platform,
               {.status = status, .transport = code, .body_head = body, .retry_after = retry_after},
               kNow);
}

void expectDeadLetter(const Judgement& j, const std::string& error_class) {
  EXPECT_EQ(j.outcome.verdict, Verdict::kDeadLetter) << error_class;
  EXPECT_EQ(std::string(j.outcome.error_class), error_class);
  EXPECT_FALSE(j.outcome.disable_subscription) << error_class;
}

void expectRetryAfter(const Judgement& j, std::optional<milliseconds> wait) {
  EXPECT_EQ(j.outcome.verdict, Verdict::kRetry);
  EXPECT_EQ(std::string(j.outcome.error_class), "http_4xx_retryable");
  ASSERT_EQ(j.retry_after.has_value(), wait.has_value());
  if (wait) {
    EXPECT_EQ(j.retry_after->count(), wait->count());
  }
}

TEST(PlatformOf, NamesEachChatFormatAndTreatsTheRestAsGeneric) {
  EXPECT_EQ(platformOf("slack"), Platform::kSlack);
  EXPECT_EQ(platformOf("teams"), Platform::kTeams);
  EXPECT_EQ(platformOf("discord"), Platform::kDiscord);
  EXPECT_EQ(platformOf("telegram"), Platform::kTelegram);
  EXPECT_EQ(platformOf("zapier"), Platform::kZapier);
  EXPECT_EQ(platformOf("json"), Platform::kGeneric);
  EXPECT_EQ(platformOf(""), Platform::kGeneric);
  EXPECT_EQ(platformOf("Slack"), Platform::kGeneric);  // names are exact
  EXPECT_EQ(platformOf("email"), Platform::kEmail);
  EXPECT_EQ(platformOf("template"), Platform::kGeneric);  // a format without rules
  EXPECT_STREQ(platformName(Platform::kDiscord), "discord");
}

TEST(SlackAnswers, PermanentErrorBodiesAreDeadLetteredByName) {
  expectDeadLetter(answer(Platform::kSlack, 403, "invalid_token"), "slack_invalid_token");
  expectDeadLetter(answer(Platform::kSlack, 404, "channel_not_found"), "slack_channel_not_found");
  expectDeadLetter(answer(Platform::kSlack, 404, "no_service"), "slack_no_service");
  expectDeadLetter(answer(Platform::kSlack, 400, "invalid_payload"), "slack_invalid_payload");
  expectDeadLetter(answer(Platform::kSlack, 403, "action_prohibited"), "slack_action_prohibited");
  expectDeadLetter(answer(Platform::kSlack, 400, "no_text\n"), "slack_no_text");  // trimmed
  // 410 channel_is_archived: permanent, but the webhook is not gone (unarchive revives it),
  // so unlike a generic 410 the subscription stays active.
  expectDeadLetter(answer(Platform::kSlack, 410, "channel_is_archived"),
                   "slack_channel_is_archived");
  EXPECT_TRUE(answer(Platform::kGeneric, 410, "channel_is_archived").outcome.disable_subscription);
}

TEST(SlackAnswers, OtherAnswersKeepTheGenericRules) {
  const auto unknown = answer(Platform::kSlack, 404, "something_new");
  EXPECT_EQ(unknown.outcome.verdict, Verdict::kDeadLetter);
  EXPECT_EQ(std::string(unknown.outcome.error_class), "http_4xx");
  EXPECT_EQ(answer(Platform::kSlack, 500, "rollup_error").outcome.verdict, Verdict::kRetry);
  EXPECT_EQ(answer(Platform::kSlack, 200, "ok").outcome.verdict, Verdict::kDelivered);
  // A code inside a longer body is not the code.
  EXPECT_EQ(std::string(answer(Platform::kSlack, 403, "not invalid_token").outcome.error_class),
            "http_4xx");
  // The same body from a generic receiver is just a 4xx.
  EXPECT_EQ(std::string(answer(Platform::kGeneric, 403, "invalid_token").outcome.error_class),
            "http_4xx");
}

TEST(SlackAnswers, A429IsRetriedAfterItsRetryAfter) {
  expectRetryAfter(answer(Platform::kSlack, 429, "rate_limited", "3"), milliseconds(3000));
  expectRetryAfter(answer(Platform::kSlack, 429, "rate_limited"), std::nullopt);
}

TEST(DiscordAnswers, A429WaitsForTheBodysFractionalRetryAfter) {
  constexpr std::string_view kBody =
      R"({"message": "You are being rate limited.", "retry_after": 0.5, "global": false})";
  // The body's 0.5 s wins over the header, which Discord rounds up to whole seconds.
  expectRetryAfter(answer(Platform::kDiscord, 429, kBody, "1"), milliseconds(500));
  expectRetryAfter(answer(Platform::kDiscord, 429, kBody), milliseconds(500));
  expectRetryAfter(answer(Platform::kDiscord, 429, R"({"retry_after":64.571})"),
                   milliseconds(64571));
  expectRetryAfter(answer(Platform::kDiscord, 429, R"({"retry_after":2})"), milliseconds(2000));
  expectRetryAfter(answer(Platform::kDiscord, 429, R"({"retry_after":0.0001})"), milliseconds(1));
}

TEST(DiscordAnswers, ABodyWithoutAUsableRetryAfterFallsBackToTheHeader) {
  expectRetryAfter(answer(Platform::kDiscord, 429, "Too Many Requests", "2"), milliseconds(2000));
  expectRetryAfter(answer(Platform::kDiscord, 429, R"({"retry_after":0.5,"mess)", "2"),
                   milliseconds(2000));  // cut at the snippet's end: not JSON
  expectRetryAfter(answer(Platform::kDiscord, 429, R"({"retry_after":-1})", "2"),
                   milliseconds(2000));
  expectRetryAfter(answer(Platform::kDiscord, 429, R"({"retry_after":"soon"})"), std::nullopt);
  expectRetryAfter(answer(Platform::kDiscord, 429, R"([0.5])"), std::nullopt);
  expectRetryAfter(answer(Platform::kDiscord, 429, ""), std::nullopt);
  // Absurd waits are kept (the caller caps them at the policy's max_delay).
  expectRetryAfter(answer(Platform::kDiscord, 429, R"({"retry_after":1e300})"),
                   milliseconds(365LL * 24 * 3600 * 1000));
}

TEST(DiscordAnswers, AnUnknownWebhookOrTokenIsPermanent) {
  expectDeadLetter(answer(Platform::kDiscord, 404, R"({"message":"Unknown Webhook","code":10015})"),
                   "discord_unknown_webhook");
  expectDeadLetter(
      answer(Platform::kDiscord, 401, R"({"message":"Invalid Webhook Token","code":50027})"),
      "discord_invalid_token");
  const auto invalid_form =
      answer(Platform::kDiscord, 400, R"({"message":"Invalid Form Body","code":50035})");
  EXPECT_EQ(std::string(invalid_form.outcome.error_class), "http_4xx");
  EXPECT_EQ(answer(Platform::kDiscord, 204, "").outcome.verdict, Verdict::kDelivered);
  EXPECT_EQ(answer(Platform::kDiscord, 502, "<html>").outcome.verdict, Verdict::kRetry);
}

TEST(TelegramAnswers, A429WaitsForParametersRetryAfter) {
  expectRetryAfter(
      answer(
          Platform::kTelegram, 429,
          R"({"ok":false,"error_code":429,"description":"Too Many Requests: retry after 7","parameters":{"retry_after":7}})"),
      milliseconds(7000));
  // No parameters: the header if any.
  expectRetryAfter(answer(Platform::kTelegram, 429, R"({"ok":false,"error_code":429})", "4"),
                   milliseconds(4000));
  // A top-level retry_after is not Telegram's: not read.
  expectRetryAfter(answer(Platform::kTelegram, 429, R"({"ok":false,"retry_after":9})"),
                   std::nullopt);
}

TEST(TelegramAnswers, AMissingChatABlockedBotOrAMigratedGroupIsPermanent) {
  expectDeadLetter(
      answer(Platform::kTelegram, 400,
             R"({"ok":false,"error_code":400,"description":"Bad Request: chat not found"})"),
      "telegram_chat_not_found");
  expectDeadLetter(
      answer(
          Platform::kTelegram, 403,
          R"({"ok":false,"error_code":403,"description":"Forbidden: bot was blocked by the user"})"),
      "telegram_forbidden");
  expectDeadLetter(
      answer(
          Platform::kTelegram, 400,
          R"({"ok":false,"error_code":400,"description":"Bad Request: group chat was upgraded to a supergroup chat","parameters":{"migrate_to_chat_id":-1001234567890}})"),
      "telegram_chat_migrated");
  const auto too_long =
      answer(Platform::kTelegram, 400,
             R"({"ok":false,"error_code":400,"description":"Bad Request: message is too long"})");
  EXPECT_EQ(std::string(too_long.outcome.error_class), "http_4xx");
  // A 403 that is not Telegram's JSON (a proxy's page): the generic 4xx.
  EXPECT_EQ(std::string(answer(Platform::kTelegram, 403, "<html>").outcome.error_class),
            "http_4xx");
  EXPECT_EQ(answer(Platform::kTelegram, 502, "Bad Gateway").outcome.verdict, Verdict::kRetry);
  EXPECT_EQ(answer(Platform::kTelegram, 200, R"({"ok":true,"result":{}})").outcome.verdict,
            Verdict::kDelivered);
}

TEST(PlatformAnswers, GenericTeamsAndZapierOnlyReadTheHeader) {
  constexpr std::string_view kDiscordish = R"({"retry_after":0.5,"parameters":{"retry_after":7}})";
  for (Platform p : {Platform::kGeneric, Platform::kTeams, Platform::kZapier}) {
    expectRetryAfter(answer(p, 429, kDiscordish), std::nullopt);
    expectRetryAfter(answer(p, 429, kDiscordish, "5"), milliseconds(5000));
  }
}

TEST(PlatformAnswers, ATransportFailureIsNeverJudgedByItsBody) {
  const auto timeout = answer(Platform::kSlack, 0, "invalid_token", "", CURLE_OPERATION_TIMEDOUT);
  EXPECT_EQ(timeout.outcome.verdict, Verdict::kRetry);
  EXPECT_EQ(std::string(timeout.outcome.error_class), "timeout");
  // The status line arrived, then the transfer failed: the generic class stands.
  const auto cut = answer(Platform::kDiscord, 429, R"({"retry_after":0.5})", "", CURLE_RECV_ERROR);
  EXPECT_EQ(std::string(cut.outcome.error_class), "connection");
  EXPECT_FALSE(cut.retry_after.has_value());
}

TEST(PlatformAnswers, EveryPrefixOfABodyIsJudgedWithoutHarm) {
  // The deliverer keeps the first 1 KiB: any cut must leave a sane verdict.
  const std::string bodies[] = {
      R"({"ok":false,"error_code":429,"description":"Too Many Requests: retry after 7","parameters":{"retry_after":7}})",
      R"({"message": "You are being rate limited.", "retry_after": 0.5, "global": false})",
      std::string("{\"retry_after\":\0\xff\xfe", 18)};
  for (Platform p : {Platform::kDiscord, Platform::kTelegram, Platform::kSlack})
    for (const auto& body : bodies)
      for (std::size_t n = 0; n <= body.size(); ++n) {
        const auto j = answer(p, 429, std::string_view(body).substr(0, n));
        EXPECT_EQ(j.outcome.verdict, Verdict::kRetry);
        if (j.retry_after) {
          EXPECT_GE(j.retry_after->count(), 0);
        }
      }
}

void expectLimit(const RateLimit& got, int64_t s, int64_t m, int64_t h) {
  EXPECT_EQ(got.per_second, s);
  EXPECT_EQ(got.per_minute, m);
  EXPECT_EQ(got.per_hour, h);
}

TEST(PresetRateLimit, ThePlatformsDocumentedLimits) {
  expectLimit(presetRateLimit(Platform::kSlack), 1, 0, 0);
  expectLimit(presetRateLimit(Platform::kDiscord), 0, 30, 0);
  expectLimit(presetRateLimit(Platform::kTelegram), 1, 0, 0);
  EXPECT_FALSE(presetRateLimit(Platform::kTeams).any());
  EXPECT_FALSE(presetRateLimit(Platform::kZapier).any());
  EXPECT_FALSE(presetRateLimit(Platform::kGeneric).any());
}

TEST(EffectiveRateLimit, ASubscriptionMayLowerAPresetNeverRaiseIt) {
  expectLimit(effectiveRateLimit(Platform::kSlack, {}), 1, 0, 0);
  expectLimit(effectiveRateLimit(Platform::kSlack, {.per_second = 5}), 1, 0, 0);    // higher
  expectLimit(effectiveRateLimit(Platform::kSlack, {.per_minute = 20}), 1, 20, 0);  // other window
  expectLimit(effectiveRateLimit(Platform::kDiscord, {}), 0, 30, 0);
  expectLimit(effectiveRateLimit(Platform::kDiscord, {.per_minute = 10}), 0, 10, 0);  // lower
  expectLimit(effectiveRateLimit(Platform::kDiscord, {.per_minute = 100}), 0, 30, 0);
  expectLimit(effectiveRateLimit(Platform::kDiscord, {.per_second = 2, .per_hour = 500}), 2, 30,
              500);
  expectLimit(effectiveRateLimit(Platform::kTelegram, {.per_hour = 100}), 1, 0, 100);
  // Without a preset the subscription's own limit, as given.
  expectLimit(effectiveRateLimit(Platform::kGeneric, {.per_second = 50}), 50, 0, 0);
  EXPECT_FALSE(effectiveRateLimit(Platform::kTeams, {}).any());
}

TEST(SigningOf, ChatPlatformsAreUnsignedZapierOnlyWithAKeyJsonAlways) {
  for (Platform p : {Platform::kSlack, Platform::kTeams, Platform::kDiscord, Platform::kTelegram})
    EXPECT_EQ(signingOf(p), Signing::kNone) << platformName(p);
  EXPECT_EQ(signingOf(Platform::kZapier), Signing::kWhenAsked);
  EXPECT_EQ(signingOf(Platform::kGeneric), Signing::kStandard);
}

}  // namespace
}  // namespace hookpipe::webhook

namespace hookpipe::webhook {
namespace {

// SMTP: the status is the last reply code curl saw.
TEST(EmailAnswers, OnlyAFinishedSubmissionIsDeliveredA5xxIsPermanentA4xxRetried) {
  auto smtp = [](long code, CURLcode curl, bool refused = false) {
    return judge(Platform::kEmail, {.status = code, .transport = curl, .refused = refused}, kNow);
  };
  EXPECT_EQ(smtp(250, CURLE_OK).outcome.verdict, Verdict::kDelivered);
  // A 250 to MAIL FROM, then the connection reset: not a delivery (HTTP would count it).
  const auto cut = smtp(250, CURLE_RECV_ERROR);
  EXPECT_EQ(cut.outcome.verdict, Verdict::kRetry);
  EXPECT_STREQ(cut.outcome.error_class, "connection");
  expectDeadLetter(smtp(550, CURLE_SEND_ERROR), "smtp_5xx");          // RCPT refused
  expectDeadLetter(smtp(535, CURLE_LOGIN_DENIED), "smtp_5xx");        // AUTH failed
  expectDeadLetter(smtp(554, CURLE_WEIRD_SERVER_REPLY), "smtp_5xx");  // DATA refused
  for (long code : {421L, 450L, 451L, 452L}) {
    const auto j = smtp(code, CURLE_WEIRD_SERVER_REPLY);
    EXPECT_EQ(j.outcome.verdict, Verdict::kRetry) << code;
    EXPECT_STREQ(j.outcome.error_class, "smtp_4xx");
    EXPECT_FALSE(j.retry_after.has_value());
  }
  EXPECT_STREQ(smtp(0, CURLE_USE_SSL_FAILED).outcome.error_class, "tls");
  EXPECT_STREQ(smtp(0, CURLE_OPERATION_TIMEDOUT).outcome.error_class, "timeout");
  EXPECT_STREQ(smtp(0, CURLE_COULDNT_RESOLVE_HOST).outcome.error_class, "dns");
  expectDeadLetter(smtp(0, CURLE_COULDNT_CONNECT, true), "refused_address");
  EXPECT_EQ(presetRateLimit(Platform::kEmail).any(), false);
  EXPECT_EQ(signingOf(Platform::kEmail), Signing::kNone);
  EXPECT_STREQ(platformName(Platform::kEmail), "email");
}

}  // namespace
}  // namespace hookpipe::webhook
