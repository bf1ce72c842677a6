// /healthz (any method, no token: outside /v1), /readyz and /metrics (GET, no token), and the
// OpenAPI document.
#include <string>

#include "common/ops/server.h"
#include "producer/routes/routes.h"

namespace hookpipe::producer::routes {

void addHealth(RouteTable& routes, ApiServices& services) {
  routes.add(std::nullopt, "/healthz", [](const Request&, const PathParams&, Reply reply) {
    reply.json(http::status::ok, R"({"status":"ok"})");
  });
  routes.add(http::verb::get, "/readyz",
             [&services](const Request&, const PathParams&, Reply reply) {
               auto verdict = services.readiness.evaluate();
               reply.json(verdict.ready ? http::status::ok : http::status::service_unavailable,
                          std::move(verdict.json));
             });
  routes.add(http::verb::get, "/metrics",
             [&services](const Request&, const PathParams&, Reply reply) {
               reply.text(http::status::ok, std::string(ops::kMetricsContentType),
                          services.registry.render());
             });
  routes.add(http::verb::get, "/v1/openapi.json",
             [](const Request&, const PathParams&, Reply reply) {
               reply.json(http::status::ok, std::string(openapiDocument()));
             });
}

}  // namespace hookpipe::producer::routes
