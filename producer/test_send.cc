#include "producer/test_send.h"

#include <simdjson.h>

#include <algorithm>
#include <boost/json.hpp>
#include <cmath>

#include "common/json/body.h"
#include "common/json/event.h"
#include "common/kafka/kafka.h"
#include "common/webhook/platform_rules.h"
#include "producer/event_type.h"

namespace hookpipe::producer {
namespace {

struct EasyDeleter {
  void operator()(CURL* e) const { curl_easy_cleanup(e); }
};

std::string jsonString(std::string_view s) {
  return boost::json::serialize(boost::json::string(s));
}

}  // namespace

std::vector<Problem> parseTestSendInput(std::string_view body, TestSendInput& out) {
  out = {};
  if (body.find_first_not_of(" \t\r\n") == std::string_view::npos) return {};
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  if (auto err = parser.parse(body.data(), body.size()).get(root))
    return {{"", std::string("body is not valid JSON: ") + simdjson::error_message(err)}};
  simdjson::dom::object obj;
  if (root.get_object().get(obj))
    return {{"", "body must be a JSON object: {\"payload\": {…}, \"event_type\": \"…\"}"}};
  // The payload too: it is sent as an event, and events refuse a name given twice.
  std::vector<Problem> problems = json::repeatedNames(obj);
  for (auto [key, value] : obj) {
    const std::string field(key);
    if (field == "payload") {
      if (value.is_null()) continue;
      if (!value.is_object())
        problems.push_back({"/payload", "payload must be a JSON object (the body to send)"});
      else
        out.payload_json = simdjson::minify(value);
    } else if (field == "event_type") {
      if (value.is_null()) continue;
      std::string_view v;
      if (value.get_string().get(v)) {
        problems.push_back({"/event_type", "event_type must be a string"});
      } else if (auto p = eventTypeNameProblem(v); !v.empty() && !p.empty()) {
        // The name rules' messages start with "name".
        problems.push_back({"/event_type", std::string("event_type").append(p, p.find(' '))});
      } else {
        out.event_type = std::string(v);
      }
    } else {
      problems.push_back({std::string("/").append(pointerToken(field)),
                          "unknown field " + field + " (use payload, event_type)"});
    }
  }
  return problems;
}

std::string sampleEventType(const Subscription& sub, std::string_view requested) {
  if (!requested.empty()) return std::string(requested);
  for (const auto& t : sub.events)
    if (t != "*" && !t.ends_with(".*")) return t;
  return "hookpipe.test";
}

std::string sampleEvent(std::string_view event_id, std::string_view type, int64_t now_ms,
                        std::string_view data_json) {
  static constexpr std::string_view kBuiltInData =
      R"({"message":"This is a test event sent by hookpipe.","test":true})";
  return "{\"id\":" + jsonString(event_id) + ",\"type\":" + jsonString(type) +
         ",\"timestamp\":" + jsonString(json::formatTimestamp(now_ms)) +
         ",\"data\":" + std::string(data_json.empty() ? kBuiltInData : data_json) + "}";
}

const char* verdictName(webhook::Verdict v) {
  switch (v) {
    case webhook::Verdict::kDelivered:
      return "delivered";
    case webhook::Verdict::kRetry:
      return "retry";
    case webhook::Verdict::kDeadLetter:
      return "dead_letter";
  }
  return "retry";
}

std::string testSendJson(const TestSendResult& r) {
  boost::json::object o;
  o["subscription_id"] = r.subscription_id;
  o["delivery_id"] = r.delivery_id;
  o["status"] = r.status;
  o["outcome"] = verdictName(r.outcome.verdict);
  if (r.outcome.error_class[0] != '\0')
    o["error_class"] = r.outcome.error_class;
  else
    o["error_class"] = nullptr;
  if (!r.error.empty())
    o["error"] = r.error;
  else
    o["error"] = nullptr;
  o["duration_ms"] = static_cast<int64_t>(std::llround(static_cast<double>(r.duration_us) / 1000));
  o["response_body"] = r.response_body;
  o["retry_after_ms"] =
      r.retry_after ? boost::json::value(r.retry_after->count()) : boost::json::value(nullptr);
  boost::json::array headers;
  for (const auto& h : r.request_headers) headers.emplace_back(h);
  o["request_headers"] = std::move(headers);
  o["request_body"] = r.request_body;
  return boost::json::serialize(o);
}

TestSender::TestSender(webhook::Options options) : options_(options) {
  curl_global_init(CURL_GLOBAL_DEFAULT);  // before any worker creates an easy handle
  for (std::size_t i = 0; i < kMaxInFlight; ++i) workers_.emplace_back([this] { work(); });
}

TestSender::~TestSender() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  for (auto& t : workers_) t.join();
  curl_global_cleanup();
}

