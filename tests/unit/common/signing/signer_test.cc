// Unit tests for common/signing/signer.h: Standard Webhooks and GitHub-style signatures,
// base64 and webhook secrets.
#include "common/signing/signer.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace hookpipe::signing {
namespace {

// The example published in the Standard Webhooks specification.
constexpr const char* kSpecSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
constexpr const char* kSpecMsgId = "msg_p5jXN8AQM9LWM0D4loKWxJek";
constexpr int64_t kSpecTimestamp = 1614265330;
constexpr const char* kSpecBody = R"({"test": 2432232314})";
constexpr const char* kSpecSignature = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";

std::string specKey() {
  auto key = secretKey(kSpecSecret);
  EXPECT_TRUE(key.has_value());
  return key.value_or("");
}

TEST(StandardWebhooksSignature, ReproducesTheSpecExample) {
  Signer signer;
  EXPECT_EQ(signer.standardWebhooks({specKey()}, kSpecMsgId, kSpecTimestamp, kSpecBody),
            kSpecSignature);
}

TEST(StandardWebhooksSignature, SecretWithoutPrefixIsTheSameKey) {
  auto with_prefix = secretKey(kSpecSecret);
  auto without_prefix = secretKey("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
  ASSERT_TRUE(with_prefix.has_value());
  ASSERT_TRUE(without_prefix.has_value());
  EXPECT_EQ(*with_prefix, *without_prefix);
  EXPECT_EQ(with_prefix->size(), 24u);
}

TEST(StandardWebhooksSignature, TwoKeysGiveTwoSpaceSeparatedSignaturesInKeyOrder) {
  // Second signature computed independently:
  //   printf '%s' 'msg_p5jXN8AQM9LWM0D4loKWxJek.1614265330.{"test": 2432232314}' |
  //     openssl dgst -sha256 -mac HMAC -macopt hexkey:$(printf second-key | xxd -p) -binary |
  //     base64
  const std::string second = "v1,4Wzb6tcIfznzcEHPT7GcEE5B7qzv9qwZv0ckDDA6dJo=";
  Signer signer;
  EXPECT_EQ(
      signer.standardWebhooks({specKey(), "second-key"}, kSpecMsgId, kSpecTimestamp, kSpecBody),
      std::string(kSpecSignature) + " " + second);
  EXPECT_EQ(
      signer.standardWebhooks({"second-key", specKey()}, kSpecMsgId, kSpecTimestamp, kSpecBody),
      second + " " + kSpecSignature);
}

TEST(StandardWebhooksSignature, NoKeysGiveAnEmptyHeader) {
  Signer signer;
  EXPECT_EQ(signer.standardWebhooks({}, kSpecMsgId, kSpecTimestamp, kSpecBody), "");
}

TEST(StandardWebhooksSignature, EveryInputChangesTheSignature) {
  Signer signer;
  const std::string key = specKey();
  struct Case {
    const char* what;
    std::string key;
    std::string id;
    int64_t timestamp;
    std::string body;
  };
  const std::vector<Case> cases = {
      {"key", "other-key", kSpecMsgId, kSpecTimestamp, kSpecBody},
      {"id", key, "msg_other", kSpecTimestamp, kSpecBody},
      {"timestamp", key, kSpecMsgId, kSpecTimestamp + 1, kSpecBody},
      {"body", key, kSpecMsgId, kSpecTimestamp, R"({"test": 2432232315})"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.what);
    const std::string sig = signer.standardWebhooks({c.key}, c.id, c.timestamp, c.body);
    EXPECT_TRUE(sig.starts_with("v1,"));
    EXPECT_NE(sig, kSpecSignature);
  }
}

TEST(StandardWebhooksSignature, ReusedSignerMatchesAFreshOne) {
  // The MAC context is reused between calls; earlier calls must not leak into later ones.
  Signer reused;
  reused.githubStyle("some other key", "some other body");
  reused.standardWebhooks({"k1", "k2"}, "msg_x", 1, "{}");
  EXPECT_EQ(reused.standardWebhooks({specKey()}, kSpecMsgId, kSpecTimestamp, kSpecBody),
            kSpecSignature);
}

TEST(StandardWebhooksSignature, KeyedContextsStayApartAcrossManyKeys) {
  // One context is kept per key: alternating keys, and more keys than are kept, must still
  // give each key its own signature (checked against a fresh signer each time).
  Signer shared;
  const std::size_t keys = Signer::kMaxKeys + 3;
  for (int round = 0; round < 2; ++round) {
    for (std::size_t i = 0; i < keys; i += round == 0 ? 1 : 97) {
      const std::string key = "key-" + std::to_string(i);
      const std::string body = "{\"n\":" + std::to_string(i) + "}";
      Signer fresh;
      ASSERT_EQ(shared.standardWebhooks({key, specKey()}, "msg_1", 7, body),
                fresh.standardWebhooks({key, specKey()}, "msg_1", 7, body))
          << "key " << i << " round " << round;
    }
  }
  EXPECT_EQ(shared.standardWebhooks({specKey()}, kSpecMsgId, kSpecTimestamp, kSpecBody),
            kSpecSignature);
  EXPECT_EQ(shared.githubStyle("It's a Secret to Everybody", "Hello, World!"),
            "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17");
}

TEST(GithubStyleSignature, MatchesOpensslHmacSha256) {
  // Expected values computed independently with:
  //   printf '%s' "$BODY" | openssl dgst -sha256 -hmac "$KEY"
  // (the first is also the example in GitHub's webhook documentation).
  struct Case {
    std::string key;
    std::string body;
    std::string expected;
  };
  const std::vector<Case> cases = {
      {"It's a Secret to Everybody", "Hello, World!",
       "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"},
      {"It's a Secret to Everybody", R"({"action":"opened","number":1})",
       "sha256=1a763b1f352d220a314db46b42b1cbc50b0032b00015fd3d038d42c3666b7217"},
      {"It's a Secret to Everybody", "",
       "sha256=66a0c074deaa0f489ead6537e0d32f9a344b90bbeda705b6ed45ecd3b413fb40"},
  };
  Signer signer;
  for (const auto& c : cases) {
    SCOPED_TRACE(c.body);
    EXPECT_EQ(signer.githubStyle(c.key, c.body), c.expected);
  }
}

TEST(Base64, EncodesRfc4648TestVectorsAndDecodesThemBack) {
  struct Case {
    std::string raw;
    std::string encoded;
  };
  const std::vector<Case> cases = {
      {"", ""},
      {"f", "Zg=="},
      {"fo", "Zm8="},
      {"foo", "Zm9v"},
      {"foob", "Zm9vYg=="},
      {"fooba", "Zm9vYmE="},
      {"foobar", "Zm9vYmFy"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.raw);
    EXPECT_EQ(base64Encode(c.raw), c.encoded);
    auto decoded = base64Decode(c.encoded);
    ASSERT_TRUE(decoded.has_value()) << decoded.error().message;
    EXPECT_EQ(*decoded, c.raw);
  }
}

TEST(Base64, RoundTripsBinaryIncludingTrailingZeroBytes) {
  std::string all_bytes;
  for (int i = 0; i < 256; ++i) all_bytes += static_cast<char>(i);
  const std::vector<std::string> cases = {
      std::string(1, '\0'),
      std::string(2, '\0'),
      std::string(3, '\0'),
      std::string("a\0", 2),
      std::string("ab\0", 3),
      std::string("\0\0\0\0", 4),
      all_bytes,
      all_bytes.substr(1),
      all_bytes.substr(2),
  };
  for (const auto& raw : cases) {
    SCOPED_TRACE(raw.size());
    const std::string encoded = base64Encode(raw);
    EXPECT_EQ(encoded.size() % 4, 0u);
    auto decoded = base64Decode(encoded);
    ASSERT_TRUE(decoded.has_value()) << decoded.error().message;
    EXPECT_EQ(*decoded, raw);
  }
}

TEST(Base64, DecodeRejectsTextThatIsNotBase64) {
  for (const std::string text : {"Zg=", "Zm9", "Zm 9", "Zm9v!A==", "@@@@", "Zm9vZg"}) {
    SCOPED_TRACE(text);
    EXPECT_FALSE(base64Decode(text).has_value());
  }
}

TEST(Base64, DecodeRejectsPaddingOutsideTheEnd) {
  // '=' may only end the text, at most twice; OpenSSL's EVP_DecodeBlock alone takes it
  // as a zero sextet anywhere.
  for (const std::string text : {"====", "A===", "=AAA", "Zg=a", "Zg==Zg=="}) {
    SCOPED_TRACE(text);
    EXPECT_FALSE(base64Decode(text).has_value());
  }
}

TEST(SecretKey, RejectsGarbage) {
  for (const std::string secret :
       {"", "whsec_", "whsec_!!!!", "whsec_abc", "not a secret",
        "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaS", "whsec MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}) {
    SCOPED_TRACE(secret);
    auto key = secretKey(secret);
    ASSERT_FALSE(key.has_value());
    EXPECT_FALSE(key.error().retryable);
  }
}

TEST(SecretKey, RejectsSecretsThatAreOnlyPadding) {
  for (const std::string secret : {"whsec_====", "whsec_A==="}) {
    SCOPED_TRACE(secret);
    EXPECT_FALSE(secretKey(secret).has_value());
  }
}

TEST(GenerateSecret, HasThePrefixAndDecodesToTwentyFourRandomBytes) {
  const std::string a = generateSecret();
  const std::string b = generateSecret();
  for (const auto& secret : {a, b}) {
    EXPECT_TRUE(secret.starts_with("whsec_")) << secret;
    auto key = secretKey(secret);
    ASSERT_TRUE(key.has_value()) << secret;
    EXPECT_EQ(key->size(), 24u);
  }
  EXPECT_NE(a, b);
}

TEST(GenerateSecret, HonoursTheRequestedSize) {
  for (std::size_t bytes : {16u, 32u, 64u}) {
    SCOPED_TRACE(bytes);
    auto key = secretKey(generateSecret(bytes));
    ASSERT_TRUE(key.has_value());
    EXPECT_EQ(key->size(), bytes);
  }
}

}  // namespace
}  // namespace hookpipe::signing
