// Unit tests for common/webhook/outcome.h: classifying an attempt and parsing Retry-After.
#include "common/webhook/outcome.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace hookpipe::webhook {
namespace {

using std::chrono::milliseconds;

const char* name(Verdict v) {
  switch (v) {
    case Verdict::kDelivered:
      return "delivered";
    case Verdict::kRetry:
      return "retry";
    case Verdict::kDeadLetter:
      return "dead-letter";
  }
  return "?";
}

struct Expected {
  Verdict verdict;
  std::string error_class;
  bool disable = false;
};

// The documented classification of every status with a clean transport, as a table.
Expected expectedForStatus(long status) {
  if (status == 408 || status == 425 || status == 429)
    return {Verdict::kRetry, "http_4xx_retryable"};
  if (status == 410) return {Verdict::kDeadLetter, "http_410_gone", true};
  if (status >= 200 && status <= 299) return {Verdict::kDelivered, ""};
  if (status >= 300 && status <= 399) return {Verdict::kDeadLetter, "http_redirect"};
  if (status >= 400 && status <= 499) return {Verdict::kDeadLetter, "http_4xx"};
  if (status >= 500 && status <= 599) return {Verdict::kRetry, "http_5xx"};
  ADD_FAILURE() << "no expectation for " << status;
  return {Verdict::kRetry, ""};
}

TEST(ClassifyOutcome, EveryStatusFrom200To599FollowsTheTable) {
  for (long status = 200; status <= 599; ++status) {
    SCOPED_TRACE(status);
    const Expected want = expectedForStatus(status);
    const Outcome got = classify(status, CURLE_OK);
    EXPECT_STREQ(name(got.verdict), name(want.verdict));
    ASSERT_NE(got.error_class, nullptr);
    EXPECT_EQ(got.error_class, want.error_class);
    EXPECT_EQ(got.disable_subscription, want.disable);
  }
}

TEST(ClassifyOutcome, InformationalStatusesAreDeadLettered) {
  // outcome.h: "other statuses (4xx, and 1xx/3xx since redirects are not followed)
  // dead-lettered". A final 1xx (e.g. 101 Switching Protocols) never becomes a 2xx.
  std::vector<long> not_dead_lettered;
  std::string first_outcome;
  for (long status = 100; status <= 199; ++status) {
    const Outcome got = classify(status, CURLE_OK);
    if (got.verdict != Verdict::kDeadLetter) {
      if (not_dead_lettered.empty())
        first_outcome = std::string(name(got.verdict)) + "/" + got.error_class;
      not_dead_lettered.push_back(status);
    }
    EXPECT_FALSE(got.disable_subscription) << status;
  }
  EXPECT_TRUE(not_dead_lettered.empty())
      << not_dead_lettered.size() << " of 100 informational statuses not dead-lettered, e.g. "
      << not_dead_lettered.front() << " -> " << first_outcome;
}

TEST(ClassifyOutcome, OnlyGoneDisablesTheSubscription) {
  for (long status = 100; status <= 599; ++status) {
    SCOPED_TRACE(status);
    EXPECT_EQ(classify(status, CURLE_OK).disable_subscription, status == 410);
  }
}

TEST(ClassifyOutcome, TransportErrorsWithoutResponse) {
  struct Case {
    CURLcode code;
    Verdict verdict;
    std::string error_class;
  };
  const std::vector<Case> cases = {
      {CURLE_OPERATION_TIMEDOUT, Verdict::kRetry, "timeout"},
      {CURLE_COULDNT_CONNECT, Verdict::kRetry, "connection"},
      {CURLE_SEND_ERROR, Verdict::kRetry, "connection"},
      {CURLE_RECV_ERROR, Verdict::kRetry, "connection"},
      {CURLE_GOT_NOTHING, Verdict::kRetry, "connection"},
      {CURLE_WRITE_ERROR, Verdict::kRetry, "connection"},
      {CURLE_COULDNT_RESOLVE_HOST, Verdict::kRetry, "dns"},
      {CURLE_COULDNT_RESOLVE_PROXY, Verdict::kRetry, "dns"},
      {CURLE_SSL_CONNECT_ERROR, Verdict::kRetry, "tls"},
      {CURLE_PEER_FAILED_VERIFICATION, Verdict::kRetry, "tls"},
      {CURLE_SSL_CERTPROBLEM, Verdict::kRetry, "tls"},
      {CURLE_SSL_CIPHER, Verdict::kRetry, "tls"},
      {CURLE_SSL_CACERT_BADFILE, Verdict::kRetry, "tls"},
      {CURLE_URL_MALFORMAT, Verdict::kDeadLetter, "bad_url"},
      {CURLE_UNSUPPORTED_PROTOCOL, Verdict::kDeadLetter, "bad_url"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(curl_easy_strerror(c.code));
    const Outcome got = classify(0, c.code);
    EXPECT_STREQ(name(got.verdict), name(c.verdict));
    EXPECT_EQ(got.error_class, c.error_class);
    EXPECT_FALSE(got.disable_subscription);
  }
}

TEST(ClassifyOutcome, A2xxStatusLineIsADeliveryWhateverBecameOfTheBody) {
  // The receiver answered 2xx, then the body timed out or the connection broke: it took
  // the delivery, and sending it again would be a duplicate (issue 13).
  for (CURLcode code : {CURLE_OPERATION_TIMEDOUT, CURLE_RECV_ERROR, CURLE_PARTIAL_FILE,
                        CURLE_SEND_ERROR, CURLE_WRITE_ERROR})
    for (long status : {200L, 202L, 204L, 299L}) {
      const Outcome got = classify(status, code);
      EXPECT_STREQ(name(got.verdict), name(Verdict::kDelivered)) << status << " " << code;
      EXPECT_STREQ(got.error_class, "");
    }
}

TEST(ClassifyOutcome, TransportErrorWinsOverAPartialNon2xxResponse) {
  // A timeout after a 4xx or 5xx status line is a timeout: retried, not dead-lettered.
  EXPECT_STREQ(name(classify(503, CURLE_OPERATION_TIMEDOUT).verdict), name(Verdict::kRetry));
  EXPECT_EQ(std::string(classify(404, CURLE_OPERATION_TIMEDOUT).error_class), "timeout");
  EXPECT_EQ(std::string(classify(500, CURLE_RECV_ERROR).error_class), "connection");
}

TEST(ClassifyOutcome, WriteErrorAfterTheStatusLineIsClassifiedByStatus) {
  // A write callback that refuses the body after the status line: the status decides.
  EXPECT_STREQ(name(classify(200, CURLE_WRITE_ERROR).verdict), name(Verdict::kDelivered));
  EXPECT_STREQ(name(classify(503, CURLE_WRITE_ERROR).verdict), name(Verdict::kRetry));
  EXPECT_STREQ(name(classify(404, CURLE_WRITE_ERROR).verdict), name(Verdict::kDeadLetter));
}

TEST(ClassifyOutcome, AnAddressRefusedOutrightIsDeadLettered) {
  // Every address of the host refused: curl could not connect at all.
  const Outcome got = classify(0, CURLE_COULDNT_CONNECT, /*refused=*/true);
  EXPECT_STREQ(name(got.verdict), name(Verdict::kDeadLetter));
  EXPECT_EQ(std::string(got.error_class), "refused_address");
  EXPECT_FALSE(got.disable_subscription);
}

TEST(ClassifyOutcome, WhenAnotherAddressWasLetThroughWhatHappenedThereDecides) {
  // A host with a private and a public address: the guard refused the first and curl
  // reached the second. A 2xx from there was delivered — dead-lettering it would have a
  // replay send it twice.
  EXPECT_STREQ(name(classify(200, CURLE_OK, true).verdict), name(Verdict::kDelivered));
  EXPECT_EQ(std::string(classify(503, CURLE_OK, true).error_class), "http_5xx");
  EXPECT_EQ(std::string(classify(0, CURLE_OPERATION_TIMEDOUT, true).error_class), "timeout");
  EXPECT_EQ(std::string(classify(404, CURLE_OK, true).error_class),
            std::string(classify(404, CURLE_OK, false).error_class));
}

// Wed, 21 Oct 2015 07:28:00 GMT (date -u -d "2015-10-21 07:28:00" +%s).
constexpr int64_t kOct21 = 1445412480;

TEST(ParseRetryAfter, AcceptsDelaySeconds) {
  struct Case {
    std::string value;
    milliseconds expected;
  };
  const std::vector<Case> cases = {
      {"0", milliseconds(0)},
      {"1", milliseconds(1000)},
      {"120", milliseconds(120'000)},
      {"86400", milliseconds(86'400'000)},
      {" 30", milliseconds(30'000)},
      {"30 ", milliseconds(30'000)},
      {"\t30\r\n", milliseconds(30'000)},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.value);
    auto got = parseRetryAfter(c.value, kOct21);
    ASSERT_TRUE(got.has_value());
    EXPECT_EQ(*got, c.expected);
  }
}

TEST(ParseRetryAfter, AcceptsHttpDateRelativeToNow) {
  struct Case {
    std::string value;
    int64_t now_s;
    milliseconds expected;
  };
  const std::vector<Case> cases = {
      {"Wed, 21 Oct 2015 07:28:00 GMT", kOct21 - 120, milliseconds(120'000)},
      {"Wed, 21 Oct 2015 07:28:00 GMT", kOct21 - 1, milliseconds(1000)},
      {"  Wed, 21 Oct 2015 07:28:00 GMT\r\n", kOct21 - 60, milliseconds(60'000)},
      // RFC 9110's example date: 784111777 (date -u -d "1994-11-06 08:49:37" +%s).
      {"Sun, 06 Nov 1994 08:49:37 GMT", 784111777 - 3600, milliseconds(3'600'000)},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.value);
    auto got = parseRetryAfter(c.value, c.now_s);
    ASSERT_TRUE(got.has_value());
    EXPECT_EQ(*got, c.expected);
  }
}

TEST(ParseRetryAfter, DateInThePastOrNowMeansNoWait) {
  for (int64_t now : {kOct21, kOct21 + 1, kOct21 + 86'400 * 365}) {
    SCOPED_TRACE(now);
    auto got = parseRetryAfter("Wed, 21 Oct 2015 07:28:00 GMT", now);
    ASSERT_TRUE(got.has_value());
    EXPECT_EQ(*got, milliseconds(0));
  }
}

TEST(ParseRetryAfter, GarbageIsIgnored) {
  for (const std::string value :
       {"", "   ", "\r\n", "soon", "12abc", "1.5", "+5", "-5", "0x10", "Wed, 21 Oct 2015 07:28:00",
        "Wed, 21 Oct 2015 07:28:00 GMT extra", "21 Oct 2015 07:28:00 GMT",
        "Wed, 32 Oct 2015 07:28:00 GMT", "99999999999999999999999"}) {
    SCOPED_TRACE(value);
    EXPECT_FALSE(parseRetryAfter(value, kOct21).has_value());
  }
}

TEST(ParseRetryAfter, HugeDelaySecondsNeverBecomeANegativeWait) {
  // Fits int64 as seconds but not as milliseconds: must not wrap around.
  for (const std::string value : {"9223372036854775807", "10000000000000000"}) {
    SCOPED_TRACE(value);
    auto got = parseRetryAfter(value, kOct21);
    if (got) {
      EXPECT_GE(got->count(), 0);
    }
  }
}

}  // namespace
}  // namespace hookpipe::webhook
