// /v1/integrations: the chat and no-code integrations (producer/integrations.h), each a
// subscription of its format written through subscriptions::Writer like any other; a test
// send as POST /v1/subscriptions/{id}/test; the status from the recorder's index.
#include "producer/integrations.h"

#include <boost/json.hpp>
#include <chrono>

#include "common/attempts/json.h"
#include "common/kafka/kafka.h"
#include "producer/routes/helpers.h"
#include "producer/routes/routes.h"

namespace hookpipe::producer::routes {
namespace {

boost::json::array fieldsJson(const std::vector<IntegrationField>& fields) {
  boost::json::array out;
  for (const auto& f : fields) {
    boost::json::object o;
    o["name"] = f.name;
    o["type"] = f.type;
    o["required"] = f.required;
    o["secret"] = f.secret;
    o["description"] = f.description;
    out.push_back(std::move(o));
  }
  return out;
}

void listIntegrations(ApiServices& s, Reply reply) {
  const auto snapshot = s.subscription_table.snapshot();  // held for the loop
  boost::json::array data;
  for (const Integration* i : integrations()) {
    boost::json::array ids;
    for (const auto& [id, sub] : *snapshot)
      if (sub->format == i->format) ids.emplace_back(id);
    boost::json::object o;
    o["name"] = i->name;
    o["title"] = i->title;
    o["description"] = i->description;
    o["format"] = i->format;
    o["fields"] = fieldsJson(i->fields);
    o["configured"] = !ids.empty();
    o["subscriptions"] = std::move(ids);
    data.push_back(std::move(o));
  }
  boost::json::object o;
  o["data"] = std::move(data);
  o["common_fields"] = fieldsJson(commonIntegrationFields());
  reply.json(http::status::ok, boost::json::serialize(o));
}

std::string knownNames() {
  std::string names;
  for (const Integration* i : integrations()) {
    if (!names.empty()) names += ", ";
    names += i->name;
  }
  return names;
}

void createIntegration(ApiServices& s, const std::string& name, const Request& req, Reply reply) {
  const Integration* integration = findIntegration(name);
  if (!integration)
    return reply.error(http::status::not_found,
                       "no integration " + name + " (there are " + knownNames() + ")");
  if (!isJson(req))
    return reply.error(http::status::unsupported_media_type, "send application/json");
  auto json = integrationSubscription(*integration, req.body());
  if (!json) return reply.badRequest(json.error());
  auto started = s.subscription_writer.create(
      *json, [reply, integration](const Result<std::shared_ptr<const Subscription>>& r) {
        if (!r)
          return reply.unavailable(std::string("integration not stored: ") + r.error().message);
        log()->info("integration created integration={} id={}", integration->name,
                    logSafe((*r)->id));
        reply.json(http::status::created, integrationJson(*integration, **r));
      });
  if (started) return;
  // What the subscription's validation found, at the pointers of the request.
  const subscriptions::Refused& refused = started.error();
  if (refused.reason == subscriptions::Refusal::kConflict)
    return reply.error(http::status::conflict, refused.error.message);
  std::vector<Problem> problems = refused.error.problems;
  if (problems.empty()) problems.push_back({"", refused.error.message});
  for (auto& p : problems) p.pointer = integrationPointer(*integration, p.pointer);
  reply.invalid(problems);
}

// The subscription behind integration `id`, or null with the 404 answered.
std::shared_ptr<const Subscription> integrationSubscriptionOrAnswer(ApiServices& s,
                                                                    const std::string& id,
                                                                    const Reply& reply,
                                                                    const Integration*& out) {
  auto sub = s.subscription_table.find(id);
  out = sub ? integrationOf(*sub) : nullptr;
  if (!out) {
    reply.error(http::status::not_found, "no integration " + id);
    return nullptr;
  }
  return sub;
}

void getIntegration(ApiServices& s, const std::string& id, Reply reply) {
  const Integration* integration = nullptr;
  auto sub = integrationSubscriptionOrAnswer(s, id, reply, integration);
  if (sub) reply.json(http::status::ok, integrationJson(*integration, *sub));
}

void testIntegration(ApiServices& s, const std::string& id, const Request& req, Reply reply) {
  const Integration* integration = nullptr;
  if (integrationSubscriptionOrAnswer(s, id, reply, integration))
    testSubscription(s, id, req, std::move(reply));
}

void integrationStatus(ApiServices& s, const std::string& id, Reply reply) {
  const Integration* integration = nullptr;
  auto sub = integrationSubscriptionOrAnswer(s, id, reply, integration);
  if (!sub) return;
  auto lease = s.delivery_log->lease();
  auto unread = [&reply](const Error& e) {
    reply.unavailable("integration status not read: " + e.message);
  };
  auto latest = lease.query().listDeliveries(id, {}, std::nullopt, 1, false);
  if (!latest) return unread(latest.error());
  attempts::LogFilter failed;
  failed.status = attempts::StatusFilter::kFailed;
  auto failure = lease.query().listDeliveries(id, failed, std::nullopt, 1, false);
  if (!failure) return unread(failure.error());
  attempts::StatsQuery q;
  q.scope = attempts::Keys::subscriptionScope(id);
  q.until_ms = kafka::nowMs();
  q.since_ms = q.until_ms - attempts::kDefaultStatsRangeMs;
  q.group_by = attempts::GroupBy::kHour;
  auto stats = lease.query().stats(q);
  if (!stats) return unread(stats.error());
  boost::json::object o;
  o["id"] = id;
  o["integration"] = integration->name;
  o["active"] = sub->is_active;
  o["disabled_reason"] = sub->disabled_reason.empty() ? boost::json::value(nullptr)
                                                      : boost::json::value(sub->disabled_reason);
  o["last_delivery"] = latest->entries.empty()
                           ? boost::json::value(nullptr)
                           : boost::json::value(attempts::toJson(latest->entries.front()));
  o["last_error"] = failure->entries.empty()
                        ? boost::json::value(nullptr)
                        : boost::json::value(attempts::toJson(failure->entries.front()));
  const attempts::StatsCounts& c = stats->total;
  const uint64_t delivered = c.outcome("delivered");
  boost::json::object day;
  day["attempts"] = c.attempts;
  day["delivered"] = delivered;
  day["retried"] = c.outcome("retried");
  day["dead_lettered"] = c.outcome("dead_lettered");
  day["success_rate"] =
      c.attempts == 0
          ? boost::json::value(nullptr)
          : boost::json::value(static_cast<double>(delivered) / static_cast<double>(c.attempts));
  o["last_24h"] = std::move(day);
  reply.json(http::status::ok, boost::json::serialize(o));
}

}  // namespace

void addIntegrations(RouteTable& routes, ApiServices& services) {
  auto& s = services;
  routes.add(http::verb::get, "/v1/integrations",
             [&s](const Request&, const PathParams&, Reply reply) {
               listIntegrations(s, std::move(reply));
             });
  // POST /v1/integrations/{name}: one pattern with GET's (the route table names a
  // pattern's parameters once).
  routes.add(http::verb::post, "/v1/integrations/{id}",
             [&s](const Request& req, const PathParams& p, Reply reply) {
               createIntegration(s, p["id"], req, std::move(reply));
             });
  routes.add(http::verb::get, "/v1/integrations/{id}",
             [&s](const Request&, const PathParams& p, Reply reply) {
               getIntegration(s, p["id"], std::move(reply));
             });
  routes.add(http::verb::post, "/v1/integrations/{id}/test",
             [&s](const Request& req, const PathParams& p, Reply reply) {
               testIntegration(s, p["id"], req, std::move(reply));
             });
  routes.add(http::verb::get, "/v1/integrations/{id}/status",
             [&s](const Request&, const PathParams& p, Reply reply) {
               integrationStatus(s, p["id"], std::move(reply));
             });
}

}  // namespace hookpipe::producer::routes
