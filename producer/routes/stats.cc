// /v1/subscriptions/{id}/stats, /v1/tenants/{tenant}/stats and /v1/stats: the recorder's
// statistics buckets (common/attempts/query.h), read in one pipelined round trip on the
// HTTP thread.
#include <boost/json.hpp>
#include <chrono>

#include "common/attempts/json.h"
#include "common/kafka/kafka.h"
#include "producer/routes/helpers.h"
#include "producer/routes/routes.h"

namespace hookpipe::producer::routes {
namespace {

void stats(ApiServices& s, const Request& req, const std::string& scope,
           const std::optional<std::string>& subscription, Reply reply) {
  auto query = parseQuery(req.target());
  if (!query) return reply.invalid({{"", "the query string has a broken %-escape"}});
  attempts::StatsQuery q;
  q.scope = scope;
  if (auto problems = parseStatsQuery(*query, kafka::nowMs(), q); !problems.empty())
    return reply.invalid(problems);
  auto lease = s.delivery_log->lease();
  if (subscription && !s.subscription_table.find(*subscription)) {
    // A deleted subscription's statistics answer while its log is kept.
    auto has = lease.query().hasLog(*subscription);
    if (!has) return reply.unavailable("statistics not read: " + has.error().message);
    if (!*has) return reply.error(http::status::not_found, "no subscription " + *subscription);
  }
  auto result = lease.query().stats(q);
  if (!result) {
    if (!result.error().problems.empty()) return reply.badRequest(result.error());
    return reply.unavailable("statistics not read: " + result.error().message);
  }
  reply.json(http::status::ok, boost::json::serialize(attempts::toJson(*result)));
}

}  // namespace

void addStats(RouteTable& routes, ApiServices& services) {
  auto& s = services;
  routes.add(http::verb::get, "/v1/stats",
             [&s](const Request& req, const PathParams&, Reply reply) {
               stats(s, req, attempts::Keys::allScope(), std::nullopt, std::move(reply));
             });
  routes.add(http::verb::get, "/v1/subscriptions/{id}/stats",
             [&s](const Request& req, const PathParams& p, Reply reply) {
               stats(s, req, attempts::Keys::subscriptionScope(p["id"]), p["id"], std::move(reply));
             });
  routes.add(http::verb::get, "/v1/tenants/{tenant}/stats",
             [&s](const Request& req, const PathParams& p, Reply reply) {
               stats(s, req, attempts::Keys::tenantScope(p["tenant"]), std::nullopt,
                     std::move(reply));
             });
}

}  // namespace hookpipe::producer::routes
