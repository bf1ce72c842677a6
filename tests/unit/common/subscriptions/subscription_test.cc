// Unit tests for common/subscriptions/subscription.h: parsing, validation, the stored
// JSON form and event type matching.
#include "common/subscriptions/subscription.h"

#include <gtest/gtest.h>
#include <simdjson.h>

#include <set>
#include <string>
#include <vector>

#include "common/signing/signer.h"

namespace hookpipe {
namespace {

constexpr const char* kSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

const std::string kFull = R"({
  "id": "sub_123",
  "name": "Payments",
  "description": "Order events for the payments team",
  "url": "https://hooks.example.com/orders?x=1",
  "events": ["order.created", "invoice.*", "*"],
  "secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
  "is_active": false,
  "disabled_reason": "the endpoint answered 410 Gone",
  "signature_style": "github",
  "headers": {"X-Team": "payments", "Authorization": "Bearer abc"},
  "retry_config": {"strategy": "linear", "max_retries": 5, "retry_delay": 2000,
                   "max_delay": 60000, "backoff_multiplier": 3, "jitter": false},
  "timeout_ms": 5000,
  "created_at": "2026-01-09T15:30:00Z",
  "updated_at": "2026-01-10T08:00:00Z"
})";

void expectSame(const Subscription& a, const Subscription& b) {
  EXPECT_EQ(a.id, b.id);
  EXPECT_EQ(a.name, b.name);
  EXPECT_EQ(a.description, b.description);
  EXPECT_EQ(a.url, b.url);
  EXPECT_EQ(a.events, b.events);
  EXPECT_EQ(a.secret, b.secret);
  EXPECT_EQ(a.is_active, b.is_active);
  EXPECT_EQ(a.disabled_reason, b.disabled_reason);
  EXPECT_EQ(a.signature_style, b.signature_style);
  EXPECT_EQ(a.headers, b.headers);
  EXPECT_EQ(a.retry_config.strategy, b.retry_config.strategy);
  EXPECT_EQ(a.retry_config.max_retries, b.retry_config.max_retries);
  EXPECT_EQ(a.retry_config.retry_delay_ms, b.retry_config.retry_delay_ms);
  EXPECT_DOUBLE_EQ(a.retry_config.backoff_multiplier, b.retry_config.backoff_multiplier);
  EXPECT_EQ(a.retry_config.max_delay_ms, b.retry_config.max_delay_ms);
  EXPECT_EQ(a.retry_config.jitter, b.retry_config.jitter);
  EXPECT_EQ(a.timeout_ms, b.timeout_ms);
  EXPECT_EQ(a.created_at, b.created_at);
  EXPECT_EQ(a.updated_at, b.updated_at);
}

TEST(ParseSubscription, ReadsEveryField) {
  auto s = parseSubscription(kFull);
  ASSERT_TRUE(s.has_value()) << s.error().message;
  EXPECT_EQ(s->id, "sub_123");
  EXPECT_EQ(s->name, "Payments");
  EXPECT_EQ(s->description, "Order events for the payments team");
  EXPECT_EQ(s->url, "https://hooks.example.com/orders?x=1");
  EXPECT_EQ(s->events, (std::vector<std::string>{"order.created", "invoice.*", "*"}));
  EXPECT_EQ(s->secret, kSecret);
  EXPECT_FALSE(s->is_active);
  EXPECT_EQ(s->disabled_reason, "the endpoint answered 410 Gone");
  EXPECT_EQ(s->signature_style, "github");
  EXPECT_EQ(s->headers, (std::map<std::string, std::string>{{"X-Team", "payments"},
                                                            {"Authorization", "Bearer abc"}}));
  EXPECT_EQ(s->retry_config.strategy, RetryConfig::Strategy::kLinear);
  EXPECT_EQ(s->retry_config.max_retries, 5);
  EXPECT_EQ(s->retry_config.retry_delay_ms, 2000);
  EXPECT_EQ(s->retry_config.max_delay_ms, 60000);
  EXPECT_DOUBLE_EQ(s->retry_config.backoff_multiplier, 3.0);
  EXPECT_FALSE(s->retry_config.jitter);
  EXPECT_EQ(s->timeout_ms, 5000);
  EXPECT_EQ(s->created_at, "2026-01-09T15:30:00Z");
  EXPECT_EQ(s->updated_at, "2026-01-10T08:00:00Z");
}

