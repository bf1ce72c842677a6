// /v1/dead-letters: listings on the dead-letter service's listing thread, replays on
// its replay thread (the work itself is common/dlq).
#include <boost/json.hpp>
#include <string>

#include "producer/routes/helpers.h"
#include "producer/routes/routes.h"

namespace hookpipe::producer::routes {
namespace {

void listDeadLetters(ApiServices& s, const Request& req, Reply reply) {
  auto query = parseQuery(req.target());
  if (!query) return reply.invalid({{"", "the query string has a broken %-escape"}});
  DeadLetterQuery q;
  if (auto problems = parseDeadLetterQuery(*query, q); !problems.empty())
    return reply.invalid(problems);
  const bool queued = s.dead_letters->submitListing([&s, q, reply] {
    auto page = s.dead_letters->listPage(q);
    if (!page) return reply.unavailable("dead letters not read: " + page.error().message);
    reply.json(http::status::ok, std::move(*page));
  });
  if (!queued)
    reply.error(http::status::too_many_requests, "too many dead-letter listings in progress",
                {{"Retry-After", "1"}});
}

void replayDeadLetters(ApiServices& s, const Request& req, Reply reply) {
  if (!isJson(req))
    return reply.error(http::status::unsupported_media_type, "send application/json");
  dlq::ReplayOptions options;
  auto problems = parseReplayRequest(req.body(), options);
  if (problems.empty() && !options.to_subscription.empty() &&
      !s.subscription_table.find(options.to_subscription))
    problems.push_back({"/to_subscription", "no subscription " + options.to_subscription});
  if (!problems.empty()) return reply.invalid(problems);
  auto started = s.dead_letters->startReplay(std::move(options));
  if (!started.started)
    return reply.error(
        http::status::conflict,
        "replay " + started.replay_id + " is still running (one replay at a time per instance)",
        {{"Retry-After", "5"}});
  boost::json::object o;
  o["id"] = started.replay_id;
  o["status_url"] = "/v1/dead-letters/replays/" + started.replay_id;
  reply.json(http::status::accepted, boost::json::serialize(o),
             {{"Location", "/v1/dead-letters/replays/" + started.replay_id}});
}

void replayStatus(ApiServices& s, const std::string& id, Reply reply) {
  auto status = s.dead_letters->replayStatus(id);
  if (!status)
    return reply.error(http::status::not_found,
                       "no replay " + id + " was started on this instance");
  reply.json(http::status::ok, std::move(*status));
}

}  // namespace

void addDeadLetters(RouteTable& routes, ApiServices& services) {
  auto& s = services;
  routes.add(http::verb::get, "/v1/dead-letters",
             [&s](const Request& req, const PathParams&, Reply reply) {
               listDeadLetters(s, req, std::move(reply));
             });
  routes.add(http::verb::post, "/v1/dead-letters/replay",
             [&s](const Request& req, const PathParams&, Reply reply) {
               replayDeadLetters(s, req, std::move(reply));
             });
  routes.add(http::verb::get, "/v1/dead-letters/replays/{id}",
             [&s](const Request&, const PathParams& p, Reply reply) {
               replayStatus(s, p["id"], std::move(reply));
             });
}

}  // namespace hookpipe::producer::routes
