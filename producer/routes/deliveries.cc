// /v1/subscriptions/{id}/deliveries, /v1/deliveries/{id} and the exports: the delivery log
// read from the recorder's Redis index (common/attempts/query.h) on the HTTP thread (a few
// pipelined round trips), exports and payload reads on the delivery-log service's threads.
#include <boost/json.hpp>
#include <chrono>
#include <thread>

#include "common/attempts/json.h"
#include "producer/routes/helpers.h"
#include "producer/routes/routes.h"

namespace hookpipe::producer::routes {
namespace {

namespace bj = boost::json;

// An export waits while this much of it is queued for a slow client (the stream ends past
// ResponseStream::kMaxQueuedBytes).
constexpr std::size_t kExportQueueHighWater = 256 * 1024;

// The subscription exists, or it has a log (it was deleted but its deliveries are still
// kept): nullopt then; else the error to answer.
bool knownSubscription(ApiServices& s, attempts::Query& q, const std::string& id, Reply& reply) {
  if (s.subscription_table.find(id)) return true;
  auto has = q.hasLog(id);
  if (!has) {
    reply.unavailable("delivery log not read: " + has.error().message);
    return false;
  }
  if (!*has) {
    reply.error(http::status::not_found, "no subscription " + id);
    return false;
  }
  return true;
}

void listDeliveries(ApiServices& s, const Request& req, const std::string& id, Reply reply) {
  auto query = parseQuery(req.target());
  if (!query) return reply.invalid({{"", "the query string has a broken %-escape"}});
  LogQuery q;
  if (auto problems = parseLogQuery(*query, false, q); !problems.empty())
    return reply.invalid(problems);
  auto lease = s.delivery_log->lease();
  if (!knownSubscription(s, lease.query(), id, reply)) return;
  auto page = lease.query().listDeliveries(id, q.filter, q.cursor, q.limit);
  if (!page) return reply.unavailable("delivery log not read: " + page.error().message);
  reply.json(http::status::ok, attempts::pageJson(*page));
}

void showDelivery(ApiServices& s, const std::string& id, Reply reply) {
  std::optional<attempts::DeliveryAttempts> found;
  {
    auto lease = s.delivery_log->lease();
    auto d = lease.query().delivery(id);
    if (!d) return reply.unavailable("delivery log not read: " + d.error().message);
    if (!*d) return reply.error(http::status::not_found, "no delivery " + id + " in the log");
    found = std::move(**d);
  }
  // The payload comes from Kafka (a second or so to open a reader): off the HTTP thread.
  auto* log = s.delivery_log.get();
  const bool queued = log->submit([log, d = std::move(*found), reply](const std::atomic<bool>&) {
    bj::object o = attempts::toJson(d);
    const attempts::Record* located = nullptr;
    for (const auto& a : d.attempts)
      if (!a.payload_topic.empty() && a.payload_offset >= 0) located = &a;
    if (located == nullptr) {
      o["payload"] = nullptr;
      o["payload_error"] = "no attempt says where its record was read from";
    } else if (auto body = log->readPayload(located->payload_topic, located->payload_partition,
                                            located->payload_offset);
               !body) {
      o["payload"] = nullptr;
      o["payload_error"] = body.error().message;
    } else {
      boost::system::error_code ec;
      auto parsed = bj::parse(*body, ec);
      // A JSON body as JSON; anything else (a template's text) as a string.
      o["payload"] = ec ? bj::value(*body) : std::move(parsed);
      o["payload_error"] = nullptr;
    }
    reply.json(http::status::ok, bj::serialize(o));
  });
  if (!queued)
    reply.error(http::status::too_many_requests, "too many delivery-log reads in progress",
                {{"Retry-After", "1"}});
}

// Streams the log of `subscriptions` (one, or every one with a log) page by page.
void runExport(DeliveryLogService& log, std::shared_ptr<ResponseStream> stream,
               std::vector<std::string> subscriptions, bool all, LogQuery q,
               const std::atomic<bool>& stopping) {
  auto lease = log.lease();
  auto& query = lease.query();
  const bool csv = q.format == "csv";
  if (csv && !stream->write(attempts::csvHeader())) return;
  if (all) {
    auto subs = query.subscriptionsWithLog();
    if (!subs) {
      // The head is out: the body ends short, and a trailing line says why.
      stream->write(csv ? "# export failed: " + subs.error().message + "\r\n"
                        : bj::serialize(bj::object{{"error", subs.error().message}}) + "\n");
      return stream->end();
    }
    subscriptions = std::move(*subs);
  }
  for (const auto& sub : subscriptions) {
    std::optional<attempts::Cursor> cursor;
    do {
      if (stopping || stream->closed()) return stream->end();
      auto page = query.listDeliveries(sub, q.filter, cursor, attempts::kMaxLogLimit, false);
      if (!page) {
        stream->write(csv ? "# export failed: " + page.error().message + "\r\n"
                          : bj::serialize(bj::object{{"error", page.error().message}}) + "\n");
        return stream->end();
      }
      std::string chunk;
      for (const auto& e : page->entries)
        chunk += csv ? attempts::csvRow(e) : bj::serialize(attempts::toJson(e)) + "\n";
      if (!stream->write(std::move(chunk))) return;
      while (stream->queuedBytes() > kExportQueueHighWater && !stream->closed() && !stopping)
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
      cursor = page->next_cursor ? attempts::decodeCursor(*page->next_cursor) : std::nullopt;
    } while (cursor);
  }
  stream->end();
}

void exportDeliveries(ApiServices& s, const Request& req, const std::optional<std::string>& id,
                      Reply reply) {
  auto query = parseQuery(req.target());
  if (!query) return reply.invalid({{"", "the query string has a broken %-escape"}});
  LogQuery q;
  if (auto problems = parseLogQuery(*query, true, q); !problems.empty())
    return reply.invalid(problems);
  if (id) {
    auto lease = s.delivery_log->lease();
    if (!knownSubscription(s, lease.query(), *id, reply)) return;
  }
  auto* log = s.delivery_log.get();
  const bool csv = q.format == "csv";
  std::vector<std::string> subs;
  if (id) subs.push_back(*id);
  // The stream starts in the job: a refused job still answers 429.
  const bool queued = log->submit([log, reply, subs = std::move(subs), all = !id, q,
                                   csv](const std::atomic<bool>& stopping) mutable {
    ResponseHead head{http::status::ok, 11};
    head.set(http::field::content_type, csv ? "text/csv; charset=utf-8" : "application/x-ndjson");
    head.set(http::field::content_disposition,
             std::string("attachment; filename=\"deliveries.") + (csv ? "csv" : "ndjson") + "\"");
    auto stream = reply.stream(std::move(head));
    runExport(*log, std::move(stream), std::move(subs), all, std::move(q), stopping);
  });
  if (!queued)
    reply.error(http::status::too_many_requests, "too many exports in progress",
                {{"Retry-After", "5"}});
}

}  // namespace

void addDeliveries(RouteTable& routes, ApiServices& services) {
  auto& s = services;
  routes.add(http::verb::get, "/v1/subscriptions/{id}/deliveries",
             [&s](const Request& req, const PathParams& p, Reply reply) {
               listDeliveries(s, req, p["id"], std::move(reply));
             });
  routes.add(http::verb::get, "/v1/subscriptions/{id}/deliveries/export",
             [&s](const Request& req, const PathParams& p, Reply reply) {
               exportDeliveries(s, req, p["id"], std::move(reply));
             });
  // Before /v1/deliveries/{id}: the literal wins.
  routes.add(http::verb::get, "/v1/deliveries/export",
             [&s](const Request& req, const PathParams&, Reply reply) {
               exportDeliveries(s, req, std::nullopt, std::move(reply));
             });
  routes.add(http::verb::get, "/v1/deliveries/{id}",
             [&s](const Request&, const PathParams& p, Reply reply) {
               showDelivery(s, p["id"], std::move(reply));
             });
}

}  // namespace hookpipe::producer::routes
