#include "producer/api.h"

#include "common/log/log.h"
#include "producer/routes/routes.h"

namespace hookpipe::producer {

ApiServices::ApiServices(const Config& config, kafka::Producer& producer,
                         SubscriptionTable& subscription_table, EventTypeTable& event_types)
    : config(config),
      producer(producer),
      subscription_table(subscription_table),
      event_types(event_types),
      subscription_writer(producer, subscription_table, config.topics.subscriptions()),
      idempotency(std::make_shared<IdempotencyStore>(config, config.idempotency_window)),
      dead_letters(std::make_unique<DeadLetterService>(config)),
      test_sender(std::make_unique<TestSender>(webhook::requestOptions(config))),
      delivery_log(std::make_unique<DeliveryLogService>(config)) {}

Api::Api(const Config& config, kafka::Producer& producer, SubscriptionTable& table,
         EventTypeTable& event_types)
    : services_(config, producer, table, event_types), auth_(config.api_tokens) {
  if (!auth_.enabled())
    logger("producer")
        ->warn("HOOKPIPE_API_TOKENS is not set: the API accepts requests without a token");
  routes::addHealth(routes_, services_);
  routes::addEvents(routes_, services_);
  routes::addSubscriptions(routes_, services_);
  routes::addEventTypes(routes_, services_);
  routes::addDeadLetters(routes_, services_);
  routes::addDeliveries(routes_, services_);
  routes::addStats(routes_, services_);
}

void Api::handle(const Request& req, Responder responder) {
  Reply reply(req, std::move(responder));
  const auto path = pathSegments(req.target());
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