TEST(ParseSubscription, OptionalFieldsTakeTheirDefaults) {
  auto s = parseSubscription(R"({"url":"http://receiver:8080/hook","events":["order.created"]})");
  ASSERT_TRUE(s.has_value()) << s.error().message;
  const Subscription defaults;
  EXPECT_TRUE(s->is_active);
  EXPECT_EQ(s->signature_style, "standard");
  EXPECT_TRUE(s->secret.empty());
  EXPECT_TRUE(s->headers.empty());
  EXPECT_EQ(s->timeout_ms, 0);
  EXPECT_EQ(s->retry_config.strategy, defaults.retry_config.strategy);
  EXPECT_EQ(s->retry_config.max_retries, -1);
  EXPECT_EQ(s->retry_config.retry_delay_ms, -1);
  EXPECT_EQ(s->retry_config.max_delay_ms, defaults.retry_config.max_delay_ms);
  EXPECT_TRUE(s->retry_config.jitter);
}

TEST(ParseSubscription, EachStrategyName) {
  const std::vector<std::pair<std::string, RetryConfig::Strategy>> cases = {
      {"exponential", RetryConfig::Strategy::kExponential},
      {"linear", RetryConfig::Strategy::kLinear},
      {"fixed", RetryConfig::Strategy::kFixed},
      {"none", RetryConfig::Strategy::kNone},
  };
  for (const auto& [name, strategy] : cases) {
    SCOPED_TRACE(name);
    auto s = parseSubscription(
        R"({"url":"https://x.example","events":["*"],"retry_config":{"strategy":")" + name +
        R"("}})");
    ASSERT_TRUE(s.has_value()) << s.error().message;
    EXPECT_EQ(s->retry_config.strategy, strategy);
  }
}

