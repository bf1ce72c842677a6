#pragma once

#include <curl/curl.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string_view>

#include "common/subscriptions/subscription.h"
#include "common/webhook/outcome.h"

// What the platform behind a subscription's format changes on the delivery side: how its
// answers are judged (Slack's permanent error bodies, Discord's and Telegram's retry_after
// in the JSON body), its preset rate limit, and whether deliveries are signed. Pure
// functions, shared by the deliverer and (for signing) every user of Request.
namespace hookpipe::webhook {

enum class Platform : uint8_t { kGeneric, kSlack, kTeams, kDiscord, kTelegram, kZapier, kEmail };

// The platform of a subscription's `format` ("slack" → kSlack; "json", an unknown or a
// future format → kGeneric).
Platform platformOf(std::string_view format);
const char* platformName(Platform platform);

// The answer of one attempt as the deliverer keeps it.
struct Answer {
  long status = 0;  // 0: no response
  CURLcode transport = CURLE_OK;
  bool refused = false;          // the SSRF guard refused an address (Request::refused())
  std::string_view body_head;    // the first kResponseSnippetBytes of the body
  std::string_view retry_after;  // the Retry-After header's value, "" when absent
};

struct Judgement {
  Outcome outcome;
  // How long the receiver asked to wait before the next attempt (Retry-After, or the
  // platform's retry_after in the body); nullopt when it did not say. Only meaningful for
  // a retry (the caller caps it at the policy's max_delay).
  std::optional<std::chrono::milliseconds> retry_after;
};

// classify() plus the platform's own rules (docs/integrations.md, "Answers"):
// - slack: a 4xx whose body is one of Slack's permanent error codes (invalid_token,
//   channel_not_found, channel_is_archived, no_service, invalid_payload,
//   action_prohibited, …) is dead-lettered as "slack_<code>"; channel_is_archived's 410
//   does not disable the subscription (unarchiving the channel revives the webhook).
// - discord: a 429's JSON `retry_after` (seconds, fractional) is the wait, preferred to the
//   header (which Discord rounds up to whole seconds); 404 Unknown Webhook (code 10015) is
//   "discord_unknown_webhook", 401 Invalid Webhook Token (50027) "discord_invalid_token".
// - telegram: a 429's `parameters.retry_after` is the wait; 400 "chat not found" is
//   "telegram_chat_not_found", a 400 with `parameters.migrate_to_chat_id`
//   "telegram_chat_migrated", a 403 (bot blocked, kicked, user deactivated)
//   "telegram_forbidden": all permanent.
// - email (SMTP; `status` is the last SMTP reply code): delivered only when the transfer
//   ended well with a 2xx (the final 250 after DATA: a 250 to MAIL FROM followed by a reset
//   is not a delivery); a 5xx reply (a refused recipient, 535 auth failed, 554) is
//   permanent, "smtp_5xx"; a 4xx (451, 421, 452) is retried, "smtp_4xx"; STARTTLS refused
//   or not offered when required is "tls" (retried); other failures as classify() without
//   a status (connection, dns, tls, timeout).
// - others: classify() and the Retry-After header.
// A body that is not what the platform sends (not JSON, cut at the snippet's end) leaves
// the generic verdict and the header. `now_s` is for an HTTP-date Retry-After.
Judgement judge(Platform platform, const Answer& answer, int64_t now_s);

// The platform's documented rate limit (all zero for none): slack 1 a second (per
// webhook), discord 30 a minute (per webhook), telegram 1 a second (per chat).
RateLimit presetRateLimit(Platform platform);
// The limit a subscription's deliveries are held to: in each window, the lower of its own
// `rate_limit` and the platform's preset (a window either leaves at 0 is unlimited). So a
// subscription may lower a platform's limit, never raise it, and its other windows stay.
RateLimit effectiveRateLimit(Platform platform, const RateLimit& own);

// Which signature headers go out. kStandard: webhook-id and webhook-timestamp always,
// webhook-signature (or GitHub style's X-Webhook-Signature) when there is a key — what
// `json` has always done. kWhenAsked: as kStandard, but only when the subscription's
// format_options ask for it (`"sign": true`) — zapier: a catch hook verifies nothing, so
// it goes unsigned unless asked. kNone: chat platforms, which ignore them.
enum class Signing : uint8_t { kStandard, kWhenAsked, kNone };
Signing signingOf(Platform platform);

}  // namespace hookpipe::webhook
