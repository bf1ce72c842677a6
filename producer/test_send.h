#pragma once

#include <curl/curl.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "common/subscriptions/subscription.h"
#include "common/webhook/outcome.h"
#include "common/webhook/request.h"
#include "producer/http_util.h"

// POST /v1/subscriptions/{id}/test (docs/api.md): one request to the subscription's
// endpoint, built and classified by the same code as the deliverer's
// (webhook::Request::prepare, webhook::classify), sent now and answered with what
// happened. Nothing goes to Kafka, and no delivery state (stats, breaker, delivered
// ids) is touched.
namespace hookpipe::producer {

// The request's body: {"payload": {...}, "event_type": "..."}, both optional.
struct TestSendInput {
  std::optional<std::string> payload_json;  // minified; sent as is when given
  std::string event_type;                   // "" when not given
};
// Every problem with the body, with JSON pointers (none: `out` is filled in). An empty
// body is an empty request.
std::vector<Problem> parseTestSendInput(std::string_view body, TestSendInput& out);

// The event type of a sample event: `requested` when given, else the subscription's
// first exact (non-pattern) event type, else "hookpipe.test".
std::string sampleEventType(const Subscription& sub, std::string_view requested);

// A full event around `data_json` (the catalog's example); a small built-in `data` when
// it is empty: {"id":…,"type":…,"timestamp":…,"data":…}.
std::string sampleEvent(std::string_view event_id, std::string_view type, int64_t now_ms,
                        std::string_view data_json);

// What one test send did.
struct TestSendResult {
  std::string subscription_id;
  std::string delivery_id;
  long status = 0;  // 0: no HTTP response
  webhook::Outcome outcome{webhook::Verdict::kDelivered, ""};
  std::string error;  // failureMessage() when not delivered, else ""
  // How long the receiver asked to wait (Retry-After, or a platform's retry_after in the
  // body), when it said.
  std::optional<std::chrono::milliseconds> retry_after;
  int64_t duration_us = 0;
  std::string response_body;  // the first webhook::kResponseSnippetBytes
  std::vector<std::string> request_headers;
  std::string request_body;
};
// The answer's JSON (docs/api.md).
std::string testSendJson(const TestSendResult& r);
// "delivered", "retry" or "dead_letter": what the deliverer would do with this outcome.
const char* verdictName(webhook::Verdict v);

// Runs test sends with blocking curl_easy_perform on a few threads of its own, so the
// HTTP threads never wait for a receiver.
//
// Threads: kMaxInFlight workers, each with its own easy handle and signer; a send is
// refused (the caller answers 429) when that many are running or waiting, so nothing
// queues behind a slow receiver for long. A send's total time is capped at kMaxTimeout
// (below the HTTP server's 60 s per-request limit). Destruction aborts running
// transfers (a progress callback) and joins the workers; `done` is then not called for
// them.
class TestSender {
 public:
  static constexpr std::size_t kMaxInFlight = 4;
  static constexpr std::chrono::milliseconds kMaxTimeout{30'000};

  explicit TestSender(webhook::Options options);
  ~TestSender();
  TestSender(const TestSender&) = delete;
  TestSender& operator=(const TestSender&) = delete;

  // Queues one send of `body` with `delivery_id`; `done` runs on a worker thread with
  // the result. False when kMaxInFlight sends are running or waiting.
  bool submit(std::shared_ptr<const Subscription> sub, std::string delivery_id, std::string body,
              std::function<void(TestSendResult)> done);

 private:
  struct Job {
    std::shared_ptr<const Subscription> sub;
    std::string delivery_id;
    std::string body;
    std::function<void(TestSendResult)> done;
  };
  void work();
  TestSendResult send(CURL* easy, signing::Signer& signer, const Job& job);
  static int onProgress(void* self, curl_off_t, curl_off_t, curl_off_t, curl_off_t) noexcept;

  webhook::Options options_;
  std::atomic<bool> stop_{false};
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Job> jobs_;       // guarded by mu_
  std::size_t in_flight_ = 0;  // guarded by mu_: waiting + running
  std::vector<std::thread> workers_;
};

}  // namespace hookpipe::producer