bool TestSender::submit(std::shared_ptr<const Subscription> sub, std::string delivery_id,
                        std::string body, std::function<void(TestSendResult)> done) {
  {
    std::lock_guard lock(mu_);
    if (in_flight_ >= kMaxInFlight || stop_) return false;
    ++in_flight_;
    jobs_.push_back({std::move(sub), std::move(delivery_id), std::move(body), std::move(done)});
  }
  cv_.notify_one();
  return true;
}

void TestSender::work() {
  std::unique_ptr<CURL, EasyDeleter> easy(curl_easy_init());
  signing::Signer signer;
  for (;;) {
    Job job;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [this] { return stop_ || !jobs_.empty(); });
      if (stop_) return;
      job = std::move(jobs_.front());
      jobs_.pop_front();
    }
    TestSendResult result = send(easy.get(), signer, job);
    {
      std::lock_guard lock(mu_);
      --in_flight_;
    }
    if (!stop_) job.done(std::move(result));
  }
}

int TestSender::onProgress(void* self, curl_off_t, curl_off_t, curl_off_t, curl_off_t) noexcept {
  return static_cast<TestSender*>(self)->stop_ ? 1 : 0;  // non-zero aborts the transfer
}

TestSendResult TestSender::send(CURL* easy, signing::Signer& signer, const Job& job) {
  TestSendResult r;
  r.subscription_id = job.sub->id;
  r.delivery_id = job.delivery_id;
  r.request_body = job.body;
  curl_easy_reset(easy);
  webhook::Request http;
  http.prepare(easy, *job.sub, job.delivery_id, job.body, signer, options_, kafka::nowMs());
  // The deliverer's request, with two differences that do not change what is sent: the
  // total time is capped so the API answers within its own time limit, and shutdown
  // aborts the transfer.
  const int64_t total_ms =
      job.sub->timeout_ms > 0 ? job.sub->timeout_ms : options_.request_timeout.count();
  curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS,
                   static_cast<long>(std::min<int64_t>(total_ms, kMaxTimeout.count())));
  curl_easy_setopt(easy, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(easy, CURLOPT_XFERINFOFUNCTION, &TestSender::onProgress);
  curl_easy_setopt(easy, CURLOPT_XFERINFODATA, this);

  const auto started = std::chrono::steady_clock::now();
  const CURLcode code = curl_easy_perform(easy);
  r.duration_us = std::chrono::duration_cast<std::chrono::microseconds>(
                      std::chrono::steady_clock::now() - started)
                      .count();
  curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &r.status);
  if (webhook::classify(r.status, code, http.refused()).verdict != webhook::Verdict::kDelivered)
    r.error = http.failureMessage(code, r.status);
  r.response_body = http.responseSnippet();
  r.request_headers = http.headerLines();
  // As the deliverer judges it: the generic rules plus the platform's own
  // (common/webhook/platform_rules.h), so a Slack invalid_token is slack_invalid_token.
  const webhook::Judgement judged = webhook::judge(webhook::platformOf(job.sub->format),
                                                   {.status = r.status,
                                                    .transport = code,
                                                    .refused = http.refused(),
                                                    .body_head = r.response_body,
                                                    .retry_after = http.retryAfter()},
                                                   kafka::nowMs() / 1000);
  r.outcome = judged.outcome;
  r.retry_after = judged.retry_after;
  curl_easy_reset(easy);  // drops the pointers into `http` and `job`; keeps the connections
  return r;
}

}  // namespace hookpipe::producer
