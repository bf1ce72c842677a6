// POST /v1/events and POST /v1/events/batch: validated (json::EventParser), claimed
// against the idempotency store, produced to the events topic, answered on the ack.
#include <boost/json.hpp>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "common/json/document.h"
#include "common/json/event.h"
#include "producer/routes/helpers.h"
#include "producer/routes/routes.h"

namespace hookpipe::producer::routes {
namespace {

bool isNdjson(const Request& req) {
  return req[http::field::content_type].starts_with("application/x-ndjson");
}

std::string idAnswer(const std::string& id) {
  boost::json::object o;
  o["id"] = id;
  return boost::json::serialize(o);
}

// The Idempotency-Key header: nullopt when absent, an error when malformed.
Result<std::optional<std::string>> idempotencyKey(const Request& req) {
  auto it = req.find("Idempotency-Key");
  if (it == req.end()) return std::optional<std::string>();
  const std::string_view key = it->value();
  bool ok = !key.empty() && key.size() <= 255;
  for (char c : key) ok = ok && c > ' ' && c < 0x7f;
  if (!ok)
    return failAt("Idempotency-Key", "Idempotency-Key must be 1..255 visible ASCII characters");
  return std::optional<std::string>(std::string(key));
}

// A key seen before: its first answer again, or 409 while the first request is in flight.
// True when `reply` has been answered.
bool answeredBefore(const IdempotencyStore::Claim& c, const Reply& reply) {
  using State = IdempotencyStore::Claim::State;
  if (c.state == State::kDone) {
    reply.json(static_cast<http::status>(c.status), c.body, {{"Idempotent-Replayed", "true"}});
    return true;
  }
  if (c.state == State::kPending) {
    reply.error(http::status::conflict, "a request with the same idempotency key is in progress",
                {{"Retry-After", "1"}});
    return true;
  }
  return false;
}

void publishEvent(ApiServices& s, const Request& req, Reply reply) {
  if (!isJson(req))
    return reply.error(http::status::unsupported_media_type, "send application/json");
  if (req.body().size() > s.config.max_event_bytes)
    return reply.error(
        http::status::payload_too_large,
        "event is over the limit of " + std::to_string(s.config.max_event_bytes) + " bytes");
  auto header_key = idempotencyKey(req);
  if (!header_key) return reply.badRequest(header_key.error());
  thread_local json::EventParser parser(s.config.max_event_bytes);
  const std::string generated = json::newEventId();
  auto event = parser.parse(req.body(), kafka::nowMs(), generated);
  if (!event) return reply.badRequest(event.error());

  // The key that makes a repeat a replay: the header, else the event's own id.
  std::string key;
  if (*header_key)
    key = s.idempotency->requestKey("events", **header_key);
  else if (event->id != generated)
    key = s.idempotency->eventKey(event->id);
  bool claimed = false;
  if (!key.empty()) {
    const auto c = s.idempotency->claim({key})[0];
    if (answeredBefore(c, reply)) return;
    claimed = c.state == IdempotencyStore::Claim::State::kNew;
  }
  const std::string id = event->id;
  auto done = [reply, id, key, claimed, store = s.idempotency](std::optional<Error> err) {
    if (err) {
      if (claimed) store->release({key});
      return reply.unavailable("event not stored: " + err->message);
    }
    std::string body = idAnswer(id);
    if (!claimed) return reply.json(http::status::accepted, std::move(body));
    // Answered once recorded, so that a repeat after this answer finds it.
    store->complete(key, 202, body, [reply, body] { reply.json(http::status::accepted, body); });
  };
  auto r = s.producer.produce(s.config.topics.events(), event->id, event->body, {}, done);
  if (!r) done(r.error());
}

// One batch in flight: each item's result, filled in as the broker acknowledges.
struct BatchState {
  explicit BatchState(Reply r) : reply(std::move(r)) {}
  Reply reply;
  std::mutex mu;
  std::vector<boost::json::object> results;
  std::size_t outstanding = 0;
  std::size_t produced = 0;
  std::size_t broker_failures = 0;
  std::string batch_key;  // claimed Idempotency-Key, or ""
};

void finishBatch(const std::shared_ptr<BatchState>& state,
                 const std::shared_ptr<IdempotencyStore>& store) {
  boost::json::object o;
  boost::json::array data;
  std::size_t accepted = 0;
  for (auto& r : state->results) {
    if (r.contains("id")) ++accepted;
    data.push_back(std::move(r));
  }
  o["accepted"] = accepted;
  o["rejected"] = data.size() - accepted;
  o["data"] = std::move(data);
  std::string body = boost::json::serialize(o);
  // Nothing reached the broker although something should have: the whole batch is a 503.
  const bool unavailable = state->produced > 0 && state->broker_failures == state->produced;
  const auto status = unavailable ? http::status::service_unavailable : http::status::ok;
  // A batch with broker failures is not remembered under its key: the client retries it
  // (items carrying their own id are still not produced twice).
  std::string key = state->batch_key;
  if (!key.empty() && state->broker_failures > 0) {
    store->release({key});
    key.clear();
  }
  // The reply waits behind the items' records (the store's ops run in order).
  store->complete(key, 200, body,
                  [reply = state->reply, status, body] { reply.json(status, body); });
}

boost::json::object itemError(std::size_t index, int status, const Problem& p) {
  boost::json::object o;
  o["index"] = index;
  o["status"] = status;
  o["error"] = p.message;
  o["pointer"] = p.pointer;
  return o;
}

void publishBatch(ApiServices& s, const Request& req, Reply reply) {
  if (!isJson(req))
    return reply.error(http::status::unsupported_media_type,
                       "send application/json (an array) or application/x-ndjson");
  const std::string& body = req.body();
  if (body.size() > s.config.max_batch_bytes)
    return reply.error(
        http::status::payload_too_large,
        "batch is over the limit of " + std::to_string(s.config.max_batch_bytes) + " bytes");
  auto header_key = idempotencyKey(req);
  if (!header_key) return reply.badRequest(header_key.error());

  // Split into items, keeping their text: each is validated like a single event.
  std::vector<std::string> items;
  if (isNdjson(req)) {
    std::string_view rest = body;
    while (!rest.empty()) {
      const auto nl = rest.find('\n');
      std::string_view line = rest.substr(0, nl);
      rest = nl == std::string_view::npos ? std::string_view() : rest.substr(nl + 1);
      if (line.ends_with('\r')) line.remove_suffix(1);
      if (line.find_first_not_of(" \t") == std::string_view::npos) continue;
      items.emplace_back(line);
      if (items.size() > s.config.max_batch_events) break;
    }
  } else {
    thread_local simdjson::dom::parser array_parser;
    simdjson::dom::element root;
    if (auto err = json::parseDocument(array_parser, body, root))
      return reply.invalid(
          {{"", std::string("body is not valid JSON: ") + simdjson::error_message(err)}});
    if (!root.is_array())
      return reply.invalid({{"", "body must be a JSON array of events (or send NDJSON)"}});
    // Each item as written (not as simdjson would print it): delivered as sent, numbers
    // beyond the DOM's range and duplicate keys included, which the item parse refuses.
    auto elements = json::arrayElements(body);
    if (!elements) return reply.invalid({{"", "body must be a JSON array of events"}});
    for (std::string_view e : *elements) {
      items.emplace_back(e);
      if (items.size() > s.config.max_batch_events) break;
    }
  }
  if (items.size() > s.config.max_batch_events)
    return reply.error(http::status::payload_too_large,
                       "batch has more than the limit of " +
                           std::to_string(s.config.max_batch_events) + " events");
  if (items.empty()) return reply.invalid({{"", "batch is empty"}});

  using State = IdempotencyStore::Claim::State;
  auto state = std::make_shared<BatchState>(reply);
  if (*header_key) {
    state->batch_key = s.idempotency->requestKey("events/batch", **header_key);
    const auto c = s.idempotency->claim({state->batch_key})[0];
    if (answeredBefore(c, reply)) return;
    if (c.state != State::kNew) state->batch_key.clear();
  }

  thread_local json::EventParser parser(s.config.max_event_bytes);
  const int64_t now = kafka::nowMs();
  std::vector<std::optional<json::Event>> events(items.size());
  std::vector<std::string> keys(items.size());
  std::vector<std::string> to_claim;
  std::vector<std::size_t> claim_index;
  state->results.resize(items.size());
  for (std::size_t i = 0; i < items.size(); ++i) {
    const std::string generated = json::newEventId();
    auto ev = parser.parse(items[i], now, generated);
    if (!ev) {
      const auto& problems = ev.error().problems;
      state->results[i] = itemError(i, 400, problems.empty() ? Problem{} : problems[0]);
      continue;
    }
    if (ev->id != generated) {
      keys[i] = s.idempotency->eventKey(ev->id);
      to_claim.push_back(keys[i]);
      claim_index.push_back(i);
    }
    events[i] = std::move(*ev);
  }
  const auto claims = s.idempotency->claim(to_claim);
  for (std::size_t c = 0; c < claims.size(); ++c) {
    const std::size_t i = claim_index[c];
    if (claims[c].state == State::kDone || claims[c].state == State::kPending) {
      boost::json::object o;
      o["index"] = i;
      if (claims[c].state == State::kDone) {
        o["id"] = events[i]->id;
        o["replayed"] = true;
      } else {
        o["status"] = 409;
        o["error"] = "an event with this id is being stored by another request";
        o["pointer"] = "/id";
      }
      state->results[i] = std::move(o);
      events[i].reset();
    } else if (claims[c].state != State::kNew) {
      keys[i].clear();  // Redis away: accepted without a memory of it
    }
  }
  std::vector<std::size_t> to_produce;
  for (std::size_t i = 0; i < items.size(); ++i)
    if (events[i]) to_produce.push_back(i);
  state->outstanding = state->produced = to_produce.size();
  if (to_produce.empty()) return finishBatch(state, s.idempotency);

  for (std::size_t i : to_produce) {
    auto done = [state, i, id = events[i]->id, key = keys[i],
                 store = s.idempotency](std::optional<Error> err) {
      bool last = false;
      {
        std::lock_guard lock(state->mu);
        boost::json::object o;
        o["index"] = i;
        if (err) {
          ++state->broker_failures;
          o["status"] = 503;
          o["error"] = "event not stored: " + err->message;
          if (!key.empty()) store->release({key});
        } else {
          o["id"] = id;
          if (!key.empty()) store->complete(key, 202, idAnswer(id));
        }
        state->results[i] = std::move(o);
        last = --state->outstanding == 0;
      }
      if (last) finishBatch(state, store);
    };
    auto r = s.producer.produce(s.config.topics.events(), events[i]->id, events[i]->body, {}, done);
    if (!r) done(r.error());
  }
}

}  // namespace

void addEvents(RouteTable& routes, ApiServices& services) {
  routes.add(http::verb::post, "/v1/events",
             [&services](const Request& req, const PathParams&, Reply reply) {
               publishEvent(services, req, std::move(reply));
             });
  routes.add(http::verb::post, "/v1/events/batch",
             [&services](const Request& req, const PathParams&, Reply reply) {
               publishBatch(services, req, std::move(reply));
             });
}

}  // namespace hookpipe::producer::routes
