// Unit tests for common/webhook/request.h: the header set of a webhook attempt (Standard
// Webhooks or GitHub style, both secrets during a rotation, custom headers) and the
// failure messages. No network: only what prepare() builds.
#include "common/webhook/request.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "common/webhook/outcome.h"

namespace hookpipe::webhook {
namespace {

constexpr const char* kSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
constexpr const char* kOldSecret = "whsec_dGhlIG9sZCBzZWNyZXQgb2YgdGhpcyBlbmRwb2ludA==";

Subscription sub(const std::string& extra = "") {
  auto s = parseSubscription(R"({"id":"sub_1","url":"https://hooks.example.com/x","events":["*"],)"
                             R"("secret":")" +
                             std::string(kSecret) + "\"" + extra + "}");
  EXPECT_TRUE(s.has_value()) << s.error().message;
  return *s;
}

std::string header(const Request& r, const std::string& name) {
  for (const auto& l : r.headerLines())
    if (l.starts_with(name + ": ")) return l.substr(name.size() + 2);
  return "<absent>";
}

struct Easy {
  CURL* e = curl_easy_init();
  ~Easy() { curl_easy_cleanup(e); }
};

TEST(WebhookRequest, StandardWebhooksHeaderSet) {
  Easy easy;
  signing::Signer signer;
  Request r;
  const std::string body = R"({"id":"evt_1","type":"order.created"})";
  r.prepare(easy.e, sub(R"(,"headers":{"X-Team":"payments"})"), "msg_abc", body, signer, {},
            1'700'000'000'123);
  EXPECT_EQ(header(r, "Content-Type"), "application/json");
  EXPECT_EQ(header(r, "User-Agent"), "hookpipe/" HOOKPIPE_VERSION);
  EXPECT_EQ(header(r, "X-Team"), "payments");
  EXPECT_EQ(header(r, "webhook-id"), "msg_abc");
  EXPECT_EQ(header(r, "webhook-timestamp"), "1700000000");
  signing::Signer check;
  EXPECT_EQ(header(r, "webhook-signature"),
            check.standardWebhooks({*signing::secretKey(kSecret)}, "msg_abc", 1'700'000'000, body));
  EXPECT_EQ(header(r, "X-Webhook-Signature"), "<absent>");
}

TEST(WebhookRequest, BothSecretsSignDuringARotationGracePeriodOnly) {
  Easy easy;
  signing::Signer signer;
  const std::string rotating = R"(,"previous_secret":")" + std::string(kOldSecret) +
                               R"(","previous_secret_expires_ms":2000000)";
  Request during;
  during.prepare(easy.e, sub(rotating), "msg_1", "{}", signer, {}, 1'000'000);
  const std::string both = header(during, "webhook-signature");
  EXPECT_EQ(std::count(both.begin(), both.end(), ' '), 1) << both;
  EXPECT_EQ(both,
            signer.standardWebhooks({*signing::secretKey(kSecret), *signing::secretKey(kOldSecret)},
                                    "msg_1", 1000, "{}"));
  Request after;
  after.prepare(easy.e, sub(rotating), "msg_1", "{}", signer, {}, 3'000'000);
  const std::string one = header(after, "webhook-signature");
  EXPECT_EQ(std::count(one.begin(), one.end(), ' '), 0) << one;
  EXPECT_EQ(one, signer.standardWebhooks({*signing::secretKey(kSecret)}, "msg_1", 3000, "{}"));
}

TEST(WebhookRequest, GithubStyleReplacesTheStandardHeaders) {
  Easy easy;
  signing::Signer signer;
  Request r;
  r.prepare(easy.e, sub(R"(,"signature_style":"github")"), "msg_1", "payload", signer, {}, 0);
  // Keyed with the secret string as the receiver was shown it, as GitHub's receivers do:
  // hmac.new(b"whsec_MfKQ…", b"payload", sha256).hexdigest() in Python.
  EXPECT_EQ(header(r, "X-Webhook-Signature"),
            "sha256=f3f295da3b1c44b98db9eed9c89a75b11d6281086fd354bec0e06c5b47f109d1");
  EXPECT_EQ(header(r, "webhook-id"), "<absent>");
  EXPECT_EQ(header(r, "webhook-signature"), "<absent>");
}

// Chat platforms ignore signature headers: none go out, whatever the signature style.
TEST(WebhookRequest, ChatFormatsAreSentWithoutSignatureHeaders) {
  Easy easy;
  signing::Signer signer;
  for (const std::string format : {"slack", "teams", "discord", "telegram"}) {
    const std::string options = format == "telegram" ? R"(,"format_options":{"chat_id":-100})" : "";
    for (const std::string style : {"", R"(,"signature_style":"github")"}) {
      Request r;
      r.prepare(easy.e, sub(R"(,"format":")" + format + '"' + options + style), "msg_1", "{}",
                signer, {}, 1'700'000'000'000);
      EXPECT_EQ(header(r, "webhook-id"), "<absent>") << format << style;
      EXPECT_EQ(header(r, "webhook-timestamp"), "<absent>") << format << style;
      EXPECT_EQ(header(r, "webhook-signature"), "<absent>") << format << style;
      EXPECT_EQ(header(r, "X-Webhook-Signature"), "<absent>") << format << style;
      EXPECT_EQ(header(r, "Content-Type"), "application/json") << format;
    }
  }
}

TEST(WebhookRequest, JsonIsSignedAndZapierOnlyWhenAsked) {
  Easy easy;
  signing::Signer signer;
  Request json;
  json.prepare(easy.e, sub(R"(,"format":"json")"), "msg_1", "{}", signer, {}, 1'000'000);
  EXPECT_EQ(header(json, "webhook-id"), "msg_1");
  EXPECT_EQ(header(json, "webhook-signature"),
            signer.standardWebhooks({*signing::secretKey(kSecret)}, "msg_1", 1000, "{}"));
  // Zapier: unsigned unless its options ask, whatever the secret.
  Request zapier;
  zapier.prepare(easy.e, sub(R"(,"format":"zapier")"), "msg_1", "{}", signer, {}, 1'000'000);
  EXPECT_EQ(header(zapier, "webhook-id"), "<absent>");
  EXPECT_EQ(header(zapier, "webhook-signature"), "<absent>");
  Request asked;
  asked.prepare(easy.e, sub(R"(,"format":"zapier","format_options":{"sign":true})"), "msg_1", "{}",
                signer, {}, 1'000'000);
  EXPECT_EQ(header(asked, "webhook-id"), "msg_1");
  EXPECT_EQ(header(asked, "webhook-signature"),
            signer.standardWebhooks({*signing::secretKey(kSecret)}, "msg_1", 1000, "{}"));
  // Without a secret (a record written without one): nothing at all for zapier, while json
  // keeps its id and timestamp as it always has.
  auto unkeyed = [](const std::string& format) {
    auto s = parseSubscription(R"({"id":"sub_2","url":"https://hooks.example.com/x",)"
                               R"("events":["*"],"format":")" +
                               format + "\"}");
    EXPECT_TRUE(s.has_value()) << s.error().message;
    return *s;
  };
  Request bare_zapier;
  bare_zapier.prepare(easy.e, unkeyed("zapier"), "msg_1", "{}", signer, {}, 1'000'000);
  EXPECT_EQ(header(bare_zapier, "webhook-id"), "<absent>");
  EXPECT_EQ(header(bare_zapier, "webhook-timestamp"), "<absent>");
  EXPECT_EQ(header(bare_zapier, "webhook-signature"), "<absent>");
  Request bare_json;
  bare_json.prepare(easy.e, unkeyed("json"), "msg_1", "{}", signer, {}, 1'000'000);
  EXPECT_EQ(header(bare_json, "webhook-id"), "msg_1");
  EXPECT_EQ(header(bare_json, "webhook-signature"), "<absent>");
}

