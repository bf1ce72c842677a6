// GET /v1/stream: the live stream of events and attempts (server-sent events; the work is
// producer/live_stream.h).
#include <string>

#include "producer/live_stream.h"
#include "producer/routes/routes.h"

namespace hookpipe::producer::routes {
namespace {

void openStream(ApiServices& s, const Request& req, Reply reply) {
  auto query = parseQuery(req.target());
  if (!query) return reply.invalid({{"", "the query string has a broken %-escape"}});
  StreamFilter filter;
  std::vector<Problem> problems = parseStreamFilter(*query, filter);
  if (!filter.subscription.empty() && problems.empty()) {
    auto sub = s.subscription_table.find(filter.subscription);
    if (!sub) return reply.error(http::status::not_found, "no subscription " + filter.subscription);
    filter.subscription_types = sub->events;
    filter.subscription_tenant = sub->tenant;
  }
  // EventSource sends Last-Event-ID when it reconnects; a first connection may name a
  // position with ?last_event_id= (a browser's EventSource cannot set headers).
  std::string last_id(req["Last-Event-ID"]);
  const char* where = "Last-Event-ID";
  if (auto it = query->find("last_event_id"); last_id.empty() && it != query->end()) {
    last_id = it->second;
    where = "last_event_id";
  }
  std::optional<StreamPosition> from;
  if (!last_id.empty()) {
    auto position = StreamPosition::parse(last_id);
    if (!position)
      problems.push_back({where, std::string(where) + ": " + position.error().message});
    else
      from = std::move(*position);
  }
  if (!problems.empty()) return reply.invalid(problems);
  auto ticket = s.live_stream->admit(std::move(from));
  if (!ticket) {
    switch (ticket.error().refusal) {
      case LiveStream::Refusal::kBadPosition:
        return reply.invalid({{where, ticket.error().message}});
      case LiveStream::Refusal::kTooMany:
        return reply.error(http::status::service_unavailable, ticket.error().message,
                           {{"Retry-After", "1"}});
      case LiveStream::Refusal::kUnavailable:
        return reply.unavailable(ticket.error().message);
    }
  }
  ResponseHead head{http::status::ok, req.version()};
  head.set(http::field::content_type, "text/event-stream");
  head.set(http::field::cache_control, "no-cache");
  head.set("X-Accel-Buffering", "no");  // nginx: pass the events on as they come
  s.live_stream->add(reply.stream(std::move(head)), std::move(filter), std::move(*ticket));
}

}  // namespace

void addStream(RouteTable& routes, ApiServices& services) {
  routes.add(http::verb::get, "/v1/stream",
             [&services](const Request& req, const PathParams&, Reply reply) {
               openStream(services, req, std::move(reply));
             });
}

}  // namespace hookpipe::producer::routes
