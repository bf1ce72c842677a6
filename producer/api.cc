#include "producer/api.h"

#include <boost/json.hpp>

#include "common/json/event.h"
#include "common/log/log.h"
#include "common/signing/signer.h"

namespace hookpipe::producer {
namespace {

std::shared_ptr<spdlog::logger> log() {
  static auto l = logger("producer");
  return l;
}

bool isJson(const Request& req) {
  auto ct = req[http::field::content_type];
  return ct.empty() || ct.starts_with("application/json") || ct.starts_with("application/x-ndjson");
}

// Answers a request later, possibly from the producer's callback thread.
class Reply {
 public:
  Reply(const Request& req, Respond respond)
      : version_(req.version()),
        keep_alive_(req.keep_alive()),
        respond_(std::make_shared<Respond>(std::move(respond))) {}
  void json(http::status status, std::string body, bool retry_later = false) const {
    Response res{status, version_};
    res.set(http::field::content_type, "application/json");
    if (retry_later) res.set(http::field::retry_after, "5");
    res.keep_alive(keep_alive_);
    res.body() = std::move(body);
    res.prepare_payload();
    (*respond_)(std::move(res));
  }
  void error(http::status status, const std::string& message) const {
    boost::json::object o;
    o["error"] = message;
    json(status, boost::json::serialize(o), status == http::status::service_unavailable);
  }
  // The broker did not take the write: 503 with Retry-After.
  void unavailable(const std::string& message) const {
    error(http::status::service_unavailable, message);
  }
  void noContent() const {
    Response res{http::status::no_content, version_};
    res.keep_alive(keep_alive_);
    (*respond_)(std::move(res));
  }

 private:
  unsigned version_;
  bool keep_alive_;
  std::shared_ptr<Respond> respond_;
};

}  // namespace

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

void Api::handle(const Request& req, Respond respond) {
  const std::string target(req.target());
  const std::string path = target.substr(0, target.find('?'));
  const auto method = req.method();
  if (path == "/healthz") return respond(jsonResponse(req, http::status::ok, R"({"status":"ok"})"));
  if (path == "/v1/events") {
    if (method != http::verb::post)
      return respond(errorResponse(req, http::status::method_not_allowed, "use POST"));
    return publishEvent(req, std::move(respond));
  }
  if (path == "/v1/subscriptions") {
    if (method == http::verb::post) return createSubscription(req, std::move(respond));
    if (method == http::verb::get) {
      boost::json::array items;
      for (const auto& [id, sub] : *table_.snapshot())
        items.push_back(boost::json::parse(toJson(*sub, false)));
      boost::json::object o;
      o["data"] = std::move(items);
      return respond(jsonResponse(req, http::status::ok, boost::json::serialize(o)));
    }
    return respond(errorResponse(req, http::status::method_not_allowed, "use GET or POST"));
  }
  static constexpr std::string_view kSubPrefix = "/v1/subscriptions/";
  if (path.starts_with(kSubPrefix) && path.size() > kSubPrefix.size() &&
      path.find('/', kSubPrefix.size()) == std::string::npos) {
    const std::string id = path.substr(kSubPrefix.size());
    if (method == http::verb::get) {
      auto sub = table_.find(id);
      if (!sub)
        return respond(errorResponse(req, http::status::not_found, "no subscription " + id));
      return respond(jsonResponse(req, http::status::ok, toJson(*sub, false)));
    }
    if (method == http::verb::delete_) return deleteSubscription(id, req, std::move(respond));
    return respond(errorResponse(req, http::status::method_not_allowed, "use GET or DELETE"));
  }
  respond(errorResponse(req, http::status::not_found, "no route " + path));
}

void Api::publishEvent(const Request& req, Respond respond) {
  if (!isJson(req))
    return respond(
        errorResponse(req, http::status::unsupported_media_type, "send application/json"));
  if (req.body().size() > config_.max_event_bytes)
    return respond(errorResponse(
        req, http::status::payload_too_large,
        "event is over the limit of " + std::to_string(config_.max_event_bytes) + " bytes"));
  thread_local json::EventParser parser(config_.max_event_bytes);
  auto event = parser.parse(req.body(), kafka::nowMs());
  if (!event) return respond(errorResponse(req, http::status::bad_request, event.error().message));
  Reply reply(req, std::move(respond));
  const std::string id = event->id;
  auto done = [reply, id](std::optional<Error> err) {
    if (err) return reply.unavailable("event not stored: " + err->message);
    boost::json::object o;
    o["id"] = id;
    reply.json(http::status::accepted, boost::json::serialize(o));
  };
  auto r = producer_.produce(config_.topics.events(), event->id, event->body, {}, done);
  if (!r) done(r.error());
}

void Api::createSubscription(const Request& req, Respond respond) {
  if (!isJson(req))
    return respond(
        errorResponse(req, http::status::unsupported_media_type, "send application/json"));
  auto sub = parseSubscription(req.body());
  if (!sub) return respond(errorResponse(req, http::status::bad_request, sub.error().message));
  if (sub->id.empty()) sub->id = "sub_" + json::newEventId().substr(4);
  if (sub->secret.empty()) sub->secret = signing::generateSecret();
  sub->created_at = sub->updated_at = json::formatTimestamp(kafka::nowMs());
  Reply reply(req, std::move(respond));
  auto stored = std::make_shared<Subscription>(std::move(*sub));
  auto done = [this, reply, stored](std::optional<Error> err) {
    if (err) return reply.unavailable("subscription not stored: " + err->message);
    table_.upsert(*stored);  // read-your-writes on this instance
    log()->info("subscription created id={}", stored->id);
    reply.json(http::status::created, toJson(*stored, true));
  };
  const std::string body = toJson(*stored, true);
  auto r = producer_.produce(config_.topics.subscriptions(), stored->id, body, {}, done);
  if (!r) done(r.error());
}

void Api::deleteSubscription(const std::string& id, const Request& req, Respond respond) {
  if (!table_.find(id))
    return respond(errorResponse(req, http::status::not_found, "no subscription " + id));
  Reply reply(req, std::move(respond));
  auto done = [this, reply, id](std::optional<Error> err) {
    if (err) return reply.unavailable("subscription not deleted: " + err->message);
    table_.erase(id);
    reply.noContent();
  };
  // A null value is the tombstone that compaction keeps until everyone has seen it.
  auto r = producer_.produce(config_.topics.subscriptions(), id, std::string_view(), {}, done);
  if (!r) done(r.error());
}

}  // namespace hookpipe::producer