TEST(ParseSubscription, ReportsEachValidationError) {
  struct Case {
    std::string json;
    std::string problem;  // a part of the expected message
  };
  const std::string ok_events = R"("events":["order.created"])";
  const std::string ok_url = R"("url":"https://hooks.example.com/x")";
  auto with = [&](const std::string& extra) {
    return "{" + ok_url + "," + ok_events + "," + extra + "}";
  };
  const std::vector<Case> cases = {
      {"not json", "body is not valid JSON"},
      {"[]", "body must be a JSON object"},
      {"{" + ok_events + "}", "url is required"},
      {R"({"url":"",)" + ok_events + "}", "url is required"},
      {R"({"url":5,)" + ok_events + "}", "url must be a string"},
      {R"({"url":"ftp://files.example.com/x",)" + ok_events + "}",
       "url must start with http:// or https://"},
      {R"({"url":"hooks.example.com/x",)" + ok_events + "}",
       "url must start with http:// or https://"},
      {R"({"url":"https://",)" + ok_events + "}", "url must name a host"},
      {R"({"url":"http:///path",)" + ok_events + "}", "url must name a host"},
      {"{" + ok_url + "}", "events is required"},
      {"{" + ok_url + R"(,"events":[]})", "events must not be empty"},
      {"{" + ok_url + R"(,"events":"order.created"})", "events must be an array of strings"},
      {"{" + ok_url + R"(,"events":["or*der"]})", "events: each entry"},
      {"{" + ok_url + R"(,"events":["order*"]})", "events: each entry"},
      {"{" + ok_url + R"(,"events":["*.created"]})", "events: each entry"},
      {"{" + ok_url + R"(,"events":[""]})", "events: each entry"},
      {"{" + ok_url + R"(,"events":[5]})", "events: each entry"},
      {with(R"("is_active":"yes")"), "is_active must be a boolean"},
      {with(R"("is_active":1)"), "is_active must be a boolean"},
      {with(R"("name":7)"), "name must be a string"},
      {with(R"("timeout_ms":50)"), "timeout_ms must be 100..300000"},
      {with(R"("timeout_ms":300001)"), "timeout_ms must be 100..300000"},
      {with(R"("connect_timeout_ms":99)"), "connect_timeout_ms must be 100..60000"},
      {with(R"("connect_timeout_ms":60001)"), "connect_timeout_ms must be 100..60000"},
      {with(R"("connect_timeout_ms":"5s")"), "connect_timeout_ms must be 100..60000"},
      {with(R"("timeout_ms":"5s")"), "timeout_ms must be 100..300000"},
      {with(R"("retry_config":"fast")"), "retry_config must be an object"},
      {with(R"("retry_config":{"strategy":"random"})"), "retry_config.strategy must be"},
      {with(R"("retry_config":{"strategy":1})"), "retry_config.strategy must be a string"},
      {with(R"("retry_config":{"max_retries":-1})"), "retry_config.max_retries"},
      {with(R"("retry_config":{"max_retries":101})"), "retry_config.max_retries"},
      {with(R"("retry_config":{"max_retries":"3"})"), "retry_config.max_retries"},
      {with(R"("retry_config":{"max_retries":2.5})"), "retry_config.max_retries"},
      {with(R"("retry_config":{"retry_delay":-5})"), "retry_config.retry_delay"},
      {with(R"("retry_config":{"max_delay":-1})"), "retry_config.max_delay"},
      {with(R"("retry_config":{"backoff_multiplier":0.5})"), "retry_config.backoff_multiplier"},
      {with(R"("retry_config":{"backoff_multiplier":101})"), "retry_config.backoff_multiplier"},
      {with(R"("retry_config":{"backoff_multiplier":"2"})"), "retry_config.backoff_multiplier"},
      {with(R"("retry_config":{"jitter":"yes"})"), "retry_config.jitter must be a boolean"},
      {with(R"("headers":["X-A: b"])"), "headers must be an object of strings"},
      {with(R"("headers":{"X:Bad":"v"})"), "headers: 'X:Bad'"},
      {with(R"("headers":{"X-Bad\r\nInjected":"v"})"), "headers: 'X-Bad"},
      {with(R"("headers":{"X-Bad\nInjected":"v"})"), "headers: 'X-Bad"},
      {with(R"("headers":{"X-Ok":"v\r\nInjected: 1"})"), "headers: 'X-Ok'"},
      {with(R"("headers":{"":"v"})"), "headers: ''"},
      {with(R"("headers":{"X-Num":5})"), "headers: 'X-Num'"},
      {with(R"("secret":"whsec_!!!!")"), "secret must be whsec_ followed by base64"},
      {with(R"("secret":"whsec_abc")"), "secret must be whsec_ followed by base64"},
      {with(R"("secret":"not a secret")"), "secret must be whsec_ followed by base64"},
      {with(R"("secret":"whsec_")"), "secret must be whsec_ followed by base64"},
      {with(R"("secret":42)"), "secret must be a string"},
      {with(R"("signature_style":"md5")"), "signature_style must be standard or github"},
      {with(R"("rate_limit":100)"), "rate_limit must be an object"},
      {with(R"("rate_limit":{"per_day":5})"), "rate_limit.per_day is not a limit"},
      {with(R"("rate_limit":{"per_second":-1})"), "rate_limit.per_second must be"},
      {with(R"("rate_limit":{"per_minute":1.5})"), "rate_limit.per_minute must be"},
      {with(R"("rate_limit":{"per_hour":"10"})"), "rate_limit.per_hour must be"},
      {with(R"("rate_limit":{"per_second":1000001})"), "rate_limit.per_second must be"},
      {with(R"("max_concurrency":-2)"), "max_concurrency must be"},
      {with(R"("max_concurrency":1001)"), "max_concurrency must be"},
      {with(R"("ordered":"yes")"), "ordered must be a boolean"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.json);
    auto s = parseSubscription(c.json);
    ASSERT_FALSE(s.has_value());
    EXPECT_NE(s.error().message.find(c.problem), std::string::npos) << s.error().message;
    EXPECT_FALSE(s.error().retryable);
  }
}

TEST(ParseSubscription, ReportsEveryProblemInOneMessage) {
  auto s =
      parseSubscription(R"({"url":"ftp://x","events":[],"is_active":"no","headers":{"a:b":"c"},)"
                        R"("retry_config":{"max_retries":-3,"jitter":1},"secret":"garbage!"})");
  ASSERT_FALSE(s.has_value());
  const std::string& message = s.error().message;
  for (const char* problem :
       {"url must start with http:// or https://", "events must not be empty",
        "is_active must be a boolean", "headers: 'a:b'", "retry_config.max_retries",
        "retry_config.jitter", "secret must be whsec_"}) {
    SCOPED_TRACE(problem);
    EXPECT_NE(message.find(problem), std::string::npos) << message;
  }
}

TEST(ParseSubscription, DeliveryControls) {
  auto s = parseSubscription(
      R"({"url":"https://x.example","events":["*"],"secret":"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",)"
      R"("rate_limit":{"per_second":50,"per_hour":1000},"max_concurrency":4,"ordered":true,)"
      R"("connect_timeout_ms":2500})");
  ASSERT_TRUE(s.has_value()) << s.error().message;
  EXPECT_EQ(s->rate_limit.per_second, 50);
  EXPECT_EQ(s->rate_limit.per_minute, 0);
  EXPECT_EQ(s->rate_limit.per_hour, 1000);
  EXPECT_TRUE(s->rate_limit.any());
  EXPECT_EQ(s->max_concurrency, 4);
  EXPECT_TRUE(s->ordered);
  EXPECT_EQ(s->connect_timeout_ms, 2500);
  // The secret is decoded once, at parse time.
  EXPECT_EQ(s->secret_key, *signing::secretKey(kSecret));
  EXPECT_EQ(s->signingKeys(0), std::vector<std::string>{s->secret_key});
  auto again = parseSubscription(toJson(*s));
  ASSERT_TRUE(again.has_value()) << again.error().message;
  EXPECT_EQ(again->rate_limit.per_hour, 1000);
  EXPECT_EQ(again->max_concurrency, 4);
  EXPECT_TRUE(again->ordered);
  EXPECT_EQ(again->connect_timeout_ms, 2500);
  // Defaults: no limit, the deliverer's concurrency, unordered; none written out.
  auto plain = parseSubscription(R"({"url":"https://x.example","events":["*"]})");
  ASSERT_TRUE(plain.has_value());
  EXPECT_FALSE(plain->rate_limit.any());
  EXPECT_EQ(plain->max_concurrency, 0);
  EXPECT_FALSE(plain->ordered);
  const std::string json = toJson(*plain);
  EXPECT_EQ(json.find("rate_limit"), std::string::npos);
  EXPECT_EQ(json.find("ordered"), std::string::npos);
  EXPECT_EQ(plain->connect_timeout_ms, 0);
  EXPECT_EQ(json.find("connect_timeout_ms"), std::string::npos);
}

TEST(ApiProblems, CustomHeadersCannotReplaceTheOnesHookpipeSets) {
  auto s = parseSubscription(
      R"({"url":"https://x.example","events":["*"],"headers":{"X-Team":"a","Authorization":"b",)"
      R"("content-type":"text/plain","Webhook-Signature":"v1,forged","User-Agent":"me"}})");
  ASSERT_TRUE(s.has_value()) << s.error().message;  // a stored record still loads
  const auto problems = apiProblems(*s);
  EXPECT_EQ(problems, (std::vector<std::string>{
                          "headers: 'User-Agent' is set by hookpipe and cannot be replaced",
                          "headers: 'Webhook-Signature' is set by hookpipe and cannot be replaced",
                          "headers: 'content-type' is set by hookpipe and cannot be replaced"}));
  auto fine = parseSubscription(
      R"({"url":"https://x.example","events":["*"],"headers":{"X-Team":"a","Authorization":"b"}})");
  ASSERT_TRUE(fine.has_value());
  EXPECT_TRUE(apiProblems(*fine).empty());
}

TEST(SubscriptionJson, RoundTripsThroughParse) {
  auto original = parseSubscription(kFull);
  ASSERT_TRUE(original.has_value()) << original.error().message;
  auto again = parseSubscription(toJson(*original));
  ASSERT_TRUE(again.has_value()) << again.error().message << "\n" << toJson(*original);
  expectSame(*original, *again);
}

TEST(SubscriptionJson, RoundTripsBuiltSubscriptions) {
  std::vector<Subscription> subs(3);
  subs[0].url = "http://127.0.0.1:9000/";
  subs[0].events = {"*"};
  subs[1].id = "sub_quotes";
  subs[1].url = "https://example.com/a\"b";
  subs[1].events = {"a.*", "b"};
  subs[1].name = "Quote \" and \\ backslash";
  subs[1].secret = kSecret;
  subs[1].headers = {{"X-Trace", "on"}};
  subs[1].retry_config.strategy = RetryConfig::Strategy::kNone;
  subs[1].timeout_ms = 100;
  subs[2].url = "https://example.com/";
  subs[2].events = {"x"};
  subs[2].retry_config.strategy = RetryConfig::Strategy::kExponential;
  subs[2].retry_config.retry_delay_ms = 0;
  subs[2].retry_config.max_retries = 0;
  subs[2].retry_config.backoff_multiplier = 1.5;
  subs[2].retry_config.max_delay_ms = 0;
  for (const auto& sub : subs) {
    SCOPED_TRACE(sub.url);
    auto parsed = parseSubscription(toJson(sub));
    ASSERT_TRUE(parsed.has_value()) << parsed.error().message;
    expectSame(sub, *parsed);
  }
}

TEST(SubscriptionJson, ListingFormLeavesTheSecretOut) {
  auto s = parseSubscription(kFull);
  ASSERT_TRUE(s.has_value());
  const std::string listed = toJson(*s, /*with_secret=*/false);
  EXPECT_EQ(listed.find("whsec_"), std::string::npos) << listed;
  simdjson::dom::parser parser;
  simdjson::dom::object obj;
  ASSERT_EQ(parser.parse(listed).get(obj), simdjson::SUCCESS);
  EXPECT_EQ(obj["secret"].error(), simdjson::NO_SUCH_FIELD);
  std::string_view url;
  ASSERT_EQ(obj["url"].get_string().get(url), simdjson::SUCCESS);
  EXPECT_EQ(url, s->url);
  // The stored form does carry it.
  EXPECT_NE(toJson(*s).find(kSecret), std::string::npos);
}

// The pointers of a refused subscription's problems.
std::set<std::string> pointers(std::string_view json, SubscriptionSource source) {
  auto s = checkSubscription(json, source);
  EXPECT_FALSE(s.has_value()) << json;
  std::set<std::string> out;
  if (!s)
    for (const auto& p : s.error()) out.insert(p.pointer);
  return out;
}

std::string messageAt(std::string_view json, SubscriptionSource source,
                      const std::string& pointer) {
  auto s = checkSubscription(json, source);
  if (!s)
    for (const auto& p : s.error())
      if (p.pointer == pointer) return p.message;
  return "<none>";
}

const std::string kBase = R"("url":"https://hooks.example.com/x","events":["order.created"])";

TEST(CheckSubscription, FormatIsJsonByDefaultAndAnUnknownOneIsRefusedAtItsPointer) {
  auto plain = checkSubscription("{" + kBase + "}", SubscriptionSource::kCreate);
  ASSERT_TRUE(plain);
  EXPECT_EQ(plain->format, "json");
  EXPECT_EQ(plain->formatter, nullptr);  // the event JSON as it is: nothing to call
  EXPECT_EQ(toJson(*plain).find("\"format\""), std::string::npos);  // the default is not written

  const std::string unknown = "{" + kBase + R"(,"format":"carrier-pigeon"})";
  EXPECT_EQ(pointers(unknown, SubscriptionSource::kCreate), (std::set<std::string>{"/format"}));
  EXPECT_NE(messageAt(unknown, SubscriptionSource::kCreate, "/format").find("json"),
            std::string::npos);
  EXPECT_EQ(pointers("{" + kBase + R"(,"format":7})", SubscriptionSource::kCreate),
            (std::set<std::string>{"/format"}));
  // A stored record from a newer version with a format this build lacks still loads.
  auto stored = checkSubscription(unknown, SubscriptionSource::kStored);
  ASSERT_TRUE(stored);
  EXPECT_EQ(stored->format, "carrier-pigeon");
  EXPECT_EQ(stored->formatter, nullptr);
}

TEST(CheckSubscription, UnknownFieldsAreRefusedEachByItsPointer) {
  const std::string json = "{" + kBase +
                           R"(,"active":false,"retry_config":{"max_retrys":3,"jitter":false},)"
                           R"("rate_limit":{"per_day":5},"a/b~c":1,"colour":null})";
  EXPECT_EQ(pointers(json, SubscriptionSource::kCreate),
            (std::set<std::string>{"/active", "/retry_config/max_retrys", "/rate_limit/per_day",
                                   "/a~1b~0c", "/colour"}));
  EXPECT_EQ(messageAt(json, SubscriptionSource::kCreate, "/active"),
            "unknown field active (did you mean is_active?)");
  EXPECT_EQ(messageAt(json, SubscriptionSource::kCreate, "/retry_config/max_retrys"),
            "unknown field retry_config.max_retrys (did you mean max_retries?)");
  EXPECT_EQ(messageAt(json, SubscriptionSource::kUpdate, "/colour"), "unknown field colour");
  // The same list without parsing the rest (a merge patch's own fields).
  std::set<std::string> unknown;
  for (const auto& p : subscriptionFieldProblems(json)) unknown.insert(p.pointer);
  EXPECT_EQ(unknown, pointers(json, SubscriptionSource::kCreate));
  // A stored record written by a newer version still loads (rate_limit was always strict).
  auto stored = checkSubscription(
      "{" + kBase + R"(,"active":false,"retry_config":{"max_retrys":3},"future":{"x":1}})",
      SubscriptionSource::kStored);
  ASSERT_TRUE(stored.has_value());
  EXPECT_TRUE(stored->is_active);
  // Every field the stored form writes is known: a GET's answer can be sent back.
  auto full = parseSubscription(kFull);
  ASSERT_TRUE(full.has_value());
  full->metadata = {{"team", "payments"}};
  full->rate_limit.per_second = 5;
  full->previous_secret.clear();
  auto again = checkSubscription(toJson(*full), SubscriptionSource::kUpdate);
  EXPECT_TRUE(again.has_value()) << (again ? "" : again.error()[0].message);
}

TEST(CheckSubscription, ANameGivenTwiceInOneObjectIsRefusedAtTheRepeatedOne) {
  // Found by the subscription fuzz target: the options' map took the first chat_id while
  // their JSON, rewritten, kept the last.
  const std::string telegram =
      R"({"url":"https://api.telegram.org/bot1:x/sendMessage","events":["*"],)"
      R"("format":"telegram","format_options":{"chat_id":-100123,"chat_id":-100456}})";
  const std::string json =
      "{" + kBase +
      R"(,"url":"https://other.example.com/y","headers":{"X-A":"1","X-A":"2"},)"
      R"("metadata":{"team":"a","team":"b"},"filters":{"$or":[{"data.x":1,"data.x":2}]}})";
  const auto source = SubscriptionSource::kCreate;
  EXPECT_EQ(pointers(telegram, source), std::set<std::string>{"/format_options/chat_id"});
  EXPECT_EQ(messageAt(telegram, source, "/format_options/chat_id"),
            "'chat_id' is given more than once");
  EXPECT_EQ(pointers(json, source), (std::set<std::string>{"/url", "/headers/X-A", "/metadata/team",
                                                           "/filters/$or/0/data.x"}));
  // A PUT or PATCH body is checked before it is merged (the merge would keep one copy); the
  // merged record (kUpdate) is the API's own rewrite, which holds each name once.
  std::set<std::string> body;
  for (const auto& p : subscriptionFieldProblems(telegram)) body.insert(p.pointer);
  EXPECT_EQ(body, std::set<std::string>{"/format_options/chat_id"});
  // A stored record written before the check still loads, its options as their JSON reads
  // once rewritten (the last copy), so a round trip keeps them.
  auto stored = checkSubscription(telegram, SubscriptionSource::kStored);
  ASSERT_TRUE(stored.has_value());
  ASSERT_TRUE(stored->format_options.contains("chat_id"));
  EXPECT_EQ(stored->format_options.at("chat_id").text, "-100456");
  auto again = parseSubscription(toJson(*stored));
  ASSERT_TRUE(again.has_value());
  EXPECT_EQ(again->format_options, stored->format_options);
}

TEST(CheckSubscription, ClientChosenIdsAreASafeCharsetAndLength) {
  const std::vector<std::string> good = {"sub_1", "orders.v2", "A-b_c.9", "0",
                                         std::string(128, 'x')};
  for (const auto& id : good) {
    SCOPED_TRACE(id);
    EXPECT_EQ(subscriptionIdProblem(id), "");
    auto s =
        checkSubscription(R"({"id":")" + id + "\"," + kBase + "}", SubscriptionSource::kCreate);
    EXPECT_TRUE(s.has_value());
  }
  const std::vector<std::string> bad = {
      "x/../y", "a\\nb",      "a\\r\\nforged=1",    "", ".", "..", "-x", "_x", "a b", "a:b",
      "a%2Fb",  "caf\\u00e9", std::string(129, 'x')};
  for (const auto& id : bad) {
    SCOPED_TRACE(id);
    const std::string json = R"({"id":")" + id + "\"," + kBase + "}";
    if (!id.empty()) {
      EXPECT_EQ(pointers(json, SubscriptionSource::kCreate), std::set<std::string>{"/id"});
    }
    // Stored records keep loading (a tombstone or DELETE removes them).
    EXPECT_TRUE(checkSubscription(json, SubscriptionSource::kStored).has_value());
  }
  EXPECT_NE(subscriptionIdProblem(""), "");
  EXPECT_NE(subscriptionIdProblem("a\nb"), "");
}

TEST(CheckSubscription, PreviousSecretCannotBeSetOnCreate) {
  const std::string json = "{" + kBase +
                           R"(,"previous_secret":"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",)"
                           R"("previous_secret_expires_ms":9999999999999})";
  EXPECT_EQ(pointers(json, SubscriptionSource::kCreate),
            (std::set<std::string>{"/previous_secret", "/previous_secret_expires_ms"}));
  EXPECT_NE(messageAt(json, SubscriptionSource::kCreate, "/previous_secret").find("rotat"),
            std::string::npos);
  EXPECT_TRUE(checkSubscription(json, SubscriptionSource::kStored).has_value());
}

TEST(CheckSubscription, MetadataIsABoundedStringMapReturnedAsGiven) {
  auto s = checkSubscription(
      "{" + kBase + R"(,"metadata":{"team":"payments","note":"caf\u00e9 \"x\"","empty":""}})",
      SubscriptionSource::kCreate);
  ASSERT_TRUE(s.has_value()) << s.error()[0].message;
  const std::map<std::string, std::string> expected = {
      {"team", "payments"}, {"note", "caf\xc3\xa9 \"x\""}, {"empty", ""}};
  EXPECT_EQ(s->metadata, expected);
  auto again = parseSubscription(toJson(*s));
  ASSERT_TRUE(again.has_value());
  EXPECT_EQ(again->metadata, expected);
  auto shown = parseSubscription(apiJson(*s, false));
  ASSERT_TRUE(shown.has_value());
  EXPECT_EQ(shown->metadata, expected);

  std::string many = "{";
  for (std::size_t i = 0; i <= kMaxMetadataKeys; ++i)
    many += (i ? ",\"k" : "\"k") + std::to_string(i) + "\":\"v\"";
  many += "}";
  // 500 two-byte characters fit: the bound counts characters.
  std::string wide;
  for (int i = 0; i < 500; ++i) wide += "\xc3\xa9";
  EXPECT_TRUE(checkSubscription("{" + kBase + R"(,"metadata":{"k":")" + wide + "\"}}",
                                SubscriptionSource::kCreate)
                  .has_value());
  const std::vector<std::pair<std::string, std::string>> bad = {
      {many, "/metadata"},
      {R"({"k":5})", "/metadata/k"},
      {R"({"k":null})", "/metadata/k"},
      {R"({"":"v"})", "/metadata/"},
      {"{\"" + std::string(41, 'k') + "\":\"v\"}", "/metadata/" + std::string(41, 'k')},
      {R"({"a\nb":"v"})", "/metadata/a\nb"},
      {R"({"k":")" + std::string(501, 'v') + "\"}", "/metadata/k"},
      {R"(["k","v"])", "/metadata"},
      {R"("k=v")", "/metadata"},
  };
  for (const auto& [metadata, pointer] : bad) {
    SCOPED_TRACE(metadata.substr(0, 80));
    const std::string json = "{" + kBase + ",\"metadata\":" + metadata + "}";
    EXPECT_EQ(pointers(json, SubscriptionSource::kCreate), std::set<std::string>{pointer});
  }
}

