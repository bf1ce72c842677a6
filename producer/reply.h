#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "common/error.h"
#include "producer/http.h"

namespace hookpipe::producer {

using ExtraHeaders = std::vector<std::pair<std::string, std::string>>;

// Answers a request with JSON, now or later from another thread (the producer's callback
// thread, the dead-letter or test-send threads). Copyable: the copies share the one
// Responder; exactly one of them answers.
class Reply {
 public:
  Reply(const Request& req, Responder responder);
  void json(http::status status, std::string body, const ExtraHeaders& headers = {}) const;
  // Any other body, with its content type (/metrics).
  void text(http::status status, std::string content_type, std::string body) const;
  // {"error": message}; a 503 carries Retry-After.
  void error(http::status status, const std::string& message,
             const ExtraHeaders& headers = {}) const;
  // 400 {"error": "a; b", "errors": [{"pointer": "/a", "message": "a"}, …]}.
  void invalid(const std::vector<Problem>& problems) const;
  // invalid() with a validation error's problems.
  // An error without problems (a plain fail()) answers its message as one problem.
  void badRequest(const Error& error) const {
    if (error.problems.empty()) return invalid({Problem{"", error.message}});
    invalid(error.problems);
  }
  // The broker did not take the write: 503 with Retry-After.
  void unavailable(const std::string& message) const {
    error(http::status::service_unavailable, message);
  }
  void noContent() const;
  // Streams the answer instead (Responder::stream(), in the request's HTTP version).
  std::shared_ptr<ResponseStream> stream(ResponseHead head) const;

 private:
  unsigned version_;
  bool keep_alive_;
  Responder responder_;
};

Response jsonResponse(const Request& req, http::status status, std::string body);
Response errorResponse(const Request& req, http::status status, const std::string& message);

}  // namespace hookpipe::producer
