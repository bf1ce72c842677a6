#include "producer/auth.h"

#include <gtest/gtest.h>

namespace hookpipe::producer {
namespace {

using V = TokenAuth::Verdict;

TEST(TokenAuth, OffWhenNoTokenIsConfigured) {
  TokenAuth auth({});
  EXPECT_FALSE(auth.enabled());
  EXPECT_EQ(auth.check(""), V::kAllowed);
  EXPECT_EQ(auth.check("Bearer anything"), V::kAllowed);
}

TEST(TokenAuth, AcceptsEveryConfiguredTokenWithAnyCaseOfScheme) {
  TokenAuth auth({"alpha", "beta-123"});
  EXPECT_TRUE(auth.enabled());
  EXPECT_EQ(auth.check("Bearer alpha"), V::kAllowed);
  EXPECT_EQ(auth.check("bearer beta-123"), V::kAllowed);
  EXPECT_EQ(auth.check("BEARER alpha"), V::kAllowed);
}

TEST(TokenAuth, MissingHeaderIsMissing) { EXPECT_EQ(TokenAuth({"a"}).check(""), V::kMissing); }

TEST(TokenAuth, MalformedHeadersAreMalformed) {
  TokenAuth auth({"alpha"});
  EXPECT_EQ(auth.check("alpha"), V::kMalformed);
  EXPECT_EQ(auth.check("Basic YWxwaGE="), V::kMalformed);
  EXPECT_EQ(auth.check("Bearer "), V::kMalformed);
  EXPECT_EQ(auth.check("Bearer  alpha"), V::kMalformed);
  EXPECT_EQ(auth.check("Bearer al pha"), V::kMalformed);
}

TEST(TokenAuth, UnknownTokensAreRefusedIncludingPrefixesAndExtensions) {
  TokenAuth auth({"alpha"});
  EXPECT_EQ(auth.check("Bearer alph"), V::kUnknown);
  EXPECT_EQ(auth.check("Bearer alphaa"), V::kUnknown);
  EXPECT_EQ(auth.check("Bearer ALPHA"), V::kUnknown);
}

}  // namespace
}  // namespace hookpipe::producer
