#include "producer/api.h"

#include <boost/json.hpp>

#include "common/json/document.h"
#include "common/json/event.h"
#include "common/log/log.h"
#include "common/signing/signer.h"

namespace hookpipe::producer {
namespace {

std::shared_ptr<spdlog::logger> log() {
  static auto l = logger("producer");
  return l;
}

constexpr int64_t kDefaultGraceMs = 24LL * 3600 * 1000;
constexpr int64_t kMaxGraceMs = 30LL * 24 * 3600 * 1000;
constexpr std::size_t kDefaultListLimit = 100;
constexpr std::size_t kMaxListLimit = 1000;

bool isJson(const Request& req) {
  auto ct = req[http::field::content_type];
  return ct.empty() || ct.starts_with("application/json") || ct.starts_with("application/x-ndjson");
}

bool isNdjson(const Request& req) {
  return req[http::field::content_type].starts_with("application/x-ndjson");
}

std::string idAnswer(const std::string& id) {
  boost::json::object o;
  o["id"] = id;
  return boost::json::serialize(o);
}

// RFC 7396 JSON merge patch: objects merge recursively, null removes, anything else
// replaces.
void mergePatch(boost::json::object& target, const boost::json::object& patch) {
  for (const auto& [k, v] : patch) {
    if (v.is_null()) {
      target.erase(k);
    } else if (v.is_object()) {
      auto it = target.find(k);
      if (it == target.end() || !it->value().is_object()) target[k] = boost::json::object();
      mergePatch(target[k].as_object(), v.as_object());
    } else {
      target[k] = v;
    }
  }
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

}  // namespace

Reply::Reply(const Request& req, Respond respond)
    : version_(req.version()),
      keep_alive_(req.keep_alive()),
      respond_(std::make_shared<Respond>(std::move(respond))) {}

void Reply::json(http::status status, std::string body, const ExtraHeaders& headers) const {
  Response res{status, version_};
  res.set(http::field::content_type, "application/json");
  if (status == http::status::service_unavailable) res.set(http::field::retry_after, "5");
  for (const auto& [k, v] : headers) res.set(k, v);
  res.keep_alive(keep_alive_);
  res.body() = std::move(body);
  res.prepare_payload();
  (*respond_)(std::move(res));
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
  (*respond_)(std::move(res));
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

Api::Api(const Config& config, kafka::Producer& producer, SubscriptionTable& table,
         EventTypeTable& event_types)
    : config_(config),
      producer_(producer),
      table_(table),
      event_types_(event_types),
      auth_(config.api_tokens),
      idempotency_(std::make_shared<IdempotencyStore>(config, config.idempotency_window)),
      dead_letters_(std::make_unique<DeadLetterService>(config)),
      test_sender_(std::make_unique<TestSender>(webhook::requestOptions(config))) {
  if (!auth_.enabled())
    log()->warn("HOOKPIPE_API_TOKENS is not set: the API accepts requests without a token");
}

void Api::handle(const Request& req, Respond respond) {
  Reply reply(req, std::move(respond));
  const auto path = pathSegments(req.target());
  if (path.size() == 1 && path[0] == "healthz")
    return reply.json(http::status::ok, R"({"status":"ok"})");
  if (!path.empty() && path[0] == "v1") {
    switch (auth_.check(req[http::field::authorization])) {
      case TokenAuth::Verdict::kAllowed:
        break;
      case TokenAuth::Verdict::kMissing:
        return reply.error(http::status::unauthorized, "send Authorization: Bearer <token>",
                           {{"WWW-Authenticate", "Bearer realm=\"hookpipe\""}});
      case TokenAuth::Verdict::kMalformed:
        return reply.error(
            http::status::unauthorized, "malformed Authorization header: use Bearer <token>",
            {{"WWW-Authenticate", "Bearer realm=\"hookpipe\", error=\"invalid_request\""}});
      case TokenAuth::Verdict::kUnknown:
        return reply.error(http::status::forbidden, "unknown API token");
    }
  }
  route(req, path, std::move(reply));
}

void Api::route(const Request& req, const std::vector<std::string>& path, Reply reply) {
  const auto method = req.method();
  auto not_allowed = [&](const char* allow) {
    reply.error(http::status::method_not_allowed, std::string("use ") + allow, {{"Allow", allow}});
  };
  const std::size_t n = path.size();
  if (n < 2 || path[0] != "v1")
    return reply.error(http::status::not_found, "no route " + std::string(req.target()));
  if (n == 2 && path[1] == "openapi.json") {
    if (method != http::verb::get) return not_allowed("GET");
    return reply.json(http::status::ok, std::string(openapiDocument()));
  }
  if (path[1] == "events" && n <= 3) {
    if (n == 3 && path[2] != "batch")
      return reply.error(http::status::not_found, "no route " + std::string(req.target()));
    if (method != http::verb::post) return not_allowed("POST");
    return n == 2 ? publishEvent(req, std::move(reply)) : publishBatch(req, std::move(reply));
  }
  if (path[1] == "event-types") return routeEventTypes(req, path, std::move(reply));
  if (path[1] == "dead-letters") return routeDeadLetters(req, path, std::move(reply));
  if (path[1] != "subscriptions" || n > 5)
    return reply.error(http::status::not_found, "no route " + std::string(req.target()));
  if (n == 2) {
    if (method == http::verb::post) return createSubscription(req, std::move(reply));
    if (method == http::verb::get) return listSubscriptions(req, std::move(reply));
    return not_allowed("GET, POST");
  }
  const std::string& id = path[2];
  if (n == 3) {
    if (method == http::verb::get) {
      auto sub = table_.find(id);
      if (!sub) return reply.error(http::status::not_found, "no subscription " + id);
      return reply.json(http::status::ok, apiJson(*sub, false));
    }
    if (method == http::verb::put) return updateSubscription(id, req, false, std::move(reply));
    if (method == http::verb::patch) return updateSubscription(id, req, true, std::move(reply));
    if (method == http::verb::delete_) return deleteSubscription(id, std::move(reply));
    return not_allowed("GET, PUT, PATCH, DELETE");
  }
  if (n == 4 && (path[3] == "pause" || path[3] == "resume")) {
    if (method != http::verb::post) return not_allowed("POST");
    return setActive(id, path[3] == "resume", std::move(reply));
  }
  if (n == 4 && path[3] == "secret") {
    if (method != http::verb::get) return not_allowed("GET");
    auto sub = table_.find(id);
    if (!sub) return reply.error(http::status::not_found, "no subscription " + id);
    boost::json::object o;
    o["id"] = sub->id;
    o["secret"] = sub->secret;
    if (!sub->previous_secret.empty() && sub->previous_secret_expires_ms > kafka::nowMs())
      o["previous_secret_expires_ms"] = sub->previous_secret_expires_ms;
    return reply.json(http::status::ok, boost::json::serialize(o));
  }
  if (n == 4 && path[3] == "test") {
    if (method != http::verb::post) return not_allowed("POST");
    return testSubscription(id, req, std::move(reply));
  }
  if (n == 5 && path[3] == "secret" && path[4] == "rotate") {
    if (method != http::verb::post) return not_allowed("POST");
    return rotateSecret(id, req, std::move(reply));
  }
  reply.error(http::status::not_found, "no route " + std::string(req.target()));
}

Result<std::optional<std::string>> Api::idempotencyKey(const Request& req) const {
  auto it = req.find("Idempotency-Key");
  if (it == req.end()) return std::optional<std::string>();
  const std::string_view key = it->value();
  bool ok = !key.empty() && key.size() <= 255;
  for (char c : key) ok = ok && c > ' ' && c < 0x7f;
  if (!ok) return fail("Idempotency-Key must be 1..255 visible ASCII characters");
  return std::optional<std::string>(std::string(key));
}

void Api::publishEvent(const Request& req, Reply reply) {
  if (!isJson(req))
    return reply.error(http::status::unsupported_media_type, "send application/json");
  if (req.body().size() > config_.max_event_bytes)
    return reply.error(
        http::status::payload_too_large,
        "event is over the limit of " + std::to_string(config_.max_event_bytes) + " bytes");
  auto header_key = idempotencyKey(req);
  if (!header_key) return reply.invalid({{"Idempotency-Key", header_key.error().message}});
  thread_local json::EventParser parser(config_.max_event_bytes);
  const std::string generated = json::newEventId();
  auto event = parser.parse(req.body(), kafka::nowMs(), generated);
  if (!event) return reply.invalid(problemsFromMessage(event.error().message));

  // The key that makes a repeat a replay: the header, else the event's own id.
  std::string key;
  if (*header_key)
    key = idempotency_->requestKey("events", **header_key);
  else if (event->id != generated)
    key = idempotency_->eventKey(event->id);
  bool claimed = false;
  if (!key.empty()) {
    const auto c = idempotency_->claim({key})[0];
    if (answeredBefore(c, reply)) return;
    claimed = c.state == IdempotencyStore::Claim::State::kNew;
  }
  const std::string id = event->id;
  auto done = [reply, id, key, claimed, store = idempotency_](std::optional<Error> err) {
    if (err) {
      if (claimed) store->release({key});
      return reply.unavailable("event not stored: " + err->message);
    }
    std::string body = idAnswer(id);
    if (!claimed) return reply.json(http::status::accepted, std::move(body));
    // Answered once recorded, so that a repeat after this answer finds it.
    store->complete(key, 202, body, [reply, body] { reply.json(http::status::accepted, body); });
  };
  auto r = producer_.produce(config_.topics.events(), event->id, event->body, {}, done);
  if (!r) done(r.error());
}

namespace {

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

}  // namespace

void Api::publishBatch(const Request& req, Reply reply) {
  if (!isJson(req))
    return reply.error(http::status::unsupported_media_type,
                       "send application/json (an array) or application/x-ndjson");
  const std::string& body = req.body();
  if (body.size() > config_.max_batch_bytes)
    return reply.error(
        http::status::payload_too_large,
        "batch is over the limit of " + std::to_string(config_.max_batch_bytes) + " bytes");
  auto header_key = idempotencyKey(req);
  if (!header_key) return reply.invalid({{"Idempotency-Key", header_key.error().message}});

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
      if (items.size() > config_.max_batch_events) break;
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
      if (items.size() > config_.max_batch_events) break;
    }
  }
  if (items.size() > config_.max_batch_events)
    return reply.error(
        http::status::payload_too_large,
        "batch has more than the limit of " + std::to_string(config_.max_batch_events) + " events");
  if (items.empty()) return reply.invalid({{"", "batch is empty"}});

