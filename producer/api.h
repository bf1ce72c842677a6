#pragma once

#include <boost/beast/http.hpp>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "common/config/config.h"
#include "common/kafka/kafka.h"
#include "common/subscriptions/table.h"
#include "producer/auth.h"
#include "producer/dead_letters.h"
#include "producer/event_type.h"
#include "producer/http_util.h"
#include "producer/idempotency.h"
#include "producer/test_send.h"

namespace hookpipe::producer {

namespace http = boost::beast::http;
using Request = http::request<http::string_body>;
using Response = http::response<http::string_body>;
// Called exactly once, from any thread.
using Respond = std::function<void(Response)>;
using ExtraHeaders = std::vector<std::pair<std::string, std::string>>;

// Answers a request, now or later from the producer's callback thread. Copyable: the
// copies share the one Respond.
class Reply {
 public:
  Reply(const Request& req, Respond respond);
  void json(http::status status, std::string body, const ExtraHeaders& headers = {}) const;
  // {"error": message}; a 503 carries Retry-After.
  void error(http::status status, const std::string& message,
             const ExtraHeaders& headers = {}) const;
  // 400 {"error": "a; b", "errors": [{"pointer": "/a", "message": "a"}, …]}.
  void invalid(const std::vector<Problem>& problems) const;
  // The broker did not take the write: 503 with Retry-After.
  void unavailable(const std::string& message) const {
    error(http::status::service_unavailable, message);
  }
  void noContent() const;

 private:
  unsigned version_;
  bool keep_alive_;
  std::shared_ptr<Respond> respond_;
};

// The HTTP API's routes (docs/api.md, producer/openapi.json). Shares the producer, the
// subscription table and the event-type catalog with the process; handle() runs on the
// HTTP threads and may answer at once or later, from the producer's callback thread,
// once the broker has acknowledged what the request wrote, or from the dead-letter
// service's threads.
class Api {
 public:
  Api(const Config& config, kafka::Producer& producer, SubscriptionTable& table,
      EventTypeTable& event_types);
  void handle(const Request& req, Respond respond);

 private:
  void route(const Request& req, const std::vector<std::string>& path, Reply reply);
  void publishEvent(const Request& req, Reply reply);
  void publishBatch(const Request& req, Reply reply);
  void createSubscription(const Request& req, Reply reply);
  void listSubscriptions(const Request& req, Reply reply);
  void updateSubscription(const std::string& id, const Request& req, bool merge, Reply reply);
  void setActive(const std::string& id, bool active, Reply reply);
  void rotateSecret(const std::string& id, const Request& req, Reply reply);
  void deleteSubscription(const std::string& id, Reply reply);
  // POST /v1/subscriptions/{id}/test: one send now, off the HTTP threads (TestSender).
  void testSubscription(const std::string& id, const Request& req, Reply reply);
  void routeEventTypes(const Request& req, const std::vector<std::string>& path, Reply reply);
  void createEventType(const Request& req, Reply reply);
  void listEventTypes(const Request& req, Reply reply);
  void updateEventType(const std::string& name, const Request& req, bool merge, Reply reply);
  void deleteEventType(const std::string& name, Reply reply);
  void routeDeadLetters(const Request& req, const std::vector<std::string>& path, Reply reply);
  void listDeadLetters(const Request& req, Reply reply);
  void replayDeadLetters(const Request& req, Reply reply);
  // Writes `record` under `key` to a compacted topic (nullopt: a tombstone), pinned in
  // `table` meanwhile so that the topic reader does not apply an older record over the
  // local write (read-your-writes); `done` runs on acknowledgement or failure, and
  // should update the table on success.
  template <class T>
  void storeRecord(RecordTable<T>& table, const std::string& topic, const std::string& key,
                   std::optional<std::string> record,
                   std::function<void(std::optional<Error>)> done);
  // Writes `sub` to the subscriptions topic; on acknowledgement updates the local
  // table (read-your-writes on this instance) and answers `status` with `answer(sub)`.
  void storeSubscription(std::shared_ptr<Subscription> sub, http::status status,
                         std::function<std::string(const Subscription&)> answer, const char* what,
                         Reply reply);
  // The Idempotency-Key header: nullopt when absent, an error when malformed.
  Result<std::optional<std::string>> idempotencyKey(const Request& req) const;

  Config config_;
  kafka::Producer& producer_;
  SubscriptionTable& table_;
  EventTypeTable& event_types_;
  TokenAuth auth_;
  std::shared_ptr<IdempotencyStore> idempotency_;
  std::unique_ptr<DeadLetterService> dead_letters_;
  std::unique_ptr<TestSender> test_sender_;
  // Client-chosen ids whose create is in flight: a second create of one is a 409 too.
  std::mutex creating_mu_;
  std::set<std::string> creating_;  // guarded by creating_mu_
};

// The OpenAPI 3.1 document served at /v1/openapi.json (producer/openapi.json).
std::string_view openapiDocument();

Response jsonResponse(const Request& req, http::status status, std::string body);
Response errorResponse(const Request& req, http::status status, const std::string& message);

}  // namespace hookpipe::producer
