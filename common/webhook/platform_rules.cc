#include "common/webhook/platform_rules.h"

#include <simdjson.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <utility>

namespace hookpipe::webhook {
namespace {

std::string_view trimmed(std::string_view s) {
  auto space = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
  while (!s.empty() && space(s.front())) s.remove_prefix(1);
  while (!s.empty() && space(s.back())) s.remove_suffix(1);
  return s;
}

// Slack's incoming-webhook error bodies that no retry can fix, each with its error class
// (a fixed set: fit for a metric label). https://api.slack.com/messaging/webhooks#handling_errors
constexpr std::array<std::pair<std::string_view, const char*>, 14> kSlackPermanent{{
    {"invalid_token", "slack_invalid_token"},
    {"channel_not_found", "slack_channel_not_found"},
    {"channel_is_archived", "slack_channel_is_archived"},
    {"no_service", "slack_no_service"},
    {"no_service_id", "slack_no_service_id"},
    {"no_team", "slack_no_team"},
    {"team_disabled", "slack_team_disabled"},
    {"invalid_payload", "slack_invalid_payload"},
    {"invalid_blocks", "slack_invalid_blocks"},
    {"no_text", "slack_no_text"},
    {"too_many_attachments", "slack_too_many_attachments"},
    {"action_prohibited", "slack_action_prohibited"},
    {"posting_to_general_channel_denied", "slack_posting_to_general_channel_denied"},
    {"user_not_found", "slack_user_not_found"},
}};

bool clientError(long status) { return status >= 400 && status < 500; }

// The JSON object of a body head, when it is one (parsed into a thread-local parser: the
// element lives until the next call on this thread).
bool parseObject(std::string_view body, simdjson::dom::object& out) {
  body = trimmed(body);
  if (body.empty() || body.front() != '{') return false;
  thread_local simdjson::dom::parser parser;
  simdjson::dom::element root;
  if (parser.parse(body.data(), body.size()).get(root)) return false;
  return !root.get_object().get(out);
}

// A JSON number of seconds as a wait, rounded up to the millisecond; nullopt for anything
// else (a negative, NaN or absurd value included). Longer waits are capped by the caller.
std::optional<std::chrono::milliseconds> secondsOf(simdjson::dom::element value) {
  double seconds = 0;
  if (value.get_double().get(seconds)) return std::nullopt;  // integers convert too
  if (!std::isfinite(seconds) || seconds < 0) return std::nullopt;
  constexpr double kYear = 365.0 * 24 * 3600;
  return std::chrono::milliseconds(
      static_cast<int64_t>(std::ceil(std::min(seconds, kYear) * 1000)));
}

void judgeSlack(const Answer& a, Judgement& j) {
  if (!clientError(a.status) || a.status == 429) return;
  const std::string_view code = trimmed(a.body_head);
  for (const auto& [name, error_class] : kSlackPermanent)
    if (code == name) {
      j.outcome = {Verdict::kDeadLetter, error_class, false};
      return;
    }
}

void judgeDiscord(const Answer& a, Judgement& j) {
  simdjson::dom::object body;
  if (!clientError(a.status) || !parseObject(a.body_head, body)) return;
  if (a.status == 429) {
    simdjson::dom::element value;
    if (!body["retry_after"].get(value))
      if (auto wait = secondsOf(value)) j.retry_after = wait;
    return;
  }
  int64_t code = 0;
  if (body["code"].get_int64().get(code)) return;
  if (a.status == 404 && code == 10015)
    j.outcome = {Verdict::kDeadLetter, "discord_unknown_webhook", false};
  else if (a.status == 401 && code == 50027)
    j.outcome = {Verdict::kDeadLetter, "discord_invalid_token", false};
}

void judgeTelegram(const Answer& a, Judgement& j) {
  simdjson::dom::object body;
  if (!clientError(a.status) || !parseObject(a.body_head, body)) return;
  simdjson::dom::object parameters;
  const bool has_parameters = !body["parameters"].get_object().get(parameters);
  if (a.status == 429) {
    simdjson::dom::element value;
    if (has_parameters && !parameters["retry_after"].get(value))
      if (auto wait = secondsOf(value)) j.retry_after = wait;
    return;
  }
  std::string_view description;
  if (body["description"].get_string().get(description)) description = {};
  if (a.status == 403) {
    j.outcome = {Verdict::kDeadLetter, "telegram_forbidden", false};
  } else if (a.status == 400 && has_parameters && !parameters["migrate_to_chat_id"].error()) {
    j.outcome = {Verdict::kDeadLetter, "telegram_chat_migrated", false};
  } else if (a.status == 400 && description.find("chat not found") != std::string_view::npos) {
    j.outcome = {Verdict::kDeadLetter, "telegram_chat_not_found", false};
  }
}

}  // namespace

Platform platformOf(std::string_view format) {
  if (format == "slack") return Platform::kSlack;
  if (format == "teams") return Platform::kTeams;
  if (format == "discord") return Platform::kDiscord;
  if (format == "telegram") return Platform::kTelegram;
  if (format == "zapier") return Platform::kZapier;
  if (format == "email") return Platform::kEmail;
  return Platform::kGeneric;
}

const char* platformName(Platform platform) {
  switch (platform) {
    case Platform::kSlack:
      return "slack";
    case Platform::kTeams:
      return "teams";
    case Platform::kDiscord:
      return "discord";
    case Platform::kTelegram:
      return "telegram";
    case Platform::kZapier:
      return "zapier";
    case Platform::kEmail:
      return "email";
    case Platform::kGeneric:
      break;
  }
  return "generic";
}

namespace {

Judgement judgeEmail(const Answer& a) {
  if (refusedOutright(a.status, a.transport, a.refused))
    return {{Verdict::kDeadLetter, "refused_address"}, std::nullopt};
  if (a.status >= 500 && a.status < 600) return {{Verdict::kDeadLetter, "smtp_5xx"}, std::nullopt};
  if (a.status >= 400 && a.status < 500) return {{Verdict::kRetry, "smtp_4xx"}, std::nullopt};
  if (a.transport == CURLE_OK && a.status >= 200 && a.status < 300)
    return {{Verdict::kDelivered, ""}, std::nullopt};
  if (a.transport == CURLE_USE_SSL_FAILED) return {{Verdict::kRetry, "tls"}, std::nullopt};
  if (a.transport == CURLE_OK) return {{Verdict::kRetry, "smtp_unexpected"}, std::nullopt};
  return {classify(0, a.transport, a.refused), std::nullopt};
}

}  // namespace

Judgement judge(Platform platform, const Answer& a, int64_t now_s) {
  if (platform == Platform::kEmail) return judgeEmail(a);
  Judgement j{classify(a.status, a.transport, a.refused), std::nullopt};
  if (j.outcome.verdict == Verdict::kDelivered) return j;
  if (!a.retry_after.empty()) j.retry_after = parseRetryAfter(a.retry_after, now_s);
  // Only an answer whose status line arrived is the platform's (a transfer cut short has
  // no body to judge, and classify() called it a transport failure).
  if (a.status == 0 || a.transport != CURLE_OK) return j;
  switch (platform) {
    case Platform::kSlack:
      judgeSlack(a, j);
      break;
    case Platform::kDiscord:
      judgeDiscord(a, j);
      break;
    case Platform::kTelegram:
      judgeTelegram(a, j);
      break;
    case Platform::kTeams:
    case Platform::kZapier:
    case Platform::kEmail:
    case Platform::kGeneric:
      break;
  }
  return j;
}

RateLimit presetRateLimit(Platform platform) {
  switch (platform) {
    case Platform::kSlack:
      return {.per_second = 1};
    case Platform::kDiscord:
      return {.per_minute = 30};
    case Platform::kTelegram:
      return {.per_second = 1};
    case Platform::kTeams:
    case Platform::kZapier:
    case Platform::kEmail:
    case Platform::kGeneric:
      break;
  }
  return {};
}

RateLimit effectiveRateLimit(Platform platform, const RateLimit& own) {
  const RateLimit preset = presetRateLimit(platform);
  auto lower = [](int64_t a, int64_t b) {
    if (a <= 0) return std::max<int64_t>(b, 0);
    if (b <= 0) return a;
    return std::min(a, b);
  };
  return {.per_second = lower(own.per_second, preset.per_second),
          .per_minute = lower(own.per_minute, preset.per_minute),
          .per_hour = lower(own.per_hour, preset.per_hour)};
}

Signing signingOf(Platform platform) {
  switch (platform) {
    case Platform::kSlack:
    case Platform::kTeams:
    case Platform::kDiscord:
    case Platform::kTelegram:
    case Platform::kEmail:  // nothing to sign: no HTTP headers
      return Signing::kNone;
    case Platform::kZapier:
      return Signing::kWhenAsked;
    case Platform::kGeneric:
      break;
  }
  return Signing::kStandard;
}

}  // namespace hookpipe::webhook