  using State = IdempotencyStore::Claim::State;
  auto state = std::make_shared<BatchState>(reply);
  if (*header_key) {
    state->batch_key = idempotency_->requestKey("events/batch", **header_key);
    const auto c = idempotency_->claim({state->batch_key})[0];
    if (answeredBefore(c, reply)) return;
    if (c.state != State::kNew) state->batch_key.clear();
  }

  thread_local json::EventParser parser(config_.max_event_bytes);
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
      const auto problems = problemsFromMessage(ev.error().message);
      state->results[i] = itemError(i, 400, problems.empty() ? Problem{} : problems[0]);
      continue;
    }
    if (ev->id != generated) {
      keys[i] = idempotency_->eventKey(ev->id);
      to_claim.push_back(keys[i]);
      claim_index.push_back(i);
    }
    events[i] = std::move(*ev);
  }
  const auto claims = idempotency_->claim(to_claim);
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
  if (to_produce.empty()) return finishBatch(state, idempotency_);

  for (std::size_t i : to_produce) {
    auto done = [state, i, id = events[i]->id, key = keys[i],
                 store = idempotency_](std::optional<Error> err) {
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
    auto r = producer_.produce(config_.topics.events(), events[i]->id, events[i]->body, {}, done);
    if (!r) done(r.error());
  }
}