TEST(CheckSubscription, UrlSchemesAreCaseInsensitive) {
  for (const char* url : {"HTTP://hooks.example.com/x", "Https://hooks.example.com/x",
                          "hTtPs://hooks.example.com:8443/x?y=1"}) {
    SCOPED_TRACE(url);
    auto s = checkSubscription(std::string(R"({"url":")") + url + R"(","events":["*"]})",
                               SubscriptionSource::kCreate);
    ASSERT_TRUE(s.has_value()) << s.error()[0].message;
    EXPECT_EQ(s->url, url);  // as given
  }
  for (const char* url : {"ftp://hooks.example.com/x", "HTTPS:/hooks.example.com", "HTTP://",
                          "https://u:p@ss@hooks.example.com/", "https://hooks.example.com/a b",
                          "https://hooks.example.com/\\r\\nX: 1"}) {
    SCOPED_TRACE(url);
    EXPECT_EQ(pointers(std::string(R"({"url":")") + url + R"(","events":["*"]})",
                       SubscriptionSource::kCreate),
              std::set<std::string>{"/url"});
  }
}

TEST(SubscriptionUrl, CredentialsAreRedactedInWhatTheApiShows) {
  // redactedUrl's own cases: url_test.cc.
  auto s = checkSubscription(R"({"url":"https://user:s3cret@hooks.example.com/x","events":["*"],)"
                             R"("secret":"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"})",
                             SubscriptionSource::kCreate);
  ASSERT_TRUE(s.has_value());
  EXPECT_EQ(s->url, "https://user:s3cret@hooks.example.com/x");  // kept for Basic auth
  for (bool with_secret : {false, true}) {
    const std::string shown = apiJson(*s, with_secret);
    EXPECT_EQ(shown.find("s3cret"), std::string::npos) << shown;
    EXPECT_EQ(shown.find("user"), std::string::npos) << shown;
    EXPECT_NE(shown.find(R"("url":"https://***@hooks.example.com/x")"), std::string::npos);
    EXPECT_EQ(shown.find(kSecret) != std::string::npos, with_secret);
  }
  EXPECT_NE(toJson(*s).find("user:s3cret@"), std::string::npos);  // the stored record
}

TEST(SigningKeys, GithubStyleKeysWithTheSecretAsGivenStandardWithItsDecodedBytes) {
  auto github =
      checkSubscription("{" + kBase + R"(,"signature_style":"github","secret":")" + kSecret + "\"}",
                        SubscriptionSource::kCreate);
  ASSERT_TRUE(github.has_value());
  EXPECT_EQ(github->secret_key, kSecret);
  EXPECT_EQ(github->signingKeys(0), std::vector<std::string>{kSecret});
  auto standard = parseSubscription("{" + kBase + R"(,"secret":")" + kSecret + "\"}");
  ASSERT_TRUE(standard.has_value());
  EXPECT_EQ(standard->secret_key, *signing::secretKey(kSecret));
  // Built by hand (no precomputed keys): the same rule.
  Subscription built;
  built.secret = kSecret;
  built.signature_style = "github";
  EXPECT_EQ(built.signingKeys(0), std::vector<std::string>{kSecret});
  built.signature_style = "standard";
  EXPECT_EQ(built.signingKeys(0), std::vector<std::string>{*signing::secretKey(kSecret)});
  // Changing the style or the secret and refreshing follows.
  built.signature_style = "github";
  built.previous_secret = kSecret;
  built.secret = "whsec_dGhlIG9sZCBzZWNyZXQgb2YgdGhpcyBlbmRwb2ludA==";
  built.previous_secret_expires_ms = 10;
  built.refreshSigningKeys();
  EXPECT_EQ(built.secret_key, built.secret);
  EXPECT_EQ(built.previous_secret_key, kSecret);
  // The receiver's side, as GitHub documents it (Python: hmac.new(secret, body, sha256)).
  signing::Signer signer;
  EXPECT_EQ(signer.githubStyle(github->signingKeys(0).front(), "payload"),
            "sha256=f3f295da3b1c44b98db9eed9c89a75b11d6281086fd354bec0e06c5b47f109d1");
}

TEST(MatchesEventType, ExactWildcardAndPrefixPatterns) {
  struct Case {
    std::string pattern;
    std::string type;
    bool matches;
  };
  const std::vector<Case> cases = {
      {"order.created", "order.created", true},
      {"order.created", "order.create", false},
      {"order.created", "order.created.v2", false},
      {"order.created", "Order.Created", false},
      {"*", "order.created", true},
      {"*", "x", true},
      {"order.*", "order.created", true},
      {"order.*", "order.created.v2", true},
      {"order.*", "order", false},
      {"order.*", "orders.x", false},
      {"order.*", "invoice.created", false},
      {"order.*", "xorder.created", false},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.pattern + " vs " + c.type);
    EXPECT_EQ(matchesEventType(c.pattern, c.type), c.matches);
  }
}

TEST(MatchesEventType, SubscriptionMatchesWhenAnyPatternDoes) {
  Subscription s;
  s.events = {"order.created", "invoice.*"};
  EXPECT_TRUE(s.matchesType("order.created"));
  EXPECT_TRUE(s.matchesType("invoice.paid"));
  EXPECT_FALSE(s.matchesType("order.updated"));
  s.events.clear();
  EXPECT_FALSE(s.matchesType("order.created"));
}

}  // namespace
}  // namespace hookpipe
