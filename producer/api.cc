#include "producer/api.h"

#include <atomic>
#include <chrono>

#include "common/log/log.h"
#include "producer/routes/routes.h"

namespace hookpipe::producer {

ApiServices::ApiServices(const Config& config, kafka::Producer& producer,
                         SubscriptionTable& subscription_table, EventTypeTable& event_types,
                         metrics::Registry& registry, ops::Readiness& readiness)
    : config(config),
      producer(producer),
      subscription_table(subscription_table),
      event_types(event_types),
      registry(registry),
      metrics(registry),
      readiness(readiness),
      subscription_writer(producer, subscription_table, config.topics.subscriptions()),
      idempotency(std::make_shared<IdempotencyStore>(
          config, config.idempotency_window,
          IdempotencyStore::RedisCounters{&metrics.redis_round_trips, &metrics.redis_errors})),
      dead_letters(std::make_unique<DeadLetterService>(config)),
      test_sender(std::make_unique<TestSender>(webhook::requestOptions(config))),
      delivery_log(std::make_unique<DeliveryLogService>(config)),
      live_stream(std::make_unique<LiveStream>(
          config, LiveStream::Options{.heartbeat = config.stream_heartbeat})) {
  // The live stream's own figures, read from its counters when /metrics is rendered.
  LiveStream* stream = live_stream.get();
  registry.gaugeFn("hookpipe_producer_stream_clients", "Clients connected to GET /v1/stream", {},
                   [stream] { return static_cast<double>(stream->clients()); });
  registry.counterFn("hookpipe_producer_stream_connections_total",
                     "Clients GET /v1/stream has admitted", {},
                     [stream] { return static_cast<double>(stream->counters().connected.load()); });
  registry.counterFn(
      "hookpipe_producer_stream_dropped_total",
      "Stream clients disconnected for falling too far behind", {{"reason", "slow_client"}},
      [stream] { return static_cast<double>(stream->counters().dropped_slow.load()); });
  registry.counterFn("hookpipe_producer_stream_frames_total",
                     "Events and attempts queued to stream clients (one per client)", {},
                     [stream] { return static_cast<double>(stream->counters().frames.load()); });
  registry.counterFn("hookpipe_producer_stream_backoffs_total",
                     "Rounds the stream's tail waited because most clients were behind", {},
                     [stream] { return static_cast<double>(stream->counters().backoffs.load()); });
}

Api::Api(const Config& config, kafka::Producer& producer, SubscriptionTable& table,
         EventTypeTable& event_types, metrics::Registry& registry, ops::Readiness& readiness)
    : services_(config, producer, table, event_types, registry, readiness),
      auth_(config.api_tokens) {
  if (!auth_.enabled())
    logger("producer")
        ->warn("HOOKPIPE_API_TOKENS is not set: the API accepts requests without a token");
  routes::addHealth(routes_, services_);
  routes::addEvents(routes_, services_);
  routes::addSubscriptions(routes_, services_);
  routes::addEventTypes(routes_, services_);
  routes::addDeadLetters(routes_, services_);
  routes::addStream(routes_, services_);
  routes::addDeliveries(routes_, services_);
  routes::addStats(routes_, services_);
  routes::addIntegrations(routes_, services_);
}

namespace {

// Counts the answer of one request (ProducerMetrics::answered) as it goes out, whichever
// thread answers it, then passes it on.
class MeteredConnection final : public Connection {
 public:
  MeteredConnection(Responder inner, ProducerMetrics& metrics, std::string_view method,
                    std::string_view route)
      : inner_(std::move(inner)),
        metrics_(metrics),
        method_(method),
        route_(route),
        start_(std::chrono::steady_clock::now()) {
    metrics_.in_flight.add(1);
  }
  ~MeteredConnection() override {
    if (!answered_) metrics_.in_flight.sub(1);  // dropped unanswered (the client went)
  }
  void respond(Response res) override {
    count(res.result_int());
    inner_.respond(std::move(res));
  }
  std::shared_ptr<ResponseStream> stream(ResponseHead head) override {
    count(head.result_int());
    return inner_.stream(std::move(head));
  }

 private:
  void count(unsigned code) {
    if (answered_.exchange(true)) return;
    metrics_.in_flight.sub(1);
    metrics_.answered(method_, route_, code, std::chrono::steady_clock::now() - start_);
  }
  Responder inner_;
  ProducerMetrics& metrics_;
  std::string_view method_;  // static strings: Beast's verb names, the route table's patterns
  std::string_view route_;
  std::chrono::steady_clock::time_point start_;
  std::atomic<bool> answered_{false};
};

}  // namespace

void Api::handle(const Request& req, Responder responder) {
  const auto path = pathSegments(req.target());
  const http::verb verb = req.method();
  const auto verb_name = http::to_string(verb);
  const std::string_view method = verb == http::verb::unknown
                                      ? std::string_view("other")
                                      : std::string_view(verb_name.data(), verb_name.size());
  Reply reply(req, Responder(std::make_shared<MeteredConnection>(
                       std::move(responder), services_.metrics, method, routes_.routeOf(path))));
  // Everything under /v1 needs a token, a path no route serves included.
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
  routes_.dispatch(req, path, std::move(reply));
}

}  // namespace hookpipe::producer
