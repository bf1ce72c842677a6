// The load generator's receiver on loopback (port 0), driven with curl.
#include "common/loadtest/receiver.h"

#include <curl/curl.h>
#include <gtest/gtest.h>

#include <memory>

#include "common/loadtest/event.h"

namespace hookpipe::loadtest {
namespace {

using namespace std::chrono_literals;

long post(const std::string& url, const std::string& body, const std::string& webhook_id) {
  std::unique_ptr<CURL, decltype(&curl_easy_cleanup)> easy(curl_easy_init(), &curl_easy_cleanup);
  std::unique_ptr<curl_slist, decltype(&curl_slist_free_all)> headers(
      curl_slist_append(nullptr, ("webhook-id: " + webhook_id).c_str()), &curl_slist_free_all);
  curl_easy_setopt(easy.get(), CURLOPT_URL, url.c_str());
  curl_easy_setopt(easy.get(), CURLOPT_POSTFIELDS, body.c_str());
  curl_easy_setopt(easy.get(), CURLOPT_HTTPHEADER, headers.get());
  curl_easy_setopt(easy.get(), CURLOPT_TIMEOUT_MS, 5000L);
  if (curl_easy_perform(easy.get()) != CURLE_OK) return 0;
  long status = 0;
  curl_easy_getinfo(easy.get(), CURLINFO_RESPONSE_CODE, &status);
  return status;
}

TEST(LoadtestAnswerPolicy, FailsAboutTheAskedShareWithinTheLatencyRange) {
  AnswerPolicy policy(5ms, 50ms, 0.25, 503, 42);
  int failed = 0;
  for (int i = 0; i < 10000; ++i) {
    const auto a = policy.next();
    ASSERT_GE(a.delay, 5ms);
    ASSERT_LE(a.delay, 50ms);
    if (a.status == 503)
      ++failed;
    else
      ASSERT_EQ(a.status, 200);
  }
  EXPECT_NEAR(failed, 2500, 200);
}

TEST(LoadtestAnswerPolicy, NoFailuresAndNoDelayByDefault) {
  AnswerPolicy policy(0us, 0us, 0, 503, 1);
  for (int i = 0; i < 100; ++i) {
    const auto a = policy.next();
    EXPECT_EQ(a.delay, 0us);
    EXPECT_EQ(a.status, 200);
  }
}

TEST(LoadtestReceiver, CountsThisRunsDeliveriesOnceAndMeasuresTheirLatency) {
  Tally tally, warmup;
  LoadReceiver receiver("127.0.0.1", 0, "rX", AnswerPolicy(0us, 0us, 0, 503, 1), tally, warmup);
  ASSERT_GT(receiver.port(), 0);
  const std::string url = receiver.url("/loadtest/0");
  const int64_t sent = wallMicros() - 20'000;  // published 20 ms ago
  EXPECT_EQ(post(url, eventJson({"rX", "t", 0, false}, 1, sent), "msg_1"), 200);
  EXPECT_EQ(post(url, eventJson({"rX", "t", 0, false}, 1, sent), "msg_1"), 200);  // again
  EXPECT_EQ(post(url, eventJson({"other", "t", 0, false}, 1, sent), "msg_2"), 200);
  EXPECT_EQ(post(url, eventJson({"rX", "t", 0, false}, kWarmupSeq, sent), "msg_3"), 200);
  const auto s = tally.snapshot();
  EXPECT_EQ(s.attempts, 2u);
  EXPECT_EQ(s.received, 1u);
  EXPECT_EQ(s.duplicates, 1u);
  EXPECT_EQ(s.foreign, 1u);
  EXPECT_GE(*s.min_latency_us, 20'000);
  EXPECT_LT(*s.min_latency_us, 5'000'000);
  EXPECT_EQ(warmup.received(), 1u);  // one path
}

TEST(LoadtestReceiver, AnswersTheFailingStatusAndDoesNotCountItReceived) {
  Tally tally, warmup;
  LoadReceiver receiver("127.0.0.1", 0, "rY", AnswerPolicy(0us, 0us, 1.0, 429, 1), tally, warmup);
  EXPECT_EQ(post(receiver.url("/"), eventJson({"rY", "t", 0, false}, 1, wallMicros()), "m"), 429);
  const auto s = tally.snapshot();
  EXPECT_EQ(s.attempts, 1u);
  EXPECT_EQ(s.received, 0u);
  // Warm-up events always succeed, whatever the policy.
  EXPECT_EQ(post(receiver.url("/"), eventJson({"rY", "t", 0, false}, kWarmupSeq, 1), "w"), 200);
}

TEST(LoadtestReceiver, WaitsTheChosenLatencyBeforeAnswering) {
  Tally tally, warmup;
  LoadReceiver receiver("127.0.0.1", 0, "rZ", AnswerPolicy(100ms, 100ms, 0, 503, 1), tally, warmup);
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(post(receiver.url("/"), eventJson({"rZ", "t", 0, false}, 1, wallMicros()), "m"), 200);
  EXPECT_GE(std::chrono::steady_clock::now() - start, 100ms);
}

TEST(LoadtestReceiver, ThrowsWhenThePortIsTaken) {
  Tally tally, warmup;
  LoadReceiver first("127.0.0.1", 0, "r", AnswerPolicy(0us, 0us, 0, 503, 1), tally, warmup);
  EXPECT_THROW(LoadReceiver("127.0.0.1", first.port(), "r", AnswerPolicy(0us, 0us, 0, 503, 1),
                            tally, warmup),
               std::exception);
}

}  // namespace
}  // namespace hookpipe::loadtest
