// /v1/subscriptions: listing and reading from the table; every write through
// subscriptions::Writer (validated, produced, answered on the broker's ack); test sends
// on the TestSender's threads.
#include <boost/json.hpp>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "common/format/formatter.h"
#include "common/json/event.h"
#include "producer/routes/helpers.h"
#include "producer/routes/routes.h"

namespace hookpipe::producer::routes {
namespace {

constexpr int64_t kDefaultGraceMs = 24LL * 3600 * 1000;
constexpr int64_t kMaxGraceMs = 30LL * 24 * 3600 * 1000;

void refused(const Reply& reply, const subscriptions::Refused& r) {
  switch (r.reason) {
    case subscriptions::Refusal::kInvalid:
      return reply.badRequest(r.error);
    case subscriptions::Refusal::kNotFound:
      return reply.error(http::status::not_found, r.error.message);
    case subscriptions::Refusal::kConflict:
      return reply.error(http::status::conflict, r.error.message);
  }
}

// The answer once the Writer's record is acknowledged: `status` with `answer(stored)`,
// or a 503 when the broker did not take it.
subscriptions::Writer::Done stored(Reply reply, http::status status, const char* what,
                                   std::function<std::string(const Subscription&)> answer) {
  return [reply = std::move(reply), status, what,
          answer = std::move(answer)](const Result<std::shared_ptr<const Subscription>>& r) {
    if (!r) return reply.unavailable(std::string("subscription not stored: ") + r.error().message);
    log()->info("subscription {} id={}", what, logSafe((*r)->id));
    reply.json(status, answer(**r));
  };
}

std::string shown(const Subscription& sub) { return apiJson(sub, false); }

void createSubscription(ApiServices& s, const Request& req, Reply reply) {
  if (!isJson(req))
    return reply.error(http::status::unsupported_media_type, "send application/json");
  auto started = s.subscription_writer.create(
      req.body(), stored(reply, http::status::created, "created",
                         [](const Subscription& sub) { return apiJson(sub, true); }));
  if (!started) refused(reply, started.error());
}

void listSubscriptions(ApiServices& s, const Request& req, Reply reply) {
  auto query = parseQuery(req.target());
  if (!query) return reply.invalid({{"", "the query string has a broken %-escape"}});
  std::vector<Problem> problems;
  std::string event_type;
  std::optional<bool> active;
  std::size_t limit = kDefaultListLimit;
  std::size_t offset = 0;
  for (const auto& [k, v] : *query) {
    if (k == "event_type") {
      event_type = v;
    } else if (k == "status") {
      if (v == "active")
        active = true;
      else if (v == "paused")
        active = false;
      else
        problems.push_back({"status", "status must be active or paused"});
    } else if (pagingParameter(k, v, kMaxListLimit, limit, offset, problems)) {
    } else {
      problems.push_back({k, "unknown parameter " + k});
    }
  }
  if (!problems.empty()) return reply.invalid(problems);
  boost::json::array items;
  std::size_t total = 0;
  // Held for the loop (see routes/event_types.cc: a range-init temporary dies first).
  const auto snapshot = s.subscription_table.snapshot();
  for (const auto& [id, sub] : *snapshot) {  // ordered by id: stable pages
    if (!event_type.empty() && !sub->matchesType(event_type)) continue;
    if (active && sub->is_active != *active) continue;
    if (total++ < offset || items.size() >= limit) continue;
    items.push_back(boost::json::parse(apiJson(*sub, false)));
  }
  boost::json::object o;
  o["data"] = std::move(items);
  o["total"] = total;
  o["limit"] = limit;
  o["offset"] = offset;
  reply.json(http::status::ok, boost::json::serialize(o));
}

void getSubscription(ApiServices& s, const std::string& id, Reply reply) {
  auto sub = s.subscription_table.find(id);
  if (!sub) return reply.error(http::status::not_found, "no subscription " + id);
  reply.json(http::status::ok, apiJson(*sub, false));
}

void updateSubscription(ApiServices& s, const std::string& id, const Request& req, bool merge,
                        Reply reply) {
  if (!isJson(req))
    return reply.error(
        http::status::unsupported_media_type,
        merge ? "send application/json or application/merge-patch+json" : "send application/json");
  auto started = s.subscription_writer.update(id, req.body(), merge,
                                              stored(reply, http::status::ok, "updated", shown));
  if (!started) refused(reply, started.error());
}

void deleteSubscription(ApiServices& s, const std::string& id, Reply reply) {
  auto started = s.subscription_writer.remove(id, [reply, id](std::optional<Error> err) {
    if (err) return reply.unavailable("subscription not deleted: " + err->message);
    log()->info("subscription deleted id={}", logSafe(id));
    reply.noContent();
  });
  if (!started) refused(reply, started.error());
}

void setActive(ApiServices& s, const std::string& id, bool active, Reply reply) {
  auto started = s.subscription_writer.setActive(
      id, active, stored(reply, http::status::ok, active ? "resumed" : "paused", shown));
  if (!started) refused(reply, started.error());
}

void getSecret(ApiServices& s, const std::string& id, Reply reply) {
  auto sub = s.subscription_table.find(id);
  if (!sub) return reply.error(http::status::not_found, "no subscription " + id);
  boost::json::object o;
  o["id"] = sub->id;
  o["secret"] = sub->secret;
  if (!sub->previous_secret.empty() && sub->previous_secret_expires_ms > kafka::nowMs())
    o["previous_secret_expires_ms"] = sub->previous_secret_expires_ms;
  reply.json(http::status::ok, boost::json::serialize(o));
}

void rotateSecret(ApiServices& s, const std::string& id, const Request& req, Reply reply) {
  auto query = parseQuery(req.target());
  int64_t grace_ms = kDefaultGraceMs;
  if (query) {
    for (const auto& [k, v] : *query) {
      auto n = parseInt(v);
      if (k != "grace_ms") return reply.invalid({{k, "unknown parameter " + k}});
      if (!n || *n < 0 || *n > kMaxGraceMs)
        return reply.invalid(
            {{"grace_ms", "grace_ms must be milliseconds 0.." + std::to_string(kMaxGraceMs)}});
      grace_ms = *n;
    }
  } else {
    return reply.invalid({{"", "the query string has a broken %-escape"}});
  }
  auto started = s.subscription_writer.rotateSecret(
      id, grace_ms, stored(reply, http::status::ok, "secret rotated", [](const Subscription& sub) {
        boost::json::object o;
        o["id"] = sub.id;
        o["secret"] = sub.secret;
        if (!sub.previous_secret.empty())
          o["previous_secret_expires_ms"] = sub.previous_secret_expires_ms;
        return boost::json::serialize(o);
      }));
  if (!started) refused(reply, started.error());
}

}  // namespace

void testSubscription(ApiServices& s, const std::string& id, const Request& req, Reply reply) {
  if (!isJson(req))
    return reply.error(http::status::unsupported_media_type, "send application/json");
  if (req.body().size() > s.config.max_event_bytes)
    return reply.error(
        http::status::payload_too_large,
        "test payload is over the limit of " + std::to_string(s.config.max_event_bytes) + " bytes");
  auto sub = s.subscription_table.find(id);
  if (!sub) return reply.error(http::status::not_found, "no subscription " + id);
  TestSendInput input;
  if (auto problems = parseTestSendInput(req.body(), input); !problems.empty())
    return reply.invalid(problems);
  // The given payload as is; else the catalog's example (or a built-in one) as an event.
  std::string body;
  if (input.payload_json) {
    body = std::move(*input.payload_json);
  } else {
    const std::string type = sampleEventType(*sub, input.event_type);
    auto entry = s.event_types.find(type);
    std::string event_id = "evt_test_" + json::newEventId().substr(4);
    body = sampleEvent(event_id, type, kafka::nowMs(),
                       entry ? std::string_view(entry->example_json) : std::string_view());
    // In the subscription's format, as its deliveries are (a Slack webhook takes Block Kit).
    if (sub->formatter)
      body = sub->formatter->format(json::Event{std::move(event_id), type, std::move(body)}, *sub);
  }
  const bool queued = s.test_sender->submit(
      sub, "msg_test_" + json::newEventId().substr(4), std::move(body), [reply](TestSendResult r) {
        log()->info("subscription test sent id={} status={} outcome={}", r.subscription_id,
                    r.status, verdictName(r.outcome.verdict));
        reply.json(http::status::ok, testSendJson(r));
      });
  if (!queued)
    reply.error(http::status::too_many_requests,
                "too many test sends in progress (at most " +
                    std::to_string(TestSender::kMaxInFlight) + ")",
                {{"Retry-After", "1"}});
}

void addSubscriptions(RouteTable& routes, ApiServices& services) {
  auto& s = services;
  routes.add(http::verb::get, "/v1/subscriptions",
             [&s](const Request& req, const PathParams&, Reply reply) {
               listSubscriptions(s, req, std::move(reply));
             });
  routes.add(http::verb::post, "/v1/subscriptions",
             [&s](const Request& req, const PathParams&, Reply reply) {
               createSubscription(s, req, std::move(reply));
             });
  routes.add(http::verb::get, "/v1/subscriptions/{id}",
             [&s](const Request&, const PathParams& p, Reply reply) {
               getSubscription(s, p["id"], std::move(reply));
             });
  routes.add(http::verb::put, "/v1/subscriptions/{id}",
             [&s](const Request& req, const PathParams& p, Reply reply) {
               updateSubscription(s, p["id"], req, false, std::move(reply));
             });
  routes.add(http::verb::patch, "/v1/subscriptions/{id}",
             [&s](const Request& req, const PathParams& p, Reply reply) {
               updateSubscription(s, p["id"], req, true, std::move(reply));
             });
  routes.add(http::verb::delete_, "/v1/subscriptions/{id}",
             [&s](const Request&, const PathParams& p, Reply reply) {
               deleteSubscription(s, p["id"], std::move(reply));
             });
  routes.add(http::verb::post, "/v1/subscriptions/{id}/pause",
             [&s](const Request&, const PathParams& p, Reply reply) {
               setActive(s, p["id"], false, std::move(reply));
             });
  routes.add(http::verb::post, "/v1/subscriptions/{id}/resume",
             [&s](const Request&, const PathParams& p, Reply reply) {
               setActive(s, p["id"], true, std::move(reply));
             });
  routes.add(http::verb::get, "/v1/subscriptions/{id}/secret",
             [&s](const Request&, const PathParams& p, Reply reply) {
               getSecret(s, p["id"], std::move(reply));
             });
  routes.add(http::verb::post, "/v1/subscriptions/{id}/secret/rotate",
             [&s](const Request& req, const PathParams& p, Reply reply) {
               rotateSecret(s, p["id"], req, std::move(reply));
             });
  routes.add(http::verb::post, "/v1/subscriptions/{id}/test",
             [&s](const Request& req, const PathParams& p, Reply reply) {
               testSubscription(s, p["id"], req, std::move(reply));
             });
}

}  // namespace hookpipe::producer::routes
