#pragma once

#include <chrono>
#include <string>

#include "common/error.h"

namespace hookpipe::loadtest {

// The few calls to the producer's API the load generator makes besides publishing: create
// and delete the subscriptions that point at its receiver. Blocking (curl easy), 10 s each.
class ApiClient {
 public:
  ApiClient(std::string api, std::string token);
  // POST /v1/subscriptions with the receiver's URL, the event type, and a fixed retry policy
  // (so failures the receiver was told to give are retried within a drain); the new id.
  Result<std::string> createSubscription(const std::string& url, const std::string& event_type,
                                         const std::string& description,
                                         std::chrono::milliseconds retry_delay, int max_retries,
                                         int max_concurrency);
  Result<void> deleteSubscription(const std::string& id);
  // POST /v1/events with one event (the warm-up); an error unless 202.
  Result<void> publishEvent(const std::string& json);

 private:
  struct Answer {
    long status = 0;
    std::string body;
  };
  Result<Answer> call(const std::string& method, const std::string& path, const std::string& body);
  std::string api_;
  std::string token_;
};

// The JSON the subscription is created with (pure, for the tests).
std::string subscriptionJson(const std::string& url, const std::string& event_type,
                             const std::string& description, std::chrono::milliseconds retry_delay,
                             int max_retries, int max_concurrency);

}  // namespace hookpipe::loadtest
