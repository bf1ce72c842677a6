// /healthz (any method, no token: outside /v1) and the OpenAPI document.
#include <string>

#include "producer/routes/routes.h"

namespace hookpipe::producer::routes {

void addHealth(RouteTable& routes, ApiServices&) {
  routes.add(std::nullopt, "/healthz", [](const Request&, const PathParams&, Reply reply) {
    reply.json(http::status::ok, R"({"status":"ok"})");
  });
  routes.add(http::verb::get, "/v1/openapi.json",
             [](const Request&, const PathParams&, Reply reply) {
               reply.json(http::status::ok, std::string(openapiDocument()));
             });
}

}  // namespace hookpipe::producer::routes
