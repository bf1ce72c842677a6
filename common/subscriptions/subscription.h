#pragma once

#include <chrono>
#include <cstdint>
#include <expected>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.h"
#include "common/filter/filter.h"
#include "common/format/options.h"
#include "common/subscriptions/url.h"

namespace hookpipe {
namespace format {
class Formatter;
}

struct RetryConfig {
  enum class Strategy { kExponential, kLinear, kFixed, kNone };
  Strategy strategy = Strategy::kExponential;
  // Unset (-1) fields use the default schedule of DESIGN.md.
  int max_retries = -1;
  int64_t retry_delay_ms = -1;
  double backoff_multiplier = 2.0;
  int64_t max_delay_ms = 10LL * 3600 * 1000;
  bool jitter = true;
};

// Per-subscription delivery rate limits, shared by every deliverer through Redis.
// 0 means no limit for that window. Each limit is enforced as a smooth rate (a token
// bucket holding at most one second's worth of tokens, at least one).
struct RateLimit {
  int64_t per_second = 0;
  int64_t per_minute = 0;
  int64_t per_hour = 0;
  bool any() const { return per_second > 0 || per_minute > 0 || per_hour > 0; }
};

// A subscription as stored on the compacted subscriptions topic (the record is the
// JSON form below, secrets included; the topic is internal).
struct Subscription {
  std::string id;
  std::string name;
  std::string description;
  // As given, credentials included: a user:password@ in it is sent as Basic auth by the
  // deliverer and never shown (redactedUrl()).
  std::string url;
  std::vector<std::string> events;  // exact types, "prefix.*" or "*"
  std::string secret;               // whsec_...
  // During a rotation's grace period the previous secret signs too (both signatures
  // are sent); 0 when no rotation is in progress.
  std::string previous_secret;
  int64_t previous_secret_expires_ms = 0;
  std::string tenant;        // empty: sees every tenant's events
  std::string filters_json;  // the payload filter as given ("" for none)
  // filters_json compiled once when the subscription is parsed; null for none.
  std::shared_ptr<const filter::Filter> filter;
  bool is_active = true;
  // Why hookpipe itself deactivated it (the endpoint answered 410 Gone); empty otherwise,
  // and cleared when it is made active again. Not settable through the API.
  std::string disabled_reason;
  std::string signature_style = "standard";  // or "github"
  // The payload format of its deliveries (common/format): "json", the event as it is, by
  // default.
  std::string format = "json";
  // What the format needs per subscription (telegram's chat_id, slack's channel …): the
  // `format_options` object as given (compact JSON, "" for none) and by name. A client's
  // are checked by the format (Formatter::validate); stored ones load as they are.
  std::string format_options_json;
  format::Options format_options;
  // `format` resolved when parsed, bound to format_options when there are any: null for
  // the event JSON as it is (and for a stored format this build does not know).
  std::shared_ptr<const format::Formatter> formatter;
  std::map<std::string, std::string> headers;
  // The client's own labels, stored and returned as given (bounds: kMaxMetadata*).
  std::map<std::string, std::string> metadata;
  RetryConfig retry_config;
  int64_t timeout_ms = 0;          // 0: the deliverer's default (HOOKPIPE_REQUEST_TIMEOUT_MS)
  int64_t connect_timeout_ms = 0;  // 0: the deliverer's default (HOOKPIPE_CONNECT_TIMEOUT_MS)
  RateLimit rate_limit;
  // Most requests in flight at once to this endpoint from one deliverer process
  // (0: the deliverer's default, HOOKPIPE_ENDPOINT_CONCURRENCY).
  int max_concurrency = 0;
  // Deliveries go one at a time, in order, retrying in place.
  bool ordered = false;
  // The HMAC key bytes of `secret` and `previous_secret` (signingKey()), filled by
  // parseSubscription and refreshSigningKeys().
  std::string secret_key;
  std::string previous_secret_key;
  std::string created_at;
  std::string updated_at;

