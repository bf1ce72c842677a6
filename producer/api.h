#pragma once

#include <boost/beast/http.hpp>
#include <functional>
#include <memory>

#include "common/config/config.h"
#include "common/kafka/kafka.h"
#include "common/subscriptions/table.h"

namespace hookpipe::producer {

namespace http = boost::beast::http;
using Request = http::request<http::string_body>;
using Response = http::response<http::string_body>;
// Called exactly once, from any thread.
using Respond = std::function<void(Response)>;

// The HTTP API's routes. Stateless apart from the shared producer and table;
// handle() may answer at once or later, from the producer's callback thread, once the
// broker has acknowledged what the request wrote.
class Api {
 public:
  Api(const Config& config, kafka::Producer& producer, SubscriptionTable& table)
      : config_(config), producer_(producer), table_(table) {}
  void handle(const Request& req, Respond respond);

 private:
  void publishEvent(const Request& req, Respond respond);
  void createSubscription(const Request& req, Respond respond);
  void deleteSubscription(const std::string& id, const Request& req, Respond respond);

  Config config_;
  kafka::Producer& producer_;
  SubscriptionTable& table_;
};

Response jsonResponse(const Request& req, http::status status, std::string body);
Response errorResponse(const Request& req, http::status status, const std::string& message);

}  // namespace hookpipe::producer
