// /v1/event-types: the catalog, read from its table, written to the compacted
// event-types topic (pinned meanwhile, the table updated on the broker's ack).
#include <boost/json.hpp>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "common/json/body.h"
#include "common/json/event.h"
#include "producer/routes/helpers.h"
#include "producer/routes/routes.h"

namespace hookpipe::producer::routes {
namespace {

// Writes `record` under `name` (nullopt: a tombstone), pinned in the catalog meanwhile so
// that the topic reader does not apply an older record over the local write
// (read-your-writes); `done` runs on acknowledgement or failure, and should update the
// catalog on success.
void storeEventType(ApiServices& s, const std::string& name, std::optional<std::string> record,
                    std::function<void(std::optional<Error>)> done) {
  const std::string pinned = record.value_or("");  // a tombstone pins as ""
  s.event_types.pin(name, pinned);
  auto acked = [&s, name, pinned, done = std::move(done)](std::optional<Error> err) {
    if (err) s.event_types.unpin(name, pinned);
    done(std::move(err));
  };
  auto r = s.producer.produce(s.config.topics.eventTypes(), name,
                              record ? std::string_view(*record) : std::string_view(), {}, acked);
  if (!r) acked(r.error());
}

void getEventType(ApiServices& s, const std::string& name, Reply reply) {
  auto t = s.event_types.find(name);
  if (!t) return reply.error(http::status::not_found, "no event type " + name);
  reply.json(http::status::ok, eventTypeJson(*t));
}

// Checks what every event-type write checks before parsing; true when `reply` was answered.
bool refusedEventTypeBody(const Request& req, const Config& config, const Reply& reply) {
  if (!isJson(req)) {
    reply.error(http::status::unsupported_media_type, "send application/json");
    return true;
  }
  if (req.body().size() > config.max_event_bytes) {
    reply.error(
        http::status::payload_too_large,
        "event type is over the limit of " + std::to_string(config.max_event_bytes) + " bytes");
    return true;
  }
  return false;
}

void createEventType(ApiServices& s, const Request& req, Reply reply) {
  if (refusedEventTypeBody(req, s.config, reply)) return;
  auto t = parseEventType(req.body(), true);
  if (!t) return reply.badRequest(t.error());
  if (auto existing = s.event_types.find(t->name))
    return reply.error(http::status::conflict,
                       "event type " + t->name + " exists" +
                           (existing->archived ? " (archived: PATCH it with {\"archived\":false})"
                                               : " (change it with PUT or PATCH)"));
  t->created_at = t->updated_at = json::formatTimestamp(kafka::nowMs());
  auto stored = std::make_shared<EventType>(std::move(*t));
  storeEventType(s, stored->name, eventTypeJson(*stored),
                 [&s, reply, stored](std::optional<Error> err) {
                   if (err) return reply.unavailable("event type not stored: " + err->message);
                   s.event_types.put(stored->name, *stored);
                   log()->info("event type created name={}", stored->name);
                   reply.json(http::status::created, eventTypeJson(*stored));
                 });
}

void listEventTypes(ApiServices& s, const Request& req, Reply reply) {
  auto query = parseQuery(req.target());
  if (!query) return reply.invalid({{"", "the query string has a broken %-escape"}});
  std::vector<Problem> problems;
  bool include_archived = false;
  std::size_t limit = kDefaultListLimit;
  std::size_t offset = 0;
  for (const auto& [k, v] : *query) {
    if (k == "include_archived") {
      if (v != "true" && v != "false")
        problems.push_back({k, "include_archived must be true or false"});
      include_archived = v == "true";
    } else if (!pagingParameter(k, v, kMaxListLimit, limit, offset, problems)) {
      problems.push_back({k, "unknown parameter " + k});
    }
  }
  if (!problems.empty()) return reply.invalid(problems);
  std::string items;
  std::size_t total = 0, shown = 0;
  // The snapshot is held for the loop: a range-for over `*snapshot()` would let the
  // temporary shared_ptr go before the loop runs (g++ 12 has no C++23 lifetime extension
  // of range-init temporaries), and a concurrent update could free the map under it.
  const auto snapshot = s.event_types.snapshot();
  for (const auto& [name, t] : *snapshot) {  // ordered by name: stable pages
    if (t->archived && !include_archived) continue;
    if (total++ < offset || shown >= limit) continue;
    if (shown++ > 0) items += ',';
    items += eventTypeJson(*t);
  }
  reply.json(http::status::ok, "{\"data\":[" + items + "],\"total\":" + std::to_string(total) +
                                   ",\"limit\":" + std::to_string(limit) +
                                   ",\"offset\":" + std::to_string(offset) + "}");
}

void updateEventType(ApiServices& s, const std::string& name, const Request& req, bool merge,
                     Reply reply) {
  if (refusedEventTypeBody(req, s.config, reply)) return;
  auto current = s.event_types.find(name);
  if (merge && !current) return reply.error(http::status::not_found, "no event type " + name);
  boost::system::error_code ec;
  boost::json::value body = boost::json::parse(req.body(), ec);
  if (ec) return reply.invalid({{"", "body is not valid JSON: " + ec.message()}});
  if (!body.is_object()) return reply.invalid({{"", "body must be a JSON object"}});
  // Boost.JSON's parse keeps the last copy of a name given twice: refused before it counts.
  if (auto repeated = json::repeatedNamesIn(req.body()); !repeated.empty())
    return reply.invalid(repeated);
  auto& patch = body.as_object();
  if (auto it = patch.find("name");
      it != patch.end() && !(it->value().is_string() && it->value().as_string() == name))
    return reply.invalid({{"/name", "name cannot change (it is " + name + ")"}});
  // PATCH: the fields given replace the current ones (schema and example as a whole),
  // null clears; PUT: the body is the whole event type.
  boost::json::object next;
  if (merge) {
    next = boost::json::parse(eventTypeJson(*current)).as_object();
    next.erase("created_at");
    next.erase("updated_at");
    for (const auto& [k, v] : patch) next[k] = v;
  } else {
    next = patch;
  }
  next["name"] = name;
  auto t = parseEventType(boost::json::serialize(next), true);
  if (!t) return reply.badRequest(t.error());
  // Schema and example are stored as sent (minified), not as re-serialized above.
  const auto given = parseEventType(req.body(), false);
  if (!given) return reply.badRequest(given.error());
  t->schema_json = !merge || patch.contains("schema") ? given->schema_json : current->schema_json;
  t->example_json =
      !merge || patch.contains("example") ? given->example_json : current->example_json;
  const std::string now = json::formatTimestamp(kafka::nowMs());
  t->created_at = current ? current->created_at : now;
  t->updated_at = now;
  const auto status = current ? http::status::ok : http::status::created;
  auto stored = std::make_shared<EventType>(std::move(*t));
  storeEventType(
      s, name, eventTypeJson(*stored), [&s, reply, stored, status](std::optional<Error> err) {
        if (err) return reply.unavailable("event type not stored: " + err->message);
        s.event_types.put(stored->name, *stored);
        log()->info("event type {} name={}",
                    status == http::status::created ? "created" : "updated", stored->name);
        reply.json(status, eventTypeJson(*stored));
      });
}

void deleteEventType(ApiServices& s, const std::string& name, Reply reply) {
  if (!s.event_types.find(name))
    return reply.error(http::status::not_found, "no event type " + name);
  storeEventType(s, name, std::nullopt, [&s, reply, name](std::optional<Error> err) {
    if (err) return reply.unavailable("event type not deleted: " + err->message);
    s.event_types.erase(name);
    log()->info("event type deleted name={}", name);
    reply.noContent();
  });
}

}  // namespace

void addEventTypes(RouteTable& routes, ApiServices& services) {
  auto& s = services;
  routes.add(http::verb::get, "/v1/event-types",
             [&s](const Request& req, const PathParams&, Reply reply) {
               listEventTypes(s, req, std::move(reply));
             });
  routes.add(http::verb::post, "/v1/event-types",
             [&s](const Request& req, const PathParams&, Reply reply) {
               createEventType(s, req, std::move(reply));
             });
  routes.add(http::verb::get, "/v1/event-types/{name}",
             [&s](const Request&, const PathParams& p, Reply reply) {
               getEventType(s, p["name"], std::move(reply));
             });
  routes.add(http::verb::put, "/v1/event-types/{name}",
             [&s](const Request& req, const PathParams& p, Reply reply) {
               updateEventType(s, p["name"], req, false, std::move(reply));
             });
  routes.add(http::verb::patch, "/v1/event-types/{name}",
             [&s](const Request& req, const PathParams& p, Reply reply) {
               updateEventType(s, p["name"], req, true, std::move(reply));
             });
  routes.add(http::verb::delete_, "/v1/event-types/{name}",
             [&s](const Request&, const PathParams& p, Reply reply) {
               deleteEventType(s, p["name"], std::move(reply));
             });
}

}  // namespace hookpipe::producer::routes