  bool matchesType(std::string_view type) const;
  // The keys that sign a delivery at `now_ms`: the secret, plus the previous one while
  // its grace period lasts.
  std::vector<std::string> signingSecrets(int64_t now_ms) const;
  // The same as HMAC key bytes (the precomputed ones when filled in).
  std::vector<std::string> signingKeys(int64_t now_ms) const;
  // Sets secret_key and previous_secret_key from the secrets and the signature style;
  // call it after changing either.
  void refreshSigningKeys();
};

// The HMAC key of `secret` for `signature_style`: Standard Webhooks keys with the
// base64-decoded bytes after "whsec_"; GitHub style keys with the secret string exactly
// as shown to the receiver (GitHub's receivers do `HMAC(secret, body)`), prefix included.
// Empty when a standard secret does not decode.
std::string signingKey(std::string_view secret, std::string_view signature_style);

// Client-chosen subscription ids: 1..kMaxSubscriptionIdLength of [A-Za-z0-9_.-], starting
// with a letter or digit (so never "." or ".."; the charset of Svix's uid). They are URL
// path segments, Kafka keys and log fields as they are: no escaping is ever needed.
inline constexpr std::size_t kMaxSubscriptionIdLength = 128;
// Empty when `id` is a valid id, else why not.
std::string subscriptionIdProblem(std::string_view id);

// metadata bounds (Stripe's): at most 50 keys, keys 1..40 characters without control
// characters, values strings of at most 500 characters (characters, not bytes).
inline constexpr std::size_t kMaxMetadataKeys = 50;
inline constexpr std::size_t kMaxMetadataKeyLength = 40;
inline constexpr std::size_t kMaxMetadataValueLength = 500;

// The subscription's url as API answers show it: redactedUrl(), or only its scheme and
// host ("https://hooks.slack.com/***") when its format says the URL is the credential
// (a chat webhook URL, a Telegram bot token in the path: write-only, like a password).
std::string shownUrl(const Subscription& s);
// The format options that are credentials: every API answer shows them as "***", and a
// PUT or PATCH that sends "***" back keeps the stored value (like a redacted url).
inline constexpr std::string_view kSecretFormatOptions[] = {"password"};

// One validation problem: a JSON pointer (RFC 6901) into the subscription's JSON ("" for
// the whole body) and what is wrong there.
using FieldProblem = Problem;

// Who wrote the JSON being parsed.
enum class SubscriptionSource {
  // A record of the subscriptions topic: fields this version does not know are ignored
  // (a newer version may have written them) and rules added since it was written are
  // not applied, so that every stored record still loads.
  kStored,
  // A client's POST /v1/subscriptions: on top of the stored rules, unknown fields (also
  // inside retry_config) are refused, each by its pointer; the id must follow
  // subscriptionIdProblem(); previous_secret and previous_secret_expires_ms cannot be set
  // (only a rotation sets them); custom headers may not replace hookpipe's (apiProblems);
  // a name given twice in one object is refused (json::repeatedNames).
  kCreate,
  // A client's PUT or PATCH, after the API merged it over the stored record: kCreate's
  // rules but the id and the previous secret (the API keeps the stored ones), and no
  // repeated-name walk: the merged record is the API's own rewrite, and the client's body
  // was checked before the merge (subscriptionFieldProblems).
  kUpdate,
};

// Parses and validates a subscription; every problem at once, each with its pointer.
std::expected<Subscription, std::vector<FieldProblem>> checkSubscription(std::string_view json,
                                                                         SubscriptionSource source);
// The unknown fields of a subscription's JSON (top level, retry_config, rate_limit), each
// by its pointer, with a suggestion when the name is close to a known one, and any name
// given twice in one object anywhere in it. Null-valued ones count: a merge patch's
// {"active": null} is refused like {"active": false}.
std::vector<FieldProblem> subscriptionFieldProblems(std::string_view json);

// True when `type` matches `pattern`: exact, "*" (all) or "order.*" (prefix "order.").
bool matchesEventType(std::string_view pattern, std::string_view type);

// checkSubscription(json, kStored) as a Result: the error lists the problems (its message
// joins them with "; ").
Result<Subscription> parseSubscription(std::string_view json);
// What the API refuses on top of parseSubscription (stored records written before a rule
// existed still load): custom headers that would replace the ones hookpipe sets
// (Content-Type, Content-Length, Host, User-Agent, the signature headers, …). Empty when fine.
std::vector<std::string> apiProblems(const Subscription& s);
// The stored form; `with_secret` false for API listings.
std::string toJson(const Subscription& s, bool with_secret = true);
// What the API shows: the stored form with the URL's credentials redacted, and the secret
// only when `with_secret` (the create answer).
std::string apiJson(const Subscription& s, bool with_secret);

}  // namespace hookpipe