namespace {

std::vector<Problem> problemsOf(std::vector<FieldProblem> problems) {
  std::vector<Problem> out;
  out.reserve(problems.size());
  for (auto& p : problems) out.push_back({std::move(p.pointer), std::move(p.message)});
  return out;
}

// An id for a log line: ids written before they were checked may hold anything.
std::string logSafe(std::string_view id) {
  std::string out;
  for (char c : id.substr(0, 128))
    out.push_back(static_cast<unsigned char>(c) < 0x20 || c == 0x7f || c == ' ' ? '?' : c);
  return out;
}

}  // namespace

void Api::createSubscription(const Request& req, Reply reply) {
  if (!isJson(req))
    return reply.error(http::status::unsupported_media_type, "send application/json");
  auto sub = checkSubscription(req.body(), SubscriptionSource::kCreate);
  if (!sub) return reply.invalid(problemsOf(std::move(sub.error())));
  if (sub->id.empty()) sub->id = "sub_" + json::newEventId().substr(4);
  // A client-chosen id never replaces a subscription: that would hand its deliveries, and
  // with a new secret its signatures, to whoever asked.
  {
    std::lock_guard lock(creating_mu_);
    if (table_.find(sub->id) || creating_.contains(sub->id))
      return reply.error(http::status::conflict,
                         "subscription " + sub->id +
                             " exists (change it with PUT or PATCH, or choose another id)");
    creating_.insert(sub->id);
  }
  if (sub->secret.empty()) sub->secret = signing::generateSecret();
  sub->refreshSigningKeys();
  sub->disabled_reason.clear();  // hookpipe's own, never a client's
  sub->created_at = sub->updated_at = json::formatTimestamp(kafka::nowMs());
  auto stored = std::make_shared<Subscription>(std::move(*sub));
  storeRecord(table_, config_.topics.subscriptions(), stored->id, toJson(*stored, true),
              [this, reply, stored](std::optional<Error> err) {
                if (!err) table_.upsert(*stored);
                {
                  std::lock_guard lock(creating_mu_);
                  creating_.erase(stored->id);
                }
                if (err)
                  return reply.unavailable(std::string("subscription not stored: ") +
                                           err->message);
                log()->info("subscription created id={}", stored->id);
                reply.json(http::status::created, apiJson(*stored, true));
              });
}

