// The fixture of the producer API's integration tests (api_test.cc: auth, events, batches,
// idempotency, the broker or Redis down; subscriptions_api_test.cc: subscription
// management): a real `hookpipe producer` process with API tokens, on the real broker and
// Redis.
#pragma once

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <cstdio>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "support/harness.h"

namespace hookpipe::testing {

using namespace std::chrono_literals;

inline constexpr const char* kToken = "test-token-1";

struct Answer {
  long status = 0;
  std::string body;
  std::map<std::string, std::string> headers;  // lower-case names
  boost::json::value json() const {
    boost::system::error_code ec;
    auto v = boost::json::parse(body, ec);
    return ec ? boost::json::value() : v;
  }
};

// An HTTP request with the bearer token (or the given headers).
inline Answer call(const std::string& method, const std::string& url, const std::string& body = "",
                   std::vector<std::string> headers = {std::string("Authorization: Bearer ") +
                                                       kToken},
                   const std::string& content_type = "application/json") {
  auto r = httpRequest(method, url, body, content_type, headers);
  return Answer{r.status, std::move(r.body), std::move(r.headers)};
}

class ApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    pipeline_ =
        std::make_unique<Pipeline>(::testing::UnitTest::GetInstance()->current_test_info()->name());
  }
  void TearDown() override {
    if (HasFailure()) std::cerr << pipeline_->logs();
    producers_.clear();
  }

  // Starts a producer with API tokens on its own port; returns its base URL.
  std::string startProducer(std::map<std::string, std::string> extra = {}) {
    auto env = pipeline_->env();
    const unsigned short port = freePort();
    env["HOOKPIPE_HTTP_PORT"] = std::to_string(port);
    env["HOOKPIPE_API_TOKENS"] = std::string(kToken) + ",second-token";
    for (auto& [k, v] : extra) env[k] = v;
    const std::string log = ::testing::TempDir() + "/" +
                            ::testing::UnitTest::GetInstance()->current_test_info()->name() +
                            "-producer-" + std::to_string(producers_.size()) + ".log";
    std::remove(log.c_str());  // appended to: a run before this one must not show in it
    producers_.push_back(std::make_unique<RoleProcess>("producer", env, log));
    const std::string base = "http://127.0.0.1:" + std::to_string(port);
    EXPECT_TRUE(
        eventually([&] { return call("GET", base + "/healthz", "", {}).status == 200; }, 60s))
        << "producer did not start; log " << log;
    return base;
  }

  std::string createSubscription(const std::string& base, const std::string& json) {
    auto a = call("POST", base + "/v1/subscriptions", json);
    EXPECT_EQ(a.status, 201) << a.body;
    return jsonField(a.body, "id");
  }

  size_t eventsWithKey(const std::string& key) {
    size_t n = 0;
    for (const auto& m : readTopic(pipeline_->config(), pipeline_->config().topics.events()))
      n += m.key == key ? 1 : 0;
    return n;
  }

  std::unique_ptr<Pipeline> pipeline_;
  std::vector<std::unique_ptr<RoleProcess>> producers_;
};

}  // namespace hookpipe::testing
