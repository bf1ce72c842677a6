#include "producer/reply.h"

#include <boost/json.hpp>

namespace hookpipe::producer {

Reply::Reply(const Request& req, Responder responder)
    : version_(req.version()), keep_alive_(req.keep_alive()), responder_(std::move(responder)) {}

void Reply::json(http::status status, std::string body, const ExtraHeaders& headers) const {
  Response res{status, version_};
  res.set(http::field::content_type, "application/json");
  if (status == http::status::service_unavailable) res.set(http::field::retry_after, "5");
  for (const auto& [k, v] : headers) res.set(k, v);
  res.keep_alive(keep_alive_);
  res.body() = std::move(body);
  res.prepare_payload();
  responder_.respond(std::move(res));
}

void Reply::text(http::status status, std::string content_type, std::string body) const {
  Response res{status, version_};
  res.set(http::field::content_type, content_type);
  res.keep_alive(keep_alive_);
  res.body() = std::move(body);
  res.prepare_payload();
  responder_.respond(std::move(res));
}

std::shared_ptr<ResponseStream> Reply::stream(ResponseHead head) const {
  head.version(version_);
  return responder_.stream(std::move(head));
}

void Reply::error(http::status status, const std::string& message,
                  const ExtraHeaders& headers) const {
  boost::json::object o;
  o["error"] = message;
  json(status, boost::json::serialize(o), headers);
}

void Reply::invalid(const std::vector<Problem>& problems) const {
  boost::json::object o;
  std::string joined;
  boost::json::array errors;
  for (const auto& p : problems) {
    joined += (joined.empty() ? "" : "; ") + p.message;
    boost::json::object e;
    e["pointer"] = p.pointer;
    e["message"] = p.message;
    errors.push_back(std::move(e));
  }
  o["error"] = joined;
  o["errors"] = std::move(errors);
  json(http::status::bad_request, boost::json::serialize(o));
}

void Reply::noContent() const {
  Response res{http::status::no_content, version_};
  res.keep_alive(keep_alive_);
  responder_.respond(std::move(res));
}

Response jsonResponse(const Request& req, http::status status, std::string body) {
  Response res{status, req.version()};
  res.set(http::field::content_type, "application/json");
  res.keep_alive(req.keep_alive());
  res.body() = std::move(body);
  res.prepare_payload();
  return res;
}

Response errorResponse(const Request& req, http::status status, const std::string& message) {
  boost::json::object o;
  o["error"] = message;
  return jsonResponse(req, status, boost::json::serialize(o));
}

}  // namespace hookpipe::producer