void Api::listSubscriptions(const Request& req, Reply reply) {
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
  for (const auto& [id, sub] : *table_.snapshot()) {  // ordered by id: stable pages
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

void Api::updateSubscription(const std::string& id, const Request& req, bool merge, Reply reply) {
  if (!isJson(req))
    return reply.error(
        http::status::unsupported_media_type,
        merge ? "send application/json or application/merge-patch+json" : "send application/json");
  auto current = table_.find(id);
  if (!current) return reply.error(http::status::not_found, "no subscription " + id);
  boost::system::error_code ec;
  boost::json::value body = boost::json::parse(req.body(), ec);
  if (ec) return reply.invalid({{"", "body is not valid JSON: " + ec.message()}});
  if (!body.is_object()) return reply.invalid({{"", "body must be a JSON object"}});
  std::vector<Problem> problems;
  const auto& patch = body.as_object();
  if (auto it = patch.find("id");
      it != patch.end() && !(it->value().is_string() && it->value().as_string() == id))
    problems.push_back({"/id", "id cannot change (it is " + id + ")"});
  for (const char* field : {"secret", "previous_secret", "previous_secret_expires_ms"})
    if (patch.contains(field))
      problems.push_back({std::string("/") + field,
                          std::string(field) + " cannot be set here: use POST /v1/subscriptions/" +
                              id + "/secret/rotate"});
  // Unknown fields of the body itself: a merge patch's {"active": null} removes nothing
  // from the merged result, and is still not a field.
  for (auto& p : unknownSubscriptionFields(req.body()))
    problems.push_back({std::move(p.pointer), std::move(p.message)});

  boost::json::object next;
  if (merge) {
    next = boost::json::parse(toJson(*current, true)).as_object();
    mergePatch(next, patch);
  } else {
    next = patch;
  }
  // What the client cannot change through PUT or PATCH.
  next["id"] = current->id;
  next["secret"] = current->secret;
  next["created_at"] = current->created_at;
  next.erase("previous_secret");
  next.erase("previous_secret_expires_ms");
  // The URL as a GET shows it (credentials redacted) keeps the credentials it hides.
  if (auto it = next.find("url"); it != next.end() && it->value().is_string() &&
                                  it->value().as_string() == redactedUrl(current->url))
    it->value() = current->url;
  auto sub = checkSubscription(boost::json::serialize(next), SubscriptionSource::kUpdate);
  if (!sub) {
    for (auto& p : problemsOf(std::move(sub.error())))
      if (std::none_of(problems.begin(), problems.end(),
                       [&](const Problem& q) { return q.pointer == p.pointer; }))
        problems.push_back(std::move(p));
  }
  if (!problems.empty()) return reply.invalid(problems);
  sub->previous_secret = current->previous_secret;
  sub->previous_secret_expires_ms = current->previous_secret_expires_ms;
  sub->refreshSigningKeys();
  // Only hookpipe sets the reason, and it holds only while the subscription is inactive.
  sub->disabled_reason = sub->is_active ? "" : current->disabled_reason;
  sub->updated_at = json::formatTimestamp(kafka::nowMs());
  storeSubscription(
      std::make_shared<Subscription>(std::move(*sub)), http::status::ok,
      [](const Subscription& s) { return apiJson(s, false); }, "updated", std::move(reply));
}

void Api::setActive(const std::string& id, bool active, Reply reply) {
  auto current = table_.find(id);
  if (!current) return reply.error(http::status::not_found, "no subscription " + id);
  auto sub = std::make_shared<Subscription>(*current);
  sub->is_active = active;
  if (active) sub->disabled_reason.clear();
  sub->updated_at = json::formatTimestamp(kafka::nowMs());
  storeSubscription(
      sub, http::status::ok, [](const Subscription& s) { return apiJson(s, false); },
      active ? "resumed" : "paused", std::move(reply));
}

void Api::rotateSecret(const std::string& id, const Request& req, Reply reply) {
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
  auto current = table_.find(id);
  if (!current) return reply.error(http::status::not_found, "no subscription " + id);
  auto sub = std::make_shared<Subscription>(*current);
  const int64_t now = kafka::nowMs();
  if (grace_ms > 0) {
    sub->previous_secret = current->secret;
    sub->previous_secret_expires_ms = now + grace_ms;
  } else {
    sub->previous_secret.clear();
    sub->previous_secret_expires_ms = 0;
  }
  sub->secret = signing::generateSecret();
  sub->refreshSigningKeys();
  sub->updated_at = json::formatTimestamp(now);
  storeSubscription(
      sub, http::status::ok,
      [](const Subscription& s) {
        boost::json::object o;
        o["id"] = s.id;
        o["secret"] = s.secret;
        if (!s.previous_secret.empty())
          o["previous_secret_expires_ms"] = s.previous_secret_expires_ms;
        return boost::json::serialize(o);
      },
      "secret rotated", std::move(reply));
}

template <class T>
void Api::storeRecord(RecordTable<T>& table, const std::string& topic, const std::string& key,
                      std::optional<std::string> record,
                      std::function<void(std::optional<Error>)> done) {
  const std::string pinned = record.value_or("");  // a tombstone pins as ""
  table.pin(key, pinned);
  auto acked = [&table, key, pinned, done = std::move(done)](std::optional<Error> err) {
    if (err) table.unpin(key, pinned);
    done(std::move(err));
  };
  // A null value is the tombstone that compaction keeps until everyone has seen it.
  auto r = producer_.produce(topic, key, record ? std::string_view(*record) : std::string_view(),
                             {}, acked);
  if (!r) acked(r.error());
}

void Api::storeSubscription(std::shared_ptr<Subscription> sub, http::status status,
                            std::function<std::string(const Subscription&)> answer,
                            const char* what, Reply reply) {
  storeRecord(
      table_, config_.topics.subscriptions(), sub->id, toJson(*sub, true),
      [this, reply, sub, status, answer = std::move(answer), what](std::optional<Error> err) {
        if (err) return reply.unavailable(std::string("subscription not stored: ") + err->message);
        table_.upsert(*sub);
        log()->info("subscription {} id={}", what, logSafe(sub->id));
        reply.json(status, answer(*sub));
      });
}

void Api::deleteSubscription(const std::string& id, Reply reply) {
  if (!table_.find(id)) return reply.error(http::status::not_found, "no subscription " + id);
  storeRecord(table_, config_.topics.subscriptions(), id, std::nullopt,
              [this, reply, id](std::optional<Error> err) {
                if (err) return reply.unavailable("subscription not deleted: " + err->message);
                table_.erase(id);
                log()->info("subscription deleted id={}", logSafe(id));
                reply.noContent();
              });
}

void Api::testSubscription(const std::string& id, const Request& req, Reply reply) {
  if (!isJson(req))
    return reply.error(http::status::unsupported_media_type, "send application/json");
  if (req.body().size() > config_.max_event_bytes)
    return reply.error(
        http::status::payload_too_large,
        "test payload is over the limit of " + std::to_string(config_.max_event_bytes) + " bytes");
  auto sub = table_.find(id);
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
    auto entry = event_types_.find(type);
    body = sampleEvent("evt_test_" + json::newEventId().substr(4), type, kafka::nowMs(),
                       entry ? std::string_view(entry->example_json) : std::string_view());
  }
  const bool queued = test_sender_->submit(
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

// ---- event types -------------------------------------------------------------

void Api::routeEventTypes(const Request& req, const std::vector<std::string>& path, Reply reply) {
  const auto method = req.method();
  if (path.size() == 2) {
    if (method == http::verb::post) return createEventType(req, std::move(reply));
    if (method == http::verb::get) return listEventTypes(req, std::move(reply));
    return reply.error(http::status::method_not_allowed, "use GET, POST", {{"Allow", "GET, POST"}});
  }
  if (path.size() != 3)
    return reply.error(http::status::not_found, "no route " + std::string(req.target()));
  const std::string& name = path[2];
  if (method == http::verb::get) {
    auto t = event_types_.find(name);
    if (!t) return reply.error(http::status::not_found, "no event type " + name);
    return reply.json(http::status::ok, eventTypeJson(*t));
  }
  if (method == http::verb::put) return updateEventType(name, req, false, std::move(reply));
  if (method == http::verb::patch) return updateEventType(name, req, true, std::move(reply));
  if (method == http::verb::delete_) return deleteEventType(name, std::move(reply));
  reply.error(http::status::method_not_allowed, "use GET, PUT, PATCH, DELETE",
              {{"Allow", "GET, PUT, PATCH, DELETE"}});
}

namespace {

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

}  // namespace

void Api::createEventType(const Request& req, Reply reply) {
  if (refusedEventTypeBody(req, config_, reply)) return;
  auto t = parseEventType(req.body(), true);
  if (!t) return reply.invalid(problemsFromMessage(t.error().message));
  if (auto existing = event_types_.find(t->name))
    return reply.error(http::status::conflict,
                       "event type " + t->name + " exists" +
                           (existing->archived ? " (archived: PATCH it with {\"archived\":false})"
                                               : " (change it with PUT or PATCH)"));
  t->created_at = t->updated_at = json::formatTimestamp(kafka::nowMs());
  auto stored = std::make_shared<EventType>(std::move(*t));
  storeRecord(event_types_, config_.topics.eventTypes(), stored->name, eventTypeJson(*stored),
              [this, reply, stored](std::optional<Error> err) {
                if (err) return reply.unavailable("event type not stored: " + err->message);
                event_types_.put(stored->name, *stored);
                log()->info("event type created name={}", stored->name);
                reply.json(http::status::created, eventTypeJson(*stored));
              });
}

void Api::listEventTypes(const Request& req, Reply reply) {
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
  for (const auto& [name, t] : *event_types_.snapshot()) {  // ordered by name: stable pages
    if (t->archived && !include_archived) continue;
    if (total++ < offset || shown >= limit) continue;
    items += (shown++ == 0 ? "" : ",") + eventTypeJson(*t);
  }
  reply.json(http::status::ok, "{\"data\":[" + items + "],\"total\":" + std::to_string(total) +
                                   ",\"limit\":" + std::to_string(limit) +
                                   ",\"offset\":" + std::to_string(offset) + "}");
}

void Api::updateEventType(const std::string& name, const Request& req, bool merge, Reply reply) {
  if (refusedEventTypeBody(req, config_, reply)) return;
  auto current = event_types_.find(name);
  if (merge && !current) return reply.error(http::status::not_found, "no event type " + name);
  boost::system::error_code ec;
  boost::json::value body = boost::json::parse(req.body(), ec);
  if (ec) return reply.invalid({{"", "body is not valid JSON: " + ec.message()}});
  if (!body.is_object()) return reply.invalid({{"", "body must be a JSON object"}});
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
  if (!t) return reply.invalid(problemsFromMessage(t.error().message));
  // Schema and example are stored as sent (minified), not as re-serialized above.
  const auto given = parseEventType(req.body(), false);
  if (!given) return reply.invalid(problemsFromMessage(given.error().message));
  t->schema_json = !merge || patch.contains("schema") ? given->schema_json : current->schema_json;
  t->example_json =
      !merge || patch.contains("example") ? given->example_json : current->example_json;
  const std::string now = json::formatTimestamp(kafka::nowMs());
  t->created_at = current ? current->created_at : now;
  t->updated_at = now;
  const auto status = current ? http::status::ok : http::status::created;
  auto stored = std::make_shared<EventType>(std::move(*t));
  storeRecord(event_types_, config_.topics.eventTypes(), name, eventTypeJson(*stored),
              [this, reply, stored, status](std::optional<Error> err) {
                if (err) return reply.unavailable("event type not stored: " + err->message);
                event_types_.put(stored->name, *stored);
                log()->info("event type {} name={}",
                            status == http::status::created ? "created" : "updated", stored->name);
                reply.json(status, eventTypeJson(*stored));
              });
}

void Api::deleteEventType(const std::string& name, Reply reply) {
  if (!event_types_.find(name))
    return reply.error(http::status::not_found, "no event type " + name);
  storeRecord(event_types_, config_.topics.eventTypes(), name, std::nullopt,
              [this, reply, name](std::optional<Error> err) {
                if (err) return reply.unavailable("event type not deleted: " + err->message);
                event_types_.erase(name);
                log()->info("event type deleted name={}", name);
                reply.noContent();
              });
}

// ---- dead letters ------------------------------------------------------------

void Api::routeDeadLetters(const Request& req, const std::vector<std::string>& path, Reply reply) {
  const auto method = req.method();
  const std::size_t n = path.size();
  if (n == 2) {
    if (method != http::verb::get)
      return reply.error(http::status::method_not_allowed, "use GET", {{"Allow", "GET"}});
    return listDeadLetters(req, std::move(reply));
  }
  if (n == 3 && path[2] == "replay") {
    if (method != http::verb::post)
      return reply.error(http::status::method_not_allowed, "use POST", {{"Allow", "POST"}});
    return replayDeadLetters(req, std::move(reply));
  }
  if (n == 4 && path[2] == "replays") {
    if (method != http::verb::get)
      return reply.error(http::status::method_not_allowed, "use GET", {{"Allow", "GET"}});
    auto status = dead_letters_->replayStatus(path[3]);
    if (!status)
      return reply.error(http::status::not_found,
                         "no replay " + path[3] + " was started on this instance");
    return reply.json(http::status::ok, std::move(*status));
  }
  reply.error(http::status::not_found, "no route " + std::string(req.target()));
}

void Api::listDeadLetters(const Request& req, Reply reply) {
  auto query = parseQuery(req.target());
  if (!query) return reply.invalid({{"", "the query string has a broken %-escape"}});
  DeadLetterQuery q;
  if (auto problems = parseDeadLetterQuery(*query, q); !problems.empty())
    return reply.invalid(problems);
  const bool queued = dead_letters_->submitListing([this, q, reply] {
    auto page = dead_letters_->listPage(q);
    if (!page) return reply.unavailable("dead letters not read: " + page.error().message);
    reply.json(http::status::ok, std::move(*page));
  });
  if (!queued)
    reply.error(http::status::too_many_requests, "too many dead-letter listings in progress",
                {{"Retry-After", "1"}});
}

void Api::replayDeadLetters(const Request& req, Reply reply) {
  if (!isJson(req))
    return reply.error(http::status::unsupported_media_type, "send application/json");
  dlq::ReplayOptions options;
  auto problems = parseReplayRequest(req.body(), options);
  if (problems.empty() && !options.to_subscription.empty() && !table_.find(options.to_subscription))
    problems.push_back({"/to_subscription", "no subscription " + options.to_subscription});
  if (!problems.empty()) return reply.invalid(problems);
  auto started = dead_letters_->startReplay(std::move(options));
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

}  // namespace hookpipe::producer