TEST(WebhookRequest, FailureMessages) {
  Request r;
  EXPECT_EQ(r.failureMessage(CURLE_OK, 503), "HTTP 503: ");
  EXPECT_EQ(r.failureMessage(CURLE_COULDNT_CONNECT, 0), curl_easy_strerror(CURLE_COULDNT_CONNECT));
  EXPECT_FALSE(r.refused());
}

TEST(WebhookRequest, HttpsOnlyRefusesAPlainHttpUrlWithoutSendingAndSaysWhy) {
  // curl refuses the scheme before any connection (nothing listens on port 1 anyway).
  Easy easy;
  signing::Signer signer;
  Options options;
  options.https_only = true;
  Subscription plain = sub();
  plain.url = "http://127.0.0.1:1/hook";
  Request r;
  r.prepare(easy.e, plain, "msg_1", "{}", signer, options, 0);
  const CURLcode code = curl_easy_perform(easy.e);
  EXPECT_EQ(code, CURLE_UNSUPPORTED_PROTOCOL);
  const Outcome outcome = classify(0, code, r.refused());
  EXPECT_EQ(outcome.verdict, Verdict::kDeadLetter);
  EXPECT_STREQ(outcome.error_class, "bad_url");
  EXPECT_NE(r.failureMessage(code, 0).find("HOOKPIPE_HTTPS_ONLY"), std::string::npos)
      << r.failureMessage(code, 0);
}

TEST(WebhookRequest, AReusedRequestStartsClean) {
  // The deliverer keeps Requests in a pool: a second prepare() must not keep the first
  // one's headers, response or refusal.
  Easy easy;
  signing::Signer signer;
  Request r;
  r.prepare(easy.e, sub(R"(,"headers":{"X-First":"1"})"), "msg_1", "{}", signer, {}, 0);
  r.prepare(easy.e, sub(), "msg_2", "{}", signer, {}, 0);
  EXPECT_EQ(header(r, "X-First"), "<absent>");
  EXPECT_EQ(header(r, "webhook-id"), "msg_2");
  EXPECT_EQ(r.headerLines().size(), 5u);  // type, agent, id, timestamp, signature
  EXPECT_EQ(r.responseSnippet(), "");
  EXPECT_EQ(r.failureMessage(CURLE_UNSUPPORTED_PROTOCOL, 0),
            curl_easy_strerror(CURLE_UNSUPPORTED_PROTOCOL));
}

TEST(WebhookRequest, OnlyHttpsUrlsWaitForAConnectionThatMayMultiplex) {
  // PIPEWAIT over http:// waits for the first response on the host:port, which a hanging
  // endpoint never sends (issue 13): only https, where HTTP/2 comes with the handshake.
  EXPECT_TRUE(mayMultiplex("https://example.com/hook"));
  EXPECT_TRUE(mayMultiplex("HTTPS://example.com/hook"));
  EXPECT_FALSE(mayMultiplex("http://example.com/hook"));
  EXPECT_FALSE(mayMultiplex("https:/"));
  EXPECT_FALSE(mayMultiplex(""));
}

}  // namespace
}  // namespace hookpipe::webhook
